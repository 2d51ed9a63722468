"""The pagination scenario: guide queries, depth sweeps (counters), growth fits, drift at run time, batch passes."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from perfkit import report
from perfkit.batches import STRATEGIES, batches, process
from perfkit.db import Target, connect
from perfkit.drift import drift_walk, scripted
from perfkit.errors import ConfigError
from perfkit.growth import FLAT, LINEAR, fit, slope_rows, verdict
from perfkit.keyset import KeysetSpec
from perfkit.results import Benchmark, RunResults
from perfkit.scenarios._pagination_batches import batch_benchmarks
from perfkit.scenarios._pagination_drift import SCRATCH, drift_rows, drift_table
from perfkit.scenarios._pagination_queries import AdminFilter, admin_users, author_posts, posts_feed
from perfkit.scenarios.pagination import PaginationConfig, log_depths, sweep
from perfkit.seed import SeedInfo
from tests.fix_results import bench, current_results
from tests.fix_server import server_prepares

Conn = psycopg.Connection[Any]
QUICK = PaginationConfig(page_size=10, warmup=0, min_runs=1, max_runs=1, budget_s=0.0)
BASE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def seeded_conn(seeded: tuple[Target, SeedInfo]) -> Iterator[Conn]:
    with connect(seeded[0]) as c:
        yield c


@pytest.fixture(scope="module")
def feed_sweep(seeded_conn: Conn) -> list[Benchmark]:
    return sweep(seeded_conn, posts_feed(seeded_conn), QUICK)[0]


def by_depth(benches: list[Benchmark], variant: str) -> dict[int, dict[str, float]]:
    return {int(b.params["depth"]): dict(b.counters) for b in benches if b.variant == variant}  # type: ignore[arg-type]


# -- depth sweeps on the seeded data (counters, not timings) ------------------------------------------------------


def test_offset_rows_read_grows_with_depth_keyset_stays_at_page_size(
    feed_sweep: list[Benchmark], seeded: tuple[Target, SeedInfo]
) -> None:
    posts = seeded[1].rows["posts"]
    offset, keyset = by_depth(feed_sweep, "offset"), by_depth(feed_sweep, "keyset")
    assert sorted(offset) == sorted(keyset) == log_depths(posts, 10) == [0, 10, 100, posts - 10]
    for depth, counters in offset.items():
        assert counters["rows_read"] == depth + 10  # the index scan reads every skipped row
        assert counters["rows_returned"] == 10
    assert all(c["rows_read"] == 10 and c["rows_returned"] == 10 for c in keyset.values())
    deepest = max(offset)
    assert offset[deepest]["shared_hit_blocks"] > 10 * keyset[deepest]["shared_hit_blocks"]
    count = next(b for b in feed_sweep if b.variant == "count")
    assert count.counters["total"] == posts and count.params == {}


def test_slopes_on_seeded_data(feed_sweep: list[Benchmark]) -> None:
    rows = {r["strategy"]: r for r in slope_rows(feed_sweep)}
    assert set(rows) == {"offset", "keyset"}  # the count has no depth: not fitted
    offset, keyset = rows["offset"], rows["keyset"]
    assert offset["slope_rows_read_per_1k"] == pytest.approx(1000.0)  # one row read per row of depth
    assert float(offset["slope_buffers_per_1k"]) > 20  # type: ignore[arg-type]
    assert keyset["slope_rows_read_per_1k"] == pytest.approx(0.0, abs=1e-9)
    assert abs(float(keyset["slope_buffers_per_1k"])) * 20 < float(offset["slope_buffers_per_1k"])  # type: ignore[arg-type]
    assert abs(float(keyset["deepest_buffers"]) - float(keyset["first_buffers"])) <= 2  # type: ignore[arg-type]
    assert (offset["growth"], keyset["growth"]) == (LINEAR, FLAT)
    assert offset["points"] == keyset["points"] == 4


def test_seek_check_per_query(seeded_conn: Conn) -> None:
    _, feed = sweep(seeded_conn, posts_feed(seeded_conn), QUICK)
    assert feed is not None and feed["seek"] is True and feed["index"] == "idx_posts_created_id"
    benches, admin = sweep(seeded_conn, admin_users(seeded_conn), QUICK)
    assert admin is not None and admin["seek"] is False and admin["node_type"] == "Seq Scan"
    assert "only a Filter" in str(admin["reason"])
    noted = [b for b in benches if b.variant == "keyset" and b.params["depth"]]
    assert noted and all("not seekable" in b.notes[-1] for b in noted)


def test_guide_queries_filters_and_totals(seeded_conn: Conn, seeded: tuple[Target, SeedInfo]) -> None:
    author = author_posts(seeded_conn)
    top = seeded_conn.execute(
        "SELECT count(*) FROM posts WHERE status = 'published' GROUP BY author_id ORDER BY 1 DESC LIMIT 1"
    ).fetchone()
    assert top is not None and author.total(seeded_conn) == top[0] > 1
    assert [k.column for k in author.spec.keys] == ["created_at", "id"]  # the tiebreaker was appended (C09)
    users = seeded[1].rows["users"]
    assert admin_users(seeded_conn).total(seeded_conn) == users
    role = admin_users(seeded_conn, AdminFilter("x", role="admin")).total(seeded_conn)
    row = seeded_conn.execute("SELECT count(*) FROM users WHERE role = 'admin'").fetchone()
    assert row is not None and role == row[0]
    assert admin_users(seeded_conn, AdminFilter("x", search="%")).total(seeded_conn) == 0  # % is literal
    email = seeded_conn.execute("SELECT email FROM users ORDER BY email LIMIT 1").fetchone()
    assert email is not None
    found = admin_users(seeded_conn, AdminFilter("x", search=email[0].upper()))
    assert found.total(seeded_conn) == 1  # ILIKE: case-insensitive


# -- growth fits ------------------------------------------------------------------------------------------------


def test_fit_known_line_and_verdicts() -> None:
    g = fit([0, 10, 100, 1000, 10_000], [0.5 + 0.003 * d for d in (0, 10, 100, 1000, 10_000)])
    assert g.slope_per_1k == pytest.approx(3.0) and g.intercept == pytest.approx(0.5) and g.r2 == pytest.approx(1.0)
    assert g.added_at_max == pytest.approx(30.0)
    assert verdict(fit([0, 100, 1000], [4, 14, 104])) == LINEAR
    assert verdict(fit([0, 100, 1000], [4, 5, 4])) == FLAT
    one = fit([100, math.nan], [1.0, 2.0])
    assert one.points == 1 and math.isnan(one.slope_per_1k) and verdict(one) == ""


# -- drift at run time: a scratch copy, the seeded table untouched ---------------------------------------------


def _mini_posts(conn: Conn, n: int = 60) -> None:
    conn.execute("CREATE TABLE posts (id uuid PRIMARY KEY, author_id uuid, title text, created_at timestamptz)")
    conn.execute(
        "INSERT INTO posts SELECT md5(g::text)::uuid, md5('a')::uuid, 'post ' || g,"
        " %s::timestamptz + (g / 3) * interval '1 minute' FROM generate_series(1, %s) g",  # ties of three
        (BASE, n),
    )


def _checksum(conn: Conn) -> Any:
    row = conn.execute("SELECT md5(string_agg(p::text, ',' ORDER BY id)) FROM posts p").fetchone()
    return row[0] if row else None


def test_drift_table_on_a_scratch_copy(conn: Conn, empty_db: Target) -> None:
    _mini_posts(conn)
    before = _checksum(conn)
    reports = drift_table(conn, lambda: connect(empty_db), rows=40, page_size=5, seed=3, churn=2)
    assert [r.strategy for r in reports] == ["offset", "keyset"]
    offset, keyset = reports
    assert keyset.ok and keyset.snapshot_rows == 40 and len(keyset.deleted) > 0
    assert not offset.ok
    assert offset.mutations == keyset.mutations  # the same seeded churn for both
    assert _checksum(conn) == before  # posts untouched
    assert conn.execute("SELECT to_regclass(%s)", (SCRATCH,)).fetchone() == (None,)
    rows = drift_rows(reports, "test slice")
    assert rows[1]["strategy"] == "keyset" and rows[1]["duplicates"] == rows[1]["missing"] == 0
    assert rows[0]["writes"] == len(offset.mutations) and rows[0]["subject"] == "test slice"


def test_drift_rows_on_a_scripted_sequence(conn: Conn, writer: Conn) -> None:
    """C13's script: INSERT id 11 after page 1, DELETE id 9 after page 2, on ten rows with page size 3."""
    conn.execute("CREATE TABLE timeline (id int PRIMARY KEY, created_at timestamptz NOT NULL)")
    minutes = "%s::timestamptz + g * interval '1 minute'"
    conn.execute(f"INSERT INTO timeline SELECT g, {minutes} FROM generate_series(1,10) g", (BASE,))
    script = [
        (0, "INSERT INTO timeline VALUES (11, %s::timestamptz + 11 * interval '1 minute')", (BASE,)),
        (1, "DELETE FROM timeline WHERE id = 9"),
    ]
    spec = KeysetSpec.create("timeline", ["created_at DESC"], conn=conn)
    reports = []
    for strategy in ("offset", "keyset"):
        conn.execute("DELETE FROM timeline WHERE id > 10")
        conn.execute(f"INSERT INTO timeline SELECT 9, {minutes} FROM (SELECT 9 AS g) s ON CONFLICT DO NOTHING", (BASE,))
        reports.append(drift_walk(conn, spec, 3, strategy, writer=writer, mutator=scripted(script)))
    table = {r["strategy"]: r for r in drift_rows(reports, "timeline")}
    want = {"pages": 4, "snapshot_rows": 10, "extra": 0, "deleted": 1, "writes": 2, "page_size": 3}
    assert table["offset"] | want == table["offset"] and table["keyset"] | want == table["keyset"]
    assert (table["offset"]["rows_served"], table["offset"]["distinct_rows"]) == (10, 9)
    assert (table["offset"]["duplicates"], table["offset"]["missing"]) == (1, 1)
    assert (table["keyset"]["rows_served"], table["keyset"]["distinct_rows"]) == (10, 10)
    assert (table["keyset"]["duplicates"], table["keyset"]["missing"]) == (0, 0)


