"""The frozen records of a parsed EXPLAIN plan: buffers, nodes, triggers, JIT and the plan itself."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

BUFFER_KEYS: dict[str, str] = {
    "shared_hit": "Shared Hit Blocks",
    "shared_read": "Shared Read Blocks",
    "shared_dirtied": "Shared Dirtied Blocks",
    "shared_written": "Shared Written Blocks",
    "local_hit": "Local Hit Blocks",
    "local_read": "Local Read Blocks",
    "local_dirtied": "Local Dirtied Blocks",
    "local_written": "Local Written Blocks",
    "temp_read": "Temp Read Blocks",
    "temp_written": "Temp Written Blocks",
}

_AGGREGATES = {"Plain": "Aggregate", "Hashed": "HashAggregate", "Sorted": "GroupAggregate", "Mixed": "MixedAggregate"}
# EXPLAIN's text format names a join by its node and its "Join Type" (Inner keeps the plain name).
_JOINS = {"Nested Loop": "Nested Loop", "Hash Join": "Hash", "Merge Join": "Merge"}
_JOIN_TYPES = ("Left", "Right", "Full", "Semi", "Anti", "Right Anti")


@dataclass(frozen=True, slots=True)
class Buffers:
    """Block counters of a node (totals over all loops; PostgreSQL prints only what BUFFERS measured)."""

    shared_hit: int = 0
    shared_read: int = 0
    shared_dirtied: int = 0
    shared_written: int = 0
    local_hit: int = 0
    local_read: int = 0
    local_dirtied: int = 0
    local_written: int = 0
    temp_read: int = 0
    temp_written: int = 0

    @property
    def shared_touched(self) -> int:
        """Shared blocks found in cache plus those read from outside shared buffers."""
        return self.shared_hit + self.shared_read

    def values(self) -> tuple[int, ...]:
        """The counters in field order."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def to_dict(self, prefix: str = "") -> dict[str, int]:
        """JSON keys such as `shared_hit_blocks` (with an optional prefix such as `exclusive_`)."""
        return {f"{prefix}{f.name}_blocks": getattr(self, f.name) for f in fields(self)}

    @classmethod
    def of(cls, values: Iterator[int] | tuple[int, ...] | list[int]) -> Buffers:
        """Counters from values in field order."""
        return cls(*values)


