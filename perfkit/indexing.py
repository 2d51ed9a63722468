"""Index definitions and their life cycle: compose DDL, build (plain or CONCURRENTLY), size, drop, clean up."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from perfkit.errors import IndexBuildError

PREFIX = "pk_ix_"
"""Every index perfkit builds for a measurement is named with this prefix, so leftovers can be found and dropped."""


@dataclass(frozen=True, slots=True)
class Key:
    """One index key: a column (or a trusted SQL expression), with an optional operator class and DESC."""

    column: str | None = None
    expression: str | None = None
    opclass: str | None = None
    desc: bool = False

    def composed(self) -> sql.Composable:
        part: sql.Composable
        if self.column is not None and self.expression is None:
            part = sql.Identifier(self.column)
        elif self.expression is not None and self.column is None:
            part = sql.SQL("({})").format(sql.SQL(self.expression))
        else:
            raise ValueError("a key is either a column or an expression")
        if self.opclass:
            part = sql.SQL("{} {}").format(part, sql.SQL(self.opclass))
        if self.desc:
            part = sql.SQL("{} DESC").format(part)
        return part

    @property
    def text(self) -> str:
        body = self.column if self.column is not None else f"({self.expression})"
        return body + (f" {self.opclass}" if self.opclass else "") + (" DESC" if self.desc else "")


def col(name: str, *, desc: bool = False, opclass: str | None = None) -> Key:
    """A column key."""
    return Key(column=name, desc=desc, opclass=opclass)


def expr(expression: str, *, opclass: str | None = None) -> Key:
    """An expression key (the expression is perfkit's own SQL, never user input)."""
    return Key(expression=expression, opclass=opclass)


@dataclass(frozen=True, slots=True)
class IndexDef:
    """One index: its name, table, access method, keys, INCLUDE columns, partial predicate and uniqueness."""

    name: str
    table: str
    keys: tuple[Key, ...]
    method: str = "btree"
    include: tuple[str, ...] = ()
    where: str | None = None
    unique: bool = False

    @property
    def kind(self) -> str:
        """What sort of index this is: btree/gin/brin, plus partial, covering, expression, composite."""
        tags = [self.method]
        if len(self.keys) > 1:
            tags.append("composite")
        if any(k.expression for k in self.keys):
            tags.append("expression")
        if self.include:
            tags.append("covering")
        if self.where:
            tags.append("partial")
        ops = [k.opclass for k in self.keys if k.opclass]
        return " ".join(tags + ops)

    @property
    def text(self) -> str:
        """The definition as a reader sees it: `posts USING btree (author_id, status) INCLUDE (title)`."""
        out = f"{self.table} USING {self.method} ({', '.join(k.text for k in self.keys)})"
        if self.include:
            out += f" INCLUDE ({', '.join(self.include)})"
        if self.where:
            out += f" WHERE {self.where}"
        return out

    @property
    def short(self) -> str:
        """Compact form: `posts (author_id, status)`, `users gin (name gin_trgm_ops)`."""
        method = "" if self.method == "btree" else f"{self.method} "
        out = f"{self.table} {method}({', '.join(k.text for k in self.keys)})"
        if self.include:
            out += f" INCLUDE ({', '.join(self.include)})"
        return out + (f" WHERE {self.where}" if self.where else "")

    def ddl(self, *, concurrently: bool = False) -> sql.Composed:
        """CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON table USING method (keys) [INCLUDE (...)] [WHERE ...]."""
        parts: list[sql.Composable] = [sql.SQL("CREATE UNIQUE INDEX" if self.unique else "CREATE INDEX")]
        if concurrently:
            parts.append(sql.SQL("CONCURRENTLY"))
        parts.append(
            sql.SQL("{} ON {} USING {} ({})").format(
                sql.Identifier(self.name),
                sql.Identifier(self.table),
                sql.SQL(self.method),
                sql.SQL(", ").join(k.composed() for k in self.keys),
            )
        )
        if self.include:
            parts.append(sql.SQL("INCLUDE ({})").format(sql.SQL(", ").join(map(sql.Identifier, self.include))))
        if self.where:
            parts.append(sql.SQL("WHERE {}").format(sql.SQL(self.where)))
        return sql.SQL(" ").join(parts)


@dataclass(frozen=True, slots=True)
class Build:
    """A finished build: how long it took and how big the index is."""

    index: str
    definition: str
    concurrently: bool
    build_ms: float
    size_bytes: int


Conn = psycopg.Connection[Any]


def index_size(conn: Conn, name: str) -> int:
    row = conn.execute(
        "SELECT pg_relation_size(c.oid) FROM pg_class c WHERE c.relname = %s AND c.relkind = 'i' "
        "AND c.relnamespace = current_schema()::regnamespace",
        (name,),
    ).fetchone()
    return int(row[0]) if row else 0


def create(conn: Conn, ix: IndexDef) -> Build:
    """CREATE INDEX (inside whatever transaction the caller has open) and time it."""
    t0 = time.perf_counter()
    conn.execute(ix.ddl())
    ms = (time.perf_counter() - t0) * 1000
    return Build(ix.name, ix.text, False, round(ms, 3), index_size(conn, ix.name))


def is_valid(conn: Conn, name: str) -> bool | None:
    """pg_index.indisvalid of the index; None when there is no such index."""
    row = conn.execute(
        "SELECT x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
        "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace",
        (name,),
    ).fetchone()
    return None if row is None else bool(row[0])


def drop(conn: Conn, name: str) -> None:
    conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(name)))


