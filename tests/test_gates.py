"""The gates on real runs: planted regressions fail on the right metric, an unchanged build passes run after run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from perfkit import environment, results
from perfkit.cli import cli
from perfkit.compare import Comparison, compare, parse_checks
from perfkit.db import Target, connect
from perfkit.runner import RunOutcome, run
from perfkit.scenarios import loading, pagination
from perfkit.scenarios._pagination_queries import PageQuery
from tests.fix_gates import gate_config

# Every exact gate at its strictest: counters must not move at all, plans must not change.
EXACT = (
    "statements:+0",
    "round_trips:+0",
    "buffers:+0",
    "rows_removed:+0",
    "counter:rows_read:+0",
    "counter:rows:+0",
    "counter:bytes:+0",
    "plan:changed",
)
# pg_stat_statements' server time per call: a timing, judged by statistics, never exactly.
TIMING_COUNTERS = frozenset({"server_ms"})
FEED_INDEX = "idx_posts_created_id"


def failing(cmp: Comparison) -> set[tuple[str, str]]:
    """(benchmark key, metric) of every failing check."""
    return {(key, r.metric) for key, r in cmp.failures}


def keys(outcome: RunOutcome, scenario: str, name: str, variant: str) -> list[str]:
    return [b.key for b in outcome.results.benchmarks if (b.scenario, b.name, b.variant) == (scenario, name, variant)]


# -- an unchanged build ---------------------------------------------------------------------------


def test_unchanged_build_passes_five_reruns(gate_baseline: RunOutcome, run_db: Target, tmp_path: Path) -> None:
    checks = parse_checks(EXACT)
    first = gate_baseline.results
    for i in range(5):
        again = run(gate_config(tmp_path / f"rerun{i}"), target=run_db).results
        cmp = compare(first, again, checks)
        assert cmp.failures == (), [(k, r.spec, r.baseline, r.current, r.detail) for k, r in cmp.failures]
        assert len(cmp.benchmarks) == len(first.benchmarks) and not cmp.stale
        # not only the gated ones: every exact counter of every benchmark is identical run to run
        base = {b.key: b for b in first.benchmarks}
        for b in again.benchmarks:
            exact = {k: v for k, v in b.counters.items() if k not in TIMING_COUNTERS}
            assert exact == {k: v for k, v in base[b.key].counters.items() if k not in TIMING_COUNTERS}, b.key
            assert b.plan == base[b.key].plan or _shape(b.plan) == _shape(base[b.key].plan), b.key
    applied = {r.metric for b in cmp.benchmarks for r in b.results}
    assert {"statements", "buffers", "rows_removed", "counter:rows_read", "plan"} <= applied


def _shape(plan: Any) -> Any:
    return None if plan is None else (plan["node_types"], sorted(plan["indexes"]))


def test_counters_do_not_depend_on_timing_effort(small_run: RunOutcome, gate_baseline: RunOutcome) -> None:
    # small_run times with a budget (5-8 runs), the gate runs exactly 3: per-execution counters agree anyway
    cmp = compare(small_run.results, gate_baseline.results, parse_checks(EXACT))
    assert len(cmp.benchmarks) >= 20
    assert cmp.failures == (), [(k, r.spec, r.baseline, r.current) for k, r in cmp.failures]


# -- (a) an index dropped -------------------------------------------------------------------------


@pytest.fixture
def without_feed_index(run_db: Target) -> Iterator[psycopg.Connection[Any]]:
    """A connection inside a transaction that has dropped idx_posts_created_id; rolled back afterwards."""
    with connect(run_db) as conn, conn.transaction(force_rollback=True):
        conn.execute(f"DROP INDEX {FEED_INDEX}")
        yield conn


def test_dropped_index_fails_buffers_and_plan(
    gate_baseline: RunOutcome, without_feed_index: psycopg.Connection[Any]
) -> None:
    # `perfkit run` would re-seed a schema with a missing index, so the scenarios run here, in the dropping transaction
    conn = without_feed_index
    cfg = gate_config(Path("unused"))
    seed = gate_baseline.seed
    env = environment.capture(
        conn, embedded=False, scale=seed.scale, seed=seed.seed, profile=seed.profile, data_fingerprint=seed.fingerprint
    )
    benches = [*loading.run(conn, cfg.loading), *pagination.run(conn, cfg.pagination).benchmarks]
    current = results.RunResults(environment=env, benchmarks=tuple(benches))

    cmp = compare(gate_baseline.results, current, parse_checks(["statements:+0", "buffers:+10%", "plan:changed"]))
    fails = failing(cmp)
    keyset = keys(gate_baseline, "pagination", "posts_feed", "keyset")
    assert len(keyset) >= 3
    for key in keyset:
        assert (key, "buffers") in fails and (key, "plan") in fails, key
    assert {m for _, m in fails} == {"buffers", "plan"}  # never statements: the code sent the same SQL
    assert {k.split("[")[0] for k, _ in fails} <= {"pagination/posts_feed/keyset", "pagination/posts_feed/offset"}
    lost = [r for b in cmp.benchmarks if b.key == keyset[-1] for r in b.results if r.metric == "plan"]
    assert lost[0].detail.startswith(f"lost index {FEED_INDEX}")


def test_dropped_index_was_restored(run_db: Target) -> None:
    with connect(run_db) as conn:
        assert conn.execute("SELECT to_regclass(%s)", [FEED_INDEX]).fetchone() == (FEED_INDEX,)


# -- (b) a loader switched to N+1 -----------------------------------------------------------------


@pytest.fixture
def n_plus_one_run(run_db: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunOutcome:
    """A run whose `batched` loader of users_latest_posts was rewritten as N+1 (function and SQL)."""
    strategies = loading.WORKLOADS["users_latest_posts"].strategies
    monkeypatch.setitem(strategies, "batched", strategies["n_plus_one"])  # type: ignore[index]
    return run(gate_config(tmp_path / "n1", ("loading",)), target=run_db)


def test_n_plus_one_fails_statements_on_that_benchmark_only(
    gate_baseline: RunOutcome, n_plus_one_run: RunOutcome
) -> None:
    cmp = compare(gate_baseline.results, n_plus_one_run.results, parse_checks(["statements:+0"]))
    # at n=1 N+1 and batched both send 3 statements; at n=20 N+1 sends 41
    assert failing(cmp) == {("loading/users_latest_posts/batched[n=20]", "statements")}
    (fail,) = [r for _, r in cmp.failures]
    assert (fail.baseline, fail.current) == (3, 41)
    # its SQL changed too: reported, and still gated
    assert [b.key for b in cmp.benchmarks if b.version_changed] == keys(
        gate_baseline, "loading", "users_latest_posts", "batched"
    )


# -- (c) OFFSET instead of keyset -----------------------------------------------------------------


def _offset_page(self: PageQuery, conn: psycopg.Connection[Any], cursor: Any, size: int) -> tuple[str, list[Any]]:
    """The feed's "next page" rewritten to count the rows before the cursor and skip them with OFFSET."""
    if cursor is None:
        return self.offset(conn, 0, size)
    row = conn.execute("SELECT count(*) FROM posts WHERE (created_at, id) >= (%s, %s)", list(cursor)).fetchone()
    assert row is not None
    return self.offset(conn, int(row[0]), size)


