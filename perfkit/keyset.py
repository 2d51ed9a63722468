"""Keyset (cursor) pagination done right: unique sort keys, opaque signed cursors, seekable predicates, safe walks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from perfkit._keyset_cursor import CURSOR_VERSION, decode_cursor, encode_cursor
from perfkit._keyset_seek import SeekCheck, check_seek, cursor_predicate_is_seek
from perfkit._keyset_spec import KeysetSpec, SortKey
from perfkit._keyset_sql import cursor_predicate, order_by, select_list, uses_row_comparison
from perfkit.errors import ConfigError, CursorDidNotAdvance, InvalidCursor, KeysetSpecError

Secret = str | bytes | None
KeyTransform = Callable[[tuple[Any, ...]], tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Page:
    """One page: its rows (column -> value), the key of its last row and the token for the next page (or None)."""

    rows: tuple[dict[str, Any], ...]
    next_cursor: str | None
    last_key: tuple[Any, ...] | None
    has_more: bool


def _check_size(page_size: int) -> None:
    if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1:
        raise ConfigError(f"page size must be a positive integer, got {page_size!r}")


def _where(parts: list[sql.Composable]) -> sql.Composable:
    if not parts:
        return sql.SQL("")
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(sql.SQL("({})").format(p) if len(parts) > 1 else p for p in parts)


def page_query(
    spec: KeysetSpec,
    cursor_values: Sequence[Any] | None,
    page_size: int,
    *,
    where: sql.Composable | None = None,
    where_params: Sequence[Any] = (),
    lookahead: bool = False,
) -> tuple[sql.Composed, list[Any]]:
    """SELECT ... WHERE <where> AND <after cursor> ORDER BY <keys> LIMIT page_size (+1 with `lookahead`).

    All keys NOT NULL and in one direction: `(a, b) < (%s, %s)`, which a btree on (a, b) seeks to (C09).
    Otherwise the exact OR expansion with NULL placement, ANDed with a bound on the leading key(s) an index
    can seek with (see `_keyset_sql._bound`).
    """
    _check_size(page_size)
    parts: list[sql.Composable] = []
    params: list[Any] = []
    if where is not None:
        parts.append(where)
        params += list(where_params)
    if cursor_values is not None:
        pred, pred_params = cursor_predicate(spec, tuple(cursor_values))
        parts.append(pred)
        params += pred_params
    query = sql.SQL("SELECT {cols} FROM {rel}{where} ORDER BY {order} LIMIT %s").format(
        cols=select_list(spec), rel=spec.relation, where=_where(parts), order=order_by(spec)
    )
    return query, [*params, page_size + 1 if lookahead else page_size]


def offset_query(
    spec: KeysetSpec,
    offset: int,
    page_size: int,
    *,
    where: sql.Composable | None = None,
    where_params: Sequence[Any] = (),
    lookahead: bool = False,
) -> tuple[sql.Composed, list[Any]]:
    """The OFFSET version of the same page, for comparison: it reads and discards `offset` rows first."""
    _check_size(page_size)
    if offset < 0:
        raise ConfigError(f"offset must be >= 0, got {offset}")
    query = sql.SQL("SELECT {cols} FROM {rel}{where} ORDER BY {order} LIMIT %s OFFSET %s").format(
        cols=select_list(spec),
        rel=spec.relation,
        where=_where([where] if where is not None else []),
        order=order_by(spec),
    )
    return query, [*where_params, page_size + 1 if lookahead else page_size, offset]


def _run(conn: psycopg.Connection[Any], query: sql.Composed, params: list[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def row_key(spec: KeysetSpec, row: dict[str, Any]) -> tuple[Any, ...]:
    """The sort key values of a row, in spec order."""
    return tuple(row[k.column] for k in spec.keys)


def fetch_page(
    conn: psycopg.Connection[Any],
    spec: KeysetSpec,
    page_size: int,
    cursor: str | None = None,
    *,
    where: sql.Composable | None = None,
    where_params: Sequence[Any] = (),
    secret: Secret = None,
    key_transform: KeyTransform | None = None,
) -> Page:
    """The page after `cursor` (the first page when None); reads one extra row to know whether more follow.

    `key_transform` models a client that stores the cursor values lossily (say, a JavaScript Date keeping
    milliseconds): it is applied to the last row's key before it is encoded.
    """
    values = decode_cursor(spec, cursor, secret=secret) if cursor is not None else None
    query, params = page_query(spec, values, page_size, where=where, where_params=where_params, lookahead=True)
    rows = _run(conn, query, params)
    more = len(rows) > page_size
    rows = rows[:page_size]
    last = row_key(spec, rows[-1]) if rows else None
    token = None
    if more and last is not None:
        token = encode_cursor(spec, key_transform(last) if key_transform else last, secret=secret)
    return Page(tuple(rows), token, last, more)


def fetch_offset_page(
    conn: psycopg.Connection[Any],
    spec: KeysetSpec,
    page_size: int,
    offset: int,
    *,
    where: sql.Composable | None = None,
    where_params: Sequence[Any] = (),
) -> Page:
    """The OFFSET page starting at row `offset` (next_cursor is always None; the caller adds page_size)."""
    query, params = offset_query(spec, offset, page_size, where=where, where_params=where_params, lookahead=True)
    rows = _run(conn, query, params)
    more = len(rows) > page_size
    rows = rows[:page_size]
    return Page(tuple(rows), None, row_key(spec, rows[-1]) if rows else None, more)


def walk(
    conn: psycopg.Connection[Any],
    spec: KeysetSpec,
    page_size: int,
    *,
    where: sql.Composable | None = None,
    where_params: Sequence[Any] = (),
    secret: Secret = None,
    key_transform: KeyTransform | None = None,
) -> Iterator[Page]:
    """Every page in order, following `next_cursor` tokens; raises CursorDidNotAdvance instead of looping (C10)."""
    cursor: str | None = None
    previous: Page | None = None
    number = 0
    while True:
        page = fetch_page(
            conn,
            spec,
            page_size,
            cursor,
            where=where,
            where_params=where_params,
            secret=secret,
            key_transform=key_transform,
        )
        number += 1
        if previous is not None and (page.next_cursor == cursor or page.last_key == previous.last_key):
            raise CursorDidNotAdvance(
                f"page {number} of {spec} ended where page {number - 1} did: the cursor lost precision"
                " or the sort key is not unique"
            )
        yield page
        if page.next_cursor is None:
            return
        previous, cursor = page, page.next_cursor


__all__ = [
    "CURSOR_VERSION",
    "CursorDidNotAdvance",
    "InvalidCursor",
    "KeysetSpec",
    "KeysetSpecError",
    "Page",
    "SeekCheck",
    "SortKey",
    "check_seek",
    "cursor_predicate_is_seek",
    "decode_cursor",
    "encode_cursor",
    "fetch_offset_page",
    "fetch_page",
    "offset_query",
    "page_query",
    "row_key",
    "uses_row_comparison",
    "walk",
]
