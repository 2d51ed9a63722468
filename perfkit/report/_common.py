"""Shared pieces of the report frames: scenario names, variant order, reading medians out of benchmarks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from perfkit.results import Benchmark, RunResults, Scalar

LOADING = "loading"
PAGINATION = "pagination"
INDEXES = "indexes"
SCENARIOS = (LOADING, PAGINATION, INDEXES)

# Round-trip times (ms) at which the loading report models each strategy's cost on a real network.
DEFAULT_RTTS_MS: tuple[float, ...] = (0.1, 1.0, 20.0)

# Known variants first, in the order a reader expects them; unknown ones follow alphabetically.
VARIANT_ORDER: dict[str, int] = {
    v: i
    for i, v in enumerate(
        (
            "n_plus_one",
            "join",
            "batched",
            "json",
            "window",
            "lateral",
            "offset",
            "keyset",
            "none",
            "single",
            "composite",
        )
    )
}


def variant_sort_key(v: str) -> tuple[int, str]:
    return (VARIANT_ORDER.get(v, len(VARIANT_ORDER)), v)


def ordered(variants: Iterable[str]) -> list[str]:
    return sorted(set(variants), key=variant_sort_key)


def of_scenario(results: RunResults, scenario: str) -> list[Benchmark]:
    return [b for b in results.benchmarks if b.scenario == scenario]


def has_scenario(results: RunResults, scenario: str) -> bool:
    return any(b.scenario == scenario for b in results.benchmarks)


def median_ms(b: Benchmark) -> float:
    if b.stats is not None:
        return b.stats.median_ms
    return float(np.median(b.samples_ms)) if b.samples_ms else float("nan")


def timing(b: Benchmark) -> dict[str, float]:
    """Median and 95% CI of a benchmark; NaN where it has no samples, and for the CI of a single sample."""
    med = median_ms(b)
    nan = float("nan")
    lo = b.stats.ci_low_ms if b.stats is not None else None
    hi = b.stats.ci_high_ms if b.stats is not None else None
    return {"median_ms": med, "ci_low_ms": nan if lo is None else lo, "ci_high_ms": nan if hi is None else hi}


def counter(b: Benchmark, name: str) -> float:
    v = b.counters.get(name)
    return float("nan") if v is None else float(v)


def param_int(params: Mapping[str, Scalar], name: str) -> float:
    v = params.get(name)
    if v is None or isinstance(v, bool):
        return float("nan")
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def params_label(params: Mapping[str, Scalar], skip: Sequence[str] = ()) -> str:
    return ", ".join(f"{k}={params[k]}" for k in sorted(params) if k not in skip)


def as_list(x: Any) -> list[str]:
    if x is None:
        return []
    if isinstance(x, list | tuple):
        return [str(v) for v in x]
    return [str(x)]
