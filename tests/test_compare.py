"""compare(): verdicts per check, statistics for time, exact counters, plans, environments, stale benchmarks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from perfkit._plan_records import json_node_type, plain_join_name
from perfkit._significance import mann_whitney_p
from perfkit.compare import Comparison, PlanShape, compare, parse_checks
from perfkit.compare_render import format_change
from perfkit.errors import CompareError, EnvironmentMismatch, ThresholdError
from perfkit.measure import PROTOCOL, PROTOCOL_BEFORE_2
from perfkit.results import load, to_dict
from tests._runs import bench, env, plan, run, samples

MEDIAN20 = parse_checks(["time:median:+20%"])


def one(cmp: Comparison, metric: str) -> tuple[str, object]:
    """(verdict, result) of the only benchmark's check on metric."""
    (b,) = cmp.benchmarks
    (r,) = [r for r in b.results if r.metric == metric]
    return r.verdict, r


# -- timing ----------------------------------------------------------------------------------------


def test_clear_shift_with_many_samples_is_a_regression() -> None:
    base = run(bench(times=samples(10.0, n=40, noise=0.05, seed=1)))
    cur = run(bench(times=samples(14.0, n=40, noise=0.05, seed=2)))
    cmp = compare(base, cur, MEDIAN20)
    verdict, r = one(cmp, "time:median")
    assert verdict == "regression"
    assert r.change == pytest.approx(0.4, abs=0.03)
    assert cmp.failed
    assert cmp.failures[0][0] == "indexes/posts_by_author_status/composite[]"


def test_noisy_overlapping_samples_are_not_significant() -> None:
    base = run(bench(times=samples(10.0, n=10, noise=0.5, seed=7)))
    cur = run(bench(times=samples(14.0, n=10, noise=0.5, seed=107)))
    cmp = compare(base, cur, MEDIAN20)
    verdict, r = one(cmp, "time:median")
    assert r.change > 0.2  # the median did move past the limit ...
    assert verdict == "not significant"  # ... but the noise says nothing
    assert not cmp.failed


def test_identical_samples_are_ok() -> None:
    times = samples(10.0, seed=3)
    cmp = compare(run(bench(times=times)), run(bench(times=times)), MEDIAN20)
    verdict, r = one(cmp, "time:median")
    assert verdict == "ok"
    assert r.change == 0.0
    assert not cmp.failed


def test_significantly_faster_is_an_improvement() -> None:
    base = run(bench(times=samples(10.0, seed=1)))
    cur = run(bench(times=samples(6.0, seed=2)))
    verdict, r = one(compare(base, cur, MEDIAN20), "time:median")
    assert verdict == "improvement"
    assert r.change == pytest.approx(-0.4, abs=0.03)


def test_significant_but_small_change_is_ok() -> None:
    base = run(bench(times=samples(10.0, n=200, noise=0.02, seed=1)))
    cur = run(bench(times=samples(10.8, n=200, noise=0.02, seed=2)))
    verdict, _ = one(compare(base, cur, MEDIAN20), "time:median")
    assert verdict == "ok"  # +8 % is real, but within the +20 % allowed


def test_mean_check_and_absolute_limit() -> None:
    base = run(bench(times=samples(10.0, seed=1)))
    cur = run(bench(times=samples(12.0, seed=2)))
    assert one(compare(base, cur, parse_checks(["time:mean:+10%"])), "time:mean")[0] == "regression"
    assert one(compare(base, cur, parse_checks(["time:median:+5ms"])), "time:median")[0] == "ok"
    assert one(compare(base, cur, parse_checks(["time:median:+1ms"])), "time:median")[0] == "regression"


