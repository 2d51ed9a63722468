"""`perfkit run` end to end on a small real database: results, statement counts, pages, plans, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from perfkit import report
from perfkit.db import Target, connect
from perfkit.results import load
from perfkit.runner import RunOutcome, run
from perfkit.scenarios._pagination_drift import SCRATCH
from perfkit.scenarios.pagination import PaginationConfig
from perfkit.schema import TABLES
from perfkit.seed import seed
from tests.fix_run import QUICK, quick_config
from tests.fix_server import _drop_db, _make_db


def by_key(outcome: RunOutcome, scenario: str) -> dict[tuple[str, str], dict[str, float]]:
    return {
        (b.variant, ",".join(f"{k}={v}" for k, v in sorted(b.params.items()))): dict(b.counters)
        for b in outcome.results.benchmarks
        if b.scenario == scenario
    }


def test_results_file_is_versioned_and_complete(small_run: RunOutcome) -> None:
    doc = json.loads(small_run.results_path.read_text())
    assert doc["schema_version"] == 3
    env = doc["environment"]
    realism = env["realism"]  # the seed's realism report travels with the results
    assert realism["rows"]["posts"] == 1000 and sum(realism["status_mix"].values()) == pytest.approx(1)
    assert realism["time_order"] and not any(realism["time_order"].values())
    assert env["server_version"].startswith("15") or env["server_version"][:2].isdigit()
    assert env["scale"] == 0.01
    assert env["seed"] == 7
    machine = env["machine"]  # machine facts that are counts are JSON numbers (format 3), settings keep their text
    assert isinstance(machine["cpu_count"], int) and machine["cpu_count"] >= 1
    assert isinstance(machine["memory_bytes"], int) and machine["memory_bytes"] > 0
    assert isinstance(env["server_settings"]["shared_buffers"], str)
    assert env["data_fingerprint"]
    assert "work_mem" in env["server_settings"]
    assert {b["scenario"] for b in doc["benchmarks"]} == {"loading", "pagination", "indexes"}
    for b in doc["benchmarks"]:
        counters = b["counters"]
        assert counters["warmup_runs"] >= 0 and counters["cache_warm"] in (0, 1)  # the protocol
        # counts are JSON integers (2, not 2.0); means per execution (server_ms) and ratios may be fractions
        counts = ("warmup_runs", "cache_warm", "statements", "round_trips", "rows", "bytes", "rows_read", "batches")
        assert all(type(counters[c]) is int for c in counts if c in counters), counters
        assert len(b["samples_ms"]) >= (1 if b["name"] == "posts_batches" else 5)  # a batch pass reads every post
        assert b["stats"]["median_ms"] > 0
    reloaded = load(small_run.results_path)
    assert len(reloaded.benchmarks) == len(small_run.results.benchmarks)


def test_loading_statement_counts(small_run: RunOutcome) -> None:
    counters = by_key(small_run, "loading")
    names = {b.name for b in small_run.results.benchmarks if b.scenario == "loading"}
    assert names == {"users_latest_posts", "posts_author_tags", "posts_comments_authors"}
    assert {k for (_v, k) in counters} == {"n=1", "n=5", "n=20"}
    for b in small_run.results.benchmarks:
        if b.scenario != "loading":
            continue
        c = b.counters
        assert c["statements"] == c["expected_statements"], b.key
        n = int(b.params["n"])
        if b.variant == "n_plus_one" and b.name != "posts_comments_authors":
            assert c["statements"] == 1 + 2 * n  # two relations, one query per parent each
        elif b.variant == "batched":
            assert c["statements"] == 3
        elif b.variant != "n_plus_one":
            assert c["statements"] == 1


def test_loading_latency_check_table(small_run: RunOutcome) -> None:
    rows = small_run.results.tables["loading_latency_check"]
    assert [r["strategy"] for r in rows] == ["n_plus_one", "batched"]
    for r in rows:
        assert r["rtt_ms"] == 1.0 and r["n"] == 10
        assert r["modelled_ms"] == r["base_ms"] + r["round_trips"] * 1.0  # type: ignore[operator]
        assert isinstance(r["agrees"], bool)


def test_pagination_offset_reads_more_rows_than_keyset(small_run: RunOutcome) -> None:
    counters = {
        (b.variant, int(b.params["depth"])): b.counters  # type: ignore[arg-type]
        for b in small_run.results.benchmarks
        if b.scenario == "pagination" and b.name == "posts_feed" and "depth" in b.params
    }
    deepest = max(d for _v, d in counters)
    assert counters[("offset", deepest)]["rows_read"] >= deepest + 10
    assert counters[("keyset", deepest)]["rows_read"] <= 10 + 1
    assert counters[("offset", deepest)]["rows_returned"] == counters[("keyset", deepest)]["rows_returned"] == 10


def test_pagination_queries_tables_and_verdicts(small_run: RunOutcome) -> None:
    benches = [b for b in small_run.results.benchmarks if b.scenario == "pagination"]
    names = {b.name for b in benches}
    assert names == {"posts_feed", "author_posts", "admin_users", "admin_users_search", "posts_batches"}
    counts = {b.name: b.counters["total"] for b in benches if b.variant == "count"}
    assert counts["posts_feed"] == small_run.seed.rows["posts"]
    assert counts["admin_users"] == small_run.seed.rows["users"]
    assert 0 < counts["admin_users_search"] < counts["admin_users"]
    tables = small_run.results.tables
    slopes = {(r["query"], r["strategy"]): r for r in tables["pagination_slopes"]}
    assert slopes[("posts_feed", "offset")]["growth"] == "grows linearly"
    assert slopes[("posts_feed", "keyset")]["growth"] == "stays flat"
    assert slopes[("posts_feed", "offset")]["slope_rows_read_per_1k"] == pytest.approx(1000, rel=0.01)
    assert abs(float(slopes[("posts_feed", "keyset")]["slope_rows_read_per_1k"] or 0)) < 1
    seek = {r["query"]: r for r in tables["pagination_seek"]}
    assert seek["posts_feed"]["seek"] is True and seek["posts_feed"]["index"] == "idx_posts_created_id"
    assert seek["admin_users"]["seek"] is False  # no index on users.created_at: the cursor is a Filter
    flagged = [b for b in benches if b.name == "admin_users" and b.variant == "keyset" and b.params["depth"]]
    assert flagged and all(any("not seekable" in n for n in b.notes) for b in flagged)
    drift = {r["strategy"]: r for r in tables["pagination_drift"]}
    assert drift["keyset"]["duplicates"] == drift["keyset"]["missing"] == 0
    assert (drift["offset"]["duplicates"] or 0) + (drift["offset"]["missing"] or 0) > 0  # type: ignore[operator]
    batches = {r["strategy"]: r for r in tables["pagination_batches"]}
    assert set(batches) == {"keyset", "offset", "server_cursor"}
    for row in batches.values():
        assert row["rows"] == row["distinct_rows"] == small_run.seed.rows["posts"] and row["duplicates"] == 0


def content_checksum(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """md5 of every table's rows in id order: equal for equal contents."""
    out = {}
    for table in TABLES:
        q = sql.SQL("SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM {} t").format(
            sql.Identifier(table)
        )
        row = conn.execute(q).fetchone()
        out[table] = str(row[0]) if row else ""
    return out


