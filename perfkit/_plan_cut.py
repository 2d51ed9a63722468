"""Refinements of a derived plan tree: exact row totals where they are sound, and the nodes a parent cuts short.

Cut short: the parent may stop the node before it has returned all its rows, so fewer rows than estimated say
nothing about the estimate: below a Limit; the inner side of a Nested Loop or Merge Join that stops at the first
match (Semi, Anti, Inner Unique); a Merge Join's side that it stops reading when the other side ends (both sides of
an Inner or Semi join, the inner side of a Left or Anti join, the outer side of a Right one); the outer side of a
Hash Join whose Hash is empty (PostgreSQL stops after the first outer row unless the join keeps outer rows).
It holds for the node's ordinary descendants too, not for its InitPlans and SubPlans.
"""

from __future__ import annotations

from perfkit._plan_work import Work


def _one_row_per_inner_row(node: Work) -> bool:
    """An inner Nested Loop that filters nothing: it returns one row for each row its inner side returns."""
    raw = node.raw
    return (
        raw.get("Node Type") == "Nested Loop"
        and raw.get("Join Type") == "Inner"
        and "Join Filter" not in raw
        and "Filter" not in raw
    )


def pin_rows(root: Work) -> None:
    """Give the inner side of a Nested Loop that returns one row per inner row the loop's exact total (top down)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if _one_row_per_inner_row(node) and node.rows_error == 0:
            for child in node.children:
                low, high = max(0.0, child.rows_total - child.rows_error), child.rows_total + child.rows_error
                if child.relationship == "Inner" and child.rows_error and low <= node.rows_total <= high:
                    child.rows_total, child.rows_error = node.rows_total, 0.0
                    child.rows_per_loop = node.rows_total / child.loops
        stack.extend(node.children)


_STOPS_OUTER = {"Inner", "Semi", "Right", "Right Anti"}  # join types that stop reading the outer side early
_STOPS_INNER = {"Inner", "Semi", "Left", "Anti"}


def _cut_children(node: Work) -> list[Work]:
    """The children this node may stop before they have returned all their rows (see the module's rules)."""
    raw = node.raw
    node_type, join = raw.get("Node Type"), raw.get("Join Type")
    single_match = join in ("Semi", "Anti") or raw.get("Inner Unique") is True
    ordinary = [c for c in node.children if c.relationship not in ("InitPlan", "SubPlan")]
    if node_type == "Limit":  # a child that returned fewer rows than the Limit could pass ran out: not cut
        limit = raw.get("Plan Rows")
        return [c for c in ordinary if not isinstance(limit, int | float) or c.rows_per_loop >= limit]
    cut: list[Work] = []
    for child in ordinary:
        side = child.relationship
        if node_type in ("Nested Loop", "Merge Join") and side == "Inner" and single_match:
            cut.append(child)
        elif node_type == "Merge Join" and (
            (side == "Outer" and join in _STOPS_OUTER) or (side == "Inner" and join in _STOPS_INNER)
        ):
            cut.append(child)
        elif node_type == "Hash Join" and side == "Outer" and join in _STOPS_OUTER:
            hashes = [c for c in ordinary if c.relationship == "Inner" and c.raw.get("Node Type") == "Hash"]
            if any(h.loops > 0 and h.rows_total == 0 and h.rows_error == 0 for h in hashes):
                cut.append(child)
    return cut


_READ_ALL_AGGREGATES = ("Plain", "Hashed", "Mixed")


def _reads_all_input(node: Work) -> bool:
    """Whether the node reads all its input before returning a row (Sort, Hash, a hashed or plain Aggregate, a
    hashed SetOp): stopping it early does not stop what is below it."""
    node_type, strategy = node.raw.get("Node Type"), node.raw.get("Strategy")
    return (
        node_type in ("Sort", "Hash")
        or (node_type == "Aggregate" and strategy in _READ_ALL_AGGREGATES)
        or (node_type == "SetOp" and strategy == "Hashed")
    )


def mark_cut_short(root: Work) -> None:
    """Set cut_short on the nodes a parent may stop early, and on their ordinary descendants down to a node that
    reads all its input (top down)."""
    stack = [root]
    while stack:
        node = stack.pop()
        for child in _cut_children(node):
            child.cut_short = True
        passes_on = node.cut_short and not _reads_all_input(node)
        for child in node.children:
            if passes_on and child.relationship not in ("InitPlan", "SubPlan"):
                child.cut_short = True
            stack.append(child)
