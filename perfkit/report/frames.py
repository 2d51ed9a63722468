"""DataFrames per comparison (loading, pagination, indexes), computed from results records only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from perfkit.growth import slope_rows
from perfkit.report._common import (
    DEFAULT_RTTS_MS,
    INDEXES,
    LOADING,
    PAGINATION,
    as_list,
    counter,
    of_scenario,
    ordered,
    param_int,
    params_label,
    timing,
)
from perfkit.results import RunResults, table_frame

_TIMING = ["median_ms", "ci_low_ms", "ci_high_ms"]


def _sorted(df: pd.DataFrame, by: list[str], variant_col: str) -> pd.DataFrame:
    if df.empty:
        return df
    rank = {v: i for i, v in enumerate(ordered(str(v) for v in df[variant_col]))}
    df = df.assign(_order=df[variant_col].map(rank))
    keys = [("_order" if c == variant_col else c) for c in by]
    return df.sort_values(keys, kind="stable").drop(columns="_order").reset_index(drop=True)


# -- loading ---------------------------------------------------------------------------------------

_LOADING_COUNTERS = ["statements", "round_trips", "rows", "bytes", "logical_rows", "server_ms"]
_LOADING_COUNTERS += ["shared_hit_blocks", "shared_read_blocks"]
LOADING_COLUMNS = ["workload", "strategy", "n", *_TIMING, *_LOADING_COUNTERS]


def loading_frame(results: RunResults) -> pd.DataFrame:
    """Loading strategies: one row per workload, strategy and N, with client time, what was transferred and (where
    pg_stat_statements was available) server execution time and shared buffers per load."""
    rows = [
        {
            "workload": b.name,
            "strategy": b.variant,
            "n": param_int(b.params, "n"),
            **timing(b),
            **{c: counter(b, c) for c in _LOADING_COUNTERS},
        }
        for b in of_scenario(results, LOADING)
    ]
    return _sorted(pd.DataFrame(rows, columns=LOADING_COLUMNS), ["workload", "strategy", "n"], "strategy")


def loading_empty(results: RunResults) -> pd.DataFrame:
    """Pages that loaded no child of a relation (a `children_<relation>` counter of 0, any strategy): the strategies
    were not compared on that relation at that N."""
    found = {
        (b.name, param_int(b.params, "n"), c.removeprefix("children_")): None
        for b in of_scenario(results, LOADING)
        for c, v in b.counters.items()
        if c.startswith("children_") and v == 0
    }
    return pd.DataFrame(list(found), columns=["workload", "n", "relation"])


def loading_explosion(results: RunResults) -> pd.DataFrame:
    """Rows and bytes each strategy transferred against the logical result: `rows_per_logical_row` (rows sent /
    logical rows, the nodes of the nested result: a JOIN sends one row per child with its parent repeated, JSON one
    row for the whole result) and `bytes_vs_batched` (bytes over what batched loading sent for the same page)."""
    df = loading_frame(results)
    cols = ["workload", "strategy", "n", "logical_rows", "rows", "rows_per_logical_row", "bytes", "bytes_vs_batched"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    base = df[df["strategy"] == "batched"].set_index(["workload", "n"])["bytes"]
    keys = list(zip(df["workload"], df["n"], strict=True))
    df = df.assign(
        rows_per_logical_row=df["rows"] / df["logical_rows"],
        bytes_vs_batched=[b / base.get(k, float("nan")) for k, b in zip(keys, df["bytes"], strict=True)],
    )
    return df[cols].reset_index(drop=True)


def loading_latency_check(results: RunResults) -> pd.DataFrame:
    """The latency model checked through the delay proxy (direct, modelled and proxied medians), when run."""
    return table_frame(results, "loading_latency_check")


def loading_statements(results: RunResults) -> pd.DataFrame:
    """Statements executed per strategy (rows) and N (columns 'N=…'), per workload."""
    df = loading_frame(results)
    if df.empty:
        return pd.DataFrame(columns=["workload", "strategy"])
    wide = df.pivot_table(index=["workload", "strategy"], columns="n", values="statements", aggfunc="first")
    wide.columns = [f"N={int(n)}" for n in wide.columns]
    wide = wide.reset_index()
    return _sorted(wide, ["workload", "strategy"], "strategy")


def loading_modelled(results: RunResults, rtts_ms: Sequence[float] = DEFAULT_RTTS_MS) -> pd.DataFrame:
    """Time modelled at added round-trip times: measured median + round trips × added RTT (needs round_trips)."""
    df = loading_frame(results)
    cols = ["workload", "strategy", "n", "round_trips", "measured_ms", "rtt_ms", "modelled_ms"]
    df = df[df["round_trips"].notna()] if not df.empty else df
    if df.empty:
        return pd.DataFrame(columns=cols)
    parts = [
        df.assign(measured_ms=df["median_ms"], rtt_ms=float(rtt), modelled_ms=df["median_ms"] + df["round_trips"] * rtt)
        for rtt in rtts_ms
    ]
    out = pd.concat(parts, ignore_index=True)[cols]
    return _sorted(out, ["workload", "rtt_ms", "strategy", "n"], "strategy")


def loading_modelled_table(results: RunResults, rtts_ms: Sequence[float] = DEFAULT_RTTS_MS) -> pd.DataFrame:
    """Modelled time per workload, strategy and N, one column per added round-trip time ('rtt_<ms>_ms')."""
    df = loading_modelled(results, rtts_ms)
    if df.empty:
        return pd.DataFrame(columns=["workload", "strategy", "n", "round_trips", "measured_ms"])
    wide = df.pivot_table(
        index=["workload", "strategy", "n", "round_trips", "measured_ms"], columns="rtt_ms", values="modelled_ms"
    )
    wide.columns = [f"rtt_{r:g}_ms" for r in wide.columns]
    return _sorted(wide.reset_index(), ["workload", "strategy", "n"], "strategy")


# -- pagination ------------------------------------------------------------------------------------

PAGINATION_COLUMNS = [
    "query",
    "strategy",
    "page_size",
    "depth",
    *_TIMING,
    "buffers",
    "shared_hit_blocks",
    "shared_read_blocks",
    "rows_read",
    "rows_returned",
]


def pagination_frame(results: RunResults) -> pd.DataFrame:
    """Pagination pages: one row per query, strategy, page size and depth, with time, buffers and rows read.

    Only benchmarks with a depth (OFFSET and keyset pages); COUNT(*) totals and batch passes have their own frames.
    """
    rows = []
    for b in of_scenario(results, PAGINATION):
        if "depth" not in b.params:
            continue
        hit, read = counter(b, "shared_hit_blocks"), counter(b, "shared_read_blocks")
        rows.append(
            {
                "query": b.name,
                "strategy": b.variant,
                "page_size": param_int(b.params, "page_size"),
                "depth": param_int(b.params, "depth"),
                **timing(b),
                "buffers": np.nansum([hit, read]) if not (np.isnan(hit) and np.isnan(read)) else float("nan"),
                "shared_hit_blocks": hit,
                "shared_read_blocks": read,
                "rows_read": counter(b, "rows_read"),
                "rows_returned": counter(b, "rows_returned"),
            }
        )
    df = pd.DataFrame(rows, columns=PAGINATION_COLUMNS)
    return _sorted(df, ["query", "strategy", "page_size", "depth"], "strategy")


SLOPE_COLUMNS = [
    "query",
    "strategy",
    "page_size",
    "points",
    "max_depth",
    "slope_ms_per_1k",
    "intercept_ms",
    "r2_ms",
    "slope_buffers_per_1k",
    "slope_rows_read_per_1k",
    "first_ms",
    "deepest_ms",
    "first_buffers",
    "deepest_buffers",
    "growth",
]


def pagination_slopes(results: RunResults) -> pd.DataFrame:
    """Least-squares growth of time, buffers and rows read with depth, per 1,000 rows of depth, per query and
    strategy, with the verdict ('grows linearly' / 'stays flat') judged on buffers (see perfkit.growth)."""
    df = pd.DataFrame(list(slope_rows(of_scenario(results, PAGINATION))), columns=SLOPE_COLUMNS)
    return _sorted(df, ["query", "page_size", "strategy"], "strategy")


COUNT_COLUMNS = ["query", "total", *_TIMING, "buffers", "rows_read", "first_page_ms", "count_vs_first_page"]


def pagination_counts(results: RunResults) -> pd.DataFrame:
    """The COUNT(*) total of each paginated query on its own (variant 'count'), next to its first keyset page."""
    first = {
        b.name: timing(b)["median_ms"]
        for b in of_scenario(results, PAGINATION)
        if b.variant == "keyset" and b.params.get("depth") == 0
    }
    rows = []
    for b in of_scenario(results, PAGINATION):
        if b.variant != "count":
            continue
        t = timing(b)
        page = first.get(b.name, float("nan"))
        rows.append(
            {
                "query": b.name,
                "total": counter(b, "total"),
                **t,
                "buffers": np.nansum([counter(b, "shared_hit_blocks"), counter(b, "shared_read_blocks")]),
                "rows_read": counter(b, "rows_read"),
                "first_page_ms": page,
                "count_vs_first_page": t["median_ms"] / page if page > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def pagination_seek(results: RunResults) -> pd.DataFrame:
    """Per query: does the deepest keyset page seek to its cursor (Index Cond) or only filter by it?"""
    return table_frame(results, "pagination_seek")


BATCH_COLUMNS = [
    "strategy",
    "batch_size",
    *_TIMING,
    "batches",
    "rows",
    "distinct_rows",
    "duplicates",
    "peak_kib",
    "memory_batches",
]


def pagination_batches(results: RunResults) -> pd.DataFrame:
    """Whole-table batch passes (posts_batches): total time per pass, rows seen once or not, peak client memory."""
    rows = [
        {
            "strategy": b.variant,
            "batch_size": param_int(b.params, "batch_size"),
            **timing(b),
            **{c: counter(b, c) for c in BATCH_COLUMNS[5:]},
        }
        for b in of_scenario(results, PAGINATION)
        if b.name == "posts_batches"
    ]
    return pd.DataFrame(rows, columns=BATCH_COLUMNS)


def pagination_drift(results: RunResults) -> pd.DataFrame:
    """The drift table (rows served, duplicates, missed per strategy) when the run recorded one."""
    return table_frame(results, "pagination_drift")


# -- indexes ---------------------------------------------------------------------------------------

INDEX_COLUMNS = [
    "query",
    "case",
    "label",
    "index_set",
    *_TIMING,
    "speedup",
    "plan_shape",
    "node_types",
    "indexes",
    "index_only",
    "shared_hit_blocks",
    "shared_read_blocks",
    "rows_removed",
]


def plan_shape(plan: Any) -> str:
    """A short description of a plan: its node types (a set, not tree order) and the indexes it uses."""
    if not isinstance(plan, dict):
        return "–"
    nodes = sorted(set(as_list(plan.get("node_types"))))
    shape = ", ".join(nodes) or "–"
    idx = as_list(plan.get("indexes"))
    if idx:
        shape += " using " + ", ".join(idx)
    return shape


def index_frame(results: RunResults) -> pd.DataFrame:
    """Index strategies: one row per query (and parameter case) and index set, with the speed-up over 'none'."""
    rows = []
    for b in of_scenario(results, INDEXES):
        plan = dict(b.plan) if b.plan is not None else None
        case = params_label(b.params)
        rows.append(
            {
                "query": b.name,
                "case": case,
                "label": f"{b.name} ({case})" if case else b.name,
                "index_set": b.variant,
                **timing(b),
                "plan_shape": plan_shape(plan),
                "node_types": ", ".join(as_list(plan.get("node_types"))) if plan else "",
                "indexes": ", ".join(as_list(plan.get("indexes"))) if plan else "",
                "index_only": bool(plan.get("index_only")) if plan else False,
                "shared_hit_blocks": counter(b, "shared_hit_blocks"),
                "shared_read_blocks": counter(b, "shared_read_blocks"),
                "rows_removed": counter(b, "rows_removed"),
            }
        )
    df = pd.DataFrame(rows, columns=[c for c in INDEX_COLUMNS if c != "speedup"])
    if df.empty:
        return pd.DataFrame(columns=INDEX_COLUMNS)
    base = df[df["index_set"] == "none"].set_index("label")["median_ms"]
    df["speedup"] = [
        base.get(lbl, float("nan")) / m if m > 0 else float("nan")
        for lbl, m in zip(df["label"], df["median_ms"], strict=True)
    ]
    return _sorted(df[INDEX_COLUMNS], ["query", "case", "index_set"], "index_set")


def _index_pivot(results: RunResults, value: str) -> pd.DataFrame:
    df = index_frame(results)
    if df.empty:
        return pd.DataFrame()
    wide = df.pivot_table(index="label", columns="index_set", values=value, aggfunc="first", sort=False)
    return wide[ordered(str(c) for c in wide.columns)]


def index_speedups(results: RunResults) -> pd.DataFrame:
    """Speed-up over no index, query (rows) × index set (columns); NaN where a set was not measured."""
    return _index_pivot(results, "speedup").astype(float)


def index_same_plan(results: RunResults) -> pd.DataFrame:
    """True where a cell's plan is the no-index plan (same node types, no index used): its timing differs from
    'none' by noise only, so it is no speed-up and no slowdown. Query (rows) × index set (columns)."""
    df = index_frame(results)
    if df.empty:
        return pd.DataFrame()
    base = df[df["index_set"] == "none"].set_index("label")["node_types"]
    same = [
        s != "none" and bool(nodes) and lbl in base.index and not idx and nodes == base[lbl]
        for lbl, s, nodes, idx in zip(df["label"], df["index_set"], df["node_types"], df["indexes"], strict=True)
    ]
    wide = df.assign(same=same).pivot_table(
        index="label", columns="index_set", values="same", aggfunc="first", sort=False
    )
    return wide[ordered(str(c) for c in wide.columns)].astype(object).fillna(False).astype(bool)


def index_plan_shapes(results: RunResults) -> pd.DataFrame:
    """Plan shape per query (rows) × index set (columns)."""
    return _index_pivot(results, "plan_shape").fillna("–")


def index_sizes(results: RunResults) -> pd.DataFrame:
    """Per index: size and build time, from the run's 'index_sizes' table when present."""
    return table_frame(results, "index_sizes")