@pytest.mark.parametrize("seed", [11, 22, 33, 44, 55])
def test_unchanged_code_passes_five_reruns(seed: int) -> None:
    """Same distribution, different noise: every default gate passes."""
    counters = {"statements": 3, "shared_hit_blocks": 120, "shared_read_blocks": 4, "rows_removed": 0}
    p = plan(["Limit", "Index Scan"], ["idx_posts_author_status"])
    base = run(bench(times=samples(10.0, n=30, noise=0.2, seed=1), counters=counters, plan=p))
    cur = run(bench(times=samples(10.0, n=30, noise=0.2, seed=seed), counters=counters, plan=p))
    cmp = compare(base, cur)  # default checks
    assert not cmp.failed, cmp.failures
    metrics = {r.metric for r in cmp.benchmarks[0].results}
    assert metrics == {"time:median", "statements", "buffers", "rows_removed", "plan"}


def test_mann_whitney_p_values() -> None:
    # fully separated 5 vs 5: exact two-sided p = 2 / C(10, 5) = 0.0079
    assert mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252, abs=0.003)
    assert mann_whitney_p([1, 2, 3], [1, 2, 3]) == 1.0
    assert mann_whitney_p([4.0] * 6, [4.0] * 6) == 1.0
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 200), rng.normal(0, 1, 200)
    assert mann_whitney_p(a, b) > 0.05
    assert mann_whitney_p(a, b + 1.0) < 1e-6
    assert mann_whitney_p(a, b) == pytest.approx(mann_whitney_p(b, a))


# -- counters ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "after", "expected"), [(3, 4, "regression"), (3, 3, "ok"), (3, 1, "improvement")])
def test_statements_are_exact(before: int, after: int, expected: str) -> None:
    base = run(bench(scenario="loading", name="users_latest_posts", variant="join", counters={"statements": before}))
    cur = run(bench(scenario="loading", name="users_latest_posts", variant="join", counters={"statements": after}))
    verdict, r = one(compare(base, cur, parse_checks(["statements:+0"])), "statements")
    assert verdict == expected
    assert r.change == after - before


@pytest.mark.parametrize(("read", "expected"), [(40, "regression"), (20, "ok")])
def test_buffers_sum_hit_and_read(read: int, expected: str) -> None:
    base = run(bench(counters={"shared_hit_blocks": 100, "shared_read_blocks": 100}))
    cur = run(bench(counters={"shared_hit_blocks": 200, "shared_read_blocks": read}))  # 200 -> 240 (+20%) / 220 (+10%)
    verdict, r = one(compare(base, cur, parse_checks(["buffers:+10%"])), "buffers")
    assert verdict == expected
    assert r.baseline == 200
    assert r.change == pytest.approx((200 + read - 200) / 200)


def test_counter_from_plan_summary_and_missing_counter() -> None:
    p1, p2 = plan(["Seq Scan"], []), plan(["Seq Scan"], [])
    p2["rows_removed"] = 50
    base = run(bench(plan=p1), bench(variant="x", counters={"bytes": 10}))
    cur = run(bench(plan=p2), bench(variant="x"))
    cmp = compare(base, cur, parse_checks(["rows_removed:+5%", "counter:bytes:+0"]))
    by_key = {b.key: b for b in cmp.benchmarks}
    (rr,) = by_key["indexes/posts_by_author_status/composite[]"].results
    assert (rr.metric, rr.verdict, rr.baseline, rr.current) == ("rows_removed", "regression", 0, 50)
    (missing,) = by_key["indexes/posts_by_author_status/x[]"].results
    assert (missing.verdict, missing.failed) == ("missing", False)


# -- plans -------------------------------------------------------------------------------------------


def test_plan_change_shows_both_plans() -> None:
    before = plan(["Limit", "Index Scan"], ["idx_posts_author_status"])
    after = plan(["Limit", "Sort", "Seq Scan"], [], seq_scans=["posts"])
    cmp = compare(run(bench(plan=before)), run(bench(plan=after)), parse_checks(["plan:changed"]))
    verdict, r = one(cmp, "plan")
    assert verdict == "changed"
    assert cmp.failed
    assert r.baseline_plan == PlanShape(("Limit", "Index Scan"), ("idx_posts_author_status",), ())
    assert r.current_plan == PlanShape(("Limit", "Sort", "Seq Scan"), (), ("posts",))
    assert "lost index idx_posts_author_status" in r.detail