@dataclass(frozen=True, slots=True)
class PlanNode:
    """One plan node: PostgreSQL's keys verbatim in `raw` (without "Plans"), derived figures in named fields.

    Times are milliseconds for all loops together (per-loop averages x loops, divided among the `processes` that ran
    the node in a parallel section); rows are totals over loops; buffers are subtree totals and this node's own share.
    PostgreSQL rounds the per-loop figures it prints, so totals over several loops are approximate: `rows_total` is
    within +/- `rows_total_error` (never below 0), the times within +/- their `*_ms_error` (0: exact as printed).
    `cut_short`: the parent may have stopped the node early (a Limit, a semi join's inner side, ...; see
    perfkit/_plan_derive.py), so fewer rows than estimated are expected there.
    """

    raw: Mapping[str, Any]
    node_type: str
    relation: str | None
    alias: str | None
    index: str | None
    cte_name: str | None
    parent_relationship: str | None
    subplan_name: str | None
    parallel_aware: bool
    processes: int
    loops: int
    never_executed: bool
    rows_per_loop: float
    rows_total: int
    rows_total_error: float
    plan_rows: int | None
    estimate_factor: float | None
    estimate_direction: str | None
    cut_short: bool
    rows_removed_total: int
    rows_removed_recheck_total: int
    inclusive_ms: float
    exclusive_ms: float
    inclusive_ms_error: float
    exclusive_ms_error: float
    buffers: Buffers
    exclusive_buffers: Buffers
    warnings: tuple[str, ...]
    children: tuple[PlanNode, ...]
    depth: int

    @property
    def display_type(self) -> str:
        """The node's name as EXPLAIN's text format prints it: HashAggregate, Partial GroupAggregate, Insert, ...

        The JSON says "Aggregate" with a "Strategy" and a "Partial Mode", "ModifyTable" with an "Operation", "SetOp"
        with a "Strategy", "Foreign Scan" with an "Operation", "Custom Scan" with a "Custom Plan Provider", a join
        ("Nested Loop", "Hash Join", "Merge Join") with a "Join Type", and keeps "Parallel Aware" / "Async Capable"
        apart; the text format folds them into the name (Hash Left Join, Nested Loop Semi Join, Merge Anti Join).
        """
        text = self.node_type
        raw = self.raw
        strategy, mode, operation = raw.get("Strategy"), raw.get("Partial Mode"), raw.get("Operation")
        if text == "Aggregate":
            text = _AGGREGATES.get(str(strategy), text)
            if mode in ("Partial", "Finalize"):
                text = f"{mode} {text}"
        elif text == "SetOp" and strategy == "Hashed":
            text = "HashSetOp"
        elif text == "ModifyTable" and isinstance(operation, str):
            text = operation
        elif text == "Foreign Scan" and operation in ("Insert", "Update", "Delete"):
            text = f"Foreign {operation}"
        elif text in _JOINS and raw.get("Join Type") in _JOIN_TYPES:
            text = f"{_JOINS[text]} {raw['Join Type']} Join"
        elif text == "Custom Scan" and isinstance(raw.get("Custom Plan Provider"), str):
            text = f"Custom Scan ({raw['Custom Plan Provider']})"
        if raw.get("Async Capable") is True and not text.startswith("Async"):
            text = f"Async {text}"
        if self.parallel_aware and not text.startswith("Parallel"):
            text = f"Parallel {text}"
        return text

    @property
    def label(self) -> str:
        """A short name: the text format's node name, what it reads (relation, CTE, function, subquery), the index."""
        text = self.display_type
        function = self.raw.get("Function Name")
        target = self.relation or self.cte_name or (function if isinstance(function, str) else None)
        if target:
            text += f" on {target}"
            if self.alias and self.alias != target:
                text += f" {self.alias}"
        elif self.alias:  # Subquery Scan, Values Scan, ...: the text format names the range table entry
            text += f" on {self.alias}"
        if self.index:
            text += f" using {self.index}"
        return text

    @property
    def rows_total_approx(self) -> bool:
        """The row total is a per-loop figure PostgreSQL rounded, multiplied by the loops."""
        return self.rows_total_error > 0

    @property
    def misestimate(self) -> float | None:
        """How far the row estimate was off, as a factor >= 1 (zero rows count as one); None when undefined."""
        if self.estimate_factor is None or self.plan_rows is None:
            return None
        actual = max(self.rows_per_loop, 1.0)
        planned = max(float(self.plan_rows), 1.0)
        return max(actual, planned) / min(actual, planned)

    def walk(self) -> Iterator[PlanNode]:
        """This node and its descendants, depth first (pre-order)."""
        yield self
        for child in self.children:
            yield from child.walk()


_MODIFY = ("Insert", "Update", "Delete", "Merge")


def json_node_type(name: str) -> str:
    """The JSON format's "Node Type" of a text-format node name (PlanNode.display_type undone): HashAggregate and
    Partial GroupAggregate are Aggregate, Insert is ModifyTable, Parallel Seq Scan is Seq Scan, Hash Left Join is
    Hash Join, Nested Loop Semi Join is Nested Loop, and so on."""
    for prefix in ("Parallel ", "Async ", "Partial ", "Finalize "):
        name = name.removeprefix(prefix)
    name = plain_join_name(name)
    if name in _AGGREGATES.values():
        return "Aggregate"
    if name == "HashSetOp":
        return "SetOp"
    if name in _MODIFY:
        return "ModifyTable"
    if name.startswith("Foreign ") and name.removeprefix("Foreign ") in _MODIFY:
        return "Foreign Scan"
    if name.startswith("Custom Scan ("):
        return "Custom Scan"
    return name


