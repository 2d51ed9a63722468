"""Compare two runs: match benchmarks by key, apply threshold checks, judge wall time with statistics."""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal

from perfkit._plan_records import json_node_type, plain_join_name
from perfkit._plan_summary import NODE_NAMES
from perfkit._significance import significance, stats_of
from perfkit._thresholds import (
    COUNTER_ALIASES,
    DEFAULT_SPECS,
    TIMING_COUNTERS,
    Check,
    CounterCheck,
    Limit,
    PlanCheck,
    TimeCheck,
    config_specs,
    is_counter_name,
    parse_check,
    parse_checks,
    resolve,
    resolve_checks,
)
from perfkit.errors import CompareError, EnvironmentMismatch, ThresholdError
from perfkit.results import LEGACY_NODE_NAMES, Benchmark, Environment, RunResults, load

__all__ = [
    "DEFAULT_SPECS",
    "TIMING_COUNTERS",
    "BenchmarkComparison",
    "Check",
    "CheckResult",
    "Comparison",
    "CounterCheck",
    "Limit",
    "PlanCheck",
    "PlanShape",
    "StaleBenchmark",
    "TimeCheck",
    "Verdict",
    "check_names",
    "compare",
    "compare_files",
    "config_specs",
    "environment_differences",
    "parse_check",
    "parse_checks",
    "recorded_counters",
    "resolve_checks",
]

Verdict = Literal["ok", "regression", "improvement", "not significant", "not comparable", "changed", "missing"]
FAILING: frozenset[str] = frozenset({"regression", "changed"})


@dataclass(frozen=True, slots=True)
class PlanShape:
    """What plan:changed looks at: node types in tree order and the indexes used."""

    node_types: tuple[str, ...]
    indexes: tuple[str, ...]
    seq_scans: tuple[str, ...]

    @classmethod
    def from_plan(cls, plan: Mapping[str, Any], *, json_names: bool = False, plain_joins: bool = False) -> PlanShape:
        """The plan's shape; with `json_names`, node types as PostgreSQL's JSON names them (to compare with a plan
        from results format 2, which recorded those); with `plain_joins`, joins without their join type (to compare
        with a plan recorded before perfkit named them Hash Left Join, Nested Loop Semi Join, ...)."""
        names = [str(x) for x in plan.get("node_types") or ()]
        if json_names:
            names = [json_node_type(x) for x in names]
        elif plain_joins:
            names = [plain_join_name(x) for x in names]
        return cls(
            node_types=tuple(names),
            indexes=tuple(sorted({str(x) for x in plan.get("indexes") or ()})),
            seq_scans=tuple(sorted({str(x) for x in plan.get("seq_scans") or ()})),
        )

    def describe(self) -> str:
        idx = ", ".join(self.indexes) if self.indexes else "no index"
        return f"{' > '.join(self.node_types) or '?'} [{idx}]"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check applied to one benchmark. change: a fraction for time and relative limits (for time, relative to
    the machine drift), else an absolute delta."""

    spec: str
    metric: str
    baseline: float | None
    current: float | None
    change: float | None
    relative: bool
    verdict: Verdict
    detail: str = ""
    baseline_plan: PlanShape | None = None
    current_plan: PlanShape | None = None
    #: Time checks: the machine drift of the scenario. `current` is as measured; `change` is relative to the drift.
    drift: float = 1.0

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING


@dataclass(frozen=True, slots=True)
class BenchmarkComparison:
    """A benchmark present in both runs, and what every check said about it (version_changed: its SQL differs)."""

    key: str
    scenario: str
    name: str
    variant: str
    results: tuple[CheckResult, ...]
    version_changed: bool = False

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.results)


@dataclass(frozen=True, slots=True)
class StaleBenchmark:
    """Same key, different benchmark version: its SQL or parameters changed since the baseline.

    It is still compared, by key: the key names what is measured (a page of N, depth D of the feed), the SQL is how,
    and a pull request that rewrites the how (batched -> N+1, keyset -> OFFSET) is exactly what the gates must judge.
    """

    key: str
    baseline_version: str
    current_version: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of `compare`: verdicts per matched benchmark, plus what could not be compared and why."""

    checks: tuple[str, ...]
    benchmarks: tuple[BenchmarkComparison, ...]
    stale: tuple[StaleBenchmark, ...]
    only_baseline: tuple[str, ...]
    only_current: tuple[str, ...]
    environment_differences: tuple[str, ...]
    warnings: tuple[str, ...]
    timing_comparable: bool = True  # False: the runs were timed with different protocols, timings never gate

    @property
    def failures(self) -> tuple[tuple[str, CheckResult], ...]:
        """(benchmark key, failing check result) pairs."""
        return tuple((b.key, r) for b in self.benchmarks for r in b.results if r.failed)

    @property
    def failed(self) -> bool:
        return bool(self.failures)


