"""Derived figures of a plan tree: loops, parallel processes, inclusive/exclusive time and buffers, estimates.

Rules (after pev2's plan-service, with the differences noted):
- PostgreSQL prints Actual Total Time, Actual Rows and Rows Removed per loop (an average), buffers as totals.
  inclusive_ms = Actual Total Time x Actual Loops / processes; rows_total = Actual Rows x Actual Loops.
- processes: below a Gather / Gather Merge (through every child that is not an InitPlan or SubPlan) the loops of a
  node are summed over the processes that ran it, so the summed time is divided by their number to give the time of
  one process. That number is min(Actual Loops, Workers Launched + 1): a node can run in fewer processes than the
  section has (a Hash that only the leader built because the workers found the outer side empty shows Loops 1), where
  pev2 always divides by Workers Launched + 1. Per-worker figures ("Workers", with VERBOSE) refine it: the workers
  with loops, plus the leader if it has loops left over.
- exclusive = inclusive - what runs inside the node: its ordinary children (Outer, Inner, Member, Subquery) and its
  SubPlans (evaluated in its expressions, once per loop); clamped at 0 with a warning beyond rounding.
- An InitPlan runs on first use of its output parameter ($0, or "(InitPlan 1)" from PostgreSQL 17), so it is charged
  to the deepest node of its owner's subtree whose expressions mention the parameter (the owner if none does;
  pev2 charges Result owners and every mentioning node).
- A CTE (an InitPlan named "CTE x") runs inside the CTE Scans that pull from it. Its time is charged greedily to those
  scans, largest inclusive time first, each up to its own time (pev2 shares it in proportion to time); exact when one
  scan drives the CTE, which is the usual case, and never negative. A CTE no scan reads (a data-modifying CTE run at
  the end) is charged to nobody.
- Rounding: PostgreSQL 15 prints each per-loop figure rounded, rows to a whole number (two decimals from 18) and
  times to 0.001 ms, so a total over loops is uncertain by loops x half the last digit: rows_total_error = loops x
  0.5 (0.005 when the rows have decimals), inclusive_ms_error = loops x 0.0005 / processes, and exclusive_ms_error
  adds the errors of what is subtracted. One loop is exact as printed (no error). Refinements are made only where
  they are sound: a plain Aggregate (no GROUP BY, no HAVING) returns exactly 1 row per loop; an inner Nested Loop
  without a Join Filter or Filter returns one row per row of its inner side, so an inner side whose parent's total
  is exact gets that total (when it lies within the side's own range).
- cut_short: nodes a parent may stop before they returned all their rows (see _plan_cut).
- Buffers follow the same attribution. Where a node's counters are lower than the sum charged to it (parallel plans:
  worker counters reach the leader after the parent stopped counting), its subtree total becomes that sum, its own
  share 0, with the warning "buffer counters not cumulative here (parallel plan)".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from perfkit._plan_cut import mark_cut_short, pin_rows
from perfkit._plan_load import check_node, number
from perfkit._plan_records import BUFFER_KEYS, Buffers, PlanNode
from perfkit._plan_rounding import ROUNDING_MS
from perfkit._plan_work import Work

PARALLEL_BUFFERS_WARNING = "buffer counters not cumulative here (parallel plan)"
SERIAL_BUFFERS_WARNING = "buffer counters lower than its children's: own share clamped to 0"
_GATHERS = ("Gather", "Gather Merge")
_ROUNDING_ROWS = 0.5  # and rows per loop as whole numbers (PostgreSQL 18: two decimals)
_ROUNDING_ROWS_DECIMALS = 0.005


def freeze(value: Any) -> Any:
    """A read-only copy: mappings become MappingProxyType, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def _int(value: object) -> int:
    num = number(value)
    return round(num) if num is not None else 0


def _processes(data: Mapping[str, Any], loops: int, section: int) -> int:
    """How many processes of a parallel section of `section` processes ran this node (see the module's rules)."""
    if section <= 1 or loops <= 0:
        return section
    ran = min(loops, section)
    workers = data.get("Workers")
    if isinstance(workers, list) and workers and all(isinstance(w, Mapping) for w in workers):
        worker_loops = [number(w.get("Actual Loops")) for w in workers]
        if all(n is not None for n in worker_loops):
            busy = [n for n in worker_loops if n]
            leader = loops - sum(n or 0.0 for n in worker_loops)
            ran = max(1, min(section, len(busy) + (1 if leader > 0 else 0)))
    return ran


def _one_row_per_loop(data: Mapping[str, Any]) -> bool:
    """A plain Aggregate without GROUP BY or HAVING returns exactly one row each time it runs: 1/loop is exact."""
    return (
        data.get("Node Type") == "Aggregate"
        and data.get("Strategy") == "Plain"
        and not data.get("Group Key")
        and "Filter" not in data
        and number(data.get("Actual Rows")) == 1
    )