def test_run_leaves_the_seeded_data_unchanged(
    small_run: RunOutcome, run_db: Target, admin_conninfo: str, tmp_path: Path
) -> None:
    """After all scenarios, the data equals a fresh seed with the same arguments (drift wrote to a scratch copy)."""
    fresh = _make_db(admin_conninfo, "pk_test_fresh_seed")
    try:
        info = seed(fresh, scale=small_run.seed.scale, seed=small_run.seed.seed, profile=small_run.seed.profile)
        assert info.fingerprint == small_run.seed.fingerprint
        with connect(run_db) as conn, connect(fresh) as other:
            assert content_checksum(conn) == content_checksum(other)
            assert conn.execute("SELECT to_regclass(%s)", (SCRATCH,)).fetchone() == (None,)
    finally:
        _drop_db(admin_conninfo, "pk_test_fresh_seed")


def test_indexes_plans_use_the_index_set(small_run: RunOutcome) -> None:
    plans = {
        b.variant: b.plan
        for b in small_run.results.benchmarks
        if b.scenario == "indexes" and b.name == "posts_by_author_status" and b.params["author"] == "rare"
    }
    assert set(plans) == {"none", "single", "composite", "partial"}
    assert plans["none"] is not None and plans["none"]["indexes"] == []
    assert plans["composite"] is not None and "pk_ix_posts_author_status" in plans["composite"]["indexes"]


def test_report_written(small_run: RunOutcome) -> None:
    assert small_run.report_path is not None
    html = small_run.report_path.read_text()
    assert "<html" in html.lower()
    assert "data:image" in html
    # the notebooks show report.figures(): the same figures as the report (the rows-and-bytes ones were missing)
    figures = report.figures(small_run.results)
    assert html.count('<img alt="') == len(figures)
    assert any(name.endswith("/transfer") for name in figures)


def test_second_run_reuses_seed_and_leaves_schema(small_run: RunOutcome, run_db: Target, tmp_path: Path) -> None:
    again = run(quick_config(tmp_path, scenarios=("indexes",)), target=run_db)
    assert again.seed.reused  # no scenario left the seeded tables changed (the index write batches are re-marked)
    assert run(quick_config(tmp_path, scenarios=("indexes",)), target=run_db).seed.reused
    assert again.seed.fingerprint == small_run.seed.fingerprint
    assert again.results.environment.data_fingerprint == small_run.results.environment.data_fingerprint


@pytest.mark.parametrize("scale", [0.001, 0.005])
def test_the_smallest_scales_write_their_results(empty_db: Target, tmp_path: Path, scale: float) -> None:
    """Below scale 0.01 some pagination queries are measured at one depth only: no slope can be fitted, and the
    table says so with nulls (a NaN there made the results unwritable after every scenario had run)."""
    config = quick_config(tmp_path, scale=scale, scenarios=("pagination",), pagination=PaginationConfig(**QUICK))
    outcome = run(config, target=empty_db)
    assert outcome.results_path.is_file() and outcome.report_path is not None and outcome.report_path.is_file()
    slopes = outcome.results.tables["pagination_slopes"]
    assert any(value is None for row in slopes for value in row.values()), "expected a figure that cannot be fitted"
    assert all(row["slope_ms_per_1k"] is None and row["growth"] == "" for row in slopes if row["points"] == 1)
    assert load(outcome.results_path).tables["pagination_slopes"] == slopes
