"""Checks of a results document's benchmarks beyond one field's type: the plan summary, samples against statistics."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from perfkit._results_check import (
    BOOLEAN,
    INTEGER,
    LIST,
    NON_NEGATIVE,
    NUMBER,
    OBJECT,
    STRING,
    Check,
    check_fields,
    check_items,
    nullable,
)
from perfkit.errors import ResultsError

# A benchmark's plan summary (PlanSummary.to_dict, plus what a scenario adds). The shape plan:changed compares is
# required: every perfkit that wrote a plan wrote it. The rest is checked where present; unknown fields are ignored.
_PLAN_LISTS: dict[str, Check] = {"node_types": STRING, "indexes": STRING, "seq_scans": STRING}
_PLAN_OPTIONAL: dict[str, Check] = {
    "index_only": BOOLEAN,
    "planning_ms": nullable(NUMBER),
    "execution_ms": nullable(NUMBER),
    "shared_hit_blocks": INTEGER,
    "shared_read_blocks": INTEGER,
    "rows_removed": INTEGER,
    "hottest_node": nullable(OBJECT),
    "worst_misestimate": nullable(OBJECT),
    "triggers_ms": NUMBER,
    "triggers_inside_ms": NUMBER,
    "triggers_outside_ms": NUMBER,
    "tree_ms": NUMBER,
    "total_ms": NUMBER,
    "jit_ms": NUMBER,
    "node_names": STRING,  # results.LEGACY_NODE_NAMES on a plan upgraded from format 2
    "index_set_definition": STRING,  # the index scenario's
}
_PLAN_OPTIONAL_LISTS: dict[str, Check] = {
    "index_scans": OBJECT,
    "large_seq_scans": OBJECT,
    "spills": OBJECT,
    "triggers": OBJECT,
    "warnings": STRING,
    "findings": STRING,
}


def check_plan(obj: Any, where: str) -> Mapping[str, Any] | None:
    """A benchmark's plan summary (or None): node_types, indexes and seq_scans lists of strings, numbers where
    numbers are, lists of what they hold; ResultsError names the first field that is wrong."""
    if obj is None:
        return None
    optional = {**_PLAN_OPTIONAL, **dict.fromkeys(_PLAN_OPTIONAL_LISTS, LIST)}
    plan = check_fields(obj, where, dict.fromkeys(_PLAN_LISTS, LIST), optional)
    for key, item in {**_PLAN_LISTS, **_PLAN_OPTIONAL_LISTS}.items():
        if key in plan:
            check_items(plan[key], f"{where}.{key}", item)
    return plan


def check_samples(samples: Any, where: str) -> None:
    """Timing samples: a list of finite numbers >= 0 (milliseconds)."""
    check_items(samples, where, NON_NEGATIVE)


def check_timing(samples: Sequence[float], n: int | None, where: str) -> None:
    """The statistics summarise the samples: both absent (a benchmark without timings), or `n` samples.

    `n` is the statistics' sample count, None when there are no statistics (null).
    """
    count = len(samples)
    if n is None and count:
        raise ResultsError(
            f"field {where}.stats is null but {where}.samples_ms holds {_samples(count)}: "
            "statistics are null only for a benchmark without timings (no samples)"
        )
    if n is not None and n != count:
        raise ResultsError(
            f"field {where}.stats.n is {n} but {where}.samples_ms holds {_samples(count)}: "
            "the statistics must summarise the samples"
            + (" (a benchmark without timings has no samples and null stats)" if not count else "")
        )


def check_summary(samples: Sequence[float], figures: Mapping[str, float], where: str) -> None:
    """The statistics' median, mean, min and max are those of the samples (to the 6 decimals perfkit writes)."""
    if not samples:
        return
    ordered = sorted(samples)
    half = len(ordered) // 2
    actual = {
        "median_ms": ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2,
        "mean_ms": math.fsum(ordered) / len(ordered),
        "min_ms": ordered[0],
        "max_ms": ordered[-1],
    }
    for name, value in actual.items():
        if name in figures and not math.isclose(figures[name], value, rel_tol=1e-9, abs_tol=2e-6):
            raise ResultsError(
                f"field {where}.stats.{name} is {figures[name]:g} but the samples' is {value:g}: "
                "the statistics must summarise the samples"
            )


def _samples(count: int) -> str:
    return "no samples" if not count else f"{count} sample" + ("" if count == 1 else "s")


def check_unique(keys: Sequence[str]) -> None:
    """No benchmark twice: a comparison matches benchmarks by key and would silently keep only one of them."""
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in first:
            raise ResultsError(
                f"benchmarks[{i}] repeats benchmark {key} (benchmarks[{first[key]}]): "
                "each scenario/name/variant and parameters may appear once"
            )
        first[key] = i
