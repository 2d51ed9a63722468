"""Running EXPLAIN on a connection: ANALYZE inside a transaction that is always rolled back, or estimates only."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from perfkit._pgerror import one_line, with_hint
from perfkit._sql_scan import check_explainable, check_read_only
from perfkit.errors import PlanError, SettingError
from perfkit.plan import DEFAULT_BLOCK_SIZE, Plan, parse_plan

Params = Sequence[Any] | Mapping[str, Any] | None

#: The largest statement_timeout PostgreSQL takes, in milliseconds (the setting is a 32-bit integer); 0 is no limit.
MAX_STATEMENT_TIMEOUT_MS = 2_147_483_647

_ANALYZE = sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ")
_ESTIMATE = sql.SQL("EXPLAIN (FORMAT JSON) ")


# A setting's name as PostgreSQL spells one: a word, or dotted words for an extension's (pg_stat_statements.track).
_SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)*")
# Settings the statement's own options own: set through --set they would undo them.
_RESERVED = {
    "statement_timeout": "use the statement timeout (--statement-timeout)",
    "transaction_read_only": "writes are allowed with --allow-writes",
}


def check_setting_name(name: str) -> str:
    """The setting's name lower-cased (PostgreSQL's names are case-insensitive); SettingError if it cannot be one."""
    if not _SETTING_NAME.fullmatch(name) or len(name) > 200:
        raise SettingError(f"{name!r} is not a setting name (letters, digits, _ and $, dotted for an extension's)")
    lowered = name.lower()
    if lowered in _RESERVED:
        raise SettingError(f"{lowered} cannot be set for the statement here: {_RESERVED[lowered]}")
    return lowered


def parse_settings(items: Iterable[str]) -> dict[str, str]:
    """`NAME=VALUE` strings (as `--set` takes them) to {name: value}, in order; a name given twice is an error."""
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq:
            raise SettingError(f"{item!r} is not NAME=VALUE (e.g. enable_seqscan=off)")
        key = check_setting_name(name.strip())
        if key in out:
            raise SettingError(f"{key} is set twice")
        out[key] = value.strip()
    return out


def _apply_settings(cur: psycopg.Cursor[Any], settings: Mapping[str, str]) -> None:
    """SET LOCAL each setting (set_config(name, value, true)): it lasts until the rollback, for this statement only."""
    for key, value in settings.items():
        try:
            cur.execute("SELECT set_config(%s, %s, true)", (key, value))
        except psycopg.Error as exc:
            raise SettingError(f"cannot set {key}={value}: {with_hint(exc)}") from None


def _block_size(cur: psycopg.Cursor[Any]) -> int:
    row = cur.execute("SELECT current_setting('block_size')::int").fetchone()
    return int(row[0]) if row else DEFAULT_BLOCK_SIZE


def _cancelled(exc: psycopg.Error, statement_timeout_ms: int | None) -> str:
    """Why a statement was cancelled (SQLSTATE 57014 either way): its statement timeout, or a cancel request
    (pg_cancel_backend, a client's cancel) from this session or another; told apart by the server's message."""
    message = exc.diag.message_primary or ""
    if "statement timeout" in message:
        limit = f"{statement_timeout_ms} ms" if statement_timeout_ms is not None else "the statement_timeout"
        return f"the statement ran longer than {limit} and was cancelled ({one_line(exc)})"
    if "user request" in message:
        return (
            f"the statement was cancelled by a cancel request ({one_line(exc)}): pg_cancel_backend() or a "
            "client's cancel, from this session or another; not the statement timeout"
        )
    return f"the statement was cancelled ({one_line(exc)})"  # a server whose messages are in another language


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
    settings: Mapping[str, str] | None = None,
) -> Plan:
    if statement_timeout_ms is not None and not 0 <= statement_timeout_ms <= MAX_STATEMENT_TIMEOUT_MS:
        raise PlanError(
            f"statement timeout must be 0 (no limit) to {MAX_STATEMENT_TIMEOUT_MS} ms, got {statement_timeout_ms}"
        )
    local = {check_setting_name(name): str(value) for name, value in (settings or {}).items()}
    statement = prefix + sql.SQL(query)  # the user's statement text is the point here
    try:
        with conn.transaction(), conn.cursor() as cur:
            if read_only:  # first: PostgreSQL then refuses every write, whatever the statement hides
                cur.execute("SET TRANSACTION READ ONLY")  # in a savepoint too; undone with it
            if statement_timeout_ms is not None:
                cur.execute("SELECT set_config('statement_timeout', %s, true)", (f"{statement_timeout_ms}ms",))
            _apply_settings(cur, local)
            block_size = _block_size(cur)
            row = cur.execute(statement, params).fetchone()
            raise psycopg.Rollback()  # EXPLAIN ANALYZE executed the statement: undo whatever it did
    except pg_errors.QueryCanceled as exc:
        raise PlanError(_cancelled(exc, statement_timeout_ms)) from None
    except pg_errors.ReadOnlySqlTransaction as exc:
        raise PlanError(_READ_ONLY_REFUSAL.format(message=one_line(exc))) from None
    except psycopg.Error as exc:
        raise PlanError(f"SQL error: {one_line(exc, len(prefix.as_string()))}") from None
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
    settings: Mapping[str, str] | None = None,
) -> Plan:
    """Run EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of `query` in a transaction that is rolled back, and parse it.

    Unless `allow_writes`, the transaction is READ ONLY: PostgreSQL refuses any write (data-modifying CTEs,
    nextval/setval, SELECT FOR UPDATE/SHARE) and perfkit reports it as a refusal naming --allow-writes; a statement
    that does not start like a query is refused before it reaches the server. With `allow_writes` the rollback
    undoes row changes, not sequence advances. A statement EXPLAIN cannot run (TRUNCATE, CREATE TABLE without AS,
    DROP, VACUUM, ALTER, COPY, GRANT...) raises PlanError before anything is sent, with or without `allow_writes`.
    `settings` ({name: value}, e.g. {"enable_seqscan": "off", "work_mem": "64MB"}) are set with SET LOCAL inside
    that transaction, for this statement only; a bad name or value raises SettingError with PostgreSQL's message.
    Works on autocommit and non-autocommit connections; inside an open transaction it uses a savepoint.
    SQL errors and statement timeouts raise PlanError with the server's message on one line.
    """
    # Always one statement (a trailing `; COMMIT` would make the writes stick) that EXPLAIN takes; without writes
    # allowed, one that reads (a friendly early message: the READ ONLY transaction is the guard).
    (check_explainable if allow_writes else check_read_only)(query)
    return _run(
        conn,
        _ANALYZE,
        query,
        params,
        statement_timeout_ms,
        allow_estimates=False,
        read_only=not allow_writes,
        settings=settings,
    )


def explain_estimate(
    conn: psycopg.Connection[Any], query: str, params: Params = None, *, settings: Mapping[str, str] | None = None
) -> Plan:
    """Run EXPLAIN (FORMAT JSON) of `query` (nothing is executed) and parse it: a Plan with `analyzed=False`.

    `settings` are set with SET LOCAL for this statement only, as in `explain_analyze`.
    """
    check_explainable(query)
    return _run(conn, _ESTIMATE, query, params, None, allow_estimates=True, settings=settings)
