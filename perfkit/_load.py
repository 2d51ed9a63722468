"""Bulk loading: binary COPY with catalog types (C23), deferred constraints and indexes, verification, fingerprint."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.types.composite import CompositeInfo, register_composite

from perfkit._binary import HEADER, TRAILER, Batch
from perfkit.errors import SeedError
from perfkit.schema import TABLES, secondary_indexes

Progress = Callable[[str, int, int], None]
Statement = sql.SQL | sql.Composed
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Deferred:
    """DDL dropped before a load and replayed after it, in three waves: keys, foreign keys, indexes."""

    drops: tuple[Statement, ...]
    keys: tuple[Statement, ...]
    foreign_keys: tuple[Statement, ...]
    indexes: tuple[Statement, ...]


def copy_types(conn: psycopg.Connection[Any], table: str, columns: Sequence[str]) -> list[str]:
    """The wire type of each column for binary COPY, read from the catalog (C23).

    Enums go as `text` and timestamptz as `timestamp` (the generators make naive UTC datetimes): in both pairs the
    binary forms are the same bytes. Composite types are registered so tuples dump as them.
    """
    rows = conn.execute(
        "SELECT a.attname, t.typname, t.typtype FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
        (table,),
    ).fetchall()
    wire = {"timestamptz": "timestamp"}
    kinds = {name: ("text" if typtype == "e" else wire.get(typname, typname)) for name, typname, typtype in rows}
    missing = [c for c in columns if c not in kinds]
    if missing:
        raise SeedError(f"table {table} has no column {missing[0]} (run `perfkit db migrate`)")
    for name, typname, typtype in rows:
        if typtype == "c" and name in columns:
            info = CompositeInfo.fetch(conn, typname)
            if info is not None:
                register_composite(info, conn)
    return [kinds[c] for c in columns]


def copy_rows(
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    batches: Iterable[list[list[Any]]],
    *,
    freeze: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Truncate `table` and load it with one binary COPY (FREEZE) in one transaction; returns the rows written."""
    types = copy_types(conn, table, columns)
    ident = sql.Identifier(table)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    options = sql.SQL("FORMAT BINARY, FREEZE") if freeze else sql.SQL("FORMAT BINARY")
    stmt = sql.SQL("COPY {} ({}) FROM STDIN ({})").format(ident, cols, options)
    written = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("TRUNCATE {}").format(ident))
        with cur.copy(stmt) as copy:
            copy.set_types(types)
            for batch in batches:
                n = 0
                for row in zip(*batch, strict=True):
                    copy.write_row(row)
                    n += 1
                written += n
                if on_batch is not None:
                    on_batch(n)
    return written


@dataclass(frozen=True, slots=True)
class Loaded:
    """What one COPY loaded: rows (as the server counted them) and a digest of the rows' bytes in order."""

    table: str
    rows: int
    digest: str


def copy_batches(
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    batches: Iterable[Batch],
    *,
    on_batch: Callable[[int], None] | None = None,
) -> Loaded:
    """Truncate `table` and load pre-built binary rows with one COPY (FREEZE) in one transaction.

    The digest is a sha256 over the sha256 of each batch, so it does not depend on how batches are grouped.
    """
    ident = sql.Identifier(table)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY, FREEZE)").format(ident, cols)
    sent = 0
    digests = hashlib.sha256()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("TRUNCATE {}").format(ident))
        with cur.copy(stmt) as copy:
            copy.write(HEADER)
            for batch in batches:
                copy.write(batch.data)
                digests.update(hashlib.sha256(batch.data).digest())
                sent += batch.rows
                if on_batch is not None:
                    on_batch(batch.rows)
            copy.write(TRAILER)
        if cur.rowcount != sent:
            raise SeedError(f"table {table}: {cur.rowcount} rows loaded, {sent} generated")
    return Loaded(table, sent, digests.hexdigest())