def environment_differences(baseline: Environment, current: Environment) -> tuple[str, ...]:
    """Human-readable differences in the fields that must match (settings listed one by one)."""
    a, b = baseline.comparable_key(), current.comparable_key()
    out: list[str] = []
    for field, va in a.items():
        vb = b[field]
        if field == "server_settings":
            for k in sorted(set(va) | set(vb)):
                if va.get(k) != vb.get(k):
                    out.append(f"server_settings.{k}: {va.get(k, '(unset)')} -> {vb.get(k, '(unset)')}")
        elif va != vb:
            out.append(f"{field}: {va} -> {vb}")
    return tuple(out)


def compare(
    baseline: RunResults,
    current: RunResults,
    checks: Sequence[Check] | None = None,
    *,
    allow_env_mismatch: bool = False,
    correct_drift: bool = True,
) -> Comparison:
    """Match benchmarks by key and apply checks (default DEFAULT_SPECS); refuse other environments unless allowed.

    A check that could never fire is a ThresholdError: an empty list of checks, or a `counter:<name>` whose counter
    no benchmark of either run records (see `check_names`).

    Shared machines speed up and slow down between runs. With `correct_drift`, timings are judged relative to the
    drift of their scenario (`scenario_drifts`): the median, over its common benchmarks (at least
    MIN_DRIFT_BENCHMARKS, else over the whole run), of current/baseline medians. A regression is then a benchmark
    that got slower than the rest of its scenario.
    """
    applied = parse_checks(DEFAULT_SPECS) if checks is None else tuple(checks)
    if not applied:
        raise ThresholdError("no checks to apply: an empty list of checks gates nothing")
    check_names(applied, baseline, current)
    diffs = environment_differences(baseline.environment, current.environment)
    warnings: list[str] = []
    if diffs:
        listed = "; ".join(diffs)
        if not allow_env_mismatch:
            raise EnvironmentMismatch(
                f"the runs were measured in different environments ({listed}); "
                "re-run on matching ones or pass --allow-env-mismatch"
            )
        warnings.append(f"ENVIRONMENTS DIFFER, differences may not be caused by the code: {listed}")

    base_by_key = {b.key: b for b in baseline.benchmarks}
    cur_by_key = {b.key: b for b in current.benchmarks}
    common = [k for k in base_by_key if k in cur_by_key]
    if not common:
        raise CompareError("the two results have no benchmark in common (different scenarios or parameters?)")

    timed_alike = baseline.environment.timing_protocol == current.environment.timing_protocol
    if not timed_alike:
        warnings.append(
            f"the baseline was timed with protocol {baseline.environment.timing_protocol} and this run with "
            f"{current.environment.timing_protocol}: timings are not like for like, so the timing checks are "
            "shown as not comparable and do not fail; the exact counters and plans are checked as usual "
            "(save a new baseline to gate time again)"
        )
    timed = any(isinstance(check, TimeCheck) for check in applied)
    drifts = scenario_drifts(baseline, current, common) if correct_drift and timed_alike and timed else {}
    warnings += drift_warnings(drifts)  # none when no check judges time: the drift would excuse nothing
    compared: list[BenchmarkComparison] = []
    stale: list[StaleBenchmark] = []
    for key in common:
        b, c = base_by_key[key], cur_by_key[key]
        changed = bool(b.version and c.version and b.version != c.version)
        if changed:
            stale.append(StaleBenchmark(key=key, baseline_version=b.version, current_version=c.version))
        drift = drift_for(drifts, c.scenario)
        results = tuple(r for check in applied if (r := _apply(check, b, c, drift, timed_alike)) is not None)
        compared.append(
            BenchmarkComparison(
                key=key, scenario=c.scenario, name=c.name, variant=c.variant, results=results, version_changed=changed
            )
        )
    for check in applied if checks is not None else ():  # the defaults apply where their metric exists: no warning
        if not any(r.spec == check.spec for bc in compared for r in bc.results):
            warnings.append(
                f"check {check.spec} gated nothing: no benchmark the two runs have in common records its metric"
            )
    if stale:
        warnings.append(
            f"{len(stale)} benchmark(s) changed their SQL or parameters since the baseline; compared by name "
            "(save a new baseline once the change is intended)"
        )
    return Comparison(
        checks=tuple(c.spec for c in applied),
        benchmarks=tuple(compared),
        stale=tuple(stale),
        only_baseline=tuple(k for k in base_by_key if k not in cur_by_key),
        only_current=tuple(k for k in cur_by_key if k not in base_by_key),
        environment_differences=diffs,
        warnings=tuple(warnings),
        timing_comparable=timed_alike,
    )