def test_same_plan_is_ok_and_index_order_does_not_matter() -> None:
    a = plan(["Nested Loop", "Index Scan", "Index Scan"], ["a_idx", "b_idx"])
    b = plan(["Nested Loop", "Index Scan", "Index Scan"], ["b_idx", "a_idx"])
    assert one(compare(run(bench(plan=a)), run(bench(plan=b)), parse_checks(["plan:changed"])), "plan")[0] == "ok"


def test_index_swap_is_a_plan_change() -> None:
    a = plan(["Index Scan"], ["idx_posts_author_id"])
    b = plan(["Index Scan"], ["idx_posts_author_status"])
    verdict, r = one(compare(run(bench(plan=a)), run(bench(plan=b)), parse_checks(["plan:changed"])), "plan")
    assert verdict == "changed"
    assert r.detail == "lost index idx_posts_author_id; new index idx_posts_author_status"


def test_format_2_baseline_compares_on_json_node_names(tmp_path: Path) -> None:
    """Format 2 stored PostgreSQL's JSON node types (Aggregate, ModifyTable, Seq Scan for a parallel scan); format 3
    stores the text format's names. A format-2 baseline of the same plan is not a change, a different plan still is;
    between two format-3 runs, HashAggregate vs GroupAggregate is a change."""
    old = plan(["Finalize Aggregate", "Gather", "Partial Aggregate", "Seq Scan"], [], seq_scans=["posts"])
    doc = to_dict(run(bench(plan=old)))
    doc["schema_version"] = 2
    path = tmp_path / "baseline-v2.json"
    path.write_text(json.dumps(doc))
    baseline = load(path)
    same = plan(["Finalize HashAggregate", "Gather", "Partial HashAggregate", "Parallel Seq Scan"], [], ["posts"])
    assert one(compare(baseline, run(bench(plan=same)), parse_checks(["plan:changed"])), "plan")[0] == "ok"
    other = plan(["Aggregate", "Index Only Scan"], ["idx_posts_author_id"])
    assert one(compare(baseline, run(bench(plan=other)), parse_checks(["plan:changed"])), "plan")[0] == "changed"
    hashed, sorted_ = plan(["HashAggregate", "Seq Scan"], []), plan(["GroupAggregate", "Seq Scan"], [])
    verdict, r = one(compare(run(bench(plan=hashed)), run(bench(plan=sorted_)), parse_checks(["plan:changed"])), "plan")
    assert verdict == "changed" and r.detail == "node types changed"


def test_json_node_type_undoes_the_text_names() -> None:
    cases = {
        "HashAggregate": "Aggregate",
        "Partial GroupAggregate": "Aggregate",
        "Finalize MixedAggregate": "Aggregate",
        "Parallel Seq Scan": "Seq Scan",
        "Parallel Index Only Scan": "Index Only Scan",
        "Insert": "ModifyTable",
        "Merge": "ModifyTable",
        "Merge Join": "Merge Join",
        "HashSetOp": "SetOp",
        "Foreign Update": "Foreign Scan",
        "Custom Scan (citus)": "Custom Scan",
        "Async Foreign Scan": "Foreign Scan",
        "Hash Join": "Hash Join",
        "Hash Left Join": "Hash Join",
        "Hash Right Join": "Hash Join",
        "Hash Full Join": "Hash Join",
        "Parallel Hash Semi Join": "Hash Join",
        "Hash Anti Join": "Hash Join",
        "Nested Loop": "Nested Loop",
        "Nested Loop Left Join": "Nested Loop",
        "Nested Loop Semi Join": "Nested Loop",
        "Nested Loop Anti Join": "Nested Loop",
        "Merge Left Join": "Merge Join",
        "Merge Full Join": "Merge Join",
        "Merge Semi Join": "Merge Join",
    }
    assert {name: json_node_type(name) for name in cases} == cases
    # the names of results recorded before joins carried their type (format 3 up to then): only joins change
    joins = {
        "Parallel Hash Semi Join": "Parallel Hash Join",
        "Merge Anti Join": "Merge Join",
        "Nested Loop Left Join": "Nested Loop",
        "HashAggregate": "HashAggregate",
    }
    assert {name: plain_join_name(name) for name in joins} == joins


