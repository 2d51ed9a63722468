"""Upgrading a results document from older format versions to the current one, step by step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perfkit._results_check import INTEGER, check_value
from perfkit.errors import ResultsError

# The format version: bumped on purpose when the document's shape changes, independent of the package version.
SCHEMA_VERSION = 3
#: The machine facts that are counts: integers (or null when unknown) since format 3, text before.
MACHINE_NUMBERS = ("cpu_count", "memory_bytes")
#: The statistics a single sample has none of (null since format 3).
NO_SPREAD = ("q1_ms", "q3_ms", "stdev_ms", "ci_low_ms", "ci_high_ms")


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 2 added the environment's `realism` (the seed's realism report): unknown for older runs."""
    env = doc.get("environment")
    if not isinstance(env, dict):
        return {**doc, "schema_version": 2}  # the check after upgrading names what is wrong
    return {**doc, "schema_version": 2, "environment": {**env, "realism": None}}


def _count_or_none(value: Any) -> Any:
    """A machine count as version 2 wrote it ("8", "0" or "unknown") as a number: None when it was not known."""
    if isinstance(value, str):
        return int(value) if value.isdigit() and int(value) > 0 else None
    return value  # not text: left for the check after upgrading to judge


#: A plan summary's `node_names` upgraded from format 2: its node_types are PostgreSQL's JSON "Node Type"s
#: (Aggregate, ModifyTable, Seq Scan for a parallel one); format 3 writes the text format's names (HashAggregate,
#: Insert, Parallel Seq Scan). plan:changed compares such a plan on the JSON names.
LEGACY_NODE_NAMES = "json"


def _v2_to_v3(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 3 records machine counts as integers (cpu_count, memory_bytes; null when unknown) instead of text,
    a single sample's quartiles, deviation and CI as null instead of a zero-width interval, and plan node types
    with the text format's names (older plans are marked with node_names = LEGACY_NODE_NAMES)."""
    out: dict[str, Any] = {**doc, "schema_version": 3}
    env = doc.get("environment")
    if isinstance(env, dict) and isinstance(env.get("machine"), dict):
        machine = dict(env["machine"])
        for key in MACHINE_NUMBERS:
            if key in machine:
                machine[key] = _count_or_none(machine[key])
        out["environment"] = {**env, "machine": machine}
    benches = doc.get("benchmarks")
    if isinstance(benches, list):
        out["benchmarks"] = [_v3_stats(b) for b in benches]
    return out


def _v3_stats(bench: Any) -> Any:
    if not isinstance(bench, dict):
        return bench
    plan = bench.get("plan")
    if isinstance(plan, dict):  # node_types were JSON "Node Type"s (Aggregate, ModifyTable); see LEGACY_NODE_NAMES
        bench = {**bench, "plan": {**plan, "node_names": LEGACY_NODE_NAMES}}
    stats = bench.get("stats")
    if not isinstance(stats, dict) or stats.get("n") != 1:
        return bench
    return {**bench, "stats": {**stats, **dict.fromkeys(NO_SPREAD)}}


# Upgraders from version N to N+1, applied in order.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}


def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """Bring an older document to SCHEMA_VERSION step by step; refuse newer or unknown versions."""
    if "schema_version" not in doc:
        raise ResultsError("missing field schema_version (the results format's version, an integer)")
    version = doc["schema_version"]
    check_value(version, INTEGER, "schema_version")
    if version > SCHEMA_VERSION:
        raise ResultsError(
            f"results format version {version} is newer than this perfkit understands "
            f"(up to {SCHEMA_VERSION}); upgrade perfkit to read it"
        )
    while version < SCHEMA_VERSION:
        step = UPGRADES.get(version)
        if step is None:
            raise ResultsError(f"results format version {version} is unknown and cannot be upgraded")
        doc = step(doc)
        version = int(doc["schema_version"])
    return doc


__all__ = ["LEGACY_NODE_NAMES", "MACHINE_NUMBERS", "NO_SPREAD", "SCHEMA_VERSION", "UPGRADES", "upgrade"]
