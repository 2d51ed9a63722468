"""One timing sample: no quartiles, deviation or confidence interval (null in JSON, "n/a" shown), and no time gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfkit import report
from perfkit import results as R
from perfkit.compare import compare, parse_checks
from perfkit.stats import summarize
from perfkit.summary import summary_tables
from tests._runs import bench, run, samples, with_times
from tests.fix_results import loading_only_results


def test_one_sample_has_no_spread() -> None:
    s = summarize([5.0])
    assert (s.n, s.median_ms, s.mean_ms, s.min_ms, s.max_ms) == (1, 5.0, 5.0, 5.0, 5.0)
    assert (s.q1_ms, s.q3_ms, s.stdev_ms, s.ci_low_ms, s.ci_high_ms, s.iqr_ms) == (None,) * 6
    assert not s.has_spread
    two = summarize([4.0, 6.0])
    assert two.has_spread and two.iqr_ms == 1.0 and two.ci_low_ms is not None


def test_one_sample_is_stored_as_null_and_shown_as_na(tmp_path: Path) -> None:
    results = run(bench(times=(5.0,)), bench(variant="single", times=samples(2.0, n=10)))
    path = R.write(results, tmp_path / "results.json")
    stats = json.loads(path.read_text())["benchmarks"][0]["stats"]
    assert {k: stats[k] for k in ("q1_ms", "q3_ms", "stdev_ms", "ci_low_ms", "ci_high_ms")} == dict.fromkeys(
        ("q1_ms", "q3_ms", "stdev_ms", "ci_low_ms", "ci_high_ms")
    )
    assert R.load(path) == results
    (table,) = summary_tables(results)
    ci = table.columns.index("95% CI")
    assert table.rows[0][ci] == "n/a"
    assert table.rows[1][ci] != "n/a"
    loading = loading_only_results()
    first, *rest = loading.benchmarks
    once = R.RunResults(loading.environment, (with_times(first, (first.samples_ms[0],)), *rest))
    html = report.render_html([once], tmp_path / "report.html").read_text()
    # the two CI bounds of the single-sample benchmark, in the loading table and in the table of all benchmarks
    assert html.count(">n/a<") == 4
    assert ">n/a<" not in report.render_html([loading], tmp_path / "before.html").read_text()


def test_one_sample_cannot_gate_time_but_counters_still_do() -> None:
    checks = parse_checks(["time:median:+20%", "statements:+0"])
    base = run(bench(times=(10.0,), counters={"statements": 3}))
    cur = run(bench(times=(30.0,), counters={"statements": 4}))  # 3x slower, one more statement
    cmp = compare(base, cur, checks)
    (b,) = cmp.benchmarks
    time, statements = (next(r for r in b.results if r.metric == m) for m in ("time:median", "statements"))
    assert time.verdict == "not significant" and time.change == pytest.approx(2.0)
    assert time.detail is not None and "n/a (1 sample)" in time.detail
    assert statements.verdict == "regression" and cmp.failed
    many = run(bench(times=samples(10.0, n=30, seed=1), counters={"statements": 3}))
    cmp = compare(many, run(bench(times=(30.0,), counters={"statements": 3})), checks)
    assert not cmp.failed  # one side with a single sample: never significant
