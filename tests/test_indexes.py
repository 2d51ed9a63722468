"""Index strategies: which index PostgreSQL uses per GIN operator class and predicate (C14), partial and expression
indexes, INVALID index cleanup, statistics hygiene, and the catalogue run leaving the schema as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from perfkit import freshness, indexing
from perfkit.db import Target, connect
from perfkit.errors import IndexBuildError
from perfkit.explain import explain_estimate
from perfkit.indexing import IndexDef, col, expr
from perfkit.jsonb_rules import NOT_SUPPORTED, diagnose, parse_predicates
from perfkit.plan import Plan
from perfkit.runner import RunOutcome
from perfkit.scenarios import indexes
from perfkit.scenarios.indexes import IndexConfig
from tests.fix_server import server_prepares

PATH_OPS = IndexDef("sb_path", "settings_big", (col("prefs", opclass="jsonb_path_ops"),), method="gin")
JSONB_OPS = IndexDef("sb_ops", "settings_big", (col("prefs"),), method="gin")

# C14's expected table: predicate -> (index used with jsonb_path_ops, with jsonb_ops), and the matching rows
C14 = {
    """prefs @> '{"beta_ui": true}'""": (True, True, 400),
    "prefs ? 'beta_ui'": (False, True, 400),
    "prefs @? '$.beta_ui'": (True, True, 400),
    "prefs ->> 'theme' = 'dark'": (False, False, 2000),
    "prefs -> 'flags' ? 'beta'": (False, False, 200),
}


def _uses(plan: Plan, index: str) -> bool:
    return any(n.index == index for n in plan.nodes())


def _with_index(conn: psycopg.Connection[Any], ix: IndexDef, predicate: str) -> Plan:
    """EXPLAIN the count under `ix` with enable_seqscan off, in a transaction that is rolled back."""
    with conn.transaction(force_rollback=True):
        indexing.create(conn, ix)
        conn.execute("SET LOCAL enable_seqscan = off")
        return explain_estimate(conn, f"SELECT count(*) FROM settings_big WHERE {predicate}")


@pytest.mark.parametrize("predicate", list(C14))
def test_c14_gin_opclass_index_use(settings_big: Target, predicate: str) -> None:
    path_used, ops_used, rows = C14[predicate]
    with connect(settings_big) as conn:
        row = conn.execute(f"SELECT count(*) FROM settings_big WHERE {predicate}").fetchone()
        assert row is not None and row[0] == rows
        assert _uses(_with_index(conn, PATH_OPS, predicate), "sb_path") is path_used
        assert _uses(_with_index(conn, JSONB_OPS, predicate), "sb_ops") is ops_used
        assert indexing.schema_indexes(conn) == []


def _findings(conn: psycopg.Connection[Any], ix: IndexDef, predicate: str) -> list[str]:
    with conn.transaction(force_rollback=True):
        indexing.create(conn, ix)
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = explain_estimate(conn, f"SELECT count(*) FROM settings_big WHERE {predicate}")
        return [f.message for f in diagnose(conn, plan)]


def test_c14_advisor_says_index_present_operator_not_supported(settings_big: Target) -> None:
    with connect(settings_big) as conn:
        (msg,) = _findings(conn, PATH_OPS, "prefs ? 'beta_ui'")
        assert msg.startswith(
            f"{NOT_SUPPORTED}: prefs ? 'beta_ui' on settings_big (sb_path: gin (prefs) jsonb_path_ops"
        )
        assert msg.endswith("needs gin (prefs jsonb_ops)")
        (msg,) = _findings(conn, JSONB_OPS, "prefs ->> 'theme' = 'dark'")
        assert msg.startswith(NOT_SUPPORTED) and msg.endswith("needs btree ((prefs ->> 'theme'))")
        (msg,) = _findings(conn, PATH_OPS, "prefs -> 'flags' ? 'beta'")
        assert msg.endswith("needs gin ((prefs -> 'flags') jsonb_ops)")
        assert _findings(conn, JSONB_OPS, "prefs ? 'beta_ui'") == []  # served: no finding
        assert _findings(conn, PATH_OPS, """prefs @> '{"beta_ui": true}'""") == []
        # the remedy the advisor names really serves the predicate
        theme = IndexDef("sb_theme", "settings_big", (expr("prefs ->> 'theme'"),))
        assert _uses(_with_index(conn, theme, "prefs ->> 'theme' = 'dark'"), "sb_theme")
        flags = IndexDef("sb_flags", "settings_big", (expr("prefs -> 'flags'"),), method="gin")
        assert _uses(_with_index(conn, flags, "prefs -> 'flags' ? 'beta'"), "sb_flags")


def test_jsonb_predicate_parsing_from_plan_conditions() -> None:
    (p,) = parse_predicates("((s.notification_settings -> 'email'::text) @> 'false'::jsonb)")
    assert (p.column, p.path, p.operator, p.value) == ("notification_settings", ("email",), "@>", "false")
    (p,) = parse_predicates("((prefs ->> 'theme'::text) = 'dark'::text)")
    assert (p.text_key, p.operator, p.text) == ("theme", "=", "prefs ->> 'theme' = 'dark'")
    assert parse_predicates("(status = 'published'::post_status)") == []


@pytest.fixture
def small_table(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    conn.execute(
        "CREATE TABLE t (id int PRIMARY KEY, author int, status text, email text) WITH (autovacuum_enabled = off)"
    )
    conn.execute(
        "INSERT INTO t SELECT g, g % 500, (ARRAY['published','published','draft','archived'])[1 + g % 4], "
        "'User.' || g || '@Example.com' FROM generate_series(1, 20000) g"
    )
    conn.execute("SELECT pg_stat_force_next_flush()")  # this backend's counters reach pg_stat before the ANALYZE
    conn.execute("ANALYZE t")
    return conn


def _plan_under(conn: psycopg.Connection[Any], ix: IndexDef, query: str) -> Plan:
    with conn.transaction(force_rollback=True):
        indexing.create(conn, ix)
        return explain_estimate(conn, query)


def test_partial_index_applies_only_when_the_query_implies_its_predicate(small_table: psycopg.Connection[Any]) -> None:
    ix = IndexDef("t_author_pub", "t", (col("author"),), where="status = 'published'")
    q = "SELECT id FROM t WHERE author = 7 AND status = '{}'"
    assert _uses(_plan_under(small_table, ix, q.format("published")), "t_author_pub")
    assert not _uses(_plan_under(small_table, ix, q.format("archived")), "t_author_pub")
    assert not _uses(_plan_under(small_table, ix, "SELECT id FROM t WHERE author = 7"), "t_author_pub")


def test_expression_index_serves_lower_email(small_table: psycopg.Connection[Any]) -> None:
    lower = IndexDef("t_lower_email", "t", (expr("lower(email)"),))
    plain = IndexDef("t_email", "t", (col("email"),))
    ci = "SELECT id FROM t WHERE lower(email) = lower('USER.77@EXAMPLE.COM')"
    assert _uses(_plan_under(small_table, lower, ci), "t_lower_email")
    assert not _uses(_plan_under(small_table, plain, ci), "t_email")
    assert _uses(_plan_under(small_table, plain, "SELECT id FROM t WHERE email = 'User.77@Example.com'"), "t_email")
    row = small_table.execute(ci).fetchone()
    assert row == (77,)


def test_failed_concurrent_build_leaves_no_invalid_index(small_table: psycopg.Connection[Any]) -> None:
    dup = IndexDef(f"{indexing.PREFIX}t_author_unique", "t", (col("author"),), unique=True)
    with pytest.raises(IndexBuildError, match=r"failed: could not create unique index .*INVALID index it left"):
        indexing.build_concurrently(small_table, dup)
    assert indexing.is_valid(small_table, dup.name) is None
    assert indexing.invalid_indexes(small_table) == []
    ok = indexing.build_concurrently(small_table, IndexDef(f"{indexing.PREFIX}t_author", "t", (col("author"),)))
    assert ok.concurrently and ok.size_bytes > 0 and ok.build_ms > 0
    assert [name for name, _, _ in indexing.schema_indexes(small_table)] == ["t_pkey"]


def test_invalid_index_from_an_earlier_run_is_found_and_cleaned(small_table: psycopg.Connection[Any]) -> None:
    conn = small_table
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {indexing.PREFIX}left ON t (status)")
    assert indexing.invalid_indexes(conn) == [f"{indexing.PREFIX}left"]
    assert indexing.cleanup_leftovers(conn) == [f"{indexing.PREFIX}left"]
    assert indexing.invalid_indexes(conn) == []


def test_statistics_hygiene_analyzes_stale_tables(small_table: psycopg.Connection[Any]) -> None:
    conn = small_table
    conn.execute("CREATE TABLE fresh_load (n int) WITH (autovacuum_enabled = off)")
    conn.execute("INSERT INTO fresh_load SELECT generate_series(1, 5000)")
    conn.execute("SELECT pg_stat_force_next_flush()")
    before = freshness.check(conn, "fresh_load")
    assert before.stale and before.last_analyzed is None and "never analysed" in before.reason
    (done,) = freshness.ensure_fresh(conn, ["fresh_load"])
    assert done.analyzed and "ran ANALYZE" in done.message
    after = freshness.check(conn, "fresh_load")
    assert not after.stale and after.last_analyzed is not None
    conn.execute("INSERT INTO fresh_load SELECT generate_series(1, 2000)")
    conn.execute("SELECT pg_stat_force_next_flush()")
    stale = freshness.check(conn, "fresh_load")
    assert stale.stale and stale.modified_since_analyze == 2000
    (t_check,) = freshness.ensure_fresh(conn, ["t"])
    assert not t_check.stale and not t_check.analyzed


def test_full_catalogue_leaves_schema_unchanged(small_run: RunOutcome, run_db: Target) -> None:
    with connect(run_db) as conn:
        before = indexing.schema_indexes(conn)
        exts = conn.execute("SELECT extname FROM pg_extension ORDER BY 1").fetchall()
        cfg = IndexConfig(full=True, warmup=0, min_runs=1, max_runs=1, budget_s=0.0, write_rows=20, write_runs=1)
        out = indexes.run(conn, cfg)
        assert indexing.schema_indexes(conn) == before
        assert conn.execute("SELECT extname FROM pg_extension ORDER BY 1").fetchall() == exts
    names = {b.name for b in out.benchmarks}
    assert names == {q.name for q in indexes.CATALOGUE}
    cells = {(b.name, b.variant) for b in out.benchmarks}
    assert ("prefs_has_key", "gin_path") in cells and ("posts_in_range", "brin") in cells
    sizes = out.tables["index_sizes"]
    assert all(r["concurrent_status"] == "ok" for r in sizes)
    assert all(int(r["size_bytes"] or 0) > 0 for r in sizes)
    overhead = {r["index_set"]: r for r in out.tables["index_write_overhead"]}
    assert overhead["none"]["overhead_pct"] == 0.0 and "(author_id, status)" in overhead
    assert any(r["check"] == "statistics" for r in out.tables["index_hygiene"])


def test_index_queries_are_timed_as_plain_queries(small_run: RunOutcome, run_db: Target, tmp_path: Path) -> None:
    # psycopg prepares a statement after 5 executions: timed that way, the first samples were planned and the rest
    # not (and a prepared statement may switch to a generic plan, not the one EXPLAIN showed)
    cfg = IndexConfig(queries=["published_feed"], warmup=1, min_runs=8, max_runs=8, budget_s=0.0, write_rows=0)
    with connect(run_db) as conn:
        runs: list[indexes.IndexRun] = []
        assert server_prepares(conn, lambda: runs.append(indexes.run(conn, cfg)), tmp_path / "trace") == 0
    assert {b.stats.n for b in runs[0].benchmarks} == {8}


def test_index_sets_take_turns_in_rounds(
    small_run: RunOutcome, run_db: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sets of a query are timed side by side: every round builds each set again and takes its share of samples.
    built: list[str] = []
    real = indexes.index_set

    def recording(conn: Any, q: Any, iset: Any, cfg: Any = None) -> Any:
        built.append(iset.name)
        return real(conn, q, iset, cfg)

    monkeypatch.setattr(indexes, "index_set", recording)
    cfg = IndexConfig(queries=["published_feed"], warmup=1, min_runs=6, max_runs=6, budget_s=0.0, write_rows=0)
    with connect(run_db) as conn:
        out = indexes.run(conn, cfg)
    names = [s.name for s in indexes.BY_NAME["published_feed"].index_sets]
    assert built == names * indexes.SET_ROUNDS
    assert {b.stats.n for b in out.benchmarks} == {6} and len(out.benchmarks) == len(names)
    assert {b.counters["warmup_runs"] for b in out.benchmarks} == {1}  # in the first round only
    sizes = out.tables["index_sizes"]  # measured in the first round only
    assert len(sizes) == sum(len(s.indexes) for s in indexes.BY_NAME["published_feed"].index_sets)


def test_run_report_frames_per_query(small_run: RunOutcome) -> None:
    from perfkit import report

    r = small_run.results
    wide = report.index_speedups(r)
    assert "posts_by_author_status (author=rare, status=published)" in wide.index
    assert {"none", "single", "composite", "partial", "gin_ops", "gin_path", "trigram", "brin"} <= set(wide.columns)
    sizes = report.index_size_speedup(r)
    gin = sizes[sizes["label"].str.startswith("prefs_has_key") & (sizes["index_set"] == "gin_path")]
    feed = sizes[sizes["label"].str.startswith("published_feed") & (sizes["index_set"] == "single")]
    assert len(gin) == 1 and len(feed) == 1
    assert int(gin["size_bytes"].iloc[0]) != int(feed["size_bytes"].iloc[0])  # sizes belong to their own query
    notes = report.index_notes(r)
    partial = notes[(notes["query"] == "posts_by_author_status") & (notes["index_set"] == "partial")]
    assert list(partial["case"]) == ["author=popular, status=archived"]
    assert "is not implied by the query" in partial["note"].iloc[0]
    keyq = notes[(notes["query"] == "prefs_has_key") & (notes["index_set"] == "gin_path")]["note"]
    assert any(n.startswith("index present, operator not supported: preferences ? 'beta_ui'") for n in keyq)
    assert not report.index_hygiene(r).empty
