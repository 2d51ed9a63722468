"""Sorts, incremental sorts, hashes and hash aggregates that went to disk, in any process that ran them.

In a parallel plan PostgreSQL reports a Sort's "Sort Method" / "Sort Space Used" / "Sort Space Type" (an Incremental
Sort's "Full-sort Groups" / "Pre-sorted Groups", a HashAggregate's "HashAgg Batches" / "Disk Usage") once per process:
the leader's at the node's top level (absent when the leader ran no part of it, parallel_leader_participation = off)
and each worker's in its "Workers" entry. A node spilled when any of them did. A Hash reports one "Hash Batches" for
all processes (PostgreSQL takes the largest of the workers' or shares one table): it is read at the top level only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from perfkit._plan_load import number
from perfkit._plan_records import PlanNode

_GROUPS = ("Full-sort Groups", "Pre-sorted Groups")
_Reader = Callable[[Mapping[str, Any]], "tuple[str, int | None] | None"]  # (method, kB on disk) if it spilled


@dataclass(frozen=True, slots=True)
class Spill:
    """A sort, hash or hash aggregate that went to disk: `processes` that spilled ("leader", "worker 0"; empty outside
    a parallel section), the `largest_kb` one process wrote and `total_kb` over them (None when not reported)."""

    label: str
    kind: str
    detail: str
    temp_written_blocks: int
    processes: tuple[str, ...] = ()
    largest_kb: int | None = None
    total_kb: int | None = None


def _processes(node: PlanNode) -> list[tuple[str, Mapping[str, Any]]]:
    """(name, figures) for the leader (the node's own keys) and each worker entry; the leader alone when serial."""
    workers = node.raw.get("Workers")
    entries = [w for w in workers if isinstance(w, Mapping)] if isinstance(workers, tuple | list) else []
    if not entries:
        return [("", node.raw)]
    named = [(f"worker {w.get('Worker Number', i)}", w) for i, w in enumerate(entries)]
    return [("leader", node.raw), *named]


def _kb(value: object) -> int | None:
    num = number(value)
    return round(num) if num is not None else None


def _sort_spill(figures: Mapping[str, Any]) -> tuple[str, int | None] | None:
    """(method, kB on disk) when this process's sort spilled."""
    if figures.get("Sort Space Type") == "Disk":
        return str(figures.get("Sort Method", "sort")), _kb(figures.get("Sort Space Used"))
    spilled = []
    for group in _GROUPS:  # Incremental Sort: per kind of group, the peak space of one group's sort
        info = figures.get(group)
        disk = info.get("Sort Space Disk") if isinstance(info, Mapping) else None
        if isinstance(info, Mapping) and isinstance(disk, Mapping):
            methods = info.get("Sort Methods Used")
            method = ", ".join(str(m) for m in methods) if isinstance(methods, tuple | list) else "sort"
            count = _kb(info.get("Group Count"))
            peak = _kb(disk.get("Peak Sort Space Used"))
            spilled.append((f"{method} ({count if count is not None else '?'} {group.lower()})", peak))
    if not spilled:
        return None
    peaks = [kb for _, kb in spilled if kb is not None]
    return "; ".join(m for m, _ in spilled), max(peaks) if peaks else None


def _hashagg_spill(figures: Mapping[str, Any]) -> tuple[str, int | None] | None:
    batches, disk = number(figures.get("HashAgg Batches")), _kb(figures.get("Disk Usage"))
    if batches is None or not (batches > 1 or (disk or 0) > 0):
        return None
    return f"{round(batches)} batches", disk or 0


def _spill_of(node: PlanNode, kind: str, reader: _Reader, temp: int, what: str) -> Spill | None:
    found = [(name, hit) for name, figures in _processes(node) if (hit := reader(figures)) is not None]
    if not found:
        return None
    names = tuple(name for name, _ in found if name)
    sizes = [kb for _, (_, kb) in found if kb is not None]
    largest, total = (max(sizes), sum(sizes)) if sizes else (None, None)
    methods = sorted({method for _, (method, _) in found})
    method = " / ".join(methods)
    if len(found) == 1:
        where = f" in {names[0]}" if names else ""
        size = f", {largest} kB {what}" if largest is not None else ""
        detail = f"{method}{where}{size}"
    else:
        size = f": largest {largest} kB, {total} kB {what} in all" if largest is not None else ""
        detail = f"{method} in {len(found)} processes ({', '.join(names)}){size}"
    return Spill(node.label, kind, detail, temp, names, largest, total)


def spill(node: PlanNode) -> Spill | None:
    """The node's spill to disk, in whichever processes it happened; None when it stayed in memory."""
    temp = node.exclusive_buffers.temp_written
    if node.node_type in ("Sort", "Incremental Sort"):
        what = "on disk at the peak" if node.node_type == "Incremental Sort" else "on disk"
        return _spill_of(node, "sort", _sort_spill, temp, what)
    batches = number(node.raw.get("Hash Batches"))
    if node.node_type == "Hash" and batches is not None and batches > 1:
        original = node.raw.get("Original Hash Batches", batches)
        detail = f"{round(batches)} batches" + (f" (planned {original})" if original != batches else "")
        return Spill(node.label, "hash", detail, temp)
    if node.node_type == "Aggregate":
        return _spill_of(node, "hash aggregate", _hashagg_spill, temp, "on disk")
    return None
