"""`perfkit run` end to end on a small real database: results, statement counts, pages, plans, report."""

from __future__ import annotations

import json
from pathlib import Path

from perfkit.db import Target
from perfkit.results import load
from perfkit.runner import RunOutcome, run
from tests.fix_run import quick_config


def by_key(outcome: RunOutcome, scenario: str) -> dict[tuple[str, str], dict[str, float]]:
    return {
        (b.variant, ",".join(f"{k}={v}" for k, v in sorted(b.params.items()))): dict(b.counters)
        for b in outcome.results.benchmarks
        if b.scenario == scenario
    }


def test_results_file_is_versioned_and_complete(small_run: RunOutcome) -> None:
    doc = json.loads(small_run.results_path.read_text())
    assert doc["schema_version"] == 1
    env = doc["environment"]
    assert env["server_version"].startswith("15") or env["server_version"][:2].isdigit()
    assert env["scale"] == 0.01
    assert env["seed"] == 7
    assert env["data_fingerprint"]
    assert "work_mem" in env["server_settings"]
    assert {b["scenario"] for b in doc["benchmarks"]} == {"loading", "pagination", "indexes"}
    for b in doc["benchmarks"]:
        assert len(b["samples_ms"]) >= 5
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
        assert r["modelled_ms"] == r["direct_ms"] + r["round_trips"] * 1.0  # type: ignore[operator]
        assert isinstance(r["agrees"], bool)


def test_pagination_offset_reads_more_rows_than_keyset(small_run: RunOutcome) -> None:
    counters = by_key(small_run, "pagination")
    depths = sorted({int(k.split(",")[0].split("=")[1]) for (_v, k) in counters})
    deepest = depths[-1]
    key = f"depth={deepest},page_size=10"
    assert counters[("offset", key)]["rows_read"] >= deepest + 10
    assert counters[("keyset", key)]["rows_read"] <= 10 + 1
    assert counters[("offset", key)]["rows_returned"] == counters[("keyset", key)]["rows_returned"] == 10


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


def test_second_run_reuses_seed_and_leaves_schema(small_run: RunOutcome, run_db: Target, tmp_path: Path) -> None:
    again = run(quick_config(tmp_path, scenarios=("indexes",)), target=run_db)
    assert again.seed.fingerprint == small_run.seed.fingerprint
    assert again.results.environment.data_fingerprint == small_run.results.environment.data_fingerprint
