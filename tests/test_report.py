"""The report: frames and slopes from known inputs, figures, the self-contained HTML page, the CLI."""

from __future__ import annotations

import dataclasses
import math
import re
import stat
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from perfkit import report
from perfkit.cli import cli
from perfkit.errors import ResultsError
from perfkit.report import _format as fmt
from perfkit.report import paths
from perfkit.results import RunResults, load
from tests.fix_results import (
    OFFSET_BUFFERS_PER_ROW,
    OFFSET_MS_PER_ROW,
    Reports,
    ResultsFiles,
    baseline_results,
    bench,
    current_results,
    environment,
    loading_median,
    loading_only_results,
    pagination_only_results,
)

# -- frames ----------------------------------------------------------------------------------------


def test_loading_frame_and_statements() -> None:
    df = report.loading_frame(current_results())
    assert list(df["strategy"].unique()) == ["n_plus_one", "join", "batched", "json"]
    row = df[(df["strategy"] == "n_plus_one") & (df["n"] == 100)].iloc[0]
    assert row["median_ms"] == pytest.approx(loading_median("n_plus_one", 100))
    assert row["statements"] == 101
    wide = report.loading_statements(current_results()).set_index("strategy")
    assert list(wide.columns) == ["workload", "N=1", "N=10", "N=100", "N=1000"]
    assert wide.loc["n_plus_one", "N=1000"] == 1001
    assert wide.loc["batched", "N=1000"] == 2


def test_pages_without_children_are_warned(tmp_path: Path) -> None:
    benches = []
    for b in loading_only_results().benchmarks:
        children = {"children_profile": 1.0, "children_posts": 0.0 if b.params["n"] != 1000 else 40.0}
        benches.append(dataclasses.replace(b, counters={**b.counters, **children}))
    results = RunResults(environment(), tuple(benches))
    empty = report.loading_empty(results)
    assert empty.to_dict("records") == [
        {"workload": "users_latest_posts", "n": n, "relation": "posts"} for n in (1, 10, 100)
    ]
    text, _ = _parse(report.render_html([results], tmp_path / "r.html"))
    assert "users_latest_posts loaded no posts at N = 1, 10, 100: its strategies were not compared" in text
    assert report.loading_empty(loading_only_results()).empty


def test_loading_modelled_adds_round_trips_times_rtt() -> None:
    df = report.loading_modelled(current_results(), rtts_ms=(1.0, 20.0))
    r = df[(df["strategy"] == "n_plus_one") & (df["n"] == 100) & (df["rtt_ms"] == 20.0)].iloc[0]
    assert r["modelled_ms"] == pytest.approx(loading_median("n_plus_one", 100) + 101 * 20.0)
    j = df[(df["strategy"] == "join") & (df["n"] == 100) & (df["rtt_ms"] == 1.0)].iloc[0]
    assert j["modelled_ms"] == pytest.approx(loading_median("join", 100) + 1.0)
    wide = report.loading_modelled_table(current_results())
    assert {"rtt_0.1_ms", "rtt_1_ms", "rtt_20_ms"} <= set(wide.columns)


def test_pagination_slopes_of_linear_data() -> None:
    s = report.pagination_slopes(current_results()).set_index("strategy")
    assert s.loc["offset", "slope_ms_per_1k"] == pytest.approx(OFFSET_MS_PER_ROW * 1000)
    assert s.loc["offset", "slope_buffers_per_1k"] == pytest.approx(OFFSET_BUFFERS_PER_ROW * 1000)
    assert s.loc["keyset", "slope_ms_per_1k"] == pytest.approx(0.0, abs=1e-12)
    assert s.loc["offset", "intercept_ms"] == pytest.approx(0.1)
    assert s.loc["offset", "points"] == 5
    frame = report.pagination_frame(current_results())
    deep = frame[(frame["strategy"] == "offset") & (frame["depth"] == 50_000)].iloc[0]
    assert deep["rows_read"] == 50_020
    assert deep["buffers"] == pytest.approx(3 + OFFSET_BUFFERS_PER_ROW * 50_000)


