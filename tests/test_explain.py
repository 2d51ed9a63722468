"""explain_analyze / explain_estimate on a real server: rollback, read-only transaction, errors, timeouts."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from perfkit._sql_scan import check_explainable, check_read_only
from perfkit.db import Target, connect
from perfkit.errors import PlanError, SettingError
from perfkit.explain import explain_analyze, explain_estimate, parse_settings


@pytest.fixture
def table_conn(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)")
    conn.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 50) g")
    conn.execute("ANALYZE t")
    return conn


def count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM t").fetchone()
    assert row is not None
    return int(row[0])


def test_select_is_analyzed_with_params(table_conn: psycopg.Connection[Any]) -> None:
    plan = explain_analyze(table_conn, "SELECT v FROM t WHERE id <= %s", (10,))
    assert plan.analyzed and plan.has_buffers
    assert plan.root.rows_total == 10
    assert plan.execution_ms is not None and plan.execution_ms > 0
    assert plan.block_size == 8192
    # every serial plan's exclusive times add up to the root's inclusive time
    assert sum(n.exclusive_ms for n in plan.nodes()) == pytest.approx(plan.root.inclusive_ms, abs=1e-6)


def test_delete_refused_then_rolled_back(table_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(PlanError, match="refusing to EXPLAIN ANALYZE this DELETE statement"):
        explain_analyze(table_conn, "DELETE FROM t")
    plan = explain_analyze(table_conn, "DELETE FROM t", allow_writes=True)
    assert plan.root.label == "Delete on t"
    assert plan.root.children[0].rows_total == 50  # it really deleted 50 rows ...
    assert count(table_conn) == 50  # ... and they are back


def test_non_autocommit_connection_keeps_its_open_transaction(empty_db: Target) -> None:
    with connect(empty_db, autocommit=False) as conn:
        conn.execute("CREATE TABLE t (id int)")
        conn.execute("INSERT INTO t VALUES (1), (2)")  # not committed
        explain_analyze(conn, "DELETE FROM t", allow_writes=True)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert count(conn) == 2
        conn.rollback()
        explain_analyze(conn, "SELECT 1")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_data_modifying_cte_refused(table_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(PlanError, match=r"refusing to EXPLAIN ANALYZE a query that writes.*--allow-writes") as info:
        explain_analyze(table_conn, "WITH d AS (DELETE FROM t RETURNING id) SELECT count(*) FROM d")
    assert "read-only transaction" in str(info.value) and "\n" not in str(info.value)
    assert count(table_conn) == 50


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("SELECT setval('s', 1000)", "setval()"),
        ("SELECT nextval('s')", "nextval()"),
        ("SELECT * FROM t FOR UPDATE", "SELECT FOR UPDATE"),
        ("SELECT * FROM t FOR NO KEY UPDATE", "SELECT FOR NO KEY UPDATE"),
        ("SELECT * FROM t FOR SHARE", "SELECT FOR SHARE"),
        ("WITH x AS (INSERT INTO t VALUES (100, 'x') RETURNING *) SELECT * FROM x", "cannot execute"),
        ("WITH x AS (SELECT 1) MERGE INTO t USING x ON true WHEN MATCHED THEN DELETE", "MERGE"),
    ],
)
def test_lasting_side_effects_refused_by_the_server(table_conn: psycopg.Connection[Any], sql: str, what: str) -> None:
    """Sequence advances survive the rollback and row locks hold a shared server: a READ ONLY transaction refuses."""
    table_conn.execute("CREATE SEQUENCE s")
    with pytest.raises(PlanError, match="refusing to EXPLAIN ANALYZE a query that writes") as info:
        explain_analyze(table_conn, sql)
    assert what in str(info.value) and "--allow-writes" in str(info.value)
    assert table_conn.execute("SELECT last_value, is_called FROM s").fetchone() == (1, False)
    assert count(table_conn) == 50
    assert table_conn.execute("SHOW transaction_read_only").fetchone() == ("off",)  # the session is untouched


def test_identifiers_named_like_write_keywords_are_queries(table_conn: psycopg.Connection[Any]) -> None:
    plan = explain_analyze(table_conn, "SELECT id AS copy, v insert, id AS into, t.id update FROM t LIMIT 1")
    assert plan.root.rows_total == 1
    plan = explain_analyze(table_conn, "SELECT merge.id FROM t AS merge WHERE merge.id = 3")
    assert plan.root.rows_total == 1


def test_read_only_savepoint_leaves_the_open_transaction_writable(empty_db: Target) -> None:
    with connect(empty_db, autocommit=False) as conn:
        conn.execute("CREATE TABLE t (id int)")
        explain_analyze(conn, "SELECT * FROM t")
        conn.execute("INSERT INTO t VALUES (1)")  # the READ ONLY setting went with perfkit's savepoint
        assert count(conn) == 1
        conn.rollback()


def test_syntax_error_is_one_line_with_position(table_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(PlanError) as info:
        explain_analyze(table_conn, "SELECT id FROM t WHERE")
    message = str(info.value)
    assert message.startswith("SQL error: syntax error at end of input") and "\n" not in message
    assert "(at character 23)" in message  # counted in the user's SQL, not in the EXPLAIN prefix
    assert table_conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_a_cancel_request_is_not_called_a_timeout(table_conn: psycopg.Connection[Any]) -> None:
    """Both are SQLSTATE 57014; only the statement timeout 'ran longer than' its limit."""
    with pytest.raises(PlanError) as info:
        explain_analyze(table_conn, "SELECT pg_cancel_backend(pg_backend_pid()), pg_sleep(2)")
    text = str(info.value)
    assert text.startswith("the statement was cancelled by a cancel request (canceling statement due to user request)")
    assert "ran longer" not in text and "not the statement timeout" in text
    assert explain_analyze(table_conn, "SELECT 1").analyzed  # the connection is usable again


def test_statement_timeout(table_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(PlanError, match="ran longer than 50 ms and was cancelled"):
        explain_analyze(table_conn, "SELECT pg_sleep(2)", statement_timeout_ms=50)
    row = table_conn.execute("SHOW statement_timeout").fetchone()
    assert row is not None and row[0] == "5min"  # the session setting is untouched
    for bad in (-1, 2**31):  # PostgreSQL's statement_timeout is a 32-bit integer of milliseconds
        with pytest.raises(PlanError, match=f"must be 0 \\(no limit\\) to 2147483647 ms, got {bad}"):
            explain_analyze(table_conn, "SELECT 1", statement_timeout_ms=bad)
    assert explain_analyze(table_conn, "SELECT 1", statement_timeout_ms=2**31 - 1).analyzed


def test_estimate_executes_nothing(table_conn: psycopg.Connection[Any]) -> None:
    plan = explain_estimate(table_conn, "SELECT * FROM t WHERE id = %s", (3,))
    assert plan.analyzed is False and plan.execution_ms is None
    assert plan.root.relation == "t"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  -- comment\n/* delete */ select 'delete from t; update' AS x;",
        "(SELECT 1) UNION (SELECT 2)",
        "VALUES (1), (2)",
        "TABLE t",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        'SELECT "update" FROM t',
        "SELECT $$ insert $$, $tag$ merge $tag$, E'it\\'s delete'",
        "SELECT * FROM t FOR UPDATE",
        "SELECT * FROM t FOR NO KEY UPDATE",
        "SELECT * FROM update_log",
        "SELECT id AS copy FROM posts LIMIT 1",
        "SELECT id copy, v insert, v update, v delete, v merge, v truncate FROM t",
        "SELECT 1 AS into, t.into FROM t",
        "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x",  # the server refuses it, not the scan
    ],
)
def test_read_only_accepted(sql: str) -> None:
    check_read_only(sql)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DELETE FROM t", "this DELETE statement"),
        ("update t set v = 'x'", "this UPDATE statement"),
        ("SELECT * INTO t2 FROM t", "SELECT INTO"),
        ("SELECT id, v INTO TEMP t2 FROM t WHERE id < 3", "SELECT INTO"),
        ("COPY t TO STDOUT", "EXPLAIN cannot run COPY: it explains only SELECT"),
        ("SELECT 1; DELETE FROM t", "one statement"),
        ("EXPLAIN SELECT 1", "without EXPLAIN"),
        ("", "empty"),
        ("SELECT 'unterminated", "unterminated"),
        ("CREATE TABLE x (id int)", "EXPLAIN cannot run CREATE TABLE without AS"),
        ("CREATE TABLE x AS SELECT 1", "this CREATE statement"),  # explainable, but it writes
        ("TRUNCATE t", "EXPLAIN cannot run TRUNCATE"),
    ],
)
def test_writes_refused(sql: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        check_read_only(sql)


EXPLAINABLE_MESSAGE = (
    "it explains only SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES, EXECUTE, DECLARE and CREATE TABLE AS"
)


@pytest.mark.parametrize(
    ("sql", "command"),
    [
        ("TRUNCATE t", "TRUNCATE"),
        ("truncate table t;", "TRUNCATE"),
        ("CREATE TABLE x (id int)", "CREATE TABLE without AS"),
        ("CREATE TEMP TABLE x (id int GENERATED ALWAYS AS (1) STORED)", "CREATE TEMP TABLE without AS"),
        ("CREATE UNIQUE INDEX ON t (v)", "CREATE UNIQUE INDEX"),
        ("CREATE VIEW v AS SELECT 1", "CREATE VIEW"),
        ("DROP TABLE t", "DROP TABLE"),
        ("ALTER TABLE t ADD COLUMN w int", "ALTER TABLE"),
        ("VACUUM t", "VACUUM"),
        ("ANALYZE t", "ANALYZE"),
        ("COPY t TO STDOUT", "COPY"),
        ("GRANT SELECT ON t TO public", "GRANT"),
        ("REFRESH MATERIALIZED VIEW mv", "REFRESH"),  # parsed by EXPLAIN, but it has no plan
        ("-- a comment\nNOTIFY x", "NOTIFY"),
    ],
)
def test_statements_explain_cannot_run_are_refused_even_with_writes_allowed(
    table_conn: psycopg.Connection[Any], sql: str, command: str
) -> None:
    """The server would only say 'syntax error at or near "TRUNCATE"', and --allow-writes cannot help."""
    message = f"EXPLAIN cannot run {command}: {EXPLAINABLE_MESSAGE}"
    for allow_writes in (True, False):
        with pytest.raises(PlanError) as info:
            explain_analyze(table_conn, sql, allow_writes=allow_writes)
        assert str(info.value) == message
        assert "unless writes are allowed" not in str(info.value)
    with pytest.raises(PlanError, match=f"EXPLAIN cannot run {command}:"):
        explain_estimate(table_conn, sql)
    assert count(table_conn) == 50  # nothing was sent


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "(VALUES (1))",
        "TABLE t",
        "WITH d AS (DELETE FROM t RETURNING id) SELECT count(*) FROM d",
        "INSERT INTO t VALUES (51, 'x')",
        "UPDATE t SET v = 'y'",
        "DELETE FROM t",
        "MERGE INTO t USING (VALUES (1)) s(id) ON t.id = s.id WHEN MATCHED THEN DELETE",
        "DECLARE c CURSOR FOR SELECT * FROM t",
        "CREATE TABLE t2 AS SELECT * FROM t",
        "CREATE UNLOGGED TABLE IF NOT EXISTS t2 (a, b) AS TABLE t",
        "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t",
    ],
)
def test_explainable_statements_run_with_writes_allowed(table_conn: psycopg.Connection[Any], sql: str) -> None:
    check_explainable(sql)
    assert explain_analyze(table_conn, sql, allow_writes=True).analyzed
    assert count(table_conn) == 50  # rolled back
    assert table_conn.execute("SELECT to_regclass('t2'), to_regclass('mv')").fetchone() == (None, None)


def test_declare_and_execute_are_read_only_statements(table_conn: psycopg.Connection[Any]) -> None:
    """EXPLAIN runs them; the READ ONLY transaction guards what they hide, so --allow-writes is not needed."""
    assert explain_analyze(table_conn, "DECLARE c CURSOR FOR SELECT * FROM t").root.rows_total == 50
    table_conn.execute("PREPARE five AS SELECT * FROM t WHERE id <= 5")
    table_conn.execute("PREPARE wipe AS DELETE FROM t")
    assert explain_analyze(table_conn, "EXECUTE five").root.rows_total == 5
    with pytest.raises(PlanError, match="refusing to EXPLAIN ANALYZE a query that writes"):
        explain_analyze(table_conn, "EXECUTE wipe")
    assert explain_analyze(table_conn, "EXECUTE wipe", allow_writes=True).root.label == "Delete on t"
    assert count(table_conn) == 50


def test_live_parallel_plan_divides_by_launched_workers(conn: psycopg.Connection[Any]) -> None:
    conn.execute("CREATE TABLE big AS SELECT g AS id, g % 10 AS grp FROM generate_series(1, 20000) g")
    conn.execute("ANALYZE big")
    conn.execute(
        "SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
        " SET min_parallel_table_scan_size = 0"
    )
    plan = explain_analyze(conn, "SELECT grp, count(*) FROM big GROUP BY grp")
    gathers = [n for n in plan.nodes() if n.node_type in ("Gather", "Gather Merge")]
    assert gathers, [n.label for n in plan.nodes()]
    launched = gathers[0].raw["Workers Launched"]
    scan = next(n for n in plan.nodes() if n.node_type == "Seq Scan")
    assert scan.parallel_aware and scan.processes == launched + 1
    assert scan.inclusive_ms == pytest.approx(scan.raw["Actual Total Time"] * scan.loops / (launched + 1), abs=1e-6)
    assert scan.rows_total == pytest.approx(20000, abs=scan.loops)  # per-loop rows are rounded
    assert all(n.exclusive_ms >= 0 for n in plan.nodes())


def test_misspelt_statement_is_a_syntax_error_not_a_refusal() -> None:
    with pytest.raises(PlanError, match='syntax error at or near "SELEC"'):
        check_read_only("SELEC 1")
    with pytest.raises(PlanError, match="refusing to EXPLAIN ANALYZE this DELETE"):
        check_read_only("DELETE FROM t")


def test_allow_writes_still_refuses_a_second_statement(conn: psycopg.Connection[Any]) -> None:
    """`DELETE ...; COMMIT` would commit the delete past perfkit's rollback: one statement only, always."""
    conn.execute("CREATE TABLE keepme (v int)")
    conn.execute("INSERT INTO keepme VALUES (1), (2)")
    with pytest.raises(PlanError, match="one statement"):
        explain_analyze(conn, "DELETE FROM keepme; COMMIT", allow_writes=True)
    with pytest.raises(PlanError, match="one statement"):
        explain_estimate(conn, "SELECT 1; DELETE FROM keepme; COMMIT")
    assert conn.execute("SELECT count(*) FROM keepme").fetchone() == (2,)


