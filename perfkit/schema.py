"""The guide's schema as ordered, versioned up/down migrations, recorded in `perfkit_migrations`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

from perfkit import _data_lock as data_lock
from perfkit.errors import SchemaError

MARKER_TABLE = "perfkit_migrations"
#: Data tables in load order (parents first).
TABLES = ("users", "user_profiles", "posts", "tags", "post_tags", "user_settings", "comments", "notifications")
#: Tables perfkit owns besides the data tables.
OWN_TABLES = (MARKER_TABLE, "perfkit_seed")
_LOCK_KEY = 0x7065_7266_6B69_74  # "perfkit": serialises concurrent migrators
_FILE = re.compile(r"^(\d{4})_(\w+)\.(up|down)\.sql$")
_INDEX = re.compile(r"^CREATE INDEX (\w+) ON (\w+)\b.*;$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Migration:
    """One versioned step: `version` is its 4-digit number, `name` the rest of its file name."""

    version: str
    name: str
    up: str
    down: str

    @property
    def id(self) -> str:
        return f"{self.version}_{self.name}"


@dataclass(frozen=True, slots=True)
class IndexDef:
    """A secondary index: what the seeder drops before a load and rebuilds after it."""

    name: str
    table: str
    ddl: str


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database stands: perfkit's marker, applied and pending migrations, tables perfkit does not own."""

    initialised: bool
    applied: tuple[str, ...]
    pending: tuple[str, ...]
    foreign_tables: tuple[str, ...]
    missing_indexes: tuple[str, ...]
    invalid_indexes: tuple[str, ...] = ()  # left INVALID by a failed or interrupted CREATE INDEX CONCURRENTLY

    @property
    def up_to_date(self) -> bool:
        return self.initialised and not self.pending and not self.missing_indexes


def migrations() -> tuple[Migration, ...]:
    """Every migration shipped in perfkit/migrations, in version order."""
    files: dict[str, dict[str, str]] = {}
    names: dict[str, str] = {}
    for entry in (resources.files("perfkit") / "migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            version, name, direction = match.groups()
            files.setdefault(version, {})[direction] = entry.read_text(encoding="utf-8")
            names[version] = name
    result = []
    for version in sorted(files):
        parts = files[version]
        if set(parts) != {"up", "down"}:
            raise SchemaError(f"migration {version}_{names[version]} lacks its up or down file")
        result.append(Migration(version, names[version], parts["up"], parts["down"]))
    return tuple(result)


def secondary_indexes() -> tuple[IndexDef, ...]:
    """The CREATE INDEX statements of the up migrations, as (name, table, ddl)."""
    found = []
    for mig in migrations():
        for line in mig.up.splitlines():
            match = _INDEX.match(line.strip())
            if match:
                found.append(IndexDef(match.group(1), match.group(2), line.strip().rstrip(";")))
    return tuple(found)


def _user_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"
        # relations an extension owns (pg_stat_statements' views, ...) are not the user's tables
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass"
        " AND d.objid = c.oid AND d.deptype = 'e')"
        " ORDER BY 1, 2"
    ).fetchall()
    return [name if schema == "public" else f"{schema}.{name}" for schema, name in rows]


def _has_marker(conn: psycopg.Connection[Any]) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (MARKER_TABLE,)).fetchone() == (True,)


def _applied(conn: psycopg.Connection[Any]) -> list[str]:
    if not _has_marker(conn):
        return []
    query = sql.SQL("SELECT version FROM {} ORDER BY version").format(sql.Identifier(MARKER_TABLE))
    return [r[0] for r in conn.execute(query).fetchall()]


def status(conn: psycopg.Connection[Any]) -> SchemaStatus:
    """The schema state of the database `conn` is connected to."""
    applied = _applied(conn)
    known = {m.version: m.id for m in migrations()}
    ours = set(TABLES) | set(OWN_TABLES)
    present = {
        r[0]
        for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname = ANY(%s)",
            ([i.name for i in secondary_indexes()],),
        ).fetchall()
    }
    missing = tuple(i.name for i in secondary_indexes() if applied and i.name not in present)
    return SchemaStatus(
        initialised=_has_marker(conn),
        applied=tuple(known.get(v, v) for v in applied),
        pending=tuple(m.id for m in migrations() if m.version not in applied),
        foreign_tables=tuple(t for t in _user_tables(conn) if t not in ours),
        missing_indexes=missing,
        invalid_indexes=tuple(
            str(r[0])
            for r in conn.execute(
                "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
                " WHERE NOT x.indisvalid AND c.relnamespace = current_schema()::regnamespace ORDER BY 1"
            ).fetchall()
        ),
    )


def _check_owned(conn: psycopg.Connection[Any], force: bool) -> None:
    if force or _has_marker(conn):
        return
    others = _user_tables(conn)
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise SchemaError(
            f"database holds {len(others)} table(s) not created by perfkit ({shown}); "
            "use another database or pass --force"
        )


