"""Statistics hygiene: find tables whose planner statistics are missing or stale, and ANALYZE them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

STALE_FRACTION = 0.1
STALE_MIN_ROWS = 50
"""Stale when rows modified since the last ANALYZE exceed 50 + 10% of the table (autovacuum's default rule)."""


@dataclass(frozen=True, slots=True)
class StatsCheck:
    """One table's statistics before measuring, and whether perfkit analysed it."""

    table: str
    last_analyzed: str | None
    live_rows: int
    modified_since_analyze: int
    stale: bool
    reason: str
    analyzed: bool

    @property
    def message(self) -> str:
        if not self.stale:
            return f"{self.table}: statistics fresh"
        done = "ran ANALYZE" if self.analyzed else "not analysed"
        return f"{self.table}: statistics {self.reason}: {done}"


def check(conn: psycopg.Connection[Any], table: str) -> StatsCheck:
    """Read pg_stat_user_tables for one table: never analysed, or too many rows changed since the last ANALYZE."""
    row = conn.execute(
        """
        SELECT greatest(last_analyze, last_autoanalyze)::text, n_live_tup, n_mod_since_analyze
        FROM pg_stat_user_tables WHERE relname = %s AND schemaname = current_schema()
        """,
        (table,),
    ).fetchone()
    if row is None:
        return StatsCheck(table, None, 0, 0, False, "no such table", False)
    last, live, mods = row[0], int(row[1] or 0), int(row[2] or 0)
    if last is None:
        return StatsCheck(table, None, live, mods, True, "never analysed (as after a bulk load)", False)
    limit = STALE_MIN_ROWS + STALE_FRACTION * live
    if mods > limit:
        return StatsCheck(table, str(last), live, mods, True, f"stale ({mods:,} rows changed since ANALYZE)", False)
    return StatsCheck(table, str(last), live, mods, False, "fresh", False)


def ensure_fresh(conn: psycopg.Connection[Any], tables: Iterable[str]) -> list[StatsCheck]:
    """Check each table and ANALYZE those with missing or stale statistics (autocommit: the ANALYZE persists)."""
    out: list[StatsCheck] = []
    for table in dict.fromkeys(tables):
        c = check(conn, table)
        if c.stale:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
            c = StatsCheck(c.table, c.last_analyzed, c.live_rows, c.modified_since_analyze, True, c.reason, True)
        out.append(c)
    return out


@dataclass(frozen=True, slots=True)
class VisibilityCheck:
    """How much of a table the visibility map marks all-visible (index-only scans need it), and any VACUUM run."""

    table: str
    pages: int
    all_visible_pages: int
    vacuumed: bool

    @property
    def message(self) -> str:
        pct = 100.0 * self.all_visible_pages / self.pages if self.pages else 100.0
        done = ": ran VACUUM so index-only scans need no heap fetches" if self.vacuumed else ""
        return f"{self.table}: {pct:.0f}% of pages all-visible{done}"


def ensure_all_visible(
    conn: psycopg.Connection[Any], tables: Iterable[str], threshold: float = 0.95
) -> list[VisibilityCheck]:
    """VACUUM (outside any transaction: autocommit) each table whose visibility map covers < threshold of pages."""
    out: list[VisibilityCheck] = []
    for table in dict.fromkeys(tables):
        row = conn.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE relname = %s AND relkind = 'r' "
            "AND relnamespace = current_schema()::regnamespace",
            (table,),
        ).fetchone()
        if row is None:
            continue
        pages, visible = int(row[0]), int(row[1])
        vacuumed = False
        if pages and visible < threshold * pages:
            conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
            vacuumed = True
            again = conn.execute(
                "SELECT relpages, relallvisible FROM pg_class WHERE relname = %s "
                "AND relnamespace = current_schema()::regnamespace",
                (table,),
            ).fetchone()
            if again:
                pages, visible = int(again[0]), int(again[1])
        out.append(VisibilityCheck(table, pages, visible, vacuumed))
    return out
