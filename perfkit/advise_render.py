"""Rendering `perfkit advise` results for the terminal: candidates with estimated cost, the measured best."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from perfkit.advise import Advice


def render_advice(advice: Advice) -> RenderableType:
    """A table of candidates (estimated cost and saving, plan shape) and a line for the measured best."""
    parts: list[RenderableType] = []
    what_if = {
        "used": "HypoPG what-if estimates",
        "disabled": "real indexes (HypoPG not used: --no-hypopg)",
    }.get(advice.hypopg_status, "real indexes (HypoPG not available)")
    parts.append(Text(f"current plan: {advice.baseline_shape}  (cost {advice.baseline_cost:,.2f})"))
    table = Table(title=f"candidate indexes: {what_if}", title_justify="left")
    for name in ("index", "why", "est. cost", "est. saving", "used", "estimated plan"):
        table.add_column(name, justify="right" if name.startswith("est.") and name != "estimated plan" else "left")
    for e in advice.estimates:
        table.add_row(
            e.definition,
            e.reason,
            f"{e.total_cost:,.2f}",
            f"{e.saving_pct:+.1f}%",
            "yes" if e.used else "no",
            e.plan_shape,
        )
    if advice.estimates:
        parts.append(table)
    b = advice.best
    if b is not None:
        parts.append(
            Text(
                f"best: {b.definition} ({b.size_bytes / 1024**2:.1f} MiB, built in {b.build_ms:,.0f} ms)\n"
                f"  measured: {b.baseline_ms:,.3f} ms -> {b.with_index_ms:,.3f} ms "
                f"(saving {b.measured_saving_pct:+.1f}%)"
                f"; estimated saving {b.estimated_saving_pct:+.1f}%\n"
                f"  plan with it: {b.plan_shape}\n"
                "  (built in a transaction that was rolled back: nothing was left in the database)"
            )
        )
    for note in advice.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    return Group(*parts)
