"""Two runs side by side: median change per benchmark, significance by CI overlap, counters that changed."""

from __future__ import annotations

import math

import pandas as pd

from perfkit.report._common import params_label, timing
from perfkit.report._format import environment_items
from perfkit.results import Benchmark, RunResults

COMPARISON_COLUMNS = [
    "scenario",
    "name",
    "variant",
    "params",
    "baseline_ms",
    "current_ms",
    "change_pct",
    "verdict",
    "counters_changed",
    "version_changed",
]


def _significant(base: Benchmark, cur: Benchmark) -> bool:
    """Two medians differ when their 95% bootstrap confidence intervals do not overlap."""
    b, c = timing(base), timing(cur)
    if any(math.isnan(v) for v in (*b.values(), *c.values())):
        return False
    return c["ci_low_ms"] > b["ci_high_ms"] or c["ci_high_ms"] < b["ci_low_ms"]


def _num(v: float) -> str:
    return f"{v:,.0f}" if v == round(v) else f"{v:,.2f}"


def counters_changed(base: Benchmark, cur: Benchmark) -> str:
    """Counters whose value differs between two runs, as 'statements 11 → 101; rows 5 → 6'."""
    changes = []
    for name in sorted(set(base.counters) | set(cur.counters)):
        b, c = base.counters.get(name), cur.counters.get(name)
        if b is None or c is None:
            changes.append(f"{name} {'–' if b is None else _num(b)} → {'–' if c is None else _num(c)}")
        elif not math.isclose(b, c, rel_tol=1e-9, abs_tol=1e-12):
            changes.append(f"{name} {_num(b)} → {_num(c)}")
    return "; ".join(changes)


def comparison_frame(baseline: RunResults, current: RunResults) -> pd.DataFrame:
    """One row per benchmark key in either run: medians, change %, verdict and changed counters.

    The verdict is 'slower' or 'faster' only when the 95% confidence intervals of the medians do not overlap,
    'not significant' otherwise; 'new' and 'removed' mark benchmarks present in one run only.
    """
    base = {b.key: b for b in baseline.benchmarks}
    cur = {b.key: b for b in current.benchmarks}
    rows = []
    for key in [*base, *(k for k in cur if k not in base)]:
        b, c = base.get(key), cur.get(key)
        ref = c or b
        assert ref is not None
        b_ms = timing(b)["median_ms"] if b else float("nan")
        c_ms = timing(c)["median_ms"] if c else float("nan")
        if b is None:
            verdict, change = "new", float("nan")
        elif c is None:
            verdict, change = "removed", float("nan")
        else:
            change = (c_ms / b_ms - 1.0) * 100.0 if b_ms > 0 else float("nan")
            verdict = ("slower" if c_ms > b_ms else "faster") if _significant(b, c) else "not significant"
        rows.append(
            {
                "scenario": ref.scenario,
                "name": ref.name,
                "variant": ref.variant,
                "params": params_label(ref.params),
                "baseline_ms": b_ms,
                "current_ms": c_ms,
                "change_pct": change,
                "verdict": verdict,
                "counters_changed": counters_changed(b, c) if b and c else "",
                "version_changed": bool(b and c and b.version != c.version),
            }
        )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def environment_diff(baseline: RunResults, current: RunResults) -> pd.DataFrame:
    """The two environments side by side, with a flag on the fields that differ."""
    b, c = environment_items(baseline.environment), environment_items(current.environment)
    rows = [
        {"setting": label, "baseline": bv, "current": cv, "differs": bv != cv}
        for (label, bv), (_, cv) in zip(b, c, strict=True)
    ]
    return pd.DataFrame(rows, columns=["setting", "baseline", "current", "differs"])


def comparable(baseline: RunResults, current: RunResults) -> list[str]:
    """The environment fields that differ and make a comparison questionable (empty when comparable)."""
    kb, kc = baseline.environment.comparable_key(), current.environment.comparable_key()
    return [k for k in kb if kb[k] != kc.get(k)]
