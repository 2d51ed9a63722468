"""Rendering a parsed plan: the JSON form of `perfkit explain --json` and a rich tree for the terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from perfkit._plan_json import rounded
from perfkit._plan_rounding import approx_ms, material_rows, material_time
from perfkit._plan_summary import PlanSummary
from perfkit.plan import Plan, PlanNode


def node_to_dict(node: PlanNode, *, timed: bool = True) -> dict[str, Any]:
    """The derived figures of one node (inclusive buffers, then exclusive ones prefixed `exclusive_`); its times are
    None unless `timed` (EXPLAIN ANALYZE with TIMING OFF measures none)."""
    out = {
        "node_type": node.node_type,
        "label": node.label,
        "relation": node.relation,
        "alias": node.alias,
        "index": node.index,
        "cte_name": node.cte_name,
        "parent_relationship": node.parent_relationship,
        "subplan_name": node.subplan_name,
        "depth": node.depth,
        "loops": node.loops,
        "processes": node.processes,
        "never_executed": node.never_executed,
        "rows_per_loop": node.rows_per_loop,
        "rows_total": node.rows_total,
        "rows_total_approx": node.rows_total_approx,
        "rows_total_error": node.rows_total_error,
        "plan_rows": node.plan_rows,
        "estimate_factor": node.estimate_factor,
        "estimate_direction": node.estimate_direction,
        "cut_short": node.cut_short,
        "rows_removed_total": node.rows_removed_total,
        "inclusive_ms": node.inclusive_ms,
        "exclusive_ms": node.exclusive_ms,
        "inclusive_ms_error": node.inclusive_ms_error,
        "exclusive_ms_error": node.exclusive_ms_error,
        **node.buffers.to_dict(),
        **node.exclusive_buffers.to_dict("exclusive_"),
        "warnings": list(node.warnings),
    }
    if not timed:
        out.update(dict.fromkeys(("inclusive_ms", "exclusive_ms", "inclusive_ms_error", "exclusive_ms_error")))
    return out


def plan_to_dict(plan: Plan, summary: PlanSummary, settings: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The machine-readable form: plan-level times, warnings, findings, the summary and the nodes depth first.

    `settings` are the ones the statement ran with (`perfkit explain --set`), recorded as `settings`. Floats are
    rounded (`*_ms` to the microsecond and always floats, factors to 3 significant digits, percentages to 2 decimals).
    """
    out: dict[str, Any] = rounded(_plan_dict(plan, summary, settings))
    return out


def _plan_dict(plan: Plan, summary: PlanSummary, settings: Mapping[str, str] | None) -> dict[str, Any]:
    return {
        "analyzed": plan.analyzed,
        "settings": dict(settings or {}),
        "planning_ms": plan.planning_ms,
        "execution_ms": plan.execution_ms,
        "total_ms": plan.total_ms if plan.has_timing else None,
        "outside_tree_ms": plan.outside_tree_ms if plan.has_timing else None,
        "triggers_ms": plan.triggers_ms,
        "jit_ms": plan.jit_ms,
        "block_size": plan.block_size,
        "triggers": [
            {
                "name": t.name,
                "relation": t.relation,
                "time_ms": t.time_ms,
                "calls": t.calls,
                "constraint": t.constraint,
                "after_tree": t.after_tree,
            }
            for t in plan.triggers
        ],
        "jit": None
        if plan.jit is None
        else {
            "functions": plan.jit.functions,
            "generation_ms": plan.jit.generation_ms,
            "inlining_ms": plan.jit.inlining_ms,
            "optimization_ms": plan.jit.optimization_ms,
            "emission_ms": plan.jit.emission_ms,
            "total_ms": plan.jit.total_ms,
            "processes": plan.jit.processes,
        },
        "warnings": list(plan.warnings),
        "findings": list(summary.findings),
        "summary": summary.to_dict() | ({} if plan.has_timing else {"tree_ms": None, "total_ms": None}),
        "nodes": [node_to_dict(n, timed=plan.has_timing) for n in plan.nodes()],
    }