def test_offset_instead_of_keyset_fails_rows_read_and_buffers_at_depth(
    gate_baseline: RunOutcome, run_db: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PageQuery, "page", _offset_page)
    current = run(gate_config(tmp_path / "offset", ("pagination",)), target=run_db)
    checks = parse_checks(["counter:rows_read:+10%", "buffers:+10%", "plan:changed"])
    cmp = compare(gate_baseline.results, current.results, checks)
    fails = failing(cmp)
    depths = {
        int(b.params["depth"]): b.key
        for b in gate_baseline.results.benchmarks
        if b.key.startswith("pagination/posts_feed/keyset")
    }
    deepest = depths[max(depths)]
    assert {(deepest, "counter:rows_read"), (deepest, "buffers")} <= fails
    assert not any(k == depths[0] for k, _ in fails)  # the first page has no cursor: the same query
    assert {k for k, _ in fails} == {k for d, k in depths.items() if d > 0}  # every deeper keyset page, nothing else
    by_key = {b.key: b for b in cmp.benchmarks}
    rows = {r.metric: r for r in by_key[deepest].results}["counter:rows_read"]
    assert rows.baseline == 10 and rows.current == max(depths) + 10


# -- the command line -----------------------------------------------------------------------------

GATES = ("--fail", "statements:+0", "--fail", "buffers:+10%", "--fail", "plan:changed")


