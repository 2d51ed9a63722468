"""EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output parsed into a frozen plan tree with derived figures and a summary.

How figures are derived (loops, parallel workers, InitPlans, SubPlans, CTEs, buffers) is described in
perfkit/_plan_derive.py, where trigger time went in perfkit/_plan_triggers.py, where a misestimate starts in
perfkit/_plan_misestimate.py. Plans without ANALYZE are refused unless `allow_estimates=True`; then they are accepted
with `analyzed=False`, zero actual figures and no estimate factors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from perfkit._plan_derive import build_tree, freeze
from perfkit._plan_load import load_document, number
from perfkit._plan_records import Buffers, Jit, Plan, PlanNode, Trigger
from perfkit._plan_rounding import rounding_warning
from perfkit._plan_summary import PlanSummary, summarize
from perfkit._plan_triggers import read_triggers
from perfkit.errors import PlanError

DEFAULT_BLOCK_SIZE = 8192

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "Buffers",
    "Jit",
    "Plan",
    "PlanError",
    "PlanNode",
    "PlanSummary",
    "Trigger",
    "parse_plan",
    "summarize",
]


def _ms(timing: Mapping[str, Any], key: str) -> float:
    value = timing.get(key)
    if isinstance(value, Mapping):  # PostgreSQL 17: "Generation": {"Deform": ..., "Total": ...}
        value = value.get("Total")
    return number(value) or 0.0


def _jit_processes(nodes: list[PlanNode]) -> int:
    """The processes whose JIT time PostgreSQL summed: the leader and every worker a Gather launched (those with
    their own "JIT" entry when VERBOSE lists them)."""
    workers = 0
    for node in nodes:
        if node.node_type not in ("Gather", "Gather Merge") or node.never_executed:
            continue
        entries = node.raw.get("Workers")
        listed = [w for w in entries if isinstance(w, Mapping) and "JIT" in w] if isinstance(entries, tuple) else []
        workers += len(listed) if listed else round(number(node.raw.get("Workers Launched")) or 0)
    return 1 + workers


def _jit(value: object, processes: int) -> Jit | None:
    if not isinstance(value, Mapping):
        return None
    timing = value.get("Timing")
    timing = timing if isinstance(timing, Mapping) else {}
    options = value.get("Options")
    return Jit(
        functions=round(number(value.get("Functions")) or 0),
        generation_ms=_ms(timing, "Generation"),
        inlining_ms=_ms(timing, "Inlining"),
        optimization_ms=_ms(timing, "Optimization"),
        emission_ms=_ms(timing, "Emission"),
        total_ms=_ms(timing, "Total"),
        options=MappingProxyType({str(k): bool(v) for k, v in options.items()})
        if isinstance(options, Mapping)
        else MappingProxyType({}),
        processes=processes,
    )


def parse_plan(doc: object, *, block_size: int = DEFAULT_BLOCK_SIZE, allow_estimates: bool = False) -> Plan:
    """A Plan from EXPLAIN FORMAT JSON output: a str/bytes of JSON, a list of one object, or the object itself.

    Raises PlanError (one line) for malformed or truncated JSON, text-format plans, and estimates-only plans
    (EXPLAIN without ANALYZE) unless `allow_estimates`.
    """
    if block_size <= 0:
        raise PlanError(f"block size must be positive, got {block_size}")
    top = load_document(doc)
    root_raw = top["Plan"]
    if not isinstance(root_raw, Mapping):
        raise PlanError("'Plan' is not a JSON object")
    analyzed = "Actual Loops" in root_raw or "Actual Rows" in root_raw
    if not analyzed and not allow_estimates:
        raise PlanError(
            "the plan has no ANALYZE figures (estimates only): capture it with EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)"
        )
    root = build_tree(root_raw, analyzed=analyzed)
    nodes = list(root.walk())
    has_buffers = any(any(k.endswith(" Blocks") for k in n.raw) for n in nodes)
    has_timing = analyzed and "Actual Total Time" in root_raw
    warnings: list[str] = []
    if not analyzed:
        warnings.append("estimates only (EXPLAIN without ANALYZE): no actual times, rows or buffers")
    else:
        if not has_timing:
            warnings.append("no per-node timing (EXPLAIN ANALYZE with TIMING OFF): node times unknown (null in JSON)")
        if not has_buffers:
            warnings.append("no buffer counters (EXPLAIN without BUFFERS): buffers are 0")
    warnings.extend(f"{n.label}: {w}" for n in nodes for w in n.warnings)
    execution_ms = number(top.get("Execution Time"))
    tree_ms = round(max(root.inclusive_ms, sum(n.exclusive_ms for n in nodes)), 6)
    triggers = read_triggers(
        top.get("Triggers"),
        after_tree_ms=max(0.0, (execution_ms or 0.0) - tree_ms),
        modify_table_ms=sum(n.exclusive_ms for n in nodes if n.node_type == "ModifyTable"),
    )
    jit = _jit(top.get("JIT"), _jit_processes(nodes))
    settings = top.get("Settings")
    plan = Plan(
        root=root,
        raw=freeze({k: v for k, v in top.items() if k != "Plan"}),
        analyzed=analyzed,
        has_buffers=has_buffers,
        has_timing=has_timing,
        planning_ms=number(top.get("Planning Time")),
        execution_ms=execution_ms,
        triggers=triggers,
        triggers_ms=sum(t.time_ms for t in triggers),
        jit=jit,
        jit_ms=jit.total_ms if jit else 0.0,
        settings=MappingProxyType({str(k): str(v) for k, v in settings.items()})
        if isinstance(settings, Mapping)
        else MappingProxyType({}),
        warnings=tuple(warnings),
        block_size=block_size,
        tree_ms=tree_ms,
    )
    rounding = rounding_warning(nodes, plan.total_ms, timed=has_timing) if analyzed else None
    return replace(plan, warnings=(*plan.warnings, rounding)) if rounding else plan
