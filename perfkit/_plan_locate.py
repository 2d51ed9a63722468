"""Where a node sits in its plan, in terms a reader can find it by: position, which occurrence, its ancestors."""

from __future__ import annotations

from dataclasses import dataclass

from perfkit._plan_records import PlanNode

_SHOWN_ANCESTORS = 3


@dataclass(frozen=True, slots=True)
class Where:
    """A node's place: `position` in depth-first order from 1 (the root; `nodes[position - 1]` of `--json`), which
    `occurrence` it is of the `occurrences` nodes of the same kind (node name, relation or CTE, index: aliases apart),
    and the labels of its ancestors, root first (SubPlans and InitPlans with their name in brackets)."""

    position: int
    occurrence: int
    occurrences: int
    kind: str
    ancestors: tuple[str, ...]

    def describe(self) -> str:
        """'' for a node of a kind that occurs once; else '2nd of 3 Sort nodes, node 7 depth-first, under A > B'."""
        if self.occurrences <= 1:
            return ""
        text = f"{_ordinal(self.occurrence)} of {self.occurrences} {self.kind} nodes, node {self.position} depth-first"
        if self.ancestors:
            shown = self.ancestors[-_SHOWN_ANCESTORS:]
            more = "... > " if len(self.ancestors) > len(shown) else ""
            text += f", under {more}{' > '.join(shown)}"
        return text


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def kind_of(node: PlanNode) -> str:
    """The node name with what it reads and the index, without the alias: 'Index Scan on posts using posts_pkey'."""
    text = node.display_type
    target = node.relation or node.cte_name
    if target:
        text += f" on {target}"
    if node.index:
        text += f" using {node.index}"
    return text


def _named(node: PlanNode) -> str:
    return f"[{node.subplan_name}] {node.label}" if node.subplan_name else node.label


class Locator:
    """Positions, occurrences and ancestors of every node of one tree, computed once."""

    def __init__(self, root: PlanNode) -> None:
        self._where: dict[int, Where] = {}
        counts: dict[str, int] = {}
        for node in root.walk():
            counts[kind_of(node)] = counts.get(kind_of(node), 0) + 1
        seen: dict[str, int] = {}
        position = 0
        stack: list[tuple[PlanNode, tuple[str, ...]]] = [(root, ())]
        while stack:
            node, ancestors = stack.pop()
            position += 1
            kind = kind_of(node)
            seen[kind] = seen.get(kind, 0) + 1
            self._where[id(node)] = Where(position, seen[kind], counts[kind], kind, ancestors)
            below = (*ancestors, _named(node))
            stack.extend((child, below) for child in reversed(node.children))

    def __call__(self, node: PlanNode) -> Where:
        """Where this node (of the tree given to the constructor) is."""
        return self._where[id(node)]