# -- environments, matching, stale -----------------------------------------------------------------


def test_environment_mismatch_is_refused_listing_fields() -> None:
    b = bench(counters={"statements": 1})
    base = run(b, environment=env())
    cur = run(b, environment=env(scale=1.0, server_settings={"work_mem": "64MB", "shared_buffers": "128MB"}))
    with pytest.raises(EnvironmentMismatch) as exc:
        compare(base, cur)
    msg = str(exc.value)
    assert "scale: 0.1 -> 1.0" in msg
    assert "server_settings.work_mem: 4MB -> 64MB" in msg
    assert "shared_buffers" not in msg
    assert "--allow-env-mismatch" in msg
    assert "\n" not in msg


def test_environment_mismatch_allowed_loudly() -> None:
    b = bench(counters={"statements": 1})
    cmp = compare(run(b), run(b, environment=env(data_fingerprint="beef")), allow_env_mismatch=True)
    assert cmp.environment_differences == ("data_fingerprint: f00d -> beef",)
    assert any("ENVIRONMENTS DIFFER" in w and "data_fingerprint" in w for w in cmp.warnings)


def test_machine_and_commit_do_not_count_as_environment() -> None:
    b = bench(counters={"statements": 1})
    cmp = compare(run(b), run(b, environment=env(git_commit="def456", machine={"hostname": "other"})))
    assert cmp.warnings == ()


def test_stale_and_one_sided_benchmarks_are_listed() -> None:
    keep = bench(variant="single", counters={"statements": 1})
    base = run(keep, bench(variant="composite", version="v1"), bench(variant="none"))
    cur = run(keep, bench(variant="composite", version="v2"), bench(variant="gin"))
    cmp = compare(base, cur, parse_checks(["statements:+0"]))
    assert [(b.variant, b.version_changed) for b in cmp.benchmarks] == [("single", False), ("composite", True)]
    (stale,) = cmp.stale
    assert (stale.key, stale.baseline_version, stale.current_version) == (
        "indexes/posts_by_author_status/composite[]",
        "v1",
        "v2",
    )
    assert cmp.only_baseline == ("indexes/posts_by_author_status/none[]",)
    assert cmp.only_current == ("indexes/posts_by_author_status/gin[]",)
    assert any("changed their SQL" in w for w in cmp.warnings)


def test_params_are_part_of_the_key() -> None:
    base = run(bench(scenario="pagination", name="posts_feed", variant="offset", params={"depth": 10}))
    cur = run(bench(scenario="pagination", name="posts_feed", variant="offset", params={"depth": 100}))
    with pytest.raises(CompareError, match="no benchmark in common"):
        compare(base, cur)


def test_changed_sql_is_still_gated() -> None:
    # A rewrite of the query (batched -> N+1) changes the version; the gate must still see the extra statements.
    base = run(bench(version="a", counters={"statements": 3}))
    cur = run(bench(version="b", counters={"statements": 21}))
    cmp = compare(base, cur, parse_checks(["statements:+0"]))
    assert [(k, r.verdict) for k, r in cmp.failures] == [("indexes/posts_by_author_status/composite[]", "regression")]
    assert cmp.benchmarks[0].version_changed


def test_comparison_is_frozen() -> None:
    b = bench(counters={"statements": 1})
    cmp = compare(run(b), run(b))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cmp.warnings = ("x",)  # type: ignore[misc]


