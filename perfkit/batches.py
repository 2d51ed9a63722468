"""Processing a whole table in batches (the guide's processLargeDataset): keyset, OFFSET or a server-side cursor."""

from __future__ import annotations

import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from perfkit._keyset_sql import order_by, select_list
from perfkit.errors import ConfigError
from perfkit.keyset import KeysetSpec, offset_query, page_query, row_key

Batch = list[dict[str, Any]]
Consumer = Callable[[Batch], object]
STRATEGIES: tuple[str, ...] = ("keyset", "offset", "server_cursor")
CURSOR_NAME = "perfkit_batches"


def keyset_batches(
    conn: psycopg.Connection[Any],
    spec: KeysetSpec,
    size: int,
    *,
    where: sql.Composable | None = None,
    where_params: Sequence[Any] = (),
) -> Generator[Batch]:
    """Batches of `size` rows in the spec's order, each one seeking past the last key of the one before."""
    after: tuple[Any, ...] | None = None
    while True:
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(*page_query(spec, after, size, where=where, where_params=where_params)).fetchall()
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = row_key(spec, rows[-1])


def offset_batches(
    conn: psycopg.Connection[Any],
    spec: KeysetSpec,
    size: int,
    *,
    where: sql.Composable | None = None,
    where_params: Sequence[Any] = (),
) -> Generator[Batch]:
    """Batches of `size` rows by LIMIT/OFFSET: batch k makes the server read and discard k × size rows first."""
    offset = 0
    while True:
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(*offset_query(spec, offset, size, where=where, where_params=where_params)).fetchall()
        if rows:
            yield rows
        if len(rows) < size:
            return
        offset += size


def cursor_batches(
    conn: psycopg.Connection[Any],
    spec: KeysetSpec,
    size: int,
    *,
    where: sql.Composable | None = None,
    where_params: Sequence[Any] = (),
) -> Generator[Batch]:
    """Batches of `size` rows from one query through a server-side (named) cursor: FETCH `size` rows at a time.

    Runs in a transaction (a named cursor lives in one) that stays open until the last batch is consumed.
    """
    _check(size)
    query = sql.SQL("SELECT {} FROM {}{} ORDER BY {}").format(
        select_list(spec),
        spec.relation,
        sql.SQL("") if where is None else sql.SQL(" WHERE ") + where,
        order_by(spec),
    )
    with conn.transaction(), conn.cursor(CURSOR_NAME, row_factory=dict_row) as cur:
        cur.itersize = size
        cur.execute(query, list(where_params))
        while rows := cur.fetchmany(cur.itersize):
            yield rows


def _check(size: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ConfigError(f"batch size must be a positive integer, got {size!r}")


_ITERATORS = {"keyset": keyset_batches, "offset": offset_batches, "server_cursor": cursor_batches}


def batches(
    conn: psycopg.Connection[Any],
    spec: KeysetSpec,
    size: int,
    strategy: str,
    *,
    where: sql.Composable | None = None,
    where_params: Sequence[Any] = (),
) -> Generator[Batch]:
    """Batches of `size` rows of the whole (filtered) table with `strategy`: "keyset", "offset" or "server_cursor"."""
    _check(size)
    if strategy not in _ITERATORS:
        raise ConfigError(f"unknown batch strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    return _ITERATORS[strategy](conn, spec, size, where=where, where_params=where_params)


@dataclass(frozen=True, slots=True)
class BatchRun:
    """One pass over a table: how many batches and rows, whether each row came once, time and peak client memory."""

    strategy: str
    batch_size: int
    batches: int
    rows: int
    distinct_rows: int
    seconds: float
    peak_bytes: int | None

    @property
    def duplicates(self) -> int:
        return self.rows - self.distinct_rows


def process(
    conn: psycopg.Connection[Any],
    spec: KeysetSpec,
    size: int,
    strategy: str,
    *,
    consume: Consumer | None = None,
    trace_memory: bool = False,
    id_column: str | None = None,
    max_batches: int | None = None,
    where: sql.Composable | None = None,
    where_params: Sequence[Any] = (),
) -> BatchRun:
    """Iterate the batches (all, or the first `max_batches`), hand each to `consume`, and count rows (and distinct
    `id_column` values when given).

    With `trace_memory`, Python's allocations during the pass are traced (tracemalloc) and their peak is the
    client memory the strategy needs; tracing slows the pass down several times, so time and memory are best
    taken in separate passes (and memory over a few batches: a batch loop's peak is reached in the first ones).
    """
    seen: Counter[Any] = Counter()
    n_batches = rows = 0
    if trace_memory:
        tracemalloc.start()
        tracemalloc.reset_peak()
    start = time.perf_counter()
    try:
        it = batches(conn, spec, size, strategy, where=where, where_params=where_params)
        for batch in it:
            n_batches += 1
            rows += len(batch)
            if id_column is not None:
                seen.update(r[id_column] for r in batch)
            if consume is not None:
                consume(batch)
            if max_batches is not None and n_batches >= max_batches:
                it.close()  # ends a server-side cursor's transaction now
                break
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
    finally:
        if trace_memory:
            tracemalloc.stop()
    distinct = len(seen) if id_column is not None else rows
    return BatchRun(strategy, size, n_batches, rows, distinct, seconds, peak)
