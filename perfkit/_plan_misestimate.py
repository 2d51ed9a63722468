"""The worst row misestimate, reported at the node where it starts rather than at the ancestors that inherit it.

A node's estimate is built on its inputs' estimates (its ordinary children; for a CTE Scan, the CTE's plan), so a scan
that expects 10 rows and gets 1000 makes the join above it 100x off too, although the join's own reasoning was fine.
- A node is rated when it ran, its estimate is off (factor > 1 either way), and it is not an overestimate on a node
  its parent may have stopped early (PlanNode.cut_short: below a Limit, the inner side of a semi or anti join, the
  outer side of a Hash Join whose Hash is empty, a Merge Join side read until the other ended): fewer rows than
  planned are expected there. Underestimates on such nodes count.
- Its own error is its factor divided by the factor of its worst input that is off by MISESTIMATE_FINDING (10x) or
  more, in log terms: an ancestor with the same factor as such an input has an own error of 1; inputs off by less
  than 10x count as fine, so the node's own error is then its whole factor.
- The worst misestimate is the rated node with the largest own error (ties: the larger factor, then the deeper node).
  So the deepest node whose estimate is bad while its inputs' are fine is reported; a node above a bad input is
  reported only if its own error is larger still. The ancestors that merely inherit it are named (`inherited_by`).
"""

from __future__ import annotations

from dataclasses import dataclass

from perfkit._plan_locate import Locator, Where
from perfkit._plan_records import PlanNode

MISESTIMATE_FINDING = 10.0
_NOT_INPUTS = ("InitPlan", "SubPlan")


@dataclass(frozen=True, slots=True)
class Misestimate:
    """The node where the worst row misestimate starts (per loop): its factor, direction and own share of it."""

    node_type: str
    relation: str | None
    index: str | None
    label: str
    plan_rows: int
    rows_per_loop: float
    estimate_factor: float
    direction: str
    magnitude: float
    own_magnitude: float
    inherited_by: tuple[str, ...]
    where: Where


def _signed(node: PlanNode) -> float:
    """The misestimate as actual / estimated (zero rows count as one): > 1 under, < 1 over."""
    magnitude = node.misestimate or 1.0
    return magnitude if node.estimate_direction == "under" else 1.0 / magnitude


def _magnitude(ratio: float) -> float:
    return max(ratio, 1.0 / ratio)


def _nothing_came_in(node: PlanNode) -> bool:
    """A node that returned no rows because an input it needs returned none: its overestimate is that input's (the
    planner never estimates fewer than 1 row), not its own."""
    if node.rows_total or node.estimate_direction != "over":
        return False
    inputs = [c for c in node.children if c.parent_relationship not in _NOT_INPUTS and not c.never_executed]
    return any(c.rows_total == 0 for c in inputs)


def worst_misestimate(root: PlanNode, locate: Locator) -> Misestimate | None:
    """The misestimate to report (see the module's rules); None when every estimate held or nothing ran."""
    nodes = list(root.walk())
    rated = {
        id(n): n
        for n in nodes
        if not n.never_executed
        and n.misestimate is not None
        and n.misestimate > 1.0
        and not (n.cut_short and n.estimate_direction == "over")
        and not _nothing_came_in(n)
    }
    ctes = {n.subplan_name[4:]: n for n in nodes if n.subplan_name and n.subplan_name.startswith("CTE ")}
    parent: dict[int, PlanNode] = {}
    own: dict[int, float] = {}
    source: dict[int, int] = {}  # the bad input a node's estimate inherits from
    for node in nodes:
        inputs = [c for c in node.children if c.parent_relationship not in _NOT_INPUTS]
        if node.node_type == "CTE Scan" and node.cte_name in ctes:
            inputs.append(ctes[node.cte_name])
        for child in inputs:
            parent.setdefault(id(child), node)
        if id(node) not in rated:
            continue
        bad = [c for c in inputs if id(c) in rated and (c.misestimate or 1.0) >= MISESTIMATE_FINDING]
        inherited = max(bad, key=lambda c: c.misestimate or 1.0, default=None)
        own[id(node)] = _magnitude(_signed(node) / (_signed(inherited) if inherited else 1.0))
        if inherited is not None:
            source[id(node)] = id(inherited)
    if not own:
        return None
    node = max(
        (rated[key] for key in own), key=lambda n: (own[id(n)], n.misestimate or 1.0, n.depth, -locate(n).position)
    )
    heirs: list[str] = []
    below, up = node, parent.get(id(node))
    while up is not None and source.get(id(up)) == id(below) and own[id(up)] < MISESTIMATE_FINDING:
        heirs.append(up.label)
        below, up = up, parent.get(id(up))
    assert node.plan_rows is not None and node.estimate_factor is not None and node.estimate_direction
    return Misestimate(
        node.node_type,
        node.relation,
        node.index,
        node.label,
        node.plan_rows,
        node.rows_per_loop,
        node.estimate_factor,
        node.estimate_direction,
        node.misestimate or 1.0,
        own[id(node)],
        tuple(heirs),
        locate(node),
    )