def build_concurrently(conn: Conn, ix: IndexDef, *, keep: bool = False) -> Build:
    """CREATE INDEX CONCURRENTLY on an autocommit connection, timed and sized, then dropped (unless `keep`).

    A failed concurrent build leaves an INVALID index behind: it is detected (pg_index.indisvalid), dropped, and
    IndexBuildError says so.
    """
    if not conn.autocommit or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise IndexBuildError("CREATE INDEX CONCURRENTLY needs an autocommit connection outside a transaction")
    t0 = time.perf_counter()
    try:
        conn.execute(ix.ddl(concurrently=True))
    except psycopg.Error as exc:
        reason = (exc.diag.message_primary or str(exc)).splitlines()[0]
        left = is_valid(conn, ix.name)
        if left is not None:
            drop(conn, ix.name)
        tail = "; the INVALID index it left was dropped" if left is False else ""
        raise IndexBuildError(f"CREATE INDEX CONCURRENTLY {ix.name} failed: {reason}{tail}") from None
    ms = (time.perf_counter() - t0) * 1000
    build = Build(ix.name, ix.text, True, round(ms, 3), index_size(conn, ix.name))
    if not keep:
        drop(conn, ix.name)
    return build


def invalid_indexes(conn: Conn) -> list[str]:
    """Indexes of the current schema that are INVALID (a failed or interrupted CONCURRENTLY build)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
        "WHERE NOT x.indisvalid AND c.relnamespace = current_schema()::regnamespace ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows]


def cleanup_leftovers(conn: Conn) -> list[str]:
    """Drop perfkit's own indexes left by an interrupted run (named PREFIX...); returns their names."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relkind = 'i' AND c.relname LIKE %s "
        "AND c.relnamespace = current_schema()::regnamespace ORDER BY 1",
        (PREFIX.replace("_", r"\_") + "%",),
    ).fetchall()
    names = [str(r[0]) for r in rows]
    for name in names:
        drop(conn, name)
    return names


def schema_indexes(conn: Conn) -> list[tuple[str, str, bool]]:
    """Every index of the current schema as (name, definition, valid): what a run must leave unchanged."""
    rows = conn.execute(
        "SELECT c.relname, pg_get_indexdef(c.oid), x.indisvalid FROM pg_index x "
        "JOIN pg_class c ON c.oid = x.indexrelid WHERE c.relnamespace = current_schema()::regnamespace ORDER BY 1"
    ).fetchall()
    return [(str(r[0]), str(r[1]), bool(r[2])) for r in rows]


def strip_table(conn: Conn, table: str) -> list[str]:
    """Inside the caller's transaction: drop the table's secondary indexes and non-primary UNIQUE constraints.

    What stays is the primary key. Meant for a transaction that is rolled back; returns what was dropped.
    """
    rows = conn.execute(
        """
        SELECT i.relname, c.conname FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = t.oid
        WHERE t.relname = %s AND t.relnamespace = current_schema()::regnamespace
          AND NOT x.indisprimary
          AND (c.oid IS NULL OR c.contype = 'u')
          AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = x.indexrelid)
        ORDER BY 1
        """,
        (table,),
    ).fetchall()
    dropped: list[str] = []
    for index_name, constraint in rows:
        if constraint is not None:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), sql.Identifier(constraint))
            )
        else:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index_name)))
        dropped.append(str(index_name))
    return dropped


def ensure_extension(conn: Conn, name: str) -> bool:
    """CREATE EXTENSION IF NOT EXISTS inside the caller's (rolled-back) transaction; False if unavailable."""
    row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", (name,)).fetchone()
    if row is None:
        return False
    try:
        with conn.transaction():
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))
    except psycopg.Error:
        return False
    return True
