"""Disk space: how much a seed will take, checked against the free space of a local server's data directory."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg

from perfkit.db import Target
from perfkit.errors import SeedError
from perfkit.schema import TABLES

#: Bytes on disk per row, table and indexes together, measured after a seed at scale 1 (PostgreSQL 15, 8 kB pages).
BYTES_PER_ROW = {
    "users": 340,
    "user_profiles": 340,
    "posts": 1_050,
    "tags": 300,
    "post_tags": 200,
    "user_settings": 300,
    "comments": 230,
    "notifications": 260,
}
#: Binary COPY bytes per row of the default profile (en_US) in its first batch at scale 1: the rows BYTES_PER_ROW was
#: measured on. A profile whose rows are longer (Cyrillic text takes two bytes a letter, fewer NULLs) adds the
#: difference (tests/test_seed.py checks these against the generators).
REFERENCE_COPY_BYTES = {
    "users": 184,
    "user_profiles": 267,
    "posts": 843,
    "tags": 84,
    "post_tags": 74,
    "user_settings": 213,
    "comments": 159,
    "notifications": 171,
}
#: Headroom for WAL, temporary sort files of index builds and the statistics.
MARGIN = 1.25


def estimate_bytes(rows: dict[str, int], copy_bytes: dict[str, float] | None = None) -> int:
    """Disk bytes a seed with these row counts takes (tables, indexes and headroom); `copy_bytes`, the binary COPY
    bytes per row of this profile's rows where known, adds what its rows are longer than the default profile's."""
    longer = {t: max(0.0, b - REFERENCE_COPY_BYTES[t]) for t, b in (copy_bytes or {}).items()}
    return int(MARGIN * sum((BYTES_PER_ROW[t] + longer.get(t, 0.0)) * n for t, n in rows.items()))


def _gb(n: float) -> str:
    """Bytes as GB, or TB/PB when large (a scale of 1e9 asks for ~350 PB)."""
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 1e6:,.0f} MB"  # below 1 GB: '519 MB, 470 MB free', not '0.5 GB, 0.5 GB'


def data_directory(conn: psycopg.Connection[Any], target: Target) -> Path | None:
    """The server's data directory when it is on this machine (embedded, or a local socket/host), else None."""
    host = conn.info.host
    if not (target.embedded or host.startswith("/") or host in ("localhost", "127.0.0.1", "::1")):
        return None
    try:
        row = conn.execute("SELECT setting FROM pg_settings WHERE name = 'data_directory'").fetchone()
    except psycopg.Error:  # the setting is readable by superusers and pg_read_all_settings only
        return None
    path = Path(str(row[0])) if row and row[0] else None
    try:
        return path if path is not None and path.exists() else None
    except OSError:
        return None


def _free(path: Path) -> int:
    """Free bytes on the file system of `path`, or of its nearest ancestor this user may search."""
    for candidate in (path, *path.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return shutil.disk_usage("/").free


def check_disk(conn: psycopg.Connection[Any], target: Target, need: int) -> int | None:
    """Refuse a seed that would not fit; returns the free bytes, or None when the server is remote (not checked).

    What perfkit's tables take now counts as free: a new seed replaces them.
    """
    where = data_directory(conn, target)
    if where is None:
        return None
    free = _free(where)
    row = conn.execute(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
        " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname = ANY(%s)",
        (list(TABLES),),
    ).fetchone()
    reclaimed = int(row[0]) if row else 0
    if need > free + reclaimed:
        raise SeedError(
            f"not enough disk space: this seed needs about {_gb(need)}, {_gb(free + reclaimed)} is free in {where}"
        )
    return free + reclaimed