def deferred(conn: psycopg.Connection[Any]) -> Deferred:
    """Primary keys, unique and foreign keys of perfkit's tables (from the catalog) and its secondary indexes."""
    rows = conn.execute(
        "SELECT c.conname, r.relname, c.contype, pg_get_constraintdef(c.oid) FROM pg_constraint c"
        " JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace"
        " WHERE n.nspname = current_schema() AND r.relname = ANY(%s) AND c.contype IN ('p', 'u', 'f')"
        " ORDER BY r.relname, c.conname",
        (list(TABLES),),
    ).fetchall()
    present = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
    alter = "ALTER TABLE {} ADD CONSTRAINT {} "
    keys: list[Statement] = []
    fks: list[Statement] = []
    drops_fk: list[Statement] = []
    drops_key: list[Statement] = []
    for name, table, kind, definition in rows:
        add = sql.SQL(alter).format(sql.Identifier(table), sql.Identifier(name)) + sql.SQL(
            definition
        )  # from pg_get_constraintdef
        drop = sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), sql.Identifier(name))
        (fks if kind == "f" else keys).append(add)
        (drops_fk if kind == "f" else drops_key).append(drop)
    indexes = [i for i in secondary_indexes() if i.name in present]
    drops_ix: list[Statement] = [sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(i.name)) for i in indexes]
    return Deferred(
        drops=tuple(drops_fk + drops_key + drops_ix),
        keys=tuple(keys),
        foreign_keys=tuple(fks),
        indexes=tuple(sql.SQL(i.ddl) for i in indexes),  # DDL shipped with perfkit
    )


def pool_map(
    connections: Sequence[psycopg.Connection[Any]],
    items: Sequence[T],
    fn: Callable[[psycopg.Connection[Any], T], R],
    stop: threading.Event | None = None,
) -> list[R]:
    """fn(conn, item) for every item, each connection used by one thread at a time; results in item order.

    On Ctrl-C (or any error) `stop` is set and the other connections' queries are cancelled, so it returns promptly.
    """
    if len(connections) == 1:
        return [fn(connections[0], item) for item in items]
    stop = stop or threading.Event()
    todo = list(enumerate(items))
    results: dict[int, R] = {}

    def worker(conn: psycopg.Connection[Any]) -> None:
        while not stop.is_set():
            try:
                i, item = todo.pop(0)
            except IndexError:
                return
            results[i] = fn(conn, item)

    with ThreadPoolExecutor(max_workers=len(connections)) as ex:
        futures = [ex.submit(worker, c) for c in connections]
        try:
            for fut in futures:
                fut.result()
        except BaseException:
            stop.set()
            for conn in connections:
                conn.cancel_safe()
            raise
    return [results[i] for i in range(len(items))]


def rebuild(connections: Sequence[psycopg.Connection[Any]], plan: Deferred) -> None:
    """Replay a Deferred plan after a load: keys, then secondary indexes, then foreign keys.

    Foreign keys come last: their validation query then reads both sides in key order from the new indexes
    (index-only merge anti-join, as COPY FREEZE leaves every page all-visible), about half the time of hashing.
    """
    run_parallel(connections, plan.keys)
    run_parallel(connections, plan.indexes)
    run_parallel(connections, plan.foreign_keys)


def run_parallel(connections: Sequence[psycopg.Connection[Any]], statements: Sequence[Statement]) -> None:
    """Run independent statements over the given connections."""
    pool_map(connections, statements, lambda conn, stmt: conn.execute(stmt))


def verify(conn: psycopg.Connection[Any], expected: dict[str, int]) -> None:
    """Row counts as generated, and every JSONB value an object (C23: never a JSON string)."""
    for table, rows in expected.items():
        got = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
        if got is None or got[0] != rows:
            raise SeedError(f"table {table}: {got[0] if got else 0} rows loaded, {rows} generated")
    for table, column in jsonb_columns(conn):
        query = sql.SQL("SELECT count(*) FROM {} WHERE {} IS NOT NULL AND jsonb_typeof({}) <> 'object'").format(
            sql.Identifier(table), sql.Identifier(column), sql.Identifier(column)
        )
        bad = conn.execute(query).fetchone()
        if bad and bad[0]:
            raise SeedError(f"{table}.{column}: {bad[0]} values are not JSON objects")


def check_json(connections: Sequence[psycopg.Connection[Any]]) -> None:
    """Every JSONB value an object (C23: never a JSON string), the columns checked in parallel."""

    def bad(conn: psycopg.Connection[Any], column: tuple[str, str]) -> tuple[str, int]:
        table, name = column
        query = sql.SQL("SELECT count(*) FROM {} WHERE jsonb_typeof({}) <> 'object'").format(
            sql.Identifier(table), sql.Identifier(name)
        )
        row = conn.execute(query).fetchone()
        return f"{table}.{name}", int(row[0]) if row else 0

    for where, count in pool_map(connections, jsonb_columns(connections[0]), bad):
        if count:
            raise SeedError(f"{where}: {count} values are not JSON objects")


def jsonb_columns(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND data_type = 'jsonb' AND table_name = ANY(%s)"
        " ORDER BY table_name, ordinal_position",
        (list(TABLES),),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]