def test_run_wide_drift_is_not_a_regression_but_an_outlier_is() -> None:
    """The whole machine 80% slower between runs: no regression; one benchmark slower than the rest: regression."""
    names = [f"q{i}" for i in range(8)]
    base = run(*(bench(name=n, times=samples(10.0 + i, n=30, noise=0.05, seed=i)) for i, n in enumerate(names)))
    slow = [1.8] * 7 + [1.8 * 1.5]  # q7 got 50% slower than the drift
    cur = run(
        *(
            bench(name=n, times=samples((10.0 + i) * slow[i], n=30, noise=0.05, seed=100 + i))
            for i, n in enumerate(names)
        )
    )
    cmp = compare(base, cur, MEDIAN20)
    failing = {key for key, _r in cmp.failures}
    assert failing == {"indexes/q7/composite[]"}
    assert any("slower than the baseline (machine drift" in w for w in cmp.warnings)
    raw = compare(base, cur, MEDIAN20, correct_drift=False)
    assert len(raw.failures) == 8  # without the correction every benchmark "regressed"
    # no timing check, no drift: the warning would speak of a correction that judges nothing
    counted = compare(base, cur, parse_checks(["statements:+0"]))
    assert not any("drift" in w for w in counted.warnings), counted.warnings


def test_a_slow_spell_over_one_scenario_is_drift_of_that_scenario() -> None:
    """A scenario's benchmarks are timed within seconds of each other: a busy spell that long made every pagination
    benchmark 40% slower while loading was unchanged. Judged against the run-wide drift (the median, here loading's
    1.0) every pagination benchmark regressed; against its scenario's drift only the real outlier does."""
    specs = (
        [("loading", f"l{i}", 5.0 + i) for i in range(8)]
        + [("pagination", f"p{i}", 1.0 + i) for i in range(6)]
        + [("indexes", f"x{i}", 2.0 + i) for i in range(2)]  # too few for a drift of their own
    )
    factor = {"l7": 1.5} | {f"p{i}": 1.4 for i in range(6)}  # l7 really got slower; pagination hit a slow spell
    base = run(
        *(bench(scenario=sc, name=n, times=samples(m, n=30, noise=0.05, seed=k)) for k, (sc, n, m) in enumerate(specs))
    )
    cur = run(
        *(
            bench(scenario=sc, name=n, times=samples(m * factor.get(n, 1.0), n=30, noise=0.05, seed=100 + k))
            for k, (sc, n, m) in enumerate(specs)
        )
    )
    cmp = compare(base, cur, MEDIAN20)
    assert {key for key, _r in cmp.failures} == {"loading/l7/composite[]"}
    assert any(
        w.startswith("the pagination benchmarks are 4")
        and "% slower than the baseline (machine drift, median over 6 " in w
        for w in cmp.warnings
    )
    assert not any("indexes benchmarks" in w for w in cmp.warnings)  # judged against the whole run's drift
    assert len(compare(base, cur, MEDIAN20, correct_drift=False).failures) == 7


