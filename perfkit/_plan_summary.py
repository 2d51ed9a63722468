"""The summary of a plan: node types, indexes, sequential scans, spills, the hottest node, the worst misestimate."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from perfkit._plan_json import rounded
from perfkit._plan_locate import Locator, Where
from perfkit._plan_misestimate import MISESTIMATE_FINDING, Misestimate, worst_misestimate
from perfkit._plan_records import Plan, PlanNode, Trigger
from perfkit._plan_rounding import approx_ms, material_error
from perfkit._plan_spill import Spill, spill

LARGE_TABLE_ROWS = 10_000
#: How a summary's node_types are named (its `node_names`): the text format's names, joins with their join type
#: (Hash Left Join). Summaries recorded before carry no `node_names`; upgraded format-2 ones "json".
NODE_NAMES = "text"
_SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan", "Tid Range Scan")


@dataclass(frozen=True, slots=True)
class NodeRef:
    """Which node, with enough to find it in a rendered tree (`where`); `percent` is its share of the plan's total
    (the tree plus AFTER triggers, Plan.total_ms), between 0 and 100. `exclusive_ms` is within +/-
    `exclusive_ms_error` (PostgreSQL's rounding of per-loop times); `within_error_of` names the runner-up when the
    two could swap places within those errors (the hottest node is then a tie)."""

    node_type: str
    relation: str | None
    index: str | None
    label: str
    exclusive_ms: float
    percent: float | None
    loops: int
    where: Where
    exclusive_ms_error: float = 0.0
    within_error_of: str | None = None

    @classmethod
    def of(cls, node: PlanNode, total_ms: float, where: Where, *, within_error_of: str | None = None) -> NodeRef:
        """The reference to a node of a plan whose total time is `total_ms`."""
        percent = min(100.0, max(0.0, 100.0 * node.exclusive_ms / total_ms)) if total_ms > 0 else None
        return cls(
            node.node_type,
            node.relation,
            node.index,
            node.label,
            node.exclusive_ms,
            percent,
            node.loops,
            where,
            node.exclusive_ms_error,
            within_error_of,
        )


@dataclass(frozen=True, slots=True)
class IndexUse:
    """An index scan in the plan; `executed` is False when the node never ran (nothing to conclude about it)."""

    index: str
    relation: str | None
    node_type: str
    index_only: bool
    executed: bool
    heap_fetches: int


@dataclass(frozen=True, slots=True)
class SeqScan:
    """A sequential scan that read more rows than the large-table threshold."""

    relation: str
    rows_read: int
    rows_removed: int
    exclusive_ms: float
    label: str = ""  # as the tree names it: "Parallel Seq Scan on comments"


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """What a plan did, in figures that are stable across runs (the gates of a comparison) plus findings."""

    node_types: tuple[str, ...]
    indexes: tuple[str, ...]
    index_only: bool
    seq_scans: tuple[str, ...]
    planning_ms: float | None
    execution_ms: float | None
    shared_hit_blocks: int
    shared_read_blocks: int
    rows_removed: int
    hottest_node: NodeRef | None
    worst_misestimate: Misestimate | None
    index_scans: tuple[IndexUse, ...]
    large_seq_scans: tuple[SeqScan, ...]
    spills: tuple[Spill, ...]
    triggers_ms: float
    triggers_inside_ms: float
    triggers_outside_ms: float
    triggers: tuple[Trigger, ...]
    tree_ms: float
    total_ms: float
    jit_ms: float
    warnings: tuple[str, ...]
    findings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (lists, dicts, numbers, strings), as results files store it: every `*_ms` a float rounded to
        the microsecond, percentages to 2 decimals, factors to 3 significant digits (perfkit/_plan_json.py)."""
        out: dict[str, Any] = rounded({**asdict(self), "node_names": NODE_NAMES})
        return out


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(items)))


def _hottest(h: NodeRef, before: list[Trigger], runner_up: PlanNode | None, total_ms: float) -> str:
    where = h.where.describe()
    material = material_error(h.exclusive_ms, h.exclusive_ms_error, total_ms)  # as the tree decides its ±
    text = f"hottest node: {h.label}" + (f" ({where})" if where else "")
    text += f", {approx_ms(h.exclusive_ms, h.exclusive_ms_error, material=material)} exclusive"
    text += f" ({h.percent or 0.0:.1f}% of the plan)"
    if h.loops > 1:
        text += f" over {h.loops:,} loops"
    if runner_up is not None and h.within_error_of is not None:
        rival = approx_ms(runner_up.exclusive_ms, runner_up.exclusive_ms_error, material=True)
        text += (
            f"; {runner_up.label} ({rival}) is within the rounding error of per-loop times: either may be the hottest"
        )
    if before:
        names = ", ".join(t.name for t in before)
        text += f", of which {sum(t.time_ms for t in before):.3f} ms in BEFORE trigger time ({names})"
    return text


def _modify_table(trigger: Trigger, nodes: list[PlanNode]) -> PlanNode | None:
    """The ModifyTable node a BEFORE trigger ran in: the one writing the trigger's table, else the first one."""
    modifies = [n for n in nodes if n.node_type == "ModifyTable" and not n.never_executed]
    return next((n for n in modifies if n.relation == trigger.relation), modifies[0] if modifies else None)