def test_pagination_slope_needs_two_depths() -> None:
    r = current_results()
    one = RunResults(r.environment, tuple(b for b in r.benchmarks if b.params.get("depth") in (None, 100)))
    s = report.pagination_slopes(one)
    assert len(s) == 2
    assert s["slope_ms_per_1k"].isna().all()


def test_index_speedups_and_plan_shapes() -> None:
    wide = report.index_speedups(current_results())
    assert list(wide.columns) == ["none", "single", "composite"]
    assert wide.loc["posts_by_author_status", "single"] == pytest.approx(10.0)
    assert wide.loc["posts_by_author_status", "composite"] == pytest.approx(40.0)
    assert wide.loc["user_by_email", "single"] == pytest.approx(100.0)
    assert math.isnan(wide.loc["user_by_email", "composite"])
    shapes = report.index_plan_shapes(current_results())
    assert shapes.loc["posts_by_author_status", "composite"] == "Index Only Scan using idx_composite"
    assert shapes.loc["user_by_email", "none"] == "Seq Scan"
    assert shapes.loc["user_by_email", "composite"] == "–"
    frame = report.index_frame(current_results())
    assert frame[frame["index_set"] == "composite"]["index_only"].all()


def test_index_sizes_and_write_overhead() -> None:
    sz = report.index_size_speedup(current_results())
    row = sz[(sz["label"] == "posts_by_author_status") & (sz["index_set"] == "composite")].iloc[0]
    assert row["size_bytes"] == 3_500_000
    assert row["speedup"] == pytest.approx(40.0)
    ov = report.write_overhead(current_results()).set_index("index_set")
    assert ov.loc["single", "overhead_pct"] == pytest.approx(20.0)
    assert ov.loc["composite", "overhead_pct"] == pytest.approx(35.0)


def test_index_sizes_matched_per_query_when_named() -> None:
    r = current_results()
    sizes = (
        {"query": "posts_by_author_status", "index_set": "single", "index": "a", "size_bytes": 1000},
        {"query": "user_by_email", "index_set": "single", "index": "b", "size_bytes": 300},
        {"query": "user_by_email", "index_set": "single", "index": "c", "size_bytes": 200},
    )
    df = report.index_size_speedup(RunResults(r.environment, r.benchmarks, {"index_sizes": sizes}))
    got = {(row.label, row.index_set): row.size_bytes for row in df.itertuples()}
    assert got == {("posts_by_author_status", "single"): 1000, ("user_by_email", "single"): 500}


def test_comparison_frame_verdicts_and_counters() -> None:
    df = report.comparison_frame(baseline_results(), current_results())
    get = {(r.variant, r.params): r for r in df.itertuples()}
    slow = get[("n_plus_one", "n=1000")]
    assert slow.change_pct == pytest.approx(100.0)
    assert slow.verdict == "slower"
    assert get[("join", "n=10")].verdict == "not significant"
    assert get[("json", "n=10")].verdict == "new"
    assert get[("batched", "n=10")].counters_changed == "round_trips 3 → 2; statements 3 → 2"

    removed = report.comparison_frame(current_results(), baseline_results())
    assert set(removed.loc[removed["variant"] == "json", "verdict"]) == {"removed"}
    assert report.comparable(baseline_results(), current_results()) == []
    other = RunResults(environment(scale=1.0), ())
    assert report.comparable(other, current_results()) == ["scale"]
    older = RunResults(environment(timing_protocol="1 (back to back)"), ())  # timings not like for like either
    assert report.comparable(older, current_results()) == ["timing protocol"]


