"""Write marks of seeded tables: file node and row-write counters at a seed's end, to tell whether anything wrote since.

A write leaves its traces even when rolled back: dead row versions, visibility-map bits cleared, pages added. A reused
seed must be the data its fingerprint describes, physically too, or every timing and buffer count taken on it drifts.
PostgreSQL's cumulative statistics count every inserted, updated and deleted row, committed or not; TRUNCATE, VACUUM
FULL and CLUSTER give the table a new file node. A session still connected reports its counts up to 10 s late, so the
visibility map is read too (where pg_visibility can be used): the seed's COPY FREEZE leaves every page all-visible, and
a write clears its page's bit until a VACUUM.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
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


#: How late an idle session may report its row counts: PostgreSQL flushes them at most once a second, else when the
#: session has been idle for 10 s (PGSTAT_IDLE_INTERVAL); a second of margin.
REPORT_DELAY_S = 11.0

_RECENTLY_IDLE = """
SELECT pid, coalesce(nullif(application_name, ''), 'a session without an application name'),
       extract(epoch FROM now() - state_change)::float8
FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND state = 'idle' AND state_change > now() - make_interval(secs => %s)
  AND coalesce(application_name, '') NOT LIKE 'perfkit%%'
ORDER BY 3
"""


def await_counts(conn: psycopg.Connection[Any], tell: Callable[[str], None] | None = None) -> float:
    """Wait until the sessions that went idle less than REPORT_DELAY_S ago (a psql session right after its UPDATE)
    have reported their row counts; returns the seconds waited. perfkit's own sessions report theirs at once."""
    rows = conn.execute(_RECENTLY_IDLE, (REPORT_DELAY_S,)).fetchall()
    if not rows:
        return 0.0
    wait = max(0.0, REPORT_DELAY_S - float(rows[0][2]))
    if tell is not None:
        who = ", ".join(f"{app} (pid {pid})" for pid, app, _ in rows)
        tell(f"waiting {wait:.0f} s for the row counts of {who}: PostgreSQL reports them up to 10 s late")
    time.sleep(wait)
    return wait


def read_marks(conn: psycopg.Connection[Any], tables: Iterable[str]) -> dict[str, Mark]:
    """The current mark of each of `tables` that exists in the current schema."""
    rows = conn.execute(
        "SELECT c.relname, c.relfilenode::bigint, coalesce(s.n_tup_ins, 0), coalesce(s.n_tup_upd, 0),"
        " coalesce(s.n_tup_del, 0) FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
        " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname = ANY(%s)",
        (list(tables),),
    ).fetchall()
    return {str(r[0]): Mark(int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


_VISIBILITY = """
SELECT c.relname, pg_relation_size(c.oid) / current_setting('block_size')::int, v.all_visible
FROM pg_class c CROSS JOIN LATERAL pg_visibility_map_summary(c.oid) v
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname = ANY(%s)
"""


def written_pages(conn: psycopg.Connection[Any], tables: Iterable[str]) -> dict[str, tuple[int, int]] | None:
    """(pages not all-visible, pages) of each of `tables` that has such pages, from the visibility map; None when
    pg_visibility cannot be used here (not installed, or the role may not create or call it).

    The extension is created for the query and rolled back, so the database is left as it was.
    """
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_visibility")
            rows = conn.execute(_VISIBILITY, (list(tables),)).fetchall()
    except psycopg.Error:
        return None
    return {str(r[0]): (int(r[1]) - int(r[2]), int(r[1])) for r in rows if int(r[2]) < int(r[1])}


def page_changes(written: dict[str, tuple[int, int]], tables: Sequence[str]) -> list[str]:
    """One phrase per table with pages written since the seed, in `tables` order."""
    return [
        f"{t}: {written[t][0]:,} of {written[t][1]:,} pages written since the seed (visibility map), committed or"
        " rolled back"
        for t in tables
        if t in written
    ]


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


@dataclass
class OwnWrites:
    """Rows perfkit wrote and undid on one connection, per table, as told by the code that wrote them."""

    rows: dict[str, Mark]

    def add(self, table: str, *, inserted: int = 0, updated: int = 0, deleted: int = 0) -> None:
        old = self.rows.get(table, Mark(0, 0, 0, 0))
        self.rows[table] = Mark(0, old.inserted + inserted, old.updated + updated, old.deleted + deleted)


@contextmanager
def own_writes(conn: psycopg.Connection[Any], tables: Sequence[str]) -> Iterator[OwnWrites]:
    """Rows that perfkit writes to seeded `tables` inside the block and undoes (rolls back, then VACUUM), as the block
    tells them to the yielded OwnWrites, are added to the seed's marks, so they do not count as changes to the seed.
    Only what the block tells is excused: another session's write in the meantime still counts."""
    own = OwnWrites({})
    yield own
    flush_stats(conn)  # this session's counts, the ones excused, are visible before the next command reads them
    if conn.execute("SELECT to_regclass('perfkit_seed') IS NOT NULL").fetchone() != (True,):
        return
    row = conn.execute("SELECT marks FROM perfkit_seed").fetchone()
    stored = marks_from_json(row[0]) if row else None
    if stored is None:
        return
    for table in tables:
        old, done = stored.get(table), own.rows.get(table)
        if old is not None and done is not None:
            stored[table] = replace(
                old,
                inserted=old.inserted + done.inserted,
                updated=old.updated + done.updated,
                deleted=old.deleted + done.deleted,
            )
    conn.execute("UPDATE perfkit_seed SET marks = %s", (Jsonb(marks_to_json(stored)),))


__all__ = [
    "REPORT_DELAY_S",
    "Mark",
    "OwnWrites",
    "await_counts",
    "changes",
    "flush_stats",
    "marks_from_json",
    "marks_to_json",
    "own_writes",
    "page_changes",
    "read_marks",
    "written_pages",
]