def plain_join_name(name: str) -> str:
    """A text-format node name without the join type, as perfkit named joins before it followed the text format
    for them: Hash Left Join is Hash Join, Parallel Hash Semi Join is Parallel Hash Join, Nested Loop Anti Join is
    Nested Loop; every other name unchanged."""
    for node_type, head in _JOINS.items():
        for join in _JOIN_TYPES:
            if name.endswith(f"{head} {join} Join"):
                return name.removesuffix(f"{head} {join} Join") + node_type
    return name


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger's time as EXPLAIN ANALYZE reports it, with where that time went (see perfkit/_plan_triggers.py).

    `after_tree`: an AFTER trigger (foreign-key RI triggers included), run once the tree has finished, in Execution
    Time but outside the root's time; otherwise a BEFORE (or INSTEAD OF) trigger, run inside a ModifyTable node and
    so already part of that node's time. Certain for constraint triggers (`constraint` set: always AFTER), inferred
    from the times for the others.
    """

    name: str
    relation: str | None
    time_ms: float
    calls: int
    constraint: str | None
    after_tree: bool

    @property
    def foreign_key(self) -> bool:
        """A foreign key's referential-integrity trigger (PostgreSQL names them RI_ConstraintTrigger_...)."""
        return self.constraint is not None and self.name.startswith("RI_ConstraintTrigger")


@dataclass(frozen=True, slots=True)
class Jit:
    """JIT compilation figures. In a serial plan its time is spent inside the nodes' times (and in executor start-up);
    in a parallel one PostgreSQL sums it over the leader and the workers (`processes`), so it is CPU time of several
    processes, not part of any one node's time, and it can exceed the execution time."""

    functions: int
    generation_ms: float
    inlining_ms: float
    optimization_ms: float
    emission_ms: float
    total_ms: float
    options: Mapping[str, bool]
    processes: int = 1


@dataclass(frozen=True, slots=True)
class Plan:
    """A parsed EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) document."""

    root: PlanNode
    raw: Mapping[str, Any]
    analyzed: bool
    has_buffers: bool
    has_timing: bool
    planning_ms: float | None
    execution_ms: float | None
    triggers: tuple[Trigger, ...]
    triggers_ms: float
    jit: Jit | None
    jit_ms: float
    settings: Mapping[str, str]
    warnings: tuple[str, ...]
    block_size: int = 8192
    #: The plan tree's time: the sum of every node's exclusive time (each millisecond counted once). That is the
    #: root's inclusive time, or more where children exceed their parent (clamped exclusive times) or a CTE runs
    #: after the tree (a data-modifying CTE that no scan reads). Computed once by parse_plan.
    tree_ms: float = 0.0

    def nodes(self) -> Iterator[PlanNode]:
        """Every node, depth first (pre-order, children in PostgreSQL's order)."""
        return self.root.walk()

    @property
    def triggers_outside_ms(self) -> float:
        """Time of the AFTER triggers (foreign-key RI triggers included): run after the tree, outside its time."""
        return round(sum(t.time_ms for t in self.triggers if t.after_tree), 6)

    @property
    def triggers_inside_ms(self) -> float:
        """Time of the BEFORE triggers: run inside ModifyTable nodes, so already counted in their exclusive time."""
        return round(sum(t.time_ms for t in self.triggers if not t.after_tree), 6)

    @property
    def total_ms(self) -> float:
        """The time the plan accounts for: the tree's plus the AFTER triggers' (BEFORE triggers are in the tree).

        The base of every node's share, so no share exceeds 100%. Execution Time also holds executor start-up and
        shutdown.
        """
        return round(self.tree_ms + self.triggers_outside_ms, 6)

    @property
    def outside_tree_ms(self) -> float | None:
        """Execution Time minus the root's inclusive time (executor start/stop, AFTER triggers, JIT generation)."""
        if self.execution_ms is None:
            return None
        return max(0.0, self.execution_ms - self.root.inclusive_ms)

    def bytes(self, blocks: int) -> int:
        """Blocks converted to bytes with the server's block size."""
        return blocks * self.block_size