def recorded_counters(*runs: RunResults) -> frozenset[str]:
    """Every name a `counter:<name>` check can gate in these runs: counters and plan-summary numbers, not timings."""
    names: set[str] = set()
    for r in runs:
        for b in r.benchmarks:
            names.update(b.counters)
            names.update(k for k, v in (b.plan or {}).items() if _is_count(v))
    return frozenset(n for n in names if is_counter_name(n))


def check_names(checks: Iterable[Check], baseline: RunResults, current: RunResults) -> None:
    """A ThresholdError for a `counter:<name>` check whose counter neither run records: that gate could never fire."""
    known = recorded_counters(baseline, current)
    for check in checks:
        if not isinstance(check, CounterCheck) or check.alias:
            continue  # the aliases, time and plan checks are a fixed vocabulary: a typo there does not parse
        for name in check.counters:
            if name not in known:
                raise ThresholdError(_unknown_counter(check, name, known))


def _unknown_counter(check: CounterCheck, name: str, known: frozenset[str]) -> str:
    """The one-line error for a counter no benchmark records, with the nearest known name when one is close."""
    if name in COUNTER_ALIASES:
        hint = f"{name} is a check of its own, {name}:+N; "
    elif close := get_close_matches(name, sorted(known), n=1):
        hint = f"did you mean {close[0]!r}? "
    else:
        hint = ""
    listed = ", ".join(sorted(known)) or "none"
    return (
        f"bad threshold {check.spec!r}: counter {name!r} is recorded in no benchmark of either file "
        f"({hint}known counters: {listed})"
    )


MIN_DRIFT_BENCHMARKS = 5


def scenario_drifts(
    baseline: RunResults, current: RunResults, keys: Sequence[str]
) -> dict[str | None, tuple[float, int, tuple[str, ...]]]:
    """The drift (see `run_drift`) of each scenario with at least MIN_DRIFT_BENCHMARKS timed benchmarks in common,
    and of the whole run (key None) for the others: (drift, how many benchmarks its median is over, the scenarios
    judged by it).

    A scenario's benchmarks are timed together, within a few seconds of each other; a slow spell of a shared machine
    that lasts as long (pagination's timed calls add up to a fraction of a second) shifts them all, and the run-wide
    median, dominated by the other scenarios, does not absorb it.
    """
    cur = {b.key: b for b in current.benchmarks}
    by_scenario: dict[str, list[str]] = {}
    for key in keys:
        by_scenario.setdefault(cur[key].scenario, []).append(key)
    out: dict[str | None, tuple[float, int, tuple[str, ...]]] = {}
    rest: list[str] = []
    for scenario, its in by_scenario.items():
        ratios = _ratios(baseline, current, its)
        if len(ratios) >= MIN_DRIFT_BENCHMARKS:
            out[scenario] = (float(statistics.median(ratios)), len(ratios), (scenario,))
        else:
            rest.append(scenario)
    if rest:
        out[None] = (run_drift(baseline, current, keys), len(_ratios(baseline, current, keys)), tuple(rest))
    return out


def drift_for(drifts: Mapping[str | None, tuple[float, int, tuple[str, ...]]], scenario: str) -> float:
    """The drift a benchmark of `scenario` is judged against (1.0 when there is none)."""
    own = drifts.get(scenario) or drifts.get(None)
    return own[0] if own else 1.0


