"""A statement counter around a psycopg 3 connection: statements, round trips, rows, bytes and fingerprints."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import psycopg
from psycopg import pq

from perfkit._sqlnorm import normalize_sql

__all__ = ["Fingerprint", "StatementCounter", "normalize_sql"]

_EXAMPLE_PARAMS_CHARS = 200
_ROW_STATUSES = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """One normalised statement: executions, the round trips that sent it, and the first example seen.

    `round_trips` counts separate sends: k for k executions in a loop, 1 for an `executemany` batch or for
    statements queued in one pipeline batch.
    """

    sql: str
    count: int
    round_trips: int
    example: str
    example_params: str | None


class _Tally:
    """Mutable totals shared by the counting cursor classes of one StatementCounter."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.statements = 0
        self.round_trips = 0
        self.rows = 0
        self.bytes = 0
        self.by_fp: dict[str, list[Any]] = {}  # fingerprint -> [count, round_trips, example, params]
        self.in_pipeline_batch = False

    def statement(self, query: Any, params: Any = None, *, count: int = 1, round_trips: int | None = None) -> None:
        """Record `count` executions of `query`; round trips default to one per execution (or pipeline batch)."""
        text = _query_text(query, self.conn)
        if round_trips is None:
            if self.conn.pgconn.pipeline_status != pq.PipelineStatus.OFF:
                round_trips = 0 if self.in_pipeline_batch else 1
                self.in_pipeline_batch = True
            else:
                round_trips = count
                self.in_pipeline_batch = False
        self.statements += count
        self.round_trips += round_trips
        fp = normalize_sql(text)
        sends = min(count, round_trips)  # a DECLARE's extra describe is not a second send of the statement
        entry = self.by_fp.get(fp)
        if entry is None:
            shown = None if params is None else repr(params)[:_EXAMPLE_PARAMS_CHARS]
            self.by_fp[fp] = [count, sends, text, shown]
        else:
            entry[0] += count
            entry[1] += sends

    def result(self, res: pq.abc.PGresult | None) -> None:
        """Add the rows and data bytes of a result (field lengths as libpq reports them; NULLs count 0)."""
        if res is None or res.status not in _ROW_STATUSES:
            return
        ntuples, nfields = res.ntuples, res.nfields
        self.rows += ntuples
        get = res.get_value
        self.bytes += sum(len(v) for r in range(ntuples) for c in range(nfields) if (v := get(r, c)) is not None)


def _query_text(query: Any, conn: psycopg.Connection[Any]) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes | bytearray | memoryview):
        return bytes(query).decode(conn.info.encoding, "replace")
    if isinstance(query, psycopg.sql.Composable):
        return query.as_string(conn)
    return str(query)


def _cursor_results(cur: Any) -> list[pq.abc.PGresult]:
    """All the results of the last execute (several for a multi-statement simple query), else the current one."""
    results = getattr(cur, "_results", None)  # psycopg keeps them there; fall back on the public attribute
    if isinstance(results, list) and results:
        return results
    return [cur.pgresult] if cur.pgresult is not None else []


def _counting_cursor(base: type[Any], tally: _Tally) -> type[Any]:
    """A subclass of the connection's client-side cursor class that records what it sends."""

    class CountingCursor(base):  # type: ignore[misc]
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            in_pipeline = self._pgconn.pipeline_status != pq.PipelineStatus.OFF
            try:
                return super().execute(query, params, **kwargs)
            finally:
                tally.statement(query, params)
                if not in_pipeline:
                    for res in _cursor_results(self):
                        tally.result(res)

        def executemany(self, query: Any, params_seq: Iterable[Any], **kwargs: Any) -> None:
            params_list = list(params_seq)
            n = len(params_list)
            if self._pgconn.pipeline_status != pq.PipelineStatus.OFF:
                trips = None  # rides the caller's pipeline
            elif psycopg.Pipeline.is_supported():
                trips = 1 if n else 0  # psycopg sends the whole batch in one pipeline
            else:
                trips = n
            try:
                super().executemany(query, params_list, **kwargs)
            finally:
                if n:
                    tally.statement(query, params_list[0], count=n, round_trips=trips)
                if kwargs.get("returning"):
                    for res in _cursor_results(self):
                        tally.result(res)

        def stream(self, query: Any, params: Any = None, **kwargs: Any) -> Iterator[Any]:
            tally.statement(query, params)
            seen = None
            for row in super().stream(query, params, **kwargs):
                if self.pgresult is not seen:
                    seen = self.pgresult
                    tally.result(seen)
                yield row

        @contextmanager
        def copy(self, statement: Any, params: Any = None, **kwargs: Any) -> Iterator[Any]:
            tally.statement(statement, params)
            with super().copy(statement, params, **kwargs) as cp:
                yield cp

    CountingCursor.__name__ = CountingCursor.__qualname__ = f"Counting{base.__name__}"
    return CountingCursor