def test_cache_moves_and_measured_memory_are_not_changed_counters() -> None:
    """'peak_kib 3,000.59 → 2,990.85' and 'shared_hit_blocks 29 → 0; shared_read_blocks 0 → 29' were listed as changed
    counters between two runs of the same code: one is a measurement, the other a colder cache."""
    from tests._runs import bench as make

    base = make(counters={"rows": 20, "peak_kib": 3000.59, "shared_hit_blocks": 29, "shared_read_blocks": 0})
    same = make(counters={"rows": 20, "peak_kib": 2990.85, "shared_hit_blocks": 0, "shared_read_blocks": 29})
    assert report.diff.counters_changed(base, same) == ""
    more = make(counters={"rows": 20, "peak_kib": 2990.85, "shared_hit_blocks": 10, "shared_read_blocks": 29})
    assert report.diff.counters_changed(base, more) == "shared blocks (hit + read) 29 → 39"


def test_summary_sentences() -> None:
    s = report.summary_frame(current_results()).set_index("subject")["finding"]
    assert "batched is fastest (8.30 ms, 2 statements)" in s["users_latest_posts"]
    feed = s["posts_feed"]
    assert "offset grows linearly (+2.00 ms and +20 buffers per 1,000 rows of depth; 100 ms at depth 50,000)" in feed
    assert "keyset stays flat (0 ms and 0 buffers per 1,000 rows of depth; 0.100 ms at depth 50,000)" in feed
    assert "40.0× faster than no index (20.0 ms)" in s["posts_by_author_status"]
    assert report.summary_frame(RunResults(environment(), ())).empty


@pytest.mark.parametrize(
    ("fn", "value", "text"),
    [
        (fmt.fmt_ms, 0.12345, "0.123 ms"),
        (fmt.fmt_ms, 12.345, "12.3 ms"),
        (fmt.fmt_ms, 12345.6, "12,346 ms"),
        (fmt.fmt_ms, float("nan"), "–"),
        (fmt.fmt_bytes, 2_000_000, "1.9 MiB"),
        (fmt.fmt_count, 1001.0, "1,001"),
        (fmt.fmt_pct, 12.34, "+12.3 %"),
        (fmt.fmt_ratio, 40.0, "40.0×"),
    ],
)
def test_formatting_for_people(fn: object, value: float, text: str) -> None:
    assert fn(value) == text  # type: ignore[operator]


def test_format_frame_headers_and_units() -> None:
    shown = report.format_frame(report.pagination_slopes(current_results()))
    assert "time slope" in shown.columns
    assert shown["time slope"].iloc[0] == "2.00 ms / 1k rows"


# -- figures ---------------------------------------------------------------------------------------


def test_figures_have_titles_labels_and_log_scales() -> None:
    figs = report.figures(current_results())
    assert set(figs) == {
        "loading/users_latest_posts/time",
        "loading/users_latest_posts/modelled",
        "loading/users_latest_posts/transfer",
        "pagination/posts_feed/depth",
        "indexes/speedup",
        "indexes/size_vs_speedup",
        "indexes/write_overhead",
    }
    for name, fig in figs.items():
        titled = fig.get_suptitle() or all(ax.get_title() for ax in fig.axes if ax.get_label() != "<colorbar>")
        assert titled, name
        plot_axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert all(ax.get_xlabel() for ax in plot_axes), name
        assert plot_axes[0].get_ylabel(), name
        assert any("PostgreSQL 15.18" in t.get_text() and "seed 42" in t.get_text() for t in fig.texts), name
    loading = figs["loading/users_latest_posts/time"].axes[0]
    assert (loading.get_xscale(), loading.get_yscale()) == ("log", "log")
    assert "ms" in loading.get_ylabel()
    t_ax, b_ax = figs["pagination/posts_feed/depth"].axes[:2]
    assert b_ax.get_yscale() == "log" and "buffers" in b_ax.get_ylabel()
    assert t_ax.get_xscale() == "symlog"  # depth 0 (the first page) is among the depths
    assert t_ax.get_yscale() == "log"
    assert "2.00 ms / 1k rows" in " ".join(t.get_text() for t in t_ax.get_legend().get_texts())
    assert figs["indexes/write_overhead"].axes[0].get_xscale() == "linear"


