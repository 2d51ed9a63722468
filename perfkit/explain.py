"""Running EXPLAIN on a connection: ANALYZE inside a transaction that is always rolled back, or estimates only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from perfkit._sql_scan import check_read_only, check_single_statement
from perfkit.errors import PlanError
from perfkit.plan import DEFAULT_BLOCK_SIZE, Plan, parse_plan

Params = Sequence[Any] | Mapping[str, Any] | None

_ANALYZE = sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ")
_ESTIMATE = sql.SQL("EXPLAIN (FORMAT JSON) ")


def _one_line(exc: psycopg.Error, prefix_len: int = 0) -> str:
    """The server's primary message; the error position counted in the user's SQL (without the EXPLAIN prefix)."""
    diag = exc.diag
    text = str(exc).strip()
    message = diag.message_primary or (text.splitlines()[0] if text else type(exc).__name__)
    position = ""
    if diag.statement_position and diag.statement_position.isdigit():
        at = int(diag.statement_position) - prefix_len
        position = f" (at character {at})" if at > 0 else ""
    return f"{message}{position}"


def _block_size(cur: psycopg.Cursor[Any]) -> int:
    row = cur.execute("SELECT current_setting('block_size')::int").fetchone()
    return int(row[0]) if row else DEFAULT_BLOCK_SIZE


_READ_ONLY_REFUSAL = (
    "refusing to EXPLAIN ANALYZE a query that writes (EXPLAIN ANALYZE executes it): {message}; "
    "allow writes (--allow-writes) to run it in a transaction that is rolled back"
)


def _run(
    conn: psycopg.Connection[Any],
    prefix: sql.SQL,
    query: str,
    params: Params,
    statement_timeout_ms: int | None,
    allow_estimates: bool,
    read_only: bool = False,
) -> Plan:
    if statement_timeout_ms is not None and statement_timeout_ms < 0:
        raise PlanError(f"statement timeout must be >= 0 ms, got {statement_timeout_ms}")
    statement = prefix + sql.SQL(query)  # the user's statement text is the point here
    try:
        with conn.transaction(), conn.cursor() as cur:
            if read_only:  # first: PostgreSQL then refuses every write, whatever the statement hides
                cur.execute("SET TRANSACTION READ ONLY")  # in a savepoint too; undone with it
            if statement_timeout_ms is not None:
                cur.execute("SELECT set_config('statement_timeout', %s, true)", (f"{statement_timeout_ms}ms",))
            block_size = _block_size(cur)
            row = cur.execute(statement, params).fetchone()
            raise psycopg.Rollback()  # EXPLAIN ANALYZE executed the statement: undo whatever it did
    except pg_errors.QueryCanceled as exc:
        limit = f"{statement_timeout_ms} ms" if statement_timeout_ms is not None else "the statement_timeout"
        raise PlanError(f"the statement ran longer than {limit} and was cancelled ({_one_line(exc)})") from None
    except pg_errors.ReadOnlySqlTransaction as exc:
        raise PlanError(_READ_ONLY_REFUSAL.format(message=_one_line(exc))) from None
    except psycopg.Error as exc:
        raise PlanError(f"SQL error: {_one_line(exc, len(prefix.as_string()))}") from None
    if row is None:  # pragma: no cover - EXPLAIN always returns a row
        raise PlanError("EXPLAIN returned no rows")
    return parse_plan(row[0], block_size=block_size, allow_estimates=allow_estimates)


def explain_analyze(
    conn: psycopg.Connection[Any],
    query: str,
    params: Params = None,
    *,
    allow_writes: bool = False,
    statement_timeout_ms: int | None = None,
) -> Plan:
    """Run EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of `query` in a transaction that is rolled back, and parse it.

    Unless `allow_writes`, the transaction is READ ONLY: PostgreSQL refuses any write (data-modifying CTEs,
    nextval/setval, SELECT FOR UPDATE/SHARE) and perfkit reports it as a refusal naming --allow-writes; a statement
    that does not start like a query is refused before it reaches the server. With `allow_writes` the rollback
    undoes row changes, not sequence advances.
    Works on autocommit and non-autocommit connections; inside an open transaction it uses a savepoint.
    SQL errors and statement timeouts raise PlanError with the server's message on one line.
    """
    check_single_statement(query)  # always: a trailing `; COMMIT` would make the writes stick
    if not allow_writes:
        check_read_only(query)  # a friendly early message; the READ ONLY transaction is the guard
    return _run(conn, _ANALYZE, query, params, statement_timeout_ms, allow_estimates=False, read_only=not allow_writes)


def explain_estimate(conn: psycopg.Connection[Any], query: str, params: Params = None) -> Plan:
    """Run EXPLAIN (FORMAT JSON) of `query` (nothing is executed) and parse it: a Plan with `analyzed=False`."""
    check_single_statement(query)
    return _run(conn, _ESTIMATE, query, params, None, allow_estimates=True)