def test_an_uneven_speed_up_makes_no_regression_of_an_unchanged_benchmark() -> None:
    """Right after a fresh seed the big queries ran cold: the next run had them 40% faster and the small ones
    unchanged. The scenario's drift (0.6) then made every unchanged small query a "+67% regression"; the measured
    change must agree before the correction calls anything a change. The table shows the measured current time
    and both changes."""
    big = [(f"big{i}", 20.0 + i, 0.6) for i in range(6)]
    small = [(f"small{i}", 0.5 + i / 10, 1.0) for i in range(3)]
    specs = big + small
    base = run(*(bench(name=n, times=samples(m, n=30, noise=0.03, seed=k)) for k, (n, m, _f) in enumerate(specs)))
    cur = run(
        *(bench(name=n, times=samples(m * f, n=30, noise=0.03, seed=50 + k)) for k, (n, m, f) in enumerate(specs))
    )
    cmp = compare(base, cur, MEDIAN20)
    assert cmp.failures == ()
    (row,) = [r for b in cmp.benchmarks if b.name == "small0" for r in b.results]
    assert row.verdict == "ok" and row.drift == pytest.approx(0.6, abs=0.02)
    assert row.current == pytest.approx(0.5, rel=0.05)  # as measured, not divided by the drift
    assert row.change == pytest.approx(0.5 / 0.6 / 0.5 - 1, abs=0.08)  # what the correction alone would judge
    cell = format_change(row)
    assert cell.startswith("+6") and "% vs drift (" in cell and "% measured)" in cell, cell
    improved = [r for b in cmp.benchmarks for r in b.results if r.verdict == "improvement"]
    assert improved == []  # the big ones sped up with the machine: relative to the drift they did not move


def test_an_improvement_must_pass_the_limit_as_a_regression_must() -> None:
    """'-5.2% vs drift (-3.6% measured)' read 'improvement' under a +20% limit: any significant drop counted."""
    names = [f"q{i}" for i in range(6)]
    factor = {"q0": 0.95, "q1": 0.7}  # q0 a little faster (significant, tight samples), q1 faster past the limit
    base = run(*(bench(name=n, times=samples(10.0, n=40, noise=0.01, seed=i)) for i, n in enumerate(names)))
    cur = run(
        *(
            bench(name=n, times=samples(10.0 * factor.get(n, 1.0), n=40, noise=0.01, seed=60 + i))
            for i, n in enumerate(names)
        )
    )
    cmp = compare(base, cur, MEDIAN20)
    verdicts = {b.name: r.verdict for b in cmp.benchmarks for r in b.results}
    assert verdicts["q0"] == "ok" and verdicts["q1"] == "improvement", verdicts


def test_a_misspelt_counter_is_an_error_naming_the_known_ones() -> None:
    # a typo used to compare nothing, with a warning, and pass: a CI gate silently off
    base = run(bench(times=samples(10.0, n=10, seed=1), counters={"statements": 3, "rows_read": 10}, plan=plan([], [])))
    with pytest.raises(ThresholdError) as exc:
        compare(base, base, parse_checks(["statements:+0", "counter:rows_raed:+0"]))
    msg = str(exc.value)
    assert msg.startswith(
        "bad threshold 'counter:rows_raed:+0': counter 'rows_raed' is recorded in no benchmark of either file "
        "(did you mean 'rows_read'? known counters: rows_read, rows_removed, shared_hit_blocks, shared_read_blocks, "
        "statements)"
    )
    assert "\n" not in msg  # one line; and neither timings (execution_ms) nor flags (index_only) are offered
    with pytest.raises(ThresholdError, match=r"counter 'nonexistent' is recorded in no benchmark .* \(known counters"):
        compare(base, base, parse_checks(["counter:nonexistent:+0"]))
    with pytest.raises(ThresholdError, match=r"'buffers' is recorded in no .*\(buffers is a check of its own, buffer"):
        compare(base, base, parse_checks(["counter:buffers:+0"]))
    bare = run(bench(times=samples(10.0, seed=1)))
    with pytest.raises(ThresholdError, match="known counters: none"):
        compare(bare, bare, parse_checks(["counter:x:+0"]))


