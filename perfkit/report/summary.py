"""Headline findings per comparison, in sentences with units, and the environment as a table."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from perfkit.report._format import environment_items, fmt_count, fmt_ms, fmt_ratio
from perfkit.report.frames import (
    index_frame,
    loading_frame,
    pagination_batches,
    pagination_counts,
    pagination_drift,
    pagination_seek,
    pagination_slopes,
)
from perfkit.results import RunResults

SUMMARY_COLUMNS = ["comparison", "subject", "finding"]


def environment_frame(results: RunResults) -> pd.DataFrame:
    """Where the run was measured: server version and settings, scale, seed, machine, versions."""
    return pd.DataFrame(environment_items(results.environment), columns=["setting", "value"])


def _ties(ranked: pd.DataFrame, name: str) -> list[str]:
    """Names whose 95% CI overlaps the fastest one's (the fastest first): they cannot be told apart from it."""
    best = ranked.iloc[0]
    lo, hi = best["ci_low_ms"], best["ci_high_ms"]
    if any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
        return [str(best[name])]
    same = ranked[(ranked["ci_low_ms"] <= hi) & (ranked["ci_high_ms"] >= lo)]
    return [str(v) for v in same[name]]


def _group(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _loading(results: RunResults) -> list[dict[str, str]]:
    df = loading_frame(results).dropna(subset=["median_ms", "n"])
    out = []
    for workload, g in df.groupby("workload", sort=False):
        top = g[g["n"] == g["n"].max()].sort_values("median_ms")
        if top.empty:
            continue
        best, worst = top.iloc[0], top.iloc[-1]
        tied = _ties(top, "strategy")
        if len(tied) > 1:
            lead = f"{_group(tied)} are indistinguishable (CIs overlap; {best['strategy']} "
            lead += f"{fmt_ms(best['median_ms'])}, {_statements(best['statements'])})"
        else:
            lead = f"{best['strategy']} is fastest ({fmt_ms(best['median_ms'])}, "
            lead += f"{_statements(best['statements'])})"
        text = (
            f"at N={fmt_count(best['n'])}, {lead}; {worst['strategy']} is slowest "
            f"({fmt_ms(worst['median_ms'])}, {_statements(worst['statements'])}, "
            f"{fmt_ratio(worst['median_ms'] / best['median_ms'])} slower)"
        )
        out.append({"comparison": "loading", "subject": str(workload), "finding": text})
    return out


def _statements(n: Any) -> str:
    return f"{fmt_count(n)} statement{'' if n == 1 else 's'}"


def _signed(x: Any, fmt: Callable[[Any], str]) -> str:
    if isinstance(x, float) and math.isnan(x):
        return fmt(x)
    text = fmt(abs(float(x)))
    return text if text.startswith("0") and text.strip("0 ms.") == "" else ("-" if float(x) < 0 else "+") + text


def _whole(x: Any) -> str:
    return fmt_count(round(float(x))) if abs(float(x)) >= 10 else fmt_count(x)


def _growth_text(s: pd.Series) -> str:
    verdict = str(s["growth"]) if isinstance(s["growth"], str) and s["growth"] else "(one depth only)"
    return (
        f"{s['strategy']} {verdict} ({_signed(s['slope_ms_per_1k'], fmt_ms)} and "
        f"{_signed(s['slope_buffers_per_1k'], _whole)} buffers per 1,000 rows of depth; "
        f"{fmt_ms(s['deepest_ms'])} at depth {fmt_count(s['max_depth'])})"
    )


def _pagination(results: RunResults) -> list[dict[str, str]]:
    slopes = pagination_slopes(results)
    counts = dict(zip(*(pagination_counts(results)[c] for c in ("query", "median_ms")), strict=True))
    seek = pagination_seek(results)
    flagged = set(seek.loc[~seek["seek"].astype(bool), "query"]) if "seek" in seek.columns else set()
    out = []
    for (query, _page_size), g in slopes.groupby(["query", "page_size"], sort=False, dropna=False):
        text = "; ".join(_growth_text(s) for _, s in g.iterrows())
        if query in counts:
            text += f"; the COUNT(*) total alone takes {fmt_ms(counts[query])}"
        if query in flagged:
            text += "; the keyset cursor is only a Filter (no index seeks to it)"
        out.append({"comparison": "pagination", "subject": str(query), "finding": text})
    batches = pagination_batches(results)
    if not batches.empty:
        parts = []
        for b in batches.to_dict("records"):
            once = b["duplicates"] == 0 and b["distinct_rows"] == b["rows"]
            peak = fmt_count(float(b["peak_kib"]) / 1024)
            parts.append(
                f"{b['strategy']} {fmt_ms(b['median_ms'])} (peak {peak} MiB{'' if once else ', rows repeated'})"
            )
        rows, size = fmt_count(batches["rows"].iloc[0]), fmt_count(batches["batch_size"].iloc[0])
        text = f"all {rows} rows in batches of {size}: "
        out.append({"comparison": "pagination", "subject": "posts_batches", "finding": text + ", ".join(parts)})
    drift = pagination_drift(results)
    if not drift.empty and {"strategy", "duplicates", "missing", "snapshot_rows"} <= set(drift.columns):
        parts = [
            f"{d.strategy} served {fmt_count(d.duplicates)} duplicates and missed {fmt_count(d.missing)}"
            for d in drift.itertuples()
        ]
        text = f"walking {fmt_count(drift['snapshot_rows'].iloc[0])} rows under concurrent writes: " + ", ".join(parts)
        out.append({"comparison": "pagination", "subject": "drift", "finding": text})
    return out


def _indexes(results: RunResults) -> list[dict[str, str]]:
    df = index_frame(results)
    out = []
    for label, g in df.groupby("label", sort=False):
        g = g.dropna(subset=["median_ms"]).sort_values("median_ms")
        if g.empty:
            continue
        best = g.iloc[0]
        none = g[g["index_set"] == "none"]
        tied = _ties(g, "index_set")
        if len(tied) > 1:
            text = f"{_group(tied)} are indistinguishable (CIs overlap); fastest median: {best['index_set']} "
        else:
            text = f"best: {best['index_set']} "
        text += f"({fmt_ms(best['median_ms'])}, {best['plan_shape']})"
        if not none.empty and best["index_set"] != "none" and not math.isnan(best["speedup"]):
            text += f", {fmt_ratio(best['speedup'])} faster than no index ({fmt_ms(none['median_ms'].iloc[0])})"
        out.append({"comparison": "indexes", "subject": str(label), "finding": text})
    return out


def summary_frame(results: RunResults) -> pd.DataFrame:
    """One headline finding per workload, query or pagination query, for the comparisons present in the run."""
    rows = [*_loading(results), *_pagination(results), *_indexes(results)]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