# -- batch passes ---------------------------------------------------------------------------------------------


@pytest.fixture
def items(conn: Conn) -> KeysetSpec:
    conn.execute("CREATE TABLE items (id int PRIMARY KEY, grp int NOT NULL, body text)")
    conn.execute("INSERT INTO items SELECT g, g % 7, repeat('x', 200) FROM generate_series(1, 1003) g")
    return KeysetSpec.create("items", ["id"], conn=conn)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_batch_strategies_visit_every_row_once(conn: Conn, items: KeysetSpec, strategy: str) -> None:
    run = process(conn, items, 100, strategy, id_column="id")
    assert (run.batches, run.rows, run.distinct_rows, run.duplicates) == (11, 1003, 1003, 0)
    ids = [r["id"] for b in batches(conn, items, 100, strategy) for r in b]
    assert ids == list(range(1, 1004))  # in the spec's order
    grouped = KeysetSpec.create("items", ["grp DESC"], conn=conn)
    where, params = sql.SQL("grp <> %s"), [0]
    got = [
        (r["grp"], r["id"]) for b in batches(conn, grouped, 50, strategy, where=where, where_params=params) for r in b
    ]
    want = conn.execute("SELECT grp, id FROM items WHERE grp <> 0 ORDER BY grp DESC, id DESC").fetchall()
    assert got == want  # ties on grp, broken by id
    traced = process(conn, items, 100, strategy, trace_memory=True, max_batches=2)
    assert traced.batches == 2 and traced.rows == 200 and (traced.peak_bytes or 0) > 100 * 200
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # a cursor's transaction ended


