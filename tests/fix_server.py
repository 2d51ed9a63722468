"""Session fixtures: one real PostgreSQL for the whole test run (embedded, or PERFKIT_TEST_DSN)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from perfkit.db import Target, connect, redact, resolve_target
from perfkit.server import EmbeddedServer


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedServer | None]:
    """The embedded server started once per run in a temporary folder, stopped and removed at the end."""
    if os.environ.get("PERFKIT_TEST_DSN"):
        yield None
        return
    # Not pytest's tmp_path: as root that folder is private, and the server runs as an unprivileged user.
    base = Path(tempfile.mkdtemp(prefix="perfkit-test-"))
    base.chmod(0o711)
    srv = EmbeddedServer(base / "cluster")
    srv.start()
    try:
        yield srv
    finally:
        srv.destroy()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def private_server() -> Iterator[EmbeddedServer]:
    """A second, short-lived cluster of its own, destroyed afterwards (the session one must not be stopped)."""
    base = Path(tempfile.mkdtemp(prefix="perfkit-srv-"))
    base.chmod(0o711)
    srv = EmbeddedServer(base / "cluster")
    try:
        yield srv
    finally:
        srv.destroy()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def admin_conninfo(pg_server: EmbeddedServer | None) -> str:
    """Conninfo of a superuser on the test server (database postgres)."""
    dsn = os.environ.get("PERFKIT_TEST_DSN")
    if dsn:
        return dsn
    assert pg_server is not None
    return pg_server.info().conninfo("postgres")


def _make_db(admin_conninfo: str, name: str) -> Target:
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = psycopg.conninfo.conninfo_to_dict(admin_conninfo)
    params["dbname"] = name
    return Target(psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()}), embedded=False, dbname=name)


def _drop_db(admin_conninfo: str, name: str) -> None:
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def empty_db(admin_conninfo: str) -> Iterator[Target]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"pk_test_{uuid.uuid4().hex[:10]}"
    target = _make_db(admin_conninfo, name)
    try:
        yield target
    finally:
        _drop_db(admin_conninfo, name)


@pytest.fixture
def conn(empty_db: Target) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to a fresh empty database."""
    c = connect(empty_db)
    try:
        yield c
    finally:
        c.close()


__all__ = ["admin_conninfo", "conn", "empty_db", "pg_server", "private_server", "redact", "resolve_target"]


def server_prepares(conn: psycopg.Connection[Any], work: Any, trace: Path) -> int:
    """Run `work()` with libpq tracing `conn` into `trace`; how many server-side statements it prepared (psycopg
    names them _pg3_N; they are gone from pg_prepared_statements once a transaction rolls back, so count the Parse
    messages on the wire)."""
    with trace.open("w") as f:
        conn.pgconn.trace(f.fileno())
        try:
            work()
        finally:
            conn.pgconn.untrace()
    return sum(1 for line in trace.read_text().splitlines() if "\tParse\t" in line and '"_pg3_' in line)