def test_figures_skip_missing_scenarios() -> None:
    assert set(report.figures(loading_only_results())) == {
        "loading/users_latest_posts/time",
        "loading/users_latest_posts/modelled",
        "loading/users_latest_posts/transfer",
    }
    assert report.figures(RunResults(environment(), ())) == {}


# -- HTML ------------------------------------------------------------------------------------------


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href"):
                self.refs.append((tag, k, v or ""))
            if k == "id":
                self.ids.append(v or "")


def _parse(path: Path) -> tuple[str, _Refs]:
    text = path.read_text()
    p = _Refs()
    p.feed(text)
    return text, p


def test_html_is_self_contained_with_environment_and_sections(reports: Reports) -> None:
    out = reports.one
    text, p = _parse(out)
    assert not {"script", "link", "iframe"} & set(p.tags)
    imgs = [v for tag, _, v in p.refs if tag == "img"]
    assert len(imgs) == 7  # loading: time, modelled, transferred; pagination; indexes: heatmap, sizes, writes
    assert all(v.startswith("data:image/png;base64,") for v in imgs)
    assert all(v.startswith(("#", "data:")) for _, _, v in p.refs)
    assert "http://" not in text and "https://" not in text
    assert {"environment", "summary", "loading", "pagination", "indexes", "all"} <= set(p.ids)
    assert "differences" not in p.ids
    for needle in (
        "15.18 (embedded)",
        "shared_buffers=128MB",
        "f1ngerpr1nt",
        "bench-1: Linux 6.1 x86_64, 8 CPUs, 16.0 GiB RAM",
        "Drift under concurrent",
    ):
        assert needle in text
    assert "2.00 ms / 1k rows" in text
    assert "could not be drawn" not in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [f.name for f in out.parent.iterdir()] == ["report.html"]  # no temporary file left behind


def test_html_two_runs_side_by_side_with_differences(reports: Reports) -> None:
    text, p = _parse(reports.two)
    assert "differences" in p.ids
    assert 'class="runs"' in text
    assert "+100.0 %" in text
    assert '<td class="slower">slower</td>' in text
    assert "statements 3 → 2" in text
    assert "git fedcba9876" in text and "git 0123456789" in text
    assert "4 slower, 0 faster, 23 not significant, 4 new, 0 removed" in text
    assert "could not be drawn" not in text


def test_html_handles_missing_scenarios(tmp_path: Path) -> None:
    text, p = _parse(report.render_html([loading_only_results()], tmp_path / "partial.html"))
    assert "loading" in p.ids
    assert "pagination" not in p.ids and "indexes" not in p.ids
    assert "Not in this run: Pagination, Index strategies." in text
    empty = RunResults(environment(), ())
    text, p = _parse(report.render_html([empty], tmp_path / "empty.html"))
    assert "15.18" in text and "no benchmarks" in text
    mixed = [loading_only_results(), pagination_only_results()]
    text, p = _parse(report.render_html(mixed, tmp_path / "mixed.html"))
    assert {"loading", "pagination"} <= set(p.ids)
    assert "Pagination: not measured in this run." in text
    assert "Loading strategies: not measured in this run." in text


def test_render_files_reports_bad_files(results_files: ResultsFiles, tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="not found"):
        paths.render_files([tmp_path / "missing.json"], tmp_path / "r.html")
    out = paths.render_files([results_files.loading_only, results_files.loading_only], tmp_path / "r.html")
    assert "baseline: loading-only" in out.read_text()


# -- CLI and discovery ------------------------------------------------------------------------------