def test_timed_batch_passes_are_plain_queries(conn: Conn, items: KeysetSpec, tmp_path: Path) -> None:
    # 11 batches per pass: psycopg would prepare each strategy's batch query from its 5th execution on, so the
    # timed pass would mix planned and prepared batches
    out: list[Any] = []
    work = lambda: out.append(batch_benchmarks(conn, 100, runs=2, memory_batches=1, table="items"))  # noqa: E731
    assert server_prepares(conn, work, tmp_path / "trace") == 0
    benches, rows = out[0]
    assert [b.variant for b in benches] == list(STRATEGIES) and {b.stats.n for b in benches} == {2}
    assert {r["rows"] for r in rows} == {1003}


def test_batch_arguments(conn: Conn, items: KeysetSpec) -> None:
    with pytest.raises(ConfigError, match="unknown batch strategy"):
        process(conn, items, 100, "all_at_once")
    with pytest.raises(ConfigError, match="batch size"):
        list(batches(conn, items, 0, "server_cursor"))


# -- report sections from hand-made results -----------------------------------------------------------------------


def _full_results() -> RunResults:
    base = current_results()
    count = {"total": 50_020, "shared_hit_blocks": 300, "rows_read": 50_020}
    extra = [
        bench("pagination", "posts_feed", "count", {}, 5.0, count),
        *(
            bench("pagination", "posts_batches", s, {"batch_size": 1000}, ms, {"batches": 51, "rows": 50_020,
                  "distinct_rows": 50_020, "duplicates": 0, "peak_kib": 2048.0, "memory_batches": 3})
            for s, ms in (("keyset", 800.0), ("offset", 4000.0), ("server_cursor", 700.0))
        ),
    ]  # fmt: skip
    tables = dict(base.tables)
    tables["pagination_seek"] = (
        {"query": "posts_feed", "depth": 50_000, "seek": True, "node_type": "Index Scan", "reason": "index seek"},
        {"query": "admin_users", "depth": 980, "seek": False, "node_type": "Seq Scan", "reason": "only a Filter"},
    )
    tables["pagination_drift"] = (
        {"subject": "s", "strategy": "offset", "snapshot_rows": 200, "duplicates": 5, "missing": 1},
        {"subject": "s", "strategy": "keyset", "snapshot_rows": 200, "duplicates": 0, "missing": 0},
    )
    return RunResults(base.environment, (*base.benchmarks, *extra), tables)