def _build(node: object, depth: int, section: int, path: str, analyzed: bool) -> Work:
    data = check_node(node, path)
    plans = data.pop("Plans", [])
    loops = _int(data.get("Actual Loops"))
    processes = _processes(data, loops, section)
    work = Work(raw=data, depth=depth, processes=processes, path=path)
    work.loops = loops
    time = number(data.get("Actual Total Time")) or 0.0
    work.inclusive_ms = time * work.loops / processes if analyzed else 0.0
    if analyzed and loops > 1 and "Actual Total Time" in data:
        work.inclusive_ms_error = ROUNDING_MS * loops / processes
    rows = data.get("Actual Rows")
    work.rows_per_loop = number(rows) or 0.0
    work.rows_total = work.rows_per_loop * loops
    if loops > 1 and not _one_row_per_loop(data):  # an int: printed whole (PostgreSQL < 18); a float: two decimals
        work.rows_error = (_ROUNDING_ROWS_DECIMALS if isinstance(rows, float) else _ROUNDING_ROWS) * loops
    work.raw_buffers = tuple(_int(data.get(key)) for key in BUFFER_KEYS.values())
    node_type = data["Node Type"]
    for i, child in enumerate(plans):
        rel = child.get("Parent Relationship") if isinstance(child, Mapping) else None
        child_processes = section
        if rel in ("InitPlan", "SubPlan"):
            child_processes = 1
        elif node_type in _GATHERS:
            workers = data.get("Workers Launched", data.get("Workers Planned", 0))
            child_processes = max(1, _int(workers) + 1)
        work.children.append(_build(child, depth + 1, child_processes, f"{path} > Plans[{i}]", analyzed))
    return work


def _param_patterns(subplan_name: str) -> list[re.Pattern[str]]:
    returns = re.search(r"returns ((?:\$\d+)(?:\s*,\s*\$\d+)*)", subplan_name)
    if returns:
        tokens = [t.strip() for t in returns.group(1).split(",")]
    else:
        named = re.match(r"(InitPlan \d+)", subplan_name)
        tokens = [f"({named.group(1)})"] if named else []
    return [re.compile(re.escape(t) + r"(?!\d)") for t in tokens]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _mentions(node: Work, patterns: list[re.Pattern[str]]) -> bool:
    for key, value in node.raw.items():
        if key == "Subplan Name":
            continue
        for text in _strings(value):
            if any(p.search(text) for p in patterns):
                return True
    return False


def _initplan_user(owner: Work, initplan: Work) -> Work:
    patterns = _param_patterns(initplan.subplan_name)
    best: Work | None = None
    if patterns:
        stack: list[Work] = [owner]
        while stack:
            node = stack.pop()
            if node is initplan:
                continue
            if _mentions(node, patterns) and (best is None or node.depth > best.depth):
                best = node
            stack.extend(reversed(node.children))
    return best or owner


def _attribute(root: Work) -> None:
    everything = list(root.walk())
    for node in everything:
        for child in node.children:
            if child.is_cte:
                name = child.subplan_name[4:]
                for scan in everything:
                    if scan.raw.get("Node Type") == "CTE Scan" and scan.raw.get("CTE Name") == name:
                        scan.ctes.append(child)
            elif child.relationship == "InitPlan":
                _initplan_user(node, child).sources.append(child)
            else:
                node.sources.append(child)


class _Ledger:
    """Per-node totals computed on demand (sources before targets), with the greedy CTE shares."""

    def __init__(self, root: Work, parallel: bool) -> None:
        self.parallel = parallel
        self.scans: dict[int, list[Work]] = {}
        for node in root.walk():
            for cte in node.ctes:
                self.scans.setdefault(id(cte), []).append(node)
        self.buffer_totals: dict[int, tuple[int, ...]] = {}
        self.charged_buffers: dict[int, tuple[int, ...]] = {}
        self.time_shares: dict[tuple[int, int], float] = {}
        self.buffer_shares: dict[tuple[int, int], tuple[int, ...]] = {}

    def _share_time(self, cte: Work) -> None:
        remaining = cte.inclusive_ms
        for scan in sorted(self.scans.get(id(cte), []), key=lambda s: -s.inclusive_ms):
            take = min(remaining, scan.inclusive_ms)
            self.time_shares[(id(cte), id(scan))] = take
            remaining -= take

    def charged_ms(self, node: Work) -> float:
        total = sum(src.inclusive_ms for src in node.sources)
        for cte in node.ctes:
            if (id(cte), id(node)) not in self.time_shares:
                self._share_time(cte)
            total += self.time_shares[(id(cte), id(node))]
        return total

    def charged_error(self, node: Work) -> float:
        """The rounding error of the time charged to the node (its sources', the CTEs' it took a share of)."""
        total = sum(src.inclusive_ms_error for src in node.sources)
        return total + sum(cte.inclusive_ms_error for cte in node.ctes if self.time_shares.get((id(cte), id(node))))

    def _share_buffers(self, cte: Work) -> None:
        totals = self.buffers(cte)
        scans = self.scans.get(id(cte), [])
        shares: dict[int, list[int]] = {id(s): [0] * len(totals) for s in scans}
        for k, amount in enumerate(totals):
            remaining = amount
            for scan in sorted(scans, key=lambda s: -s.raw_buffers[k]):
                take = min(remaining, scan.raw_buffers[k])
                shares[id(scan)][k] = take
                remaining -= take
        for scan in scans:
            self.buffer_shares[(id(cte), id(scan))] = tuple(shares[id(scan)])

    def charged(self, node: Work) -> tuple[int, ...]:
        key = id(node)
        if key not in self.charged_buffers:
            sums = [0] * len(node.raw_buffers)
            for src in node.sources:
                for k, value in enumerate(self.buffers(src)):
                    sums[k] += value
            for cte in node.ctes:
                if (id(cte), key) not in self.buffer_shares:
                    self._share_buffers(cte)
                for k, value in enumerate(self.buffer_shares[(id(cte), key)]):
                    sums[k] += value
            self.charged_buffers[key] = tuple(sums)
        return self.charged_buffers[key]

    def buffers(self, node: Work) -> tuple[int, ...]:
        key = id(node)
        if key not in self.buffer_totals:
            charged = self.charged(node)
            self.buffer_totals[key] = tuple(max(r, c) for r, c in zip(node.raw_buffers, charged, strict=True))
            if any(r < c for r, c in zip(node.raw_buffers, charged, strict=True)):
                node.warnings.append(PARALLEL_BUFFERS_WARNING if self.parallel else SERIAL_BUFFERS_WARNING)
        return self.buffer_totals[key]