def _counting_server_cursor(base: type[Any], tally: _Tally) -> type[Any]:
    """A subclass of the connection's server-side cursor class: DECLARE, then one FETCH per page."""

    class CountingServerCursor(base):  # type: ignore[misc]
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            try:
                return super().execute(query, params, **kwargs)
            finally:
                # DECLARE, then a describe of the portal: one statement, two round trips.
                tally.statement(query, params, round_trips=2)

        def _fetched(self, before: Any, size: str) -> None:
            if self.pgresult is not before:
                tally.statement(f"FETCH FORWARD {size} FROM {self.name}")
                tally.result(self.pgresult)

        def fetchone(self) -> Any:
            before = self.pgresult
            try:
                return super().fetchone()
            finally:
                self._fetched(before, "1")

        def fetchmany(self, size: int = 0) -> list[Any]:
            before = self.pgresult
            try:
                return super().fetchmany(size)  # type: ignore[no-any-return]
            finally:
                self._fetched(before, str(size or self.arraysize))

        def fetchall(self) -> list[Any]:
            before = self.pgresult
            try:
                return super().fetchall()  # type: ignore[no-any-return]
            finally:
                self._fetched(before, "ALL")

        def __next__(self) -> Any:
            before = self.pgresult
            try:
                return super().__next__()
            finally:
                self._fetched(before, str(self.itersize))

        def scroll(self, value: int, mode: str = "relative") -> None:
            try:
                super().scroll(value, mode)
            finally:
                tally.statement(f"MOVE {value} FROM {self.name}")

    CountingServerCursor.__name__ = CountingServerCursor.__qualname__ = f"Counting{base.__name__}"
    return CountingServerCursor


class StatementCounter:
    """Count what a block of code sends through one psycopg 3 connection, whoever holds the connection.

    While active, the connection's `cursor_factory` and `server_cursor_factory` are replaced by counting subclasses
    of the classes it had (so `ClientCursor`, `RawCursor` or an ORM's choice keep their behaviour); they are put back
    on exit. Every cursor the connection creates in the block is counted: `conn.execute`, `cursor.execute`,
    `executemany`, `stream`, `copy`, and server-side cursors (DECLARE, and each FETCH or MOVE as a statement).

    Counting rules:
    - `statements`: executions; `executemany` with k parameter sets counts k.
    - `round_trips`: one per execution, except that statements queued in a pipeline count one per pipeline batch
      (consecutive pipelined statements) and `executemany` counts one for the whole batch when libpq supports
      pipelines (psycopg then sends it in one pipeline), k otherwise; a server-side DECLARE counts two (the
      DECLARE and the describe of its portal).
    - `rows` and `bytes`: rows returned and the sum of their field lengths (the value bytes libpq received, text or
      binary as sent; NULL counts 0). Results of statements queued in the caller's pipeline are not counted.
    - Not counted: transaction control psycopg issues on its own (the implicit BEGIN, `commit()`, `rollback()`, the
      savepoints of `conn.transaction()`), cursors created before the counter started, and cursor classes
      instantiated directly (`psycopg.ClientCursor(conn)`) rather than through `conn.cursor()`.
    """

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._tally = _Tally(conn)
        self._saved: tuple[type[Any], type[Any]] | None = None

    def __enter__(self) -> StatementCounter:
        if self._saved is not None:
            raise RuntimeError("StatementCounter is not reentrant")
        conn = self._conn
        self._saved = (conn.cursor_factory, conn.server_cursor_factory)
        conn.cursor_factory = _counting_cursor(conn.cursor_factory, self._tally)
        conn.server_cursor_factory = _counting_server_cursor(conn.server_cursor_factory, self._tally)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._saved is not None
        self._conn.cursor_factory, self._conn.server_cursor_factory = self._saved
        self._saved = None

    @property
    def statements(self) -> int:
        return self._tally.statements

    @property
    def round_trips(self) -> int:
        return self._tally.round_trips

    @property
    def rows(self) -> int:
        return self._tally.rows

    @property
    def bytes(self) -> int:
        return self._tally.bytes

    @property
    def fingerprints(self) -> dict[str, int]:
        """Normalised SQL -> executions, in first-seen order."""
        return {fp: entry[0] for fp, entry in self._tally.by_fp.items()}

    @property
    def details(self) -> list[Fingerprint]:
        """Every fingerprint with its count, round trips and first example, most executed first."""
        found = [Fingerprint(fp, e[0], e[1], e[2], e[3]) for fp, e in self._tally.by_fp.items()]
        return sorted(found, key=lambda f: -f.count)