def test_a_counter_either_file_records_is_a_valid_name() -> None:
    # read from the plan summary when the counters lack it
    base = run(bench(times=samples(10.0, seed=1), plan=plan(["Seq Scan"], [])))
    verdict, _ = one(compare(base, base, parse_checks(["counter:shared_hit_blocks:+0"])), "counter:shared_hit_blocks")
    assert verdict == "ok"
    # recorded by the current run only: shown as missing from the baseline
    rows_read = parse_checks(["counter:rows_read:+0"])
    bare = run(bench(times=samples(10.0, seed=1)))
    cur = run(bench(times=samples(10.0, seed=2), counters={"rows_read": 10}))
    verdict, r = one(compare(bare, cur, rows_read), "counter:rows_read")
    assert (verdict, r.detail) == ("missing", "not in the baseline")  # type: ignore[attr-defined]
    # recorded only by a benchmark the other run lacks: a valid name that gates nothing here, so a warning
    gone = bench(variant="gone", counters={"rows_read": 10})
    cmp = compare(run(*bare.benchmarks, gone), base, rows_read)
    assert not cmp.failed
    assert any("check counter:rows_read:+0 gated nothing: no benchmark the two runs have in" in w for w in cmp.warnings)
    # so does a default check asked for by name (the defaults alone stay quiet where their metric is absent)
    untimed = run(bench(variant="composite", counters={"rows_removed": 0}))
    statements = compare(untimed, untimed, parse_checks(["statements:+0"]))
    assert [w for w in statements.warnings if "gated nothing" in w] == [
        "check statements:+0 gated nothing: no benchmark the two runs have in common records its metric"
    ]
    assert not any("gated nothing" in w for w in compare(untimed, untimed).warnings)


def test_no_checks_is_an_error() -> None:
    base = run(bench(times=samples(10.0, seed=1)))
    with pytest.raises(ThresholdError, match="no checks to apply"):
        compare(base, base, ())


def test_timings_of_another_protocol_are_shown_but_never_gate() -> None:
    # A baseline timed back to back with auto-prepared queries (perfkit before protocol 2) is not like for like:
    # a "regression" there would be the protocol's doing. The exact counters still gate.
    old = env(timing_protocol=PROTOCOL_BEFORE_2)
    new = env(timing_protocol=PROTOCOL)
    base = run(bench(times=samples(10.0, n=40, seed=1), counters={"statements": 3}), environment=old)
    cur = run(bench(times=samples(16.0, n=40, seed=2), counters={"statements": 3}), environment=new)
    cmp = compare(base, cur, parse_checks(["time:median:+20%", "statements:+0"]))
    (b,) = cmp.benchmarks
    verdicts = {r.spec: r.verdict for r in b.results}
    assert verdicts == {"time:median:+20%": "not comparable", "statements:+0": "ok"}
    assert not cmp.failed
    assert any(f"timed with protocol {PROTOCOL_BEFORE_2} and this run with {PROTOCOL}" in w for w in cmp.warnings)
    from perfkit.compare_render import summary_line
    from perfkit.compare_render import to_dict as comparison_dict

    assert comparison_dict(cmp)["timing_comparable"] is False
    assert summary_line(cmp).endswith("timings not comparable (another timing protocol), not gated)")
    assert (
        compare(run(*cur.benchmarks, environment=new), cur, parse_checks(["time:median:+20%"]))
        .benchmarks[0]
        .results[0]
        .verdict
        == "ok"
    )
    worse = run(bench(times=samples(16.0, n=40, seed=2), counters={"statements": 4}), environment=new)
    assert compare(base, worse, parse_checks(["time:median:+20%", "statements:+0"])).failed  # counters gate as usual
    # also against the same data timed the same way the regression is real
    assert compare(run(*base.benchmarks, environment=new), cur, parse_checks(["time:median:+20%"])).failed


def test_the_timing_protocol_is_recorded_and_old_files_read_as_protocol_1(tmp_path: Path) -> None:
    from perfkit.results import write

    results = run(bench(times=samples(10.0, seed=1)), environment=env(timing_protocol=PROTOCOL))
    doc = json.loads(write(results, tmp_path / "new.json").read_text())
    assert doc["environment"]["timing_protocol"] == PROTOCOL
    del doc["environment"]["timing_protocol"]
    (tmp_path / "old.json").write_text(json.dumps(doc))
    assert load(tmp_path / "old.json").environment.timing_protocol == PROTOCOL_BEFORE_2
