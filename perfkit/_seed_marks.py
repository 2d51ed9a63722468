"""Write marks of seeded tables: file node and row-write counters at a seed's end, to tell whether anything wrote since.

A write leaves its traces even when rolled back: dead row versions, visibility-map bits cleared, pages added. A reused
seed must be the data its fingerprint describes, physically too, or every timing and buffer count taken on it drifts.
PostgreSQL's cumulative statistics count every inserted, updated and deleted row, committed or not; TRUNCATE, VACUUM
FULL and CLUSTER give the table a new file node.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


@dataclass(frozen=True, slots=True)
class Mark:
    """One table's file node and cumulative row writes (inserted, updated, deleted; rolled-back ones included)."""

    filenode: int
    inserted: int
    updated: int
    deleted: int

    def as_list(self) -> list[int]:
        return [self.filenode, self.inserted, self.updated, self.deleted]


def flush_stats(conn: psycopg.Connection[Any]) -> None:
    """Make this session's pending statistics visible to others now (PostgreSQL 15+; older servers report them
    asynchronously, within about half a second)."""
    if conn.info.server_version >= 150000:
        conn.execute("SELECT pg_stat_force_next_flush()")  # flushed before the server reports ready for the next query


def read_marks(conn: psycopg.Connection[Any], tables: Iterable[str]) -> dict[str, Mark]:
    """The current mark of each of `tables` that exists in the current schema."""
    rows = conn.execute(
        "SELECT c.relname, c.relfilenode::bigint, coalesce(s.n_tup_ins, 0), coalesce(s.n_tup_upd, 0),"
        " coalesce(s.n_tup_del, 0) FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
        " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname = ANY(%s)",
        (list(tables),),
    ).fetchall()
    return {str(r[0]): Mark(int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def marks_to_json(marks: dict[str, Mark]) -> dict[str, list[int]]:
    return {t: m.as_list() for t, m in sorted(marks.items())}


def marks_from_json(doc: Any) -> dict[str, Mark] | None:
    """Marks as stored with the seed, or None when the document is not a table of four integers each."""
    if not isinstance(doc, dict):
        return None
    out: dict[str, Mark] = {}
    for table, values in doc.items():
        if not (isinstance(values, list) and len(values) == 4 and all(isinstance(v, int) for v in values)):
            return None
        out[str(table)] = Mark(*values)
    return out


def changes(before: dict[str, Mark], now: dict[str, Mark], tables: Sequence[str]) -> list[str]:
    """What happened to each of `tables` between two marks, one phrase per changed table ([] when untouched).

    Row writes are counted as PostgreSQL counts them, rolled-back ones included: "tags: 50 row deletions, committed
    or rolled back" after a DELETE that was rolled back (the rows are back, the table's pages are not as seeded).
    """
    found: list[str] = []
    reset: list[str] = []
    for table in tables:
        old, new = before.get(table), now.get(table)
        if old is None or new is None:
            found.append(f"{table}: {'not recorded with the seed' if old is None else 'dropped'}")
        elif new.filenode != old.filenode:
            found.append(f"{table}: rewritten (TRUNCATE, VACUUM FULL or CLUSTER)")
        elif min(new.inserted - old.inserted, new.updated - old.updated, new.deleted - old.deleted) < 0:
            reset.append(table)
        else:
            done = [
                f"{n:,} row {kind}{'' if n == 1 else 's'}"
                for n, kind in (
                    (new.inserted - old.inserted, "insertion"),
                    (new.updated - old.updated, "update"),
                    (new.deleted - old.deleted, "deletion"),
                )
                if n
            ]
            if done:  # PostgreSQL counts a rolled-back write too: say so, the rows may all still be there
                found.append(f"{table}: {', '.join(done)}, committed or rolled back")
    if reset:  # one phrase for all: pg_stat_reset() or a crash resets every table at once
        every = len(reset) == len(tables)
        which = "every table" if every else ", ".join(reset)
        found.append(f"the server's statistics were reset, so writes to {which} cannot be checked")
    return found


@contextmanager
def own_writes(conn: psycopg.Connection[Any], tables: Sequence[str]) -> Iterator[None]:
    """Writes that perfkit makes on `conn` to seeded `tables` inside the block and undoes (rolls back, then VACUUM
    ANALYZE) are added to the seed's marks, so they do not count as changes to the seed; other changes still do."""
    flush_stats(conn)
    before = read_marks(conn, tables)
    yield
    flush_stats(conn)
    after = read_marks(conn, tables)
    if conn.execute("SELECT to_regclass('perfkit_seed') IS NOT NULL").fetchone() != (True,):
        return
    row = conn.execute("SELECT marks FROM perfkit_seed").fetchone()
    stored = marks_from_json(row[0]) if row else None
    if stored is None:
        return
    for table in tables:
        old, b, a = stored.get(table), before.get(table), after.get(table)
        if old is None or b is None or a is None or a.filenode != b.filenode:
            continue
        stored[table] = replace(
            old,
            inserted=old.inserted + a.inserted - b.inserted,
            updated=old.updated + a.updated - b.updated,
            deleted=old.deleted + a.deleted - b.deleted,
        )
    conn.execute("UPDATE perfkit_seed SET marks = %s", (Jsonb(marks_to_json(stored)),))


__all__ = ["Mark", "changes", "flush_stats", "marks_from_json", "marks_to_json", "own_writes", "read_marks"]