def _estimate(rows_per_loop: float, plan_rows: int | None, executed: bool) -> tuple[float | None, str | None]:
    if not executed or not plan_rows:
        return None, None
    factor = rows_per_loop / plan_rows
    direction = "under" if rows_per_loop > plan_rows else "over" if rows_per_loop < plan_rows else "exact"
    return factor, direction


def _freeze_node(work: Work, ledger: _Ledger, analyzed: bool) -> PlanNode:
    raw = work.raw
    children = tuple(_freeze_node(child, ledger, analyzed) for child in work.children)
    charged_ms = ledger.charged_ms(work)
    tolerance = ROUNDING_MS * (work.loops + sum(s.loops for s in work.sources) + 1) + 1e-9
    if charged_ms - work.inclusive_ms > tolerance:
        work.warnings.append(
            f"time of the nodes inside exceeds this node's ({charged_ms:.3f} > {work.inclusive_ms:.3f} ms):"
            " exclusive time clamped to 0"
        )
    totals = ledger.buffers(work)
    own = tuple(t - c for t, c in zip(totals, ledger.charged(work), strict=True))
    rows_per_loop = work.rows_per_loop
    plan_rows_value = number(raw.get("Plan Rows"))
    plan_rows = round(plan_rows_value) if plan_rows_value is not None else None
    never = analyzed and work.loops == 0
    factor, direction = _estimate(rows_per_loop, plan_rows, analyzed and not never)
    removed = sum(number(raw.get(f"Rows Removed by {what}")) or 0.0 for what in ("Filter", "Join Filter"))
    recheck = number(raw.get("Rows Removed by Index Recheck")) or 0.0

    def text(key: str) -> str | None:
        value = raw.get(key)
        return value if isinstance(value, str) else None

    return PlanNode(
        raw=freeze({k: v for k, v in raw.items() if k != "Plans"}),
        node_type=raw["Node Type"],
        relation=text("Relation Name"),
        alias=text("Alias"),
        index=text("Index Name"),
        cte_name=text("CTE Name"),
        parent_relationship=work.relationship,
        subplan_name=work.subplan_name or None,
        parallel_aware=raw.get("Parallel Aware") is True,
        processes=work.processes,
        loops=work.loops,
        never_executed=never,
        rows_per_loop=rows_per_loop,
        rows_total=round(work.rows_total),
        rows_total_error=work.rows_error,
        plan_rows=plan_rows,
        estimate_factor=factor,
        estimate_direction=direction,
        cut_short=work.cut_short,
        rows_removed_total=round(removed * work.loops),
        rows_removed_recheck_total=round(recheck * work.loops),
        inclusive_ms=round(work.inclusive_ms, 6),
        exclusive_ms=round(max(0.0, work.inclusive_ms - charged_ms), 6),
        inclusive_ms_error=round(work.inclusive_ms_error, 6),
        exclusive_ms_error=round(work.inclusive_ms_error + ledger.charged_error(work), 6),
        buffers=Buffers.of(totals),
        exclusive_buffers=Buffers.of(own),
        warnings=tuple(work.warnings),
        children=children,
        depth=work.depth,
    )


def build_tree(plan: object, *, analyzed: bool) -> PlanNode:
    """The frozen node tree of a plan's "Plan" object, with every derived figure."""
    root = _build(plan, 0, 1, "Plan", analyzed)
    parallel = any(n.raw.get("Node Type") in _GATHERS for n in root.walk())
    _attribute(root)
    pin_rows(root)
    mark_cut_short(root)
    return _freeze_node(root, _Ledger(root, parallel), analyzed)