def drift_warnings(drifts: Mapping[str | None, tuple[float, int, tuple[str, ...]]]) -> list[str]:
    """One warning per drift beyond 5% (see `scenario_drifts`): timings are judged relative to it."""
    out: list[str] = []
    for scenario, (drift, over, scenarios) in drifts.items():
        if abs(drift - 1.0) <= 0.05:
            continue
        word = "slower" if drift > 1 else "faster"
        if scenario is None:
            few = ", ".join(scenarios)
            head = f"the {few} benchmarks (too few for a drift of their own) are judged against the whole run, which is"
        else:
            head = f"the {scenario} benchmarks are"
        out.append(
            f"{head} {abs(drift - 1):.0%} {word} than the baseline (machine drift, median over {over} benchmarks); "
            "timings are judged relative to it"
        )
    return out


def run_drift(baseline: RunResults, current: RunResults, keys: Sequence[str]) -> float:
    """Median of current/baseline median times over the common timed benchmarks (1.0 with too few of them)."""
    ratios = _ratios(baseline, current, keys)
    if len(ratios) < MIN_DRIFT_BENCHMARKS:
        return 1.0
    return float(statistics.median(ratios))


def _ratios(baseline: RunResults, current: RunResults, keys: Sequence[str]) -> list[float]:
    base = {b.key: b for b in baseline.benchmarks}
    cur = {b.key: b for b in current.benchmarks}
    return [
        cur[k].stats.median_ms / base[k].stats.median_ms  # type: ignore[union-attr]
        for k in keys
        if base[k].stats is not None
        and cur[k].stats is not None
        and base[k].stats.median_ms > 0  # type: ignore[union-attr]
        and len(base[k].samples_ms) > 1
        and len(cur[k].samples_ms) > 1
    ]


def _apply(
    check: Check, b: Benchmark, c: Benchmark, drift: float = 1.0, timed_alike: bool = True
) -> CheckResult | None:
    if isinstance(check, TimeCheck):
        return time_result(check, b, c, drift, timed_alike)
    if isinstance(check, CounterCheck):
        return _counter(check, b, c)
    return _plan(check, b, c)


def time_result(
    check: TimeCheck, b: Benchmark, c: Benchmark, drift: float = 1.0, timed_alike: bool = True
) -> CheckResult | None:
    """Judged relative to the machine drift of the scenario, and only where the measured change agrees: a drift
    correction may excuse a slower machine but never makes a regression (or an improvement) of a benchmark whose
    measured time did not move that way (a scenario that sped up unevenly, as on warmer caches, did that)."""
    if not b.samples_ms or not c.samples_ms:
        return None
    bs = stats_of(b.samples_ms, b.stats)
    # the current samples as they would be without the machine drift of their scenario
    c_samples = tuple(x / drift for x in c.samples_ms) if drift != 1.0 else c.samples_ms
    cs = stats_of(c_samples, None if drift != 1.0 else c.stats)
    attr = "median_ms" if check.stat == "median" else "mean_ms"
    base_v, cur_v = float(getattr(bs, attr)), float(getattr(cs, attr))
    measured = cur_v * drift
    sig = significance(b.samples_ms, bs, c_samples, cs)
    change = (cur_v - base_v) / base_v if base_v else 0.0
    detail = f"p={sig.p_value:.3g}, median CI {_ci(bs.ci_low_ms, bs.ci_high_ms)} vs {_ci(cs.ci_low_ms, cs.ci_high_ms)}"
    if drift != 1.0:
        detail += f"; change relative to the machine drift x{drift:.2f} of its scenario"
    verdict: Verdict
    limit = check.limit
    if limit.exceeded(base_v, cur_v) and limit.exceeded(base_v, measured):
        verdict = "regression" if sig.significant and sig.direction > 0 else "not significant"
    elif (
        sig.significant and sig.direction < 0 and check.limit.fell(base_v, cur_v) and check.limit.fell(base_v, measured)
    ):
        verdict = "improvement"  # past the limit too, both ways, as a regression must be
    else:
        verdict = "ok"
    if not timed_alike:  # another timing protocol: shown, never gated
        verdict = "not comparable"
        detail += "; timed with another protocol than the baseline"
    return CheckResult(
        spec=check.spec,
        metric=check.metric,
        baseline=base_v,
        current=measured,
        change=change,
        relative=True,
        verdict=verdict,
        detail=detail,
        drift=drift,
    )


