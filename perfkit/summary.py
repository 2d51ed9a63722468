"""The short summary `perfkit run` prints: one table per scenario, figures formatted for people."""

from __future__ import annotations

from dataclasses import dataclass

from perfkit.results import Benchmark, RunResults

# The counters worth a column in the terminal, per scenario (the report has everything).
_COUNTERS: dict[str, tuple[tuple[str, str], ...]] = {
    "loading": (("statements", "statements"), ("rows", "rows")),
    "pagination": (("rows_read", "rows read"), ("shared_hit_blocks", "buffers hit")),
    "indexes": (("shared_hit_blocks", "buffers hit"), ("rows_removed", "rows removed")),
}
_DEFAULT_COUNTERS = (("statements", "statements"), ("shared_hit_blocks", "buffers hit"))


@dataclass(frozen=True, slots=True)
class SummaryTable:
    """One scenario's summary: column titles and formatted rows."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def fmt_ms(ms: float) -> str:
    """A duration with a sensible unit and 3 significant figures."""
    if ms < 1:
        return f"{ms * 1000:.3g} µs"
    if ms < 1000:
        return f"{ms:.3g} ms"
    return f"{ms / 1000:.3g} s"


def _params(b: Benchmark) -> str:
    return " ".join(f"{k}={v}" for k, v in b.params.items())


def _count(b: Benchmark, key: str) -> str:
    v = b.counters.get(key)
    return "-" if v is None else f"{int(v):,}"


def summary_tables(results: RunResults) -> list[SummaryTable]:
    """One table per scenario, in the order the scenarios ran."""
    order: list[str] = []
    for b in results.benchmarks:
        if b.scenario not in order:
            order.append(b.scenario)
    tables: list[SummaryTable] = []
    for scenario in order:
        counters = _COUNTERS.get(scenario, _DEFAULT_COUNTERS)
        rows: list[tuple[str, ...]] = []
        for b in results.benchmarks:
            if b.scenario != scenario:
                continue
            if b.stats is None:
                median = ci = "-"
            else:
                median = fmt_ms(b.stats.median_ms)
                lo, hi = b.stats.ci_low_ms, b.stats.ci_high_ms
                ci = "n/a" if lo is None or hi is None else f"{fmt_ms(lo)}–{fmt_ms(hi)}"
            rows.append((b.name, b.variant, _params(b), median, ci, *(_count(b, k) for k, _ in counters)))
        columns = ("benchmark", "variant", "parameters", "median", "95% CI", *(title for _, title in counters))
        tables.append(SummaryTable(scenario, columns, tuple(rows)))
    return tables
