"""How a cost grows with pagination depth: least-squares slope per 1,000 rows, intercept, r² and a verdict."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from perfkit.results import Benchmark, Scalar

PER = 1000.0
"""Slopes are per this many rows of depth."""
LINEAR = "grows linearly"
FLAT = "stays flat"


@dataclass(frozen=True, slots=True)
class Growth:
    """A straight line through (depth, cost) points: cost ≈ intercept + slope_per_1k × depth / 1,000."""

    points: int
    max_depth: float
    slope_per_1k: float
    intercept: float
    r2: float
    first: float
    deepest: float

    @property
    def added_at_max(self) -> float:
        """What the fitted line adds between depth 0 and the deepest depth measured."""
        return self.slope_per_1k * self.max_depth / PER if self.points >= 2 else math.nan


def fit(depths: Sequence[float], costs: Sequence[float]) -> Growth:
    """Fit cost against depth, ignoring NaN points; slope and r² are NaN with fewer than two distinct depths."""
    x = np.asarray(depths, dtype=float)
    y = np.asarray(costs, dtype=float)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    first = float(y[0]) if y.size else math.nan
    deepest = float(y[-1]) if y.size else math.nan
    max_depth = float(x[-1]) if x.size else math.nan
    if np.unique(x).size < 2:
        return Growth(int(x.size), max_depth, math.nan, math.nan, math.nan, first, deepest)
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(np.sum((y - (slope * x + intercept)) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - residual / total if total > 0 else 1.0
    return Growth(int(x.size), max_depth, float(slope) * PER, float(intercept), r2, first, deepest)


def verdict(g: Growth, *, ratio: float = 3.0, floor: float = 0.0) -> str:
    """LINEAR when the cost at the deepest depth is at least `ratio` × the first page's (and above `floor`) and the
    fitted line rises; FLAT otherwise. Judge it on counters (buffers, rows read): they do not depend on timing."""
    if g.points < 2 or math.isnan(g.slope_per_1k):
        return ""
    base = max(g.first, floor, 1e-12)
    return LINEAR if g.slope_per_1k > 0 and g.deepest >= ratio * base else FLAT


def _median(b: Benchmark) -> float:
    if b.stats is not None:
        return b.stats.median_ms
    return float(np.median(b.samples_ms)) if b.samples_ms else math.nan


def _number(value: Scalar | None) -> float:
    if value is None or isinstance(value, bool | str):
        return math.nan
    return float(value)


def _buffers(b: Benchmark) -> float:
    hit, read = b.counters.get("shared_hit_blocks"), b.counters.get("shared_read_blocks")
    if hit is None and read is None:
        return math.nan
    return float(hit or 0.0) + float(read or 0.0)


def _known(x: float) -> float | None:
    """A figure for the results table: None (JSON null) where there is none (a fit over fewer than two depths)."""
    return None if math.isnan(x) else x


def slope_rows(benchmarks: Iterable[Benchmark]) -> tuple[dict[str, Scalar], ...]:
    """The `pagination_slopes` table: per query, strategy and page size, growth of time, buffers and rows read
    with depth (benchmarks with a `depth` parameter), and the verdict judged on buffers; a figure that cannot be
    fitted (one depth only, as at the smallest scales) is None."""
    groups: dict[tuple[str, str, float], list[Benchmark]] = {}
    for b in benchmarks:
        if "depth" in b.params:
            groups.setdefault((b.name, b.variant, _number(b.params.get("page_size"))), []).append(b)
    rows: list[dict[str, Scalar]] = []
    for (query, strategy, page_size), group in groups.items():
        depths = [_number(b.params.get("depth")) for b in group]
        ms = fit(depths, [_median(b) for b in group])
        buffers = fit(depths, [_buffers(b) for b in group])
        read = fit(depths, [float(b.counters.get("rows_read", math.nan)) for b in group])
        figures: dict[str, float] = {
            "max_depth": ms.max_depth,
            "slope_ms_per_1k": ms.slope_per_1k,
            "intercept_ms": ms.intercept,
            "r2_ms": ms.r2,
            "slope_buffers_per_1k": buffers.slope_per_1k,
            "slope_rows_read_per_1k": read.slope_per_1k,
            "first_ms": ms.first,
            "deepest_ms": ms.deepest,
            "first_buffers": buffers.first,
            "deepest_buffers": buffers.deepest,
        }
        rows.append(
            {
                "query": query,
                "strategy": strategy,
                "page_size": page_size,
                "points": ms.points,
                **{key: _known(value) for key, value in figures.items()},
                "growth": verdict(buffers),
            }
        )
    return tuple(rows)