def format_bytes(n: float) -> str:
    """1536 -> '1.50 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} TiB"  # pragma: no cover


def _count(n: float) -> str:
    """A row count: '1,200'; a fractional per-loop average (PostgreSQL 18) keeps two decimals."""
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.2f}"


def _estimate(node: PlanNode, unit: str) -> str:
    if node.plan_rows is None:
        return ""
    if node.estimate_factor is None or node.misestimate is None:
        return f" (est {node.plan_rows:,}{unit}, n/a)"
    if node.rows_per_loop == 0:  # no factor of nothing; "none" only when the total is known to be 0
        return f" (est {node.plan_rows:,}{unit}" + (", none returned)" if not node.rows_total_approx else ")")
    arrow = {"under": "↑", "over": "↓"}.get(node.estimate_direction or "", "=")
    cut = ", cut short" if node.cut_short and node.estimate_direction == "over" else ""
    return f" (est {node.plan_rows:,}{unit} {arrow}{node.misestimate:.1f}x{cut})"


def _rows(node: PlanNode) -> str:
    """Actual rows against the estimate on the same basis: PostgreSQL's estimate is per loop, so with several
    loops both are shown per loop, then multiplied out: 'rows 3/loop (est 3/loop =1.0x) × 200 loops ≈ 600', '≈'
    because the per-loop figure is rounded ('±100' when that is more than 10% of it, '=' when the total is exact)."""
    if node.loops > 1:
        per_loop = f"rows {_count(node.rows_per_loop)}/loop{_estimate(node, '/loop')}"
        if not node.rows_total_approx:
            return f"{per_loop} × {node.loops:,} loops = {node.rows_total:,}"
        error = f" ±{node.rows_total_error:,.0f}" if material_rows(node) else ""
        return f"{per_loop} × {node.loops:,} loops ≈ {node.rows_total:,}{error}"
    return f"rows {node.rows_total:,}{_estimate(node, '')}"


LEGEND = (
    "rows: actual (est: the planner's estimate, ↑ under / ↓ over by the factor); over several loops both per loop, "
    "× loops = the actual total. Times (exclusive), removed rows and buffers cover all loops. ≈: PostgreSQL rounds "
    "per-loop rows and times, so totals over loops are approximate (± when by more than 10%)."
)


def _node_line(node: PlanNode, plan: Plan) -> Text:
    line = Text()
    if node.subplan_name:
        line.append(f"[{node.subplan_name}] ", style="magenta")
    line.append(node.label, style="bold")
    if node.never_executed:
        estimate = f"; est {node.plan_rows:,} rows, ratio n/a" if node.plan_rows is not None else ""
        line.append(f"  (never executed{estimate})", style="dim")
        return line
    if plan.analyzed:
        total = plan.total_ms
        if plan.has_timing:
            share = f" {100 * node.exclusive_ms / total:.1f}%" if total > 0 else ""
            style = "red" if total > 0 and node.exclusive_ms / total >= 0.5 else "cyan"
            exclusive = approx_ms(node.exclusive_ms, node.exclusive_ms_error, material=material_time(node, total))
            line.append(f"  {exclusive}{share}", style=style)
        line.append(f"  {_rows(node)}")
        if node.rows_removed_total:
            line.append(f"  removed {node.rows_removed_total:,}", style="yellow")
        own, tot = node.exclusive_buffers, node.buffers
        if plan.has_buffers and (tot.shared_touched or tot.temp_read or tot.temp_written):
            line.append(f"  buffers hit {own.shared_hit:,} read {own.shared_read:,}", style="green")
            if own.temp_read or own.temp_written:
                line.append(f" temp r/w {own.temp_read:,}/{own.temp_written:,}", style="yellow")
            line.append(f" (subtree {format_bytes(plan.bytes(tot.shared_touched))})", style="dim")
    else:
        line.append(f"  est rows {node.plan_rows if node.plan_rows is not None else '?'}")
    for warning in node.warnings:
        line.append(f"  ! {warning}", style="yellow")
    return line


def _tree(node: PlanNode, plan: Plan, tree: Tree | None = None) -> Tree:
    branch = Tree(_node_line(node, plan)) if tree is None else tree.add(_node_line(node, plan))
    for child in node.children:
        _tree(child, plan, branch)
    return branch


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} ms"


def render_plan(plan: Plan, summary: PlanSummary, settings: Mapping[str, str] | None = None) -> RenderableType:
    """The plan tree (exclusive time, % of the root, rows vs estimate, own buffers) with times and findings."""
    head = Text()
    if settings:
        head.append("settings " + ", ".join(f"{k}={v}" for k, v in settings.items()) + "\n")
    head.append(f"planning {_ms(plan.planning_ms)}, execution {_ms(plan.execution_ms)}", style="bold")
    if plan.analyzed and not plan.has_timing:
        head.append(", timing off (EXPLAIN ANALYZE with TIMING OFF: rows and loops, no node times)")
    if plan.triggers:
        head.append(f", triggers {_ms(plan.triggers_ms)}")
    if plan.jit is not None and plan.jit.processes > 1:
        workers = plan.jit.processes - 1
        head.append(
            f", JIT {_ms(plan.jit_ms)} (summed over {plan.jit.processes} processes, the leader and {workers}"
            f" worker{'s' if workers > 1 else ''}: not wall time)"
        )
    elif plan.jit is not None:
        head.append(f", JIT {_ms(plan.jit_ms)} (inside node times)")
    parts: list[RenderableType] = [head, _tree(plan.root, plan)]
    for trig in plan.triggers:
        where = "after the tree" if trig.after_tree else "inside ModifyTable (BEFORE)"
        fk = f" (constraint {trig.constraint})" if trig.constraint else ""
        parts.append(
            Text(f"trigger {trig.name}{fk} on {trig.relation}: {trig.time_ms:.3f} ms, {trig.calls:,} calls, {where}")
        )
    for finding in summary.findings:
        parts.append(Text(f"• {finding}"))
    for warning in plan.warnings:
        parts.append(Text(f"! {warning}", style="yellow"))
    if plan.analyzed:
        parts.append(Text(LEGEND, style="dim"))
    return Group(*parts)
