"""Render a Comparison: a rich table for terminals, GitHub-flavoured Markdown for CI summaries, JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from perfkit.compare import FAILING, CheckResult, Comparison, PlanShape

_STYLE = {
    "regression": "bold red",
    "changed": "bold red",
    "improvement": "green",
    "ok": "dim",
    "not significant": "yellow",
    "not comparable": "yellow",
    "missing": "yellow",
}
_VERDICT_TEXT = {"changed": "plan changed"}


def verdict_text(r: CheckResult) -> str:
    """The verdict as printed ("not significant" spelt out; a changed plan says so)."""
    return _VERDICT_TEXT.get(r.verdict, r.verdict)


def format_value(r: CheckResult, value: float | None) -> str:
    if value is None:
        return "-"
    if r.metric.startswith("time:"):
        return f"{value:.3f} ms"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def format_change(r: CheckResult) -> str:
    """The change; for a time judged relative to machine drift, that change and the measured one."""
    if r.change is None:
        return "-"
    if r.drift != 1.0 and r.baseline and r.current is not None:
        return f"{r.change * 100:+.1f}% vs drift ({(r.current / r.baseline - 1) * 100:+.1f}% measured)"
    if r.relative:
        return f"{r.change * 100:+.1f}%"
    return f"{r.change:+,.0f}" if float(r.change).is_integer() else f"{r.change:+,.2f}"


def _cells(r: CheckResult, *, compact: bool = False) -> tuple[str, str, str]:
    """Baseline, current and change cells; plan rows show the plans themselves (compact: only changed ones)."""
    if r.metric == "plan":
        base = r.baseline_plan.describe() if r.baseline_plan else "-"
        if r.verdict == "ok":
            return ("same", "same", "-") if compact else (base, "(same)", "-")
        cur = r.current_plan.describe() if r.current_plan else "-"
        return base, cur, r.detail or "-"
    return format_value(r, r.baseline), format_value(r, r.current), format_change(r)


def summary_line(cmp: Comparison) -> str:
    n = len(cmp.benchmarks)
    fails = cmp.failures
    checks = ", ".join(cmp.checks)
    untimed = "" if cmp.timing_comparable else "; timings not comparable (another timing protocol), not gated"
    if not fails:
        return f"no regression in {n} benchmark(s) compared ({checks}{untimed})"
    keys = len({k for k, _ in fails})
    return f"{len(fails)} regression(s) in {keys} of {n} benchmark(s) compared ({checks}{untimed})"


def _side_notes(cmp: Comparison) -> list[str]:
    notes: list[str] = []
    notes += [
        f"SQL or parameters changed since the baseline: {s.key} ({s.baseline_version} -> {s.current_version})"
        for s in cmp.stale
    ]
    notes += [f"only in the baseline: {k}" for k in cmp.only_baseline]
    notes += [f"only in the current run: {k}" for k in cmp.only_current]
    return notes


def _changed_plans(cmp: Comparison) -> list[tuple[str, PlanShape, PlanShape]]:
    return [
        (b.key, r.baseline_plan, r.current_plan)
        for b in cmp.benchmarks
        for r in b.results
        if r.verdict == "changed" and r.baseline_plan is not None and r.current_plan is not None
    ]


# -- terminal ---------------------------------------------------------------------------------------


def comparison_table(cmp: Comparison) -> RenderableType:
    """Warnings, the verdict table, changed plans in full, and a one-line summary."""
    parts: list[RenderableType] = [Text(w, style="bold white on red") for w in cmp.warnings]
    table = Table(title="perfkit compare", show_lines=False)
    table.add_column("benchmark", overflow="fold")
    table.add_column("metric", overflow="fold")
    for col in ("baseline", "current", "change"):
        table.add_column(col, justify="right", overflow="fold")
    table.add_column("verdict")
    for b in cmp.benchmarks:
        for i, r in enumerate(b.results):
            base, cur, change = _cells(r, compact=True)
            verdict = Text(verdict_text(r), style=_STYLE.get(r.verdict, ""))
            head, _, tail = b.key.rpartition("/")
            cells = (f"{head}/\n{tail}" if i == 0 else "", r.metric, base, cur, change)
            table.add_row(*(Text(c) for c in cells), verdict)
        table.add_section()
    parts.append(table)
    for key, bp, cp in _changed_plans(cmp):
        parts.append(Text(f"plan changed: {key}", style="bold red"))
        parts.append(Text(f"  baseline: {_plan_long(bp)}"))
        parts.append(Text(f"  current:  {_plan_long(cp)}"))
    parts += [Text(n, style="yellow") for n in _side_notes(cmp)]
    parts.append(Text(summary_line(cmp), style="bold red" if cmp.failed else "bold green"))
    return Group(*parts)


def _plan_long(p: PlanShape) -> str:
    seq = f"; seq scans on {', '.join(p.seq_scans)}" if p.seq_scans else ""
    idx = ", ".join(p.indexes) if p.indexes else "none"
    return f"{' > '.join(p.node_types) or '?'}; indexes: {idx}{seq}"


# -- Markdown ---------------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(cmp: Comparison) -> str:
    """A GitHub-flavoured Markdown summary (for $GITHUB_STEP_SUMMARY or a PR comment)."""
    icon = ":x:" if cmp.failed else ":white_check_mark:"
    lines = ["## perfkit compare", ""]
    for w in cmp.warnings:  # a blank line between them: consecutive quote lines would merge into one paragraph
        lines += [f"> **Warning:** {_md(w)}", ""]
    lines += [f"{icon} {_md(summary_line(cmp))}", ""]
    rows = [(b, r) for b in cmp.benchmarks for r in b.results]
    shown = [(b, r) for b, r in rows if r.verdict != "ok"]
    if shown:
        lines.append("| benchmark | metric | baseline | current | change | verdict |")
        lines.append("|:---|:---|---:|---:|---:|:---|")
    for b, r in shown:
        base, cur, change = _cells(r)
        verdict = verdict_text(r)
        if r.failed:
            verdict = f"**{verdict}**"
        cells = [f"`{b.key}`", r.metric, base, cur, change, verdict]
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    if len(shown) < len(rows):  # a PR comment of hundreds of 'ok' rows hides the few that matter
        lines += ["", f"{len(rows) - len(shown)} check(s) ok (`--format table` or `json` lists them)."]
    changed = _changed_plans(cmp)
    if changed:
        lines += ["", "### Changed plans", ""]
        for key, bp, cp in changed:
            lines.append(f"- `{_md(key)}`")
            lines.append(f"  - baseline: {_md(_plan_long(bp))}")
            lines.append(f"  - current: {_md(_plan_long(cp))}")
    notes = _side_notes(cmp)
    if notes:
        lines += ["", "### Notes", ""]
        lines += [f"- {_md(n)}" for n in notes]
    return "\n".join(lines) + "\n"


# -- JSON -------------------------------------------------------------------------------------------


def to_dict(cmp: Comparison) -> dict[str, Any]:
    """A JSON-able document of the comparison, with `failed` at the top for scripts."""
    doc = asdict(cmp)
    doc = {"failed": cmp.failed, "summary": summary_line(cmp), **doc}
    for b in doc["benchmarks"]:
        b["failed"] = any(r["verdict"] in FAILING for r in b["results"])
    return doc


def to_json(cmp: Comparison) -> str:
    return json.dumps(to_dict(cmp), indent=1, allow_nan=False) + "\n"