def test_report_pagination_sections(tmp_path: Path) -> None:
    r = _full_results()
    assert set(report.pagination_frame(r)["query"]) == {"posts_feed"}  # no count or batch rows among the pages
    counts = report.pagination_counts(r).iloc[0]
    assert (counts["query"], counts["total"], counts["median_ms"]) == ("posts_feed", 50_020, pytest.approx(5.0))
    assert counts["count_vs_first_page"] == pytest.approx(50.0)  # the first keyset page takes 0.1 ms
    b = report.pagination_batches(r).set_index("strategy")
    assert b.loc["offset", "median_ms"] == pytest.approx(4000.0) and b.loc["keyset", "peak_kib"] == 2048.0
    found = report.summary_frame(r).set_index("subject")["finding"]
    assert "the COUNT(*) total alone takes 5.00 ms" in found["posts_feed"]
    assert found["posts_batches"].startswith("all 50,020 rows in batches of 1,000: keyset 800 ms (peak 2 MiB)")
    assert found["drift"] == (
        "walking 200 rows under concurrent writes: offset served 5 duplicates and missed 1, "
        "keyset served 0 duplicates and missed 0"
    )
    assert "pagination/posts_batches/time_memory" in report.figures(r)
    text = report.render_html([r], tmp_path / "r.html").read_text()
    assert "admin_users: the keyset cursor predicate is not an index seek at depth 980 (Seq Scan)" in text
    assert "The COUNT(*) total on its own" in text and "Processing the whole table in batches" in text
    assert "could not be drawn" not in text
