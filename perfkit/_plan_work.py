"""The mutable node a plan tree is derived on: the raw EXPLAIN node, its place, and the figures worked out so far."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False, slots=True)
class Work:
    """A plan node while its figures are derived (mutable; frozen into a PlanNode at the end)."""

    raw: dict[str, Any]
    depth: int
    processes: int
    path: str
    children: list[Work] = field(default_factory=list)
    sources: list[Work] = field(default_factory=list)  # nodes whose figures run inside this one
    ctes: list[Work] = field(default_factory=list)  # CTEs this CTE Scan pulls from
    loops: int = 0
    inclusive_ms: float = 0.0
    inclusive_ms_error: float = 0.0
    rows_per_loop: float = 0.0
    rows_total: float = 0.0
    rows_error: float = 0.0
    cut_short: bool = False
    raw_buffers: tuple[int, ...] = ()
    warnings: list[str] = field(default_factory=list)

    @property
    def relationship(self) -> str | None:
        value = self.raw.get("Parent Relationship")
        return value if isinstance(value, str) else None

    @property
    def subplan_name(self) -> str:
        value = self.raw.get("Subplan Name")
        return value if isinstance(value, str) else ""

    @property
    def is_cte(self) -> bool:
        return self.relationship == "InitPlan" and self.subplan_name.startswith("CTE ")

    def walk(self) -> Iterator[Work]:
        yield self
        for child in self.children:
            yield from child.walk()