def test_cli_report(results_files: ResultsFiles, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "report.html"
    res = runner.invoke(cli, ["report", str(results_files.loading_only), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.exists() and "report written to" in res.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": ')
    for args in (["report", str(tmp_path / "nope.json")], ["report", str(bad)]):
        res = runner.invoke(cli, args)
        assert res.exit_code == 2  # a missing or unreadable input file is a usage error, as in compare
        assert "Traceback" not in res.output
        assert len(res.output.strip().splitlines()) == 1
    assert runner.invoke(cli, ["report"]).exit_code == 2


def test_cli_notebook_without_jupyter_prints_how(results_files: ResultsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths.shutil, "which", lambda *a, **k: None)
    res = CliRunner().invoke(cli, ["notebook", "--results", str(results_files.current)])
    assert res.exit_code == 0, res.output
    assert "-m pip install jupyterlab" in res.output
    assert f"PERFKIT_RESULTS={results_files.current}" in res.output
    assert re.search(r"jupyter lab \S*notebooks", res.output)


def test_cli_notebook_launches_jupyter(results_files: ResultsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[str, ...], dict[str, str]]] = []
    monkeypatch.setattr(paths.shutil, "which", lambda tool, path=None: f"/opt/jup/bin/{tool}")
    cli_module = sys.modules["perfkit.cli.report"]  # the attribute perfkit.cli.report is the click command
    monkeypatch.setattr(cli_module.subprocess, "call", lambda argv, cwd, env: calls.append((argv, env)) or 0)
    res = CliRunner().invoke(cli, ["notebook", "--results", str(results_files.current)])
    assert res.exit_code == 0, res.output
    argv, env = calls[0]
    assert argv[:2] == ("/opt/jup/bin/jupyter", "lab") and argv[2].endswith("notebooks")
    assert env["PERFKIT_RESULTS"] == str(results_files.current)
    res = CliRunner().invoke(cli, ["notebook", "--results", "/nonexistent/results.json"])
    assert res.exit_code == 2 and "not found" in res.output


def test_without_jupyterlab_the_printed_commands_work(
    results_files: ResultsFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The hint said 'see the README', which gave no command, and a bare `jupyter` that is not on PATH."""
    import shutil as _shutil
    import subprocess

    folder = tmp_path / "notebooks"
    folder.mkdir()
    _shutil.copy(paths.notebooks_dir() / "00-overview.ipynb", folder)
    monkeypatch.setattr(paths, "notebooks_dir", lambda: folder)
    monkeypatch.setattr(paths.shutil, "which", lambda tool, path=None: None)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["notebook", "--results", str(results_files.current)])
    assert res.exit_code == 0, res.output
    lines = [ln.strip() for ln in res.output.splitlines()]
    assert lines[lines.index("then run:") + 1].split()[1] == str(Path(sys.executable).parent / "jupyter")
    headless = lines[lines.index(f"or run the notebooks headless (no browser), as HTML in {paths.HEADLESS_OUT}/:") + 1]
    done = subprocess.run(["bash", "-c", headless], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / paths.HEADLESS_OUT / "00-overview.html").stat().st_size > 10_000


def test_default_results_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from perfkit.results import write

    old = write(current_results(), tmp_path / "perfkit-out" / "old" / "results.json")
    new = write(current_results(), tmp_path / "perfkit-out" / "new" / "results.json")
    os.utime(old, (1_000_000, 1_000_000))
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    monkeypatch.delenv("PERFKIT_RESULTS", raising=False)
    assert paths.find_results() == [new, old]
    assert paths.default_results_path() == new
    assert paths.default_results_path(nth=1) == old
    with pytest.raises(ResultsError, match="PERFKIT_RESULTS"):
        paths.default_results_path(nth=2)
    monkeypatch.setenv("PERFKIT_RESULTS", str(old))
    assert load(paths.default_results_path()).environment.seed == 42
    assert paths.default_results_path() == old


# -- tester's findings (repfix) ---------------------------------------------------------------------


def test_plan_shape_is_a_set_not_an_order() -> None:
    from perfkit.report.frames import plan_shape

    shape = plan_shape({"node_types": ["Limit", "Index Scan"], "indexes": ["idx_a"]})
    assert shape == "Index Scan, Limit using idx_a"
    assert "›" not in shape


def test_summary_says_overlapping_cis_are_indistinguishable() -> None:
    from perfkit.report.summary import summary_frame

    p = {"n": 100}
    runs = RunResults(
        environment=environment(),
        benchmarks=(
            bench("loading", "w", "batched", p, 36.9, {"statements": 2}, spread=0.5),
            bench("loading", "w", "join", p, 39.0, {"statements": 1}, spread=0.5),
            bench("loading", "w", "n_plus_one", p, 400.0, {"statements": 101}),
        ),
    )
    text = summary_frame(runs)["finding"].iloc[0]
    assert "batched and join are indistinguishable (CIs overlap" in text
    assert "is fastest" not in text


def test_diff_uses_compare_significance_and_one_sample() -> None:
    from perfkit.report.diff import timing_verdict

    b = bench("loading", "w", "join", {"n": 1}, 10.0, {})
    slow = bench("loading", "w", "join", {"n": 1}, 20.0, {})
    assert timing_verdict(b, slow) == "slower"
    assert timing_verdict(slow, b) == "faster"
    one = dataclasses.replace(slow, samples_ms=(20.0,), stats=None)
    assert timing_verdict(b, one) == "n/a (1 sample)"


@pytest.mark.parametrize(
    ("col", "value", "text"),
    [
        ("r2_ms", 0.19, "0.190"),
        ("slope_buffers_per_1k", 4.022e-13, "0"),
        ("slope_rows_read_per_1k", -1.15e-16, "0"),
        ("rows_per_logical_row", 1 / 750, "0.0013"),
        ("bytes_vs_batched", 1.23456, "1.23×"),
        ("size_bytes", 1008 * 1024, "0.98 MiB"),
    ],
)
def test_formatting_fixes(col: str, value: float, text: str) -> None:
    from perfkit.report import format_frame

    assert format_frame(pd.DataFrame({col: [value]})).iat[0, 0] == text


def test_same_plan_cells_are_not_slowdowns() -> None:
    from perfkit.report.frames import index_same_plan

    plan = {"node_types": ["Seq Scan"], "indexes": []}
    runs = RunResults(
        environment=environment(),
        benchmarks=(
            bench("indexes", "q", "none", {}, 10.0, {}, plan=plan),
            bench("indexes", "q", "single", {}, 14.0, {}, plan=plan),
            bench("indexes", "q", "composite", {}, 1.0, {}, plan={"node_types": ["Index Scan"], "indexes": ["i"]}),
        ),
    )
    same = index_same_plan(runs)
    assert bool(same.loc["q", "single"]) and not bool(same.loc["q", "composite"]) and not bool(same.loc["q", "none"])
    from perfkit.report.plots import index_heatmap

    texts = [t.get_text() for t in index_heatmap(runs).axes[0].texts]
    assert "same plan" in texts and "0.71×" not in texts


def test_coinciding_lines_are_both_visible() -> None:
    from matplotlib.figure import Figure

    from perfkit.report.plots import _lines

    ax = Figure().add_subplot()
    df = pd.DataFrame({"d": [0, 1, 0, 1], "b": [5.0, 6.0, 5.0, 6.0], "s": ["offset", "offset", "keyset", "keyset"]})
    _lines(ax, df, "d", "b", "s")
    a, b = ax.get_lines()
    assert b.get_label() == "keyset (same as offset)" and b.get_linestyle() != a.get_linestyle()


def test_two_runs_share_y_limits_and_three_stack(tmp_path: Path) -> None:
    from perfkit.report import _html as h

    figs = []
    for top in (10.0, 100.0):
        from matplotlib.figure import Figure

        f = Figure()
        f.add_subplot().plot([0, 1], [0, top])
        figs.append(("kind", f))
    h.share_y("", figs)
    assert figs[0][1].axes[0].get_ylim() == figs[1][1].axes[0].get_ylim()
    assert "--runs:1" in h.runs_grid([("a", "x"), ("b", "y"), ("c", "z")])
    assert "--runs:2" in h.runs_grid([("a", "x"), ("b", "y")])


def test_pivot_tables_wrap_instead_of_scrolling() -> None:
    from perfkit.report import _html as h

    wide = pd.DataFrame({f"set{i}": ["Bitmap Heap Scan, Bitmap Index Scan using pk_ix_long_name"] for i in range(9)})
    assert 'class="wide grid"' in h.pivot_table(wide.set_axis(["q"]), "query")
    assert "overflow-wrap:anywhere" in h.CSS


def test_differences_judge_each_scenario_against_its_drift_and_other_protocols_not_at_all() -> None:
    from tests import _runs

    specs = [("loading", f"l{i}", 5.0 + i) for i in range(6)] + [("pagination", f"p{i}", 1.0 + i) for i in range(6)]
    factor = {"l5": 1.5} | {f"p{i}": 1.4 for i in range(6)}  # l5 really slower; all of pagination hit a busy spell

    def runs(env: Any = None) -> tuple[RunResults, RunResults]:
        def one(k0: int, f: dict[str, float]) -> RunResults:
            benches = (
                _runs.bench(
                    scenario=sc,
                    name=n,
                    times=_runs.samples(m * f.get(n, 1.0), n=30, noise=0.05, seed=k0 + k),
                    counters={"statements": 3, "server_ms": m * f.get(n, 1.0) / 2},
                )
                for k, (sc, n, m) in enumerate(specs)
            )
            return _runs.run(*benches, environment=env)

        return one(0, {}), one(100, factor)

    base, cur = runs()
    df = report.comparison_frame(base, cur).set_index("name")
    assert set(df.index[df["verdict"] == "slower"]) == {"l5"}
    assert df.loc["p0", "change_pct"] == pytest.approx(40, abs=8)  # the raw change is still shown
    assert (df["counters_changed"] == "").all()  # server_ms is a timing: never "changed"
    assert any("pagination benchmarks are 4" in n for n in report.diff.drift_notes(base, cur))
    old = dataclasses.replace(base, environment=_runs.env(timing_protocol="1 (back to back)"))
    assert set(report.comparison_frame(old, cur)["verdict"]) == {"not comparable"}
    assert report.diff.drift_notes(old, cur) == []


def test_the_status_mix_reads_the_same_whatever_order_it_was_stored_in() -> None:
    a = {"rows": {}, "status_mix": {"published": 0.7, "draft": 0.2, "archived": 0.1}}
    b = {"rows": {}, "status_mix": {"draft": 0.2, "archived": 0.1, "published": 0.7}}  # as JSONB gives it back
    assert fmt.realism_line(a) == fmt.realism_line(b)
    assert "status published 70%, draft 20%, archived 10%" in fmt.realism_line(a)


def test_the_report_calls_slower_and_faster_exactly_what_compare_calls_regressions_and_improvements() -> None:
    """With the index scenario 40% faster as a whole, a benchmark 15% slower as measured (+92% vs drift) read
    'slower' in the report while `perfkit compare` passed it."""
    from perfkit.compare import compare
    from tests import _runs

    specs = [(f"x{i}", 5.0 + i, 0.6) for i in range(6)] + [
        ("plus15", 2.0, 1.15),
        ("plus30", 3.0, 1.3),
        ("same", 4.0, 1.0),
    ]
    specs += [("minus50", 6.0, 0.3)]

    def one(k0: int, scale: bool) -> RunResults:
        return _runs.run(
            *(
                _runs.bench(name=n, times=_runs.samples(m * (f if scale else 1.0), n=30, noise=0.01, seed=k0 + k))
                for k, (n, m, f) in enumerate(specs)
            )
        )

    base, cur = one(0, False), one(100, True)
    df = report.comparison_frame(base, cur).set_index("name")
    verdicts = {
        b.name: {r.verdict for r in b.results if r.metric == "time:median"} for b in compare(base, cur).benchmarks
    }
    for name, got in df["verdict"].items():
        want = {"regression": "slower", "improvement": "faster"}.get(next(iter(verdicts[name])), "not significant")
        assert got == want, (name, got, verdicts[name])
    assert df.loc["plus15", "verdict"] == "not significant" and df.loc["plus30", "verdict"] == "slower"
    assert df.loc["minus50", "verdict"] == "faster"
