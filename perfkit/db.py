"""Connections: resolve the target (embedded server or a DSN), connect with clear errors, session settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg import sql

from perfkit.errors import ConnectionFailed
from perfkit.server import EmbeddedServer

DEFAULT_DBNAME = "perfkit"
DEFAULT_STATEMENT_TIMEOUT_MS = 300_000


def redact(dsn: str) -> str:
    """A DSN (key=value or URI) with its password replaced by ***."""
    try:
        params = pg_conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparseable DSN>"
    if "password" in params:
        params["password"] = "***"  # noqa: S105
    return pg_conninfo.make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


@dataclass(frozen=True, slots=True)
class Target:
    """Where perfkit works: a libpq conninfo and whether it is the embedded server."""

    conninfo: str
    embedded: bool
    dbname: str

    def __repr__(self) -> str:
        return f"Target({redact(self.conninfo)!r}, embedded={self.embedded})"

    @property
    def display(self) -> str:
        """The target for messages, without a password."""
        return "embedded server" if self.embedded else redact(self.conninfo)


def _scrub(message: str, conninfo: str) -> str:
    """Remove the password from an error message, whatever libpq put in it."""
    try:
        password = pg_conninfo.conninfo_to_dict(conninfo).get("password")
    except psycopg.ProgrammingError:
        password = None
    first = message.strip().splitlines()[0] if message.strip() else "connection failed"
    if password:
        first = first.replace(str(password), "***")
    return first


def resolve_target(
    dsn: str | None = None, data_dir: str | os.PathLike[str] | None = None, *, start: bool = True
) -> Target:
    """The DSN given (or PERFKIT_DSN), else the embedded server, started if needed, database `perfkit`."""
    dsn = dsn or os.environ.get("PERFKIT_DSN") or None
    if dsn:
        try:
            params = pg_conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as exc:
            raise ConnectionFailed(f"invalid DSN: {_scrub(str(exc), dsn)}") from None
        dbname = str(params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or "")
        return Target(dsn, embedded=False, dbname=dbname or "postgres")
    server = EmbeddedServer(Path(data_dir) if data_dir else None)
    info = server.start() if start else server.info()
    ensure_database(info.conninfo("postgres"), DEFAULT_DBNAME)
    return Target(info.conninfo(DEFAULT_DBNAME), embedded=True, dbname=DEFAULT_DBNAME)


def ensure_database(admin_conninfo: str, dbname: str) -> None:
    """Create `dbname` on the server unless it exists."""
    with connect_raw(admin_conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                pass  # another perfkit command created it between the check and here (first use, in parallel)


def connect_raw(conninfo: str, *, autocommit: bool = False, **kwargs: Any) -> psycopg.Connection[Any]:
    """psycopg.connect with a one-line, password-free error."""
    try:
        return psycopg.connect(conninfo, autocommit=autocommit, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        raise ConnectionFailed(f"cannot connect to {redact(conninfo)}: {_scrub(str(exc), conninfo)}") from None
    except psycopg.ProgrammingError as exc:
        raise ConnectionFailed(f"invalid DSN: {_scrub(str(exc), conninfo)}") from None


def connect(
    target: Target,
    *,
    autocommit: bool = True,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    application_name: str = "perfkit",
) -> psycopg.Connection[Any]:
    """A connection to the target with perfkit's session settings."""
    conn = connect_raw(target.conninfo, autocommit=autocommit)
    conn.execute(
        "SELECT set_config('statement_timeout', %s, false), set_config('application_name', %s, false)",
        (str(statement_timeout_ms), application_name),
    )
    if not autocommit:
        conn.commit()
    return conn