def index_size_speedup(results: RunResults) -> pd.DataFrame:
    """Per query and index set: total size of the set's indexes next to the speed-up it gave.

    Sizes are matched on (query, index_set) when the sizes table names the query, else on index_set alone.
    """
    sizes = index_sizes(results)
    cols = ["label", "index_set", "size_bytes", "speedup"]
    if sizes.empty or not {"index_set", "size_bytes"} <= set(sizes.columns):
        return pd.DataFrame(columns=cols)
    df = index_frame(results)
    df = df[df["speedup"].notna()]
    if "query" in sizes.columns:  # sets are per query: the same set name means different indexes for two queries
        per_cell = sizes.groupby(["query", "index_set"])["size_bytes"].sum()
        keys = list(zip(df["query"], df["index_set"], strict=True))
        df = df.assign(size_bytes=[per_cell.get(k, float("nan")) for k in keys])
        return df[df["size_bytes"].notna()][cols].reset_index(drop=True)
    per_set = sizes.groupby("index_set")["size_bytes"].sum()
    df = df[df["index_set"].isin(per_set.index)]
    out = df.assign(size_bytes=df["index_set"].map(per_set))[cols]
    return out.reset_index(drop=True)


def index_notes(results: RunResults) -> pd.DataFrame:
    """What the index scenario noticed per cell: unused indexes, JSONB operators an index cannot serve (C14)."""
    rows = [
        {"query": b.name, "case": params_label(b.params), "index_set": b.variant, "note": note}
        for b in of_scenario(results, INDEXES)
        for note in b.notes
    ]
    return pd.DataFrame(rows, columns=["query", "case", "index_set", "note"])


def index_hygiene(results: RunResults) -> pd.DataFrame:
    """Statistics and visibility-map checks made before measuring, and what perfkit did (ANALYZE, VACUUM)."""
    return table_frame(results, "index_hygiene")


def write_overhead(results: RunResults) -> pd.DataFrame:
    """Time to insert a fixed batch with each index set present, and its overhead over 'none' (when recorded)."""
    df = table_frame(results, "index_write_overhead")
    if df.empty or not {"index_set", "insert_ms"} <= set(df.columns):
        return df
    base = df.loc[df["index_set"] == "none", "insert_ms"]
    if "overhead_pct" not in df.columns and not base.empty:
        df["overhead_pct"] = (df["insert_ms"] / float(base.iloc[0]) - 1.0) * 100.0
    return _sorted(df, ["index_set"], "index_set")
