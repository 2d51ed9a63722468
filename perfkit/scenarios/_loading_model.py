"""What a loading workload is: strategies returning one logical result, and how to count that result."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

Conn = psycopg.Connection[Any]
# The logical result: nested tuples of ids and values, in the page's order; strategies must return equal ones.
Loaded = tuple[Any, ...]
Load = Callable[[Conn, int], Loaded]


@dataclass(frozen=True, slots=True)
class Strategy:
    """One way to load the page: the function and the SQL it runs (which defines the benchmark's version)."""

    load: Load
    statements: tuple[str, ...]
    doc: str


@dataclass(frozen=True, slots=True)
class Shape:
    """Sizes of a logical result: parents, child nodes per relation, and distinct referenced rows."""

    parents: int
    children: Mapping[str, int]  # relation -> child nodes in the nested result (one per reference)
    distinct: Mapping[str, int]  # relation -> distinct rows referenced (what an identity map would load)

    @property
    def logical_rows(self) -> int:
        """Nodes of the nested result: parents plus every child node (a row per entity, as N+1 fetches them)."""
        return self.parents + sum(self.children.values())


@dataclass(frozen=True, slots=True)
class Workload:
    """A page of N parents and their relations, loadable by several strategies."""

    name: str
    description: str
    relations: tuple[str, ...]  # in load order; N+1 runs one query per node of the level above
    strategies: Mapping[str, Strategy]
    shape: Callable[[Loaded], Shape]

    def expected_statements(self, strategy: str, shape: Shape) -> int:
        """Statements each strategy must run: N+1 = 1 + one per parent node of each relation, batched = 1 + one per
        relation, single-statement strategies = 1."""
        if strategy == "n_plus_one":
            level = shape.parents
            total = 1
            for rel in self.relations:
                total += level
                level = shape.children[rel] if self.nested(rel) else level
            return total
        if strategy == "batched":
            return 1 + len(self.relations)
        return 1

    def nested(self, relation: str) -> bool:
        """Whether the next relation hangs off this one's children (two-level loads) rather than off the parents."""
        i = self.relations.index(relation)
        return i + 1 < len(self.relations) and self.relations[i + 1].startswith(relation + ".")


def uid(v: Any) -> UUID:
    """A UUID from a driver value or from JSON text."""
    return v if isinstance(v, UUID) else UUID(str(v))


def group(rows: Iterable[tuple[Any, ...]]) -> dict[Any, list[tuple[Any, ...]]]:
    """Rows keyed by their first column (order kept), the rest of each row as the value."""
    out: dict[Any, list[tuple[Any, ...]]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(tuple(row[1:]))
    return out