def _run(conn: psycopg.Connection[Any], mig: Migration, direction: str) -> None:
    text = mig.up if direction == "up" else mig.down
    try:
        with conn.transaction():
            conn.execute(text.encode())  # trusted SQL shipped with perfkit; several statements
            marker = sql.Identifier(MARKER_TABLE)
            if direction == "up":
                conn.execute(
                    sql.SQL("INSERT INTO {} (version, name) VALUES (%s, %s)").format(marker), (mig.version, mig.name)
                )
            elif _has_marker(conn):
                conn.execute(sql.SQL("DELETE FROM {} WHERE version = %s").format(marker), (mig.version,))
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = " ".join((exc.diag.message_detail or "").split())  # which view of the user's depends on a table
        why = f" ({detail})" if detail and isinstance(exc, psycopg.errors.DependentObjectsStillExist) else ""
        hint = "; drop those objects, or move them out of perfkit's database" if why else ""
        raise SchemaError(f"migration {mig.id} ({direction}) failed: {first}{why}{hint}") from None


def _ensure_marker(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (version text PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        ).format(sql.Identifier(MARKER_TABLE))
    )


class _Locked:
    """A session advisory lock held while migrating."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))

    def __exit__(self, *exc: object) -> None:
        self.conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _autocommit(conn: psycopg.Connection[Any]) -> None:
    if not conn.autocommit:
        raise SchemaError("schema changes need an autocommit connection")


def migrate(conn: psycopg.Connection[Any], *, force: bool = False) -> list[str]:
    """Apply pending migrations in order; returns the ids applied. Refuses a foreign database unless `force`."""
    _autocommit(conn)
    with _Locked(conn):
        _check_owned(conn, force)
        _ensure_marker(conn)
        done = set(_applied(conn))
        applied = []
        for mig in migrations():
            if mig.version not in done:
                _run(conn, mig, "up")
                applied.append(mig.id)
        return applied


def restore_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Build the secondary indexes perfkit defines that are missing (dropped by hand); returns their names.

    Refused while a seed or a run uses the data: a seed drops them on purpose while it loads, and a run's plans would
    change under it.
    """
    _autocommit(conn)
    if not status(conn).missing_indexes:
        return []
    data_lock.take_exclusive(conn, "migrate again", SchemaError)
    try:
        defs = {i.name: i for i in secondary_indexes()}
        missing = list(status(conn).missing_indexes)
        for name in missing:
            conn.execute(defs[name].ddl.encode())  # DDL shipped with perfkit
        return missing
    finally:
        data_lock.release_exclusive(conn)


def downgrade(conn: psycopg.Connection[Any], *, force: bool = False) -> list[str]:
    """Undo every applied migration, newest first; returns the ids undone."""
    _autocommit(conn)
    with _Locked(conn):
        _check_owned(conn, force)
        done = set(_applied(conn))
        undone = []
        for mig in reversed(migrations()):
            if mig.version in done or (force and not done):
                _run(conn, mig, "down")
                undone.append(mig.id)
        return undone


#: How long a reset waits for a lock another session takes after the check for lock holders.
RESET_LOCK_TIMEOUT = "30s"

_HOLDERS = r"""
SELECT a.pid, coalesce(nullif(a.application_name, ''), 'no application name'), coalesce(a.state, '?'),
       coalesce(to_char(now() - a.xact_start, 'HH24:MI:SS'), '?'), left(regexp_replace(a.query, '\s+', ' ', 'g'), 60),
       string_agg(DISTINCT c.relname, ', ' ORDER BY c.relname)
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.granted AND l.pid <> pg_backend_pid() AND c.relnamespace = current_schema()::regnamespace
  AND c.relname = ANY(%s)
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1
"""


def lock_holders(conn: psycopg.Connection[Any]) -> list[str]:
    """Other sessions holding locks on perfkit's tables (a reset would wait for them), described one per entry."""
    rows = conn.execute(_HOLDERS, ([*TABLES, *OWN_TABLES],)).fetchall()  # the reset drops perfkit's own tables too
    return [
        f"pid {pid} ({app}, {state} for {age}, holding {tables}; last query: {query})"
        for pid, app, state, age, query, tables in rows
    ]


def reset(conn: psycopg.Connection[Any], *, force: bool = False) -> list[str]:
    """Down every migration, then up every one, in one transaction: an empty, current schema, or (on an error, a
    lock wait past RESET_LOCK_TIMEOUT or Ctrl-C) the schema as it was. Returns the ids applied.

    Refused at once while a seed or a run uses the data (between their statements too), or while other sessions
    hold locks on perfkit's tables (the DROPs would wait for them silently).
    """
    data_lock.take_exclusive(conn, "reset", SchemaError)  # a seed calling reset holds it already: taken again
    try:
        holders = lock_holders(conn)
        if holders:
            raise SchemaError(
                f"other sessions hold locks on perfkit's tables, and the reset would wait for them:"
                f" {'; '.join(holders)}; let them finish or end them (SELECT pg_terminate_backend(pid)), then try again"
            )
        with conn.transaction():
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (RESET_LOCK_TIMEOUT,))
            downgrade(conn, force=force)
            return migrate(conn, force=force)
    finally:
        if not conn.closed and not conn.broken:
            data_lock.release_exclusive(conn)


__all__ = [
    "TABLES",
    "IndexDef",
    "Migration",
    "SchemaStatus",
    "downgrade",
    "lock_holders",
    "migrate",
    "migrations",
    "reset",
    "restore_indexes",
    "secondary_indexes",
    "status",
]
