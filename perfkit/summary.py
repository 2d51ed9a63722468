"""The short summary `perfkit run` prints: one row per benchmark, figures formatted for people."""

from __future__ import annotations

from dataclasses import dataclass

from perfkit.results import RunResults

_COUNTERS = ("statements", "shared_hit_blocks", "shared_read_blocks", "rows_read", "rows_removed")


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One line of the run summary."""

    scenario: str
    benchmark: str
    variant: str
    params: str
    median: str
    ci: str
    counters: str


def fmt_ms(ms: float) -> str:
    """A duration with a sensible unit and 3 significant figures."""
    if ms < 1:
        return f"{ms * 1000:.3g} µs"
    if ms < 1000:
        return f"{ms:.3g} ms"
    return f"{ms / 1000:.3g} s"


def summary_rows(results: RunResults) -> list[SummaryRow]:
    """Rows for the terminal summary, in the order benchmarks were run."""
    rows: list[SummaryRow] = []
    for b in results.benchmarks:
        params = ", ".join(f"{k}={v}" for k, v in b.params.items())
        counters = ", ".join(f"{k.replace('_blocks', '')}={int(b.counters[k]):,}" for k in _COUNTERS if k in b.counters)
        if b.stats is None:
            median = ci = "-"
        else:
            median = fmt_ms(b.stats.median_ms)
            ci = f"{fmt_ms(b.stats.ci_low_ms)} – {fmt_ms(b.stats.ci_high_ms)}"
        rows.append(SummaryRow(b.scenario, b.name, b.variant, params, median, ci, counters))
    return rows
