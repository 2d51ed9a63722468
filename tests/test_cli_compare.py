"""`perfkit compare`, `baseline`, `export` on the command line: exit 0 within limits, 1 on regression, 2 bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from perfkit import results
from perfkit.cli import cli
from perfkit.results import SCHEMA_VERSION
from tests._runs import bench, env, plan, run, samples

COUNTERS = {"statements": 3, "shared_hit_blocks": 100, "shared_read_blocks": 0, "rows_removed": 0}


def write_run(path: Path, *, median: float = 10.0, seed: int = 1, **kw: object) -> Path:
    counters = dict(COUNTERS)
    counters.update(kw.pop("counters", {}))  # type: ignore[call-overload]
    b = bench(
        times=samples(median, n=30, seed=seed),
        counters=counters,
        plan=kw.pop("plan", plan(["Index Scan"], ["idx_posts_author_status"])),  # type: ignore[arg-type]
        variant=str(kw.pop("variant", "composite")),
    )
    return results.write(run(b, environment=env(**kw)), path)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="perfkit")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder as the working directory (no pyproject.toml: default checks), a fixed machine name."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PERFKIT_MACHINE", "ci")
    return tmp_path


@pytest.fixture
def base(project: Path) -> Path:
    return write_run(project / "base.json")


def assert_usage_error(res: Result, fragment: str) -> None:
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error:")
    assert fragment in lines[0]


def test_within_limits_exits_0(base: Path, project: Path) -> None:
    cur = write_run(project / "cur.json", seed=2)
    res = invoke("compare", str(base), str(cur))
    assert res.exit_code == 0, res.output
    assert "no regression in 1 benchmark(s)" in res.stdout


@pytest.mark.parametrize(
    ("change", "spec", "metric"),
    [
        ({"median": 15.0}, "time:median:+20%", "time:median"),
        ({"counters": {"statements": 4}}, "statements:+0", "statements"),
        ({"counters": {"shared_read_blocks": 20}}, "buffers:+10%", "buffers"),
        ({"counters": {"rows_removed": 9}}, "counter:rows_removed:+0", "counter:rows_removed"),
        ({"plan": plan(["Seq Scan"], [])}, "plan:changed", "plan"),
    ],
)
def test_regression_exits_1_on_the_right_metric(
    base: Path, project: Path, change: dict[str, object], spec: str, metric: str
) -> None:
    cur = write_run(project / "cur.json", seed=2, **change)
    res = invoke("compare", str(base), str(cur), "--format", "json")
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    failing = [
        r["metric"] for b in doc["benchmarks"] for r in b["results"] if r["verdict"] in ("regression", "changed")
    ]
    assert failing == [metric if not metric.startswith("counter:") else "rows_removed"]
    # only that spec given: the same gate, alone
    res = invoke("compare", str(base), str(cur), "--fail", spec, "--format", "json")
    assert res.exit_code == 1
    assert json.loads(res.stdout)["checks"] == [spec]


def test_an_unwritable_summary_is_bad_input_not_a_regression(base: Path, project: Path) -> None:
    cur = write_run(project / "cur.json", seed=2, counters={"statements": 30})  # a regression too: 2 still wins
    res = invoke("compare", str(base), str(cur), "--summary", str(project / "no-such-folder" / "summary.md"))
    assert_usage_error(res, "cannot write the comparison: No such file or directory")


def test_markdown_and_summary_file(base: Path, project: Path) -> None:
    cur = write_run(project / "cur.json", seed=2, counters={"statements": 30})
    summary = project / "summary.md"
    res = invoke("compare", str(base), str(cur), "--format", "markdown", "--summary", str(summary))
    assert res.exit_code == 1
    assert res.stdout.startswith("## perfkit compare")
    assert "| `indexes/posts_by_author_status/composite[]` | statements | 3 | 30 | +27 | **regression** |" in res.stdout
    assert summary.read_text() == res.stdout


def test_pyproject_thresholds(base: Path, project: Path) -> None:
    cur = write_run(project / "cur.json", seed=2, counters={"statements": 4})
    (project / "pyproject.toml").write_text('[tool.perfkit]\nfail = ["statements:+1"]\n')
    res = invoke("compare", str(base), str(cur), "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["checks"] == ["statements:+1"]
    (project / "pyproject.toml").write_text('[tool.perfkit]\nfail = ["statements:one"]\n')
    assert_usage_error(invoke("compare", str(base), str(cur)), "bad threshold 'statements:one'")


# -- bad input: exit 2 -------------------------------------------------------------------------------


def test_a_counter_neither_file_records_exits_2(base: Path, project: Path) -> None:
    # it used to report "no regression in 1 benchmark(s)" and exit 0: a CI gate silently off
    cur = write_run(project / "cur.json", seed=2, counters={"statements": 30})
    res = invoke("compare", str(base), str(cur), "--fail", "counter:nonexistent:+0")
    assert_usage_error(
        res,
        "bad threshold 'counter:nonexistent:+0': counter 'nonexistent' is recorded in no benchmark of either file "
        "(known counters: rows_removed, shared_hit_blocks, shared_read_blocks, statements)",
    )
    assert res.stdout == ""
    res = invoke("compare", str(base), str(cur), "--fail", "statements:+0", "--fail", "counter:statments:+0")
    assert_usage_error(res, "counter 'statments' is recorded in no benchmark of either file (did you mean 'statements'")
    assert invoke("compare", str(base), str(cur), "--fail", "counter:statements:+0").exit_code == 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # a misspelt key used to be ignored: the defaults gated instead, silently
        ('[tool.perfkit]\nfails = ["statements:+0"]\n', "unknown key 'fails' in [tool.perfkit] (known keys: fail)"),
        # an empty list used to compare nothing and exit 0
        ("[tool.perfkit]\nfail = []\n", "[tool.perfkit] fail is empty, so nothing would be gated"),
        (
            '[tool.perfkit]\nfail = ["counter:rows_raed:+0"]\n',
            "pyproject.toml: bad threshold 'counter:rows_raed:+0': counter 'rows_raed' is recorded in no benchmark",
        ),
    ],
)
def test_a_pyproject_that_would_gate_nothing_exits_2(base: Path, project: Path, text: str, fragment: str) -> None:
    cur = write_run(project / "cur.json", seed=2)
    (project / "pyproject.toml").write_text(text)
    assert_usage_error(invoke("compare", str(base), str(cur)), fragment)
    # --fail replaces the file's list, which is then not read
    assert invoke("compare", str(base), str(cur), "--fail", "statements:+0").exit_code == 0


def test_missing_baseline(project: Path, base: Path) -> None:
    # a path is a file that is not there; a bare name is a saved baseline that is not there either
    assert_usage_error(invoke("compare", str(project / "nope.json"), str(base)), f"no such results file: {project}")
    assert_usage_error(invoke("compare", "nope", str(base)), "baseline not found: nope (neither a file nor a baseline")


def test_missing_current(base: Path, project: Path) -> None:
    assert_usage_error(invoke("compare", str(base), str(project / "nope.json")), "not found")


def test_corrupt_baseline(project: Path, base: Path) -> None:
    bad = project / "corrupt.json"
    bad.write_text("this is not json")
    assert_usage_error(invoke("compare", str(bad), str(base)), "not valid JSON")


def test_truncated_baseline(project: Path, base: Path) -> None:
    bad = project / "truncated.json"
    bad.write_text(base.read_text()[: len(base.read_text()) // 2])
    assert_usage_error(invoke("compare", str(bad), str(base)), "truncated or corrupt")


def test_foreign_json_baseline(project: Path, base: Path) -> None:
    bad = project / "foreign.json"
    bad.write_text('{"benchmarks": []}')
    assert_usage_error(invoke("compare", str(bad), str(base)), "not a perfkit results file")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "other"}', "its format is 'other'"),
        ('{"format": "perfkit-results", "schema_version": 2, "environment": {}, "benchmarks": {}}', "benchmarks"),
    ],
)
def test_structurally_wrong_baseline(project: Path, base: Path, content: str, message: str) -> None:
    bad = project / "wrong.json"
    bad.write_text(content)
    result = invoke("compare", str(bad), str(base))
    assert_usage_error(result, message)
    assert str(bad) in result.stderr and "Error" not in result.stderr.replace("error:", "")


def _edited(source: Path, target: Path, change: object) -> Path:
    doc = json.loads(source.read_text())
    change(doc["benchmarks"][0])  # type: ignore[operator]
    target.write_text(json.dumps(doc))
    return target


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # compared letter by letter, this was "current: I > n > d > e > x ..." and exit 1: a false regression
        (lambda b: b["plan"].update(node_types="Index Scan"), "plan.node_types must be a list, not a string"),
        (lambda b: b.update(samples_ms=[]), "stats.n is 30 but benchmarks[0].samples_ms holds no samples"),
        (lambda b: b.update(stats=None), "stats is null but benchmarks[0].samples_ms holds 30 samples"),
        (lambda b: b["samples_ms"].__setitem__(3, -0.5), "samples_ms[3] must be a number >= 0"),
    ],
)
def test_nonsense_in_the_current_run_exits_2_not_1(base: Path, project: Path, change: object, message: str) -> None:
    cur = _edited(write_run(project / "cur.json", seed=2), project / "edited.json", change)
    res = invoke("compare", str(base), str(cur))
    assert_usage_error(res, message)
    assert str(cur) in res.stderr


def test_a_benchmark_twice_exits_2(base: Path, project: Path) -> None:
    doc = json.loads(base.read_text())
    doc["benchmarks"].append(dict(doc["benchmarks"][0], samples_ms=doc["benchmarks"][0]["samples_ms"][::-1]))
    twice = project / "twice.json"
    twice.write_text(json.dumps(doc))
    assert_usage_error(invoke("compare", str(twice), str(base)), "benchmarks[1] repeats benchmark")


def test_newer_format_baseline(project: Path, base: Path) -> None:
    doc = json.loads(base.read_text())
    doc["schema_version"] = SCHEMA_VERSION + 1
    newer = project / "newer.json"
    newer.write_text(json.dumps(doc))
    assert_usage_error(invoke("compare", str(newer), str(base)), "newer than this perfkit understands")


@pytest.mark.parametrize("spec", ["time:median:20", "buffers", "nonsense:+1%", "plan:maybe"])
def test_bad_spec(base: Path, spec: str) -> None:
    assert_usage_error(invoke("compare", str(base), str(base), "--fail", spec), "bad threshold")


def test_no_common_benchmark(base: Path, project: Path) -> None:
    other = write_run(project / "other.json", variant="single")
    assert_usage_error(invoke("compare", str(base), str(other)), "no benchmark in common")


def test_environment_mismatch(base: Path, project: Path) -> None:
    other = write_run(project / "other.json", seed=2, server_version="16.4")
    assert_usage_error(invoke("compare", str(base), str(other)), "server_version: 15.18 -> 16.4")
    res = invoke("compare", str(base), str(other), "--allow-env-mismatch", "--format", "markdown")
    assert res.exit_code == 0, res.output
    assert "ENVIRONMENTS DIFFER" in res.stderr
    assert "> **Warning:** ENVIRONMENTS DIFFER" in res.stdout


# -- baselines and export ----------------------------------------------------------------------------


def test_baseline_save_list_and_compare_by_name(project: Path) -> None:
    run_dir = project / "perfkit-out" / "run-1"
    write_run(run_dir / "results.json")
    res = invoke("baseline", "save", "main")  # default: the newest perfkit-out/*/results.json
    assert res.exit_code == 0, res.output
    saved = project / ".perfkit" / "baselines" / "ci" / "main.json"
    assert saved.exists()
    assert invoke("baseline", "save", "--results", str(run_dir / "results.json")).exit_code == 0
    listing = invoke("baseline", "list")
    assert listing.exit_code == 0
    assert listing.stdout.count(" ci ") == 2
    assert "main" in listing.stdout
    cur = write_run(project / "cur.json", seed=3)
    assert invoke("compare", "main", str(cur)).exit_code == 0
    assert invoke("compare", "latest", str(cur)).exit_code == 0


def test_baseline_save_bad_input(project: Path) -> None:
    assert_usage_error(invoke("baseline", "save"), "no results.json under perfkit-out")
    assert_usage_error(invoke("baseline", "save", "--results", "nope.json"), "not found")
    write_run(project / "r.json")
    assert_usage_error(invoke("baseline", "save", "../x", "--results", "r.json"), "bad baseline name")


def test_export_cli(project: Path) -> None:
    src = write_run(project / "r.json")
    res = invoke("export", "--format", "pytest-benchmark", str(src), "-o", str(project / "pb.json"))
    assert res.exit_code == 0, res.output
    doc = json.loads((project / "pb.json").read_text())
    assert doc["benchmarks"][0]["stats"]["rounds"] == 30
    assert_usage_error(invoke("export", "missing.json", "-o", "x.json"), "not found")