def test_settings_apply_to_the_statement_only(table_conn: psycopg.Connection[Any]) -> None:
    """SET LOCAL inside the rolled-back transaction: the plan changes, the session does not."""
    query = "SELECT v FROM t WHERE id > 0"
    assert {n.node_type for n in explain_analyze(table_conn, query).nodes()} == {"Seq Scan"}
    plan = explain_analyze(table_conn, query, settings={"enable_seqscan": "off"})
    assert "Seq Scan" not in {n.node_type for n in plan.nodes()}
    assert table_conn.execute("SHOW enable_seqscan").fetchone() == ("on",)
    sort = "SELECT g FROM generate_series(1, 100000) g ORDER BY g DESC"
    small = explain_analyze(table_conn, sort, settings={"WORK_MEM": "64kB"})  # names are case-insensitive
    big = explain_analyze(table_conn, sort, settings={"work_mem": "64MB"})
    assert next(n for n in small.nodes() if n.node_type == "Sort").raw["Sort Space Type"] == "Disk"
    assert next(n for n in big.nodes() if n.node_type == "Sort").raw["Sort Space Type"] == "Memory"
    assert table_conn.execute("SHOW work_mem").fetchone() == ("4MB",)
    explain_analyze(table_conn, "SELECT 1", settings={"perfkit.custom": "1"})  # an extension-style name


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"enable_seqscn": "off"},
            'cannot set enable_seqscn=off: unrecognized configuration parameter "enable_seqscn"',
        ),
        ({"work_mem": "lots"}, 'cannot set work_mem=lots: invalid value for parameter "work_mem": "lots"'),
        ({"shared_buffers": "1GB"}, "cannot be changed without restarting the server"),
        ({"enable_seqscan = off; DROP TABLE t; --": "x"}, "is not a setting name"),
        ({"work_mem'": "1MB"}, "is not a setting name"),
        ({"transaction_read_only": "off"}, "transaction_read_only cannot be set for the statement here"),
        ({"statement_timeout": "0"}, "--statement-timeout"),
    ],
)
def test_bad_settings_are_one_line_errors(
    table_conn: psycopg.Connection[Any], settings: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingError) as info:
        explain_analyze(table_conn, "DELETE FROM t", allow_writes=True, settings=settings)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert count(table_conn) == 50  # nothing ran, the table is there
    assert table_conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["enable_seqscan=off", "work_mem=64MB"], {"enable_seqscan": "off", "work_mem": "64MB"}),
        (["Search_Path = public, pg_catalog"], {"search_path": "public, pg_catalog"}),
        (["pg_stat_statements.track=all", "x.y="], {"pg_stat_statements.track": "all", "x.y": ""}),
    ],
)
def test_parse_settings(items: list[str], expected: dict[str, str]) -> None:
    assert parse_settings(items) == expected


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["enable_seqscan"], "is not NAME=VALUE"),
        (["=off"], "is not a setting name"),
        (["1abc=x"], "is not a setting name"),
        (["a b=x"], "is not a setting name"),
        (["work_mem=1MB", "WORK_MEM=2MB"], "work_mem is set twice"),
    ],
)
def test_parse_settings_refuses(items: list[str], message: str) -> None:
    with pytest.raises(SettingError, match=message):
        parse_settings(items)
