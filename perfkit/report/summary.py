"""Headline findings per comparison, in sentences with units, and the environment as a table."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from perfkit.report._format import environment_items, fmt_count, fmt_ms, fmt_ratio, fmt_slope
from perfkit.report.frames import index_frame, loading_frame, pagination_frame, pagination_slopes
from perfkit.results import RunResults

SUMMARY_COLUMNS = ["comparison", "subject", "finding"]


def environment_frame(results: RunResults) -> pd.DataFrame:
    """Where the run was measured: server version and settings, scale, seed, machine, versions."""
    return pd.DataFrame(environment_items(results.environment), columns=["setting", "value"])


def _loading(results: RunResults) -> list[dict[str, str]]:
    df = loading_frame(results).dropna(subset=["median_ms", "n"])
    out = []
    for workload, g in df.groupby("workload", sort=False):
        top = g[g["n"] == g["n"].max()].sort_values("median_ms")
        if top.empty:
            continue
        best, worst = top.iloc[0], top.iloc[-1]
        text = (
            f"at N={fmt_count(best['n'])}, {best['strategy']} is fastest ({fmt_ms(best['median_ms'])}, "
            f"{fmt_count(best['statements'])} statements); {worst['strategy']} is slowest "
            f"({fmt_ms(worst['median_ms'])}, {fmt_count(worst['statements'])} statements, "
            f"{fmt_ratio(worst['median_ms'] / best['median_ms'])} slower)"
        )
        out.append({"comparison": "loading", "subject": str(workload), "finding": text})
    return out


def _same(col: pd.Series, value: Any) -> pd.Series:
    return col.isna() if isinstance(value, float) and math.isnan(value) else col == value


def _pagination(results: RunResults) -> list[dict[str, str]]:
    slopes = pagination_slopes(results)
    frame = pagination_frame(results)
    out = []
    for (query, page_size), g in frame.groupby(["query", "page_size"], sort=False, dropna=False):
        s = slopes[(slopes["query"] == query) & _same(slopes["page_size"], page_size)]
        parts = [f"{v} {fmt_slope(x)}" for v, x in zip(s["strategy"], s["slope_ms_per_1k"], strict=True)]
        text = "time grows by " + ", ".join(parts)
        deepest = g[g["depth"] == g["depth"].max()]
        if not deepest.empty:
            cells = ", ".join(
                f"{v} {fmt_ms(m)}" for v, m in zip(deepest["strategy"], deepest["median_ms"], strict=True)
            )
            text += f"; at depth {fmt_count(deepest['depth'].iloc[0])}: {cells}"
        out.append({"comparison": "pagination", "subject": str(query), "finding": text})
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
        text = f"best: {best['index_set']} ({fmt_ms(best['median_ms'])}, {best['plan_shape']})"
        if not none.empty and not math.isnan(best["speedup"]):
            text += f", {fmt_ratio(best['speedup'])} faster than no index ({fmt_ms(none['median_ms'].iloc[0])})"
        out.append({"comparison": "indexes", "subject": str(label), "finding": text})
    return out


def summary_frame(results: RunResults) -> pd.DataFrame:
    """One headline finding per workload, query or pagination query, for the comparisons present in the run."""
    rows = [*_loading(results), *_pagination(results), *_indexes(results)]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
