"""Where trigger time went: after the plan tree (AFTER and foreign-key RI triggers) or inside a ModifyTable node.

EXPLAIN ANALYZE lists each trigger's total time and calls ("Triggers", inside Execution Time) but not when it fired.
- AFTER triggers, foreign-key RI triggers among them, are queued and run when the tree has finished: their time is in
  Execution Time minus the tree's time. A trigger with a "Constraint Name" (RI triggers, CREATE CONSTRAINT TRIGGER) is
  always AFTER ROW, so it is placed there for certain.
- BEFORE ROW and BEFORE STATEMENT triggers (and INSTEAD OF triggers on views) run inside the ModifyTable node: their
  time is already in that node's exclusive time, and adding it again would count it twice.
- For the other triggers the times decide, largest first: a trigger that fits in what is left of the time after the
  tree is counted there (that time is otherwise only executor start-up and shutdown, which is short), one that does
  not fit is inside a ModifyTable node; one that fits in neither goes where more time is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from perfkit._plan_load import number
from perfkit._plan_records import Trigger
from perfkit._plan_rounding import ROUNDING_MS
from perfkit.errors import PlanError


def _entries(value: object) -> list[Trigger]:
    """The listed triggers, placed after the tree until read_triggers decides."""
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        if not isinstance(item, Mapping):
            raise PlanError("a 'Triggers' entry is not a JSON object")
        relation, constraint = item.get("Relation"), item.get("Constraint Name")
        out.append(
            Trigger(
                name=str(item.get("Trigger Name", "?")),
                relation=relation if isinstance(relation, str) else None,
                time_ms=number(item.get("Time")) or 0.0,
                calls=round(number(item.get("Calls")) or 0),
                constraint=constraint if isinstance(constraint, str) else None,
                after_tree=True,
            )
        )
    return out


def read_triggers(value: object, *, after_tree_ms: float, modify_table_ms: float) -> tuple[Trigger, ...]:
    """The "Triggers" list as records placed after the tree or inside ModifyTable (see the module's rules).

    after_tree_ms: Execution Time minus the tree's time; modify_table_ms: the exclusive time of the ModifyTable nodes.
    """
    entries = _entries(value)
    tolerance = ROUNDING_MS * (len(entries) + 2)
    after: dict[int, bool] = {}
    outside_left = after_tree_ms - sum(e.time_ms for e in entries if e.constraint is not None)
    inside_left = modify_table_ms
    for i in sorted(range(len(entries)), key=lambda k: -entries[k].time_ms):
        entry = entries[i]
        if entry.constraint is not None:
            after[i] = True
        elif entry.time_ms <= outside_left + tolerance:
            after[i] = True
        elif entry.time_ms <= inside_left + tolerance:
            after[i] = False
        else:
            after[i] = outside_left >= inside_left
        if entry.constraint is None:
            if after[i]:
                outside_left -= entry.time_ms
            else:
                inside_left -= entry.time_ms
    return tuple(replace(e, after_tree=after[i]) for i, e in enumerate(entries))
