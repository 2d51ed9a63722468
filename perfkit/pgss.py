"""Server-side execution time and buffers from pg_stat_statements: enable it if preloaded, snapshot, subtract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

__all__ = ["ServerStats", "enable", "snapshot"]

_TOTALS = """
SELECT coalesce(sum(calls), 0)::bigint, coalesce(sum(total_exec_time), 0)::float8,
       coalesce(sum(shared_blks_hit), 0)::bigint, coalesce(sum(shared_blks_read), 0)::bigint
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND userid = (SELECT oid FROM pg_roles WHERE rolname = current_user)
  AND query NOT LIKE '%%pg_stat_statements%%'
"""


@dataclass(frozen=True, slots=True)
class ServerStats:
    """Totals of pg_stat_statements for the current database and user (or the difference of two snapshots)."""

    calls: int
    exec_ms: float
    shared_hit_blocks: int
    shared_read_blocks: int

    def __add__(self, other: ServerStats) -> ServerStats:
        return ServerStats(
            self.calls + other.calls,
            self.exec_ms + other.exec_ms,
            self.shared_hit_blocks + other.shared_hit_blocks,
            self.shared_read_blocks + other.shared_read_blocks,
        )

    def __sub__(self, other: ServerStats) -> ServerStats:
        return ServerStats(
            self.calls - other.calls,
            self.exec_ms - other.exec_ms,
            self.shared_hit_blocks - other.shared_hit_blocks,
            self.shared_read_blocks - other.shared_read_blocks,
        )

    @property
    def consistent(self) -> bool:
        """False for a difference that went backwards (entries evicted or the statistics reset in between)."""
        return min(self.calls, self.shared_hit_blocks, self.shared_read_blocks) >= 0 and self.exec_ms >= 0

    def per(self, executions: int) -> dict[str, float]:
        """Counters per execution of the measured callable: server_ms, shared_hit_blocks, shared_read_blocks."""
        k = max(executions, 1)
        return {
            "server_ms": self.exec_ms / k,
            "shared_hit_blocks": self.shared_hit_blocks / k,
            "shared_read_blocks": self.shared_read_blocks / k,
        }


def enable(conn: psycopg.Connection[Any]) -> str | None:
    """Make pg_stat_statements usable in this database; None when it is, else why not (one line, for a note)."""
    version = conn.info.server_version
    if version < 130000:
        return "pg_stat_statements needs PostgreSQL 13 or later for total_exec_time"
    preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    if preload is None or "pg_stat_statements" not in str(preload[0]):
        return "pg_stat_statements is not in shared_preload_libraries: no server-side time or buffers"
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        with conn.transaction():
            conn.execute(_TOTALS).fetchone()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"pg_stat_statements is unavailable: {first}"
    return None


def snapshot(conn: psycopg.Connection[Any]) -> ServerStats:
    """The current totals (pg_stat_statements must be enabled: see `enable`)."""
    row = conn.execute(_TOTALS).fetchone()
    assert row is not None
    return ServerStats(int(row[0]), float(row[1]), int(row[2]), int(row[3]))