def _trigger(t: Trigger, plan: Plan, nodes: list[PlanNode]) -> str:
    share = f"{100.0 * t.time_ms / plan.total_ms:.1f}% of the plan" if plan.total_ms > 0 else "share n/a"
    took = f"took {t.time_ms:.3f} ms over {t.calls:,} calls"
    if t.foreign_key:
        head = f"foreign key {t.constraint}: RI trigger on {t.relation or '?'} {took}"
    elif t.constraint is not None:
        head = f"constraint trigger {t.name} ({t.constraint}) on {t.relation or '?'} {took}"
    else:
        head = f"trigger {t.name} on {t.relation or '?'} {took}"
    if t.after_tree:
        return f"{head}, after the tree ({share}; an AFTER trigger: not part of any node's time)"
    node = _modify_table(t, nodes)
    inside = node.label if node else "a ModifyTable node"
    return f"{head}, inside {inside} ({share}; a BEFORE trigger: part of that node's time, not added again)"


def _misestimate(m: Misestimate) -> str:
    word = "underestimated" if m.direction == "under" else "overestimated"
    where = m.where.describe()
    text = (
        f"{m.label}" + (f" ({where})" if where else "") + f": planner {word} rows {m.magnitude:.0f}x "
        f"(estimated {m.plan_rows:,}, actual {m.rows_per_loop:,.0f} per loop)"
    )
    if m.inherited_by:
        verb = "inherits" if len(m.inherited_by) == 1 else "inherit"
        text += f"; the misestimate starts here, {' and '.join(m.inherited_by)} above only {verb} it"
    return text


def _findings(
    plan: Plan,
    hottest: NodeRef | None,
    hottest_triggers: list[Trigger],
    large: tuple[SeqScan, ...],
    spills: tuple[Spill, ...],
    worst: Misestimate | None,
    nodes: list[PlanNode],
    runner_up: PlanNode | None,
) -> tuple[str, ...]:
    out: list[str] = []
    if hottest and hottest.percent is not None:
        out.append(_hottest(hottest, hottest_triggers, runner_up, plan.total_ms))
    for scan in large:
        out.append(
            f"{scan.label or 'Seq Scan on ' + scan.relation} read {scan.rows_read:,} rows"
            + (f", {scan.rows_removed:,} removed by filter" if scan.rows_removed else "")
        )
    for found in spills:
        out.append(f"{found.label} spilled to disk ({found.detail}): work_mem too small for it")
    if worst and worst.magnitude >= MISESTIMATE_FINDING:
        out.append(_misestimate(worst))
    out.extend(_trigger(t, plan, nodes) for t in plan.triggers)
    for node in nodes:
        fetches = node.raw.get("Heap Fetches")
        if node.node_type == "Index Only Scan" and not node.never_executed and isinstance(fetches, int) and fetches:
            out.append(f"{node.label} fetched {fetches:,} heap rows (visibility map not current: VACUUM the table)")
    return tuple(out)


def summarize(plan: Plan, *, large_table_rows: int = LARGE_TABLE_ROWS) -> PlanSummary:
    """Summary figures and findings; never-executed nodes give no findings (nothing ran, nothing to conclude)."""
    nodes = list(plan.nodes())
    executed = [n for n in nodes if not n.never_executed]
    locate = Locator(plan.root)
    index_scans = tuple(
        IndexUse(
            n.index,
            n.relation,
            n.node_type,
            n.node_type == "Index Only Scan",
            not n.never_executed,
            round(n.raw.get("Heap Fetches", 0) or 0),  # a total over loops, unlike Rows Removed
        )
        for n in nodes
        if n.index
    )
    relation_scans = [n for n in nodes if n.node_type in _SCANS]
    large = tuple(
        SeqScan(n.relation or "?", n.rows_total + n.rows_removed_total, n.rows_removed_total, n.exclusive_ms, n.label)
        for n in executed
        if n.node_type == "Seq Scan" and n.rows_total + n.rows_removed_total > large_table_rows
    )
    ranked = sorted(executed, key=lambda n: -n.exclusive_ms) if plan.has_timing else []
    hottest = ranked[0] if ranked else None
    runner_up = ranked[1] if len(ranked) > 1 else None
    tie = (
        hottest is not None
        and runner_up is not None
        and hottest.exclusive_ms_error + runner_up.exclusive_ms_error > 0
        and runner_up.exclusive_ms + runner_up.exclusive_ms_error >= hottest.exclusive_ms - hottest.exclusive_ms_error
    )
    rival = runner_up.label if tie and runner_up is not None else None
    hottest_ref = NodeRef.of(hottest, plan.total_ms, locate(hottest), within_error_of=rival) if hottest else None
    worst = worst_misestimate(plan.root, locate)
    spills = tuple(s for s in (spill(n) for n in executed) if s is not None)
    before = [
        t for t in plan.triggers if not t.after_tree and hottest is not None and _modify_table(t, nodes) is hottest
    ]
    return PlanSummary(
        node_types=_unique([n.display_type for n in nodes]),
        indexes=_unique([n.index for n in nodes if n.index]),
        index_only=bool(relation_scans) and all(n.node_type == "Index Only Scan" for n in relation_scans),
        seq_scans=_unique([n.relation or "?" for n in nodes if n.node_type == "Seq Scan"]),
        planning_ms=plan.planning_ms,
        execution_ms=plan.execution_ms,
        shared_hit_blocks=plan.root.buffers.shared_hit,
        shared_read_blocks=plan.root.buffers.shared_read,
        rows_removed=sum(n.rows_removed_total for n in nodes),
        hottest_node=hottest_ref,
        worst_misestimate=worst,
        index_scans=index_scans,
        large_seq_scans=large,
        spills=spills,
        triggers_ms=plan.triggers_ms,
        triggers_inside_ms=plan.triggers_inside_ms,
        triggers_outside_ms=plan.triggers_outside_ms,
        triggers=plan.triggers,
        tree_ms=plan.tree_ms,
        total_ms=plan.total_ms,
        jit_ms=plan.jit_ms,
        warnings=plan.warnings,
        findings=_findings(plan, hottest_ref, before, large, spills, worst, nodes, runner_up),
    )