def _markdown_table(text: str) -> list[list[str]]:
    """The table rows of a Markdown document, split on unescaped pipes; asserts it is a well-formed GFM table."""
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert len(lines) >= 3, text
    rows = [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines]
    width = len(rows[0])
    assert all(len(r) == width for r in rows), rows
    assert all(re.fullmatch(r":?-{3,}:?", c) for c in rows[1]), rows[1]
    return rows


def test_cli_unchanged_exits_0(gate_baseline: RunOutcome, run_db: Target, tmp_path: Path) -> None:
    unchanged = run(gate_config(tmp_path / "again"), target=run_db).results_path
    ok = CliRunner().invoke(
        cli, ["compare", str(gate_baseline.results_path), str(unchanged), *GATES, "--format", "markdown"]
    )
    assert ok.exit_code == 0, ok.output
    if "| benchmark |" in ok.stdout:  # only the checks that were not ok are listed (improvements, say)
        rows = _markdown_table(ok.stdout)
        assert rows[0] == ["benchmark", "metric", "baseline", "current", "change", "verdict"]
        assert {r[-1] for r in rows[2:]} <= {"improvement", "not significant"}
    assert re.search(r"\n\d+ check\(s\) ok \(", ok.stdout)
    assert ok.stdout.count(":white_check_mark:") == 1


def test_cli_planted_regression_exits_1_with_a_markdown_table(
    gate_baseline: RunOutcome, n_plus_one_run: RunOutcome, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"  # what CI appends to $GITHUB_STEP_SUMMARY
    args = [str(gate_baseline.results_path), str(n_plus_one_run.results_path), *GATES, "--format", "markdown"]
    bad = CliRunner().invoke(cli, ["compare", *args, "--summary", str(summary)])
    assert bad.exit_code == 1, bad.output
    assert summary.read_text() == bad.stdout
    rows = _markdown_table(summary.read_text())
    regressions = {(r[0], r[1]): (r[2], r[3]) for r in rows[2:] if r[-1] == "**regression**"}
    assert regressions[("`loading/users_latest_posts/batched[n=20]`", "statements")] == ("3", "41")
    # at n=1 the statements are the same, but N+1's per-user posts query reads more buffers than batched (its first
    # user has posts): only the rewritten loader regresses, and statements only at n=20
    batched = {f"`loading/users_latest_posts/batched[n={n}]`" for n in (1, 20)}
    assert {k for k, _ in regressions} == batched
    assert {k for k, metric in regressions if metric == "statements"} == {"`loading/users_latest_posts/batched[n=20]`"}
    assert "SQL or parameters changed since the baseline: loading/users_latest_posts/batched[n=20]" in bad.stdout


def test_cli_a_counter_no_benchmark_records_exits_2(gate_baseline: RunOutcome) -> None:
    """The user trial: `--fail counter:nonexistent:+0` on real runs compared nothing, said "no regression", exited 0."""
    path = str(gate_baseline.results_path)
    res = CliRunner().invoke(cli, ["compare", path, path, "--fail", "counter:nonexistent:+0"])
    assert res.exit_code == 2, res.output
    (line,) = [ln for ln in res.stderr.splitlines() if ln.strip()]
    head = "error: bad threshold 'counter:nonexistent:+0': counter 'nonexistent' is recorded in no benchmark of either "
    assert line.startswith(head + "file (known counters: "), line
    known = set(line.split("known counters: ")[1].rstrip(")").split(", "))
    # every exact counter the gates above use is offered; timings (server_ms, a plan's execution_ms) are not
    assert {"statements", "round_trips", "rows", "bytes", "rows_read", "rows_removed", "shared_hit_blocks"} <= known
    assert not any(k.endswith("_ms") for k in known), known
    typo = CliRunner().invoke(cli, ["compare", path, path, *GATES, "--fail", "counter:rows_raed:+10%"])
    assert typo.exit_code == 2 and "(did you mean 'rows_read'? known counters: " in typo.stderr, typo.output
