"""Who may touch the seeded data at once: a seed or reset alone; runs beside other readers, one run at a time."""

from __future__ import annotations

import time
from typing import Any

import psycopg

from perfkit.errors import PerfkitError

#: Session advisory lock on the data: exclusive for a seed or a reset, shared for a run's benchmarks. The key is
#: the seed lock of earlier versions, so seeds of old and new versions still exclude each other.
DATA = 0x7065726B73656564  # "perkseed"
#: Held by a run for all of its benchmarks: two runs at once would share scratch tables and disturb each other's
#: timings.
RUN = 0x7065726B72756E73  # "perkruns"

_HOLDERS = """
SELECT a.pid, coalesce(nullif(a.application_name, ''), 'a session without an application name')
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1
ORDER BY a.pid
"""


#: How long a refused lock is tried again while no live session holds it: a session that just closed releases its
#: locks only when its backend has exited. A lock a live session holds is refused at once.
GRACE_S = 3.0


def _try(conn: psycopg.Connection[Any], function: str, key: int) -> bool:
    """Try the advisory lock `function` on `key`; again for up to GRACE_S while its holder is exiting."""
    query = {"lock": "SELECT pg_try_advisory_lock(%s)", "shared": "SELECT pg_try_advisory_lock_shared(%s)"}[function]
    deadline = time.monotonic() + GRACE_S
    while conn.execute(query, (key,)).fetchone() != (True,):
        if holders(conn, key) or time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def holders(conn: psycopg.Connection[Any], key: int) -> list[tuple[int, str]]:
    """(pid, application name) of the other sessions holding the lock `key` in this database."""
    return [(int(pid), str(app)) for pid, app in conn.execute(_HOLDERS, (key >> 32, key & 0xFFFFFFFF)).fetchall()]


def _who(conn: psycopg.Connection[Any], key: int) -> str:
    found = holders(conn, key)
    return ", ".join(f"{app} (pid {pid})" for pid, app in found) if found else "another session"


def _refuse(conn: psycopg.Connection[Any], key: int, what: str, error: type[PerfkitError]) -> PerfkitError:
    who = _who(conn, key)
    if "perfkit seed" in who and key == DATA:
        return error(f"another seed of this database is running ({who}); wait for it to finish, then {what}")
    return error(f"{who} is using this database's data; wait for it to finish, then {what}")


def refuse_if_seeding(conn: psycopg.Connection[Any], error: type[PerfkitError]) -> None:
    """Raise `error` when a live session holds the data alone (a seed or a reset in progress)."""
    if conn.execute("SELECT pg_try_advisory_lock_shared(%s)", (DATA,)).fetchone() == (True,):
        conn.execute("SELECT pg_advisory_unlock_shared(%s)", (DATA,))
    elif holders(conn, DATA):
        raise _refuse(conn, DATA, "try again", error)


def take_exclusive(conn: psycopg.Connection[Any], what: str, error: type[PerfkitError]) -> None:
    """Hold the data alone for this session (until it ends or `release`), or refuse at once: nothing may read data
    that is being replaced."""
    if not _try(conn, "lock", DATA):
        raise _refuse(conn, DATA, what, error)


def take_shared(conn: psycopg.Connection[Any], what: str, error: type[PerfkitError]) -> None:
    """Hold the data for reading, beside other readers (a seed or reset waits for it), or refuse at once."""
    if not _try(conn, "shared", DATA):
        raise _refuse(conn, DATA, what, error)


def take_run(conn: psycopg.Connection[Any], error: type[PerfkitError]) -> None:
    """Be the one run benchmarking this database, or refuse at once."""
    if not _try(conn, "lock", RUN):
        who = _who(conn, RUN)
        raise error(
            f"another run is benchmarking this database ({who}): runs at once would disturb each other's timings;"
            " wait for it to finish, or give this one its own database (--dsn)"
        )


def release_exclusive(conn: psycopg.Connection[Any]) -> None:
    """Give up one hold of the data taken with `take_exclusive` in this session."""
    conn.execute("SELECT pg_advisory_unlock(%s)", (DATA,))
