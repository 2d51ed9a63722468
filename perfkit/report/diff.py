"""Two runs side by side: median change per benchmark, significance as `perfkit compare` judges it, counters."""

from __future__ import annotations

import math

import pandas as pd

from perfkit._thresholds import DEFAULT_SPECS, TimeCheck, parse_checks
from perfkit.compare import TIMING_COUNTERS, drift_for, drift_warnings, scenario_drifts, time_result
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
    "drift_change_pct",
    "verdict",
    "counters_changed",
    "version_changed",
]


ONE_SAMPLE = "n/a (1 sample)"


NOT_COMPARABLE = "not comparable"


#: The time check the report's verdicts apply: that of `perfkit compare`'s default gates.
REPORT_TIME_CHECK = next(c for c in parse_checks(DEFAULT_SPECS) if isinstance(c, TimeCheck))


def timing_verdict(base: Benchmark, cur: Benchmark, drift: float = 1.0) -> str:
    """'slower' or 'faster' exactly where `perfkit compare`'s default time check (time:median:+20%) finds a
    regression or an improvement (significant, past the limit relative to the machine `drift` and as measured);
    'not significant' otherwise; 'n/a (1 sample)' when either run has fewer than two samples."""
    if len(base.samples_ms) < 2 or len(cur.samples_ms) < 2:
        return ONE_SAMPLE
    result = time_result(REPORT_TIME_CHECK, base, cur, drift)
    verdict = result.verdict if result is not None else "ok"
    return {"regression": "slower", "improvement": "faster"}.get(verdict, "not significant")


def _num(v: float) -> str:
    return f"{v:,.0f}" if v == round(v) else f"{v:,.2f}"


#: Measured, not counted: Python's memory under tracemalloc moves by a few KiB between identical runs.
MEASURED = frozenset({"peak_kib"})
#: Where a block was found (shared buffers or not) depends on the cache, not on the code: their sum is compared.
_BLOCKS = ("shared_hit_blocks", "shared_read_blocks")


def _with_blocks_summed(counters: dict[str, float]) -> dict[str, float]:
    if not any(k in counters for k in _BLOCKS):
        return counters
    out = {k: v for k, v in counters.items() if k not in _BLOCKS}
    out["shared blocks (hit + read)"] = sum(counters.get(k, 0) for k in _BLOCKS)
    return out


def counters_changed(base: Benchmark, cur: Benchmark) -> str:
    """Counters whose value differs between two runs, as 'statements 11 → 101; rows 5 → 6' (not the timings among
    them, such as server_ms, which are never equal twice, nor measured memory; shared blocks hit and read as one sum,
    as a warmer cache moves blocks from one to the other)."""
    changes = []
    bc, cc = _with_blocks_summed(dict(base.counters)), _with_blocks_summed(dict(cur.counters))
    for name in sorted((set(bc) | set(cc)) - TIMING_COUNTERS - MEASURED):
        b, c = bc.get(name), cc.get(name)
        if b is None or c is None:
            changes.append(f"{name} {'–' if b is None else _num(b)} → {'–' if c is None else _num(c)}")
        elif not math.isclose(b, c, rel_tol=1e-9, abs_tol=1e-12):
            changes.append(f"{name} {_num(b)} → {_num(c)}")
    return "; ".join(changes)


def comparison_frame(baseline: RunResults, current: RunResults) -> pd.DataFrame:
    """One row per benchmark key in either run: medians, change %, verdict and changed counters.

    The verdict is the one `perfkit compare` gives wall time ('slower' or 'faster' only when the Mann-Whitney test
    and the medians' 95% CIs agree, relative to the machine drift of the benchmark's scenario; 'not significant'
    otherwise, 'n/a (1 sample)' when there is nothing to test, 'not comparable' when the runs were timed with
    different protocols); 'new' and 'removed' mark benchmarks present in one run only. change_pct is the measured
    change of the medians, drift_change_pct the change relative to the machine drift of the scenario (what the
    verdict judges).
    """
    base = {b.key: b for b in baseline.benchmarks}
    cur = {b.key: b for b in current.benchmarks}
    alike = baseline.environment.timing_protocol == current.environment.timing_protocol
    common = [k for k in base if k in cur]
    drifts = scenario_drifts(baseline, current, common) if alike and common else {}
    rows = []
    for key in [*base, *(k for k in cur if k not in base)]:
        b, c = base.get(key), cur.get(key)
        ref = c or b
        assert ref is not None
        b_ms = timing(b)["median_ms"] if b else float("nan")
        c_ms = timing(c)["median_ms"] if c else float("nan")
        if b is None:
            verdict, change, vs_drift = "new", float("nan"), float("nan")
        elif c is None:
            verdict, change, vs_drift = "removed", float("nan"), float("nan")
        else:
            drift = drift_for(drifts, c.scenario)
            change = (c_ms / b_ms - 1.0) * 100.0 if b_ms > 0 else float("nan")
            vs_drift = (c_ms / drift / b_ms - 1.0) * 100.0 if b_ms > 0 else float("nan")
            verdict = timing_verdict(b, c, drift) if alike else NOT_COMPARABLE
        rows.append(
            {
                "scenario": ref.scenario,
                "name": ref.name,
                "variant": ref.variant,
                "params": params_label(ref.params),
                "baseline_ms": b_ms,
                "current_ms": c_ms,
                "change_pct": change,
                "drift_change_pct": vs_drift,
                "verdict": verdict,
                "counters_changed": counters_changed(b, c) if b and c else "",
                "version_changed": bool(b and c and b.version != c.version),
            }
        )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def drift_notes(baseline: RunResults, current: RunResults) -> list[str]:
    """The machine drifts beyond 5% that the verdicts are judged against, as `perfkit compare` words them."""
    if baseline.environment.timing_protocol != current.environment.timing_protocol:
        return []
    cur = {b.key for b in current.benchmarks}
    common = [b.key for b in baseline.benchmarks if b.key in cur]
    return drift_warnings(scenario_drifts(baseline, current, common)) if common else []


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
    differ = [k for k in kb if kb[k] != kc.get(k)]
    if baseline.environment.timing_protocol != current.environment.timing_protocol:  # timings not like for like
        differ.append("timing protocol")
    return differ