def _counter_value(bench: Benchmark, names: tuple[str, ...]) -> float | None:
    """Sum of the named counters; read from the plan summary when the counters lack them. None if any is absent."""
    total = 0.0
    for n in names:
        if n in bench.counters:
            total += float(bench.counters[n])
        elif bench.plan is not None and _is_count(bench.plan.get(n)):
            total += float(bench.plan[n])
        else:
            return None
    return total


def _is_count(value: object) -> bool:
    """A number a counter check can compare (a plan summary's flags, such as index_only, are not counts)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _counter(check: CounterCheck, b: Benchmark, c: Benchmark) -> CheckResult | None:
    base_v, cur_v = _counter_value(b, check.counters), _counter_value(c, check.counters)
    if base_v is None and cur_v is None:
        return None
    verdict: Verdict
    detail = ""
    change: float | None = None
    relative = False
    if base_v is None or cur_v is None:
        verdict = "missing"
        detail = f"not in the {'baseline' if base_v is None else 'current run'}"
    else:
        if check.limit.exceeded(base_v, cur_v):
            verdict = "regression"
        elif cur_v < base_v:
            verdict = "improvement"
        else:
            verdict = "ok"
        relative = check.limit.relative and base_v != 0
        change = (cur_v - base_v) / abs(base_v) if relative else cur_v - base_v
    return CheckResult(
        spec=check.spec,
        metric=check.metric,
        baseline=base_v,
        current=cur_v,
        change=change,
        relative=relative,
        verdict=verdict,
        detail=detail,
    )


def _plan(check: PlanCheck, b: Benchmark, c: Benchmark) -> CheckResult | None:
    if b.plan is None and c.plan is None:
        return None
    legacy = any(p is not None and p.get("node_names") == LEGACY_NODE_NAMES for p in (b.plan, c.plan))
    # a plan recorded before the summaries said `node_names` names joins without their type (Hash Join)
    plain = len({p.get("node_names") == NODE_NAMES for p in (b.plan, c.plan) if p is not None}) > 1
    bp = None if b.plan is None else PlanShape.from_plan(b.plan, json_names=legacy, plain_joins=plain)
    cp = None if c.plan is None else PlanShape.from_plan(c.plan, json_names=legacy, plain_joins=plain)
    verdict: Verdict
    if bp is None or cp is None:
        verdict = "missing"
        detail = f"no plan in the {'baseline' if bp is None else 'current run'}"
    elif bp.node_types != cp.node_types or bp.indexes != cp.indexes:
        verdict = "changed"
        detail = _plan_detail(bp, cp)
    else:
        verdict = "ok"
        detail = ""
    return CheckResult(
        spec=check.spec,
        metric=check.metric,
        baseline=None,
        current=None,
        change=None,
        relative=False,
        verdict=verdict,
        detail=detail,
        baseline_plan=bp,
        current_plan=cp,
    )


def _plan_detail(bp: PlanShape, cp: PlanShape) -> str:
    parts: list[str] = []
    lost = sorted(set(bp.indexes) - set(cp.indexes))
    gained = sorted(set(cp.indexes) - set(bp.indexes))
    if lost:
        parts.append("lost index " + ", ".join(lost))
    if gained:
        parts.append("new index " + ", ".join(gained))
    if bp.node_types != cp.node_types:
        parts.append("node types changed")
    return "; ".join(parts)


def _ci(lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None:
        return "n/a (1 sample)"
    return f"[{lo:.3g}, {hi:.3g}] ms"


def compare_files(
    baseline: str | os.PathLike[str],
    current: str | os.PathLike[str],
    specs: Sequence[str] = (),
    *,
    allow_env_mismatch: bool = False,
    pyproject: Path = Path("pyproject.toml"),
    correct_drift: bool = True,
) -> Comparison:
    """Load two results files and compare them with the given specs (else pyproject.toml's, else the defaults)."""
    resolved = resolve(specs, pyproject=pyproject)
    chosen = resolved.checks if specs or resolved.origin is not None else None  # None: the defaults
    base, cur = load(baseline), load(current)
    try:
        return compare(base, cur, chosen, allow_env_mismatch=allow_env_mismatch, correct_drift=correct_drift)
    except ThresholdError as exc:
        if resolved.origin is None:
            raise
        raise ThresholdError(f"{resolved.origin}: {exc}") from None
