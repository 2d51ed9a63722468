"""The results format: round trip, atomic writes, clear errors, and step-by-step upgrades."""

from __future__ import annotations

import json
import os
import stat
import threading
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from perfkit import _results_upgrade
from perfkit import results as R
from perfkit._atomic import write_text
from perfkit.errors import ResultsError
from perfkit.stats import summarize


def sample_results() -> R.RunResults:
    env = R.Environment(
        server_version="15.18",
        server_settings={"work_mem": "4MB"},
        machine={"hostname": "h"},
        python_version="3.11.7",
        perfkit_version="0.1.0",
        git_commit=None,
        scale=0.01,
        seed=7,
        profile="default",
        data_fingerprint="abc",
        embedded=True,
        started_at="2026-12-03T00:00:00+00:00",
    )
    samples = (1.0, 2.0, 3.0, 4.0, 5.0)
    b = R.Benchmark(
        "loading",
        "users_latest_posts",
        "join",
        {"n": 10},
        samples,
        summarize(samples),
        {"statements": 1.0},
        plan={"node_types": ["Limit"], "indexes": [], "seq_scans": []},
        version="v1",
    )
    return R.RunResults(environment=env, benchmarks=(b,), tables={"t": ({"a": 1},)})


def test_round_trip(tmp_path: Path) -> None:
    original = sample_results()
    path = R.write(original, tmp_path / "out" / "results.json")
    loaded = R.load(path)
    assert loaded == original
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == R.SCHEMA_VERSION
    assert doc["benchmarks"][0]["stats"]["median_ms"] == 3.0
    assert path.stat().st_mode & 0o044 == 0o044  # shareable


def test_counts_stay_integers_through_load_and_rewrite(tmp_path: Path) -> None:
    """A baseline is a results file loaded and written again: its counts stay 2, never become 2.0."""
    b = replace(sample_results().benchmarks[0], counters={"statements": 3, "warmup_runs": 2, "server_ms": 0.25})
    first = R.write(replace(sample_results(), benchmarks=(b,)), tmp_path / "a.json")
    again = R.write(R.load(first), tmp_path / "b.json")
    counters = json.loads(again.read_text())["benchmarks"][0]["counters"]
    assert counters == {"statements": 3, "warmup_runs": 2, "server_ms": 0.25}
    assert [type(counters[k]) for k in ("statements", "warmup_runs", "server_ms")] == [int, int, float]


def test_a_count_written_as_a_whole_float_loads_as_an_integer() -> None:
    """3.0 statements is 3 (another tool may write it so); means and ratios keep their fractions."""
    doc = _mutated(lambda d: d["benchmarks"][0]["counters"].update(statements=3.0, server_ms=2.0, row_explosion=1.5))
    counters = R.from_dict(doc).benchmarks[0].counters
    assert (counters["statements"], counters["server_ms"], counters["row_explosion"]) == (3, 2.0, 1.5)
    assert [type(counters[k]) for k in ("statements", "server_ms")] == [int, float]


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.json"
    R.write(sample_results(), path)
    before = path.read_text()

    def boom(*_a: Any, **_k: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", boom)
    with pytest.raises(OSError, match="No space left on device") as err:
        R.write(sample_results(), path)
    monkeypatch.undo()
    assert err.value.filename == str(path)  # the target, not the temporary file
    assert path.read_text() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp file left behind


def test_write_goes_through_links_pipes_and_devices(tmp_path: Path) -> None:
    """The rename replaced whatever the path named: `report -o /dev/full` left a plain file where the device was,
    a symbolic link became a file, and a reader waiting on a named pipe got nothing."""
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_text(link, "through the link")
    assert link.is_symlink() and real.read_text() == "through the link"
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_text()))
    reader.start()
    write_text(pipe, "to whoever reads")
    reader.join(10)
    assert got == ["to whoever reads"] and stat.S_ISFIFO(pipe.stat().st_mode)
    full = Path("/dev/full")  # as root (CI), a device of the test's own: a broken writer then replaces only that
    if os.geteuid() == 0:
        full = tmp_path / "full"
        os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    with pytest.raises(OSError, match="No space left on device"):  # a device: written to, and its error is the error
        write_text(full, "x")
    assert stat.S_ISCHR(full.stat().st_mode)
    with pytest.raises(NotADirectoryError) as err:  # it said 'File exists: /etc/passwd/x.html'
        write_text(real / "x.json", "x")
    assert err.value.filename == str(real)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema_version": 1, "environment": ', "not valid JSON"),
        ("[1, 2]", "not a perfkit results file: the JSON is a list, not an object"),
        ('{"format": "other"}', "not a perfkit results file: its format is 'other', not 'perfkit-results'"),
        ('{"benchmarks": []}', 'not a perfkit results file: no "format": "perfkit-results"'),
        # every format version wrote "format": a file without it is not one of perfkit's, whatever else it holds
        ('{"schema_version": 1, "environment": {}, "benchmarks": []}', 'no "format": "perfkit-results"'),
        ('{"format": "perfkit-results", "benchmarks": []}', "missing field schema_version"),
        (
            '{"format": "perfkit-results", "schema_version": "2"}',
            "field schema_version must be an integer, not a string",
        ),
        ('{"format": "perfkit-results", "schema_version": 99}', "newer than this perfkit understands"),
        ('{"format": "perfkit-results", "schema_version": 0}', "version 0 is unknown and cannot be upgraded"),
        (
            '{"format": "perfkit-results", "schema_version": 1, "environment": {}, "benchmarks": []}',
            "missing field environment.server_version",
        ),
        ('{"format": "perfkit-results", "schema_version": 1, "benchmarks": []}', "missing field environment"),
    ],
)
def test_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ResultsError) as info:
        R.load(path)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


def _mutated(change: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(R.to_dict(sample_results())))
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(benchmarks={}), "field benchmarks must be a list, not an object"),
        (lambda d: d.update(environment=[]), "field environment must be an object, not a list"),
        (lambda d: d.update(tables=[]), "field tables must be an object, not a list"),
        (lambda d: d["benchmarks"].append(7), "field benchmarks[1] must be an object, not a number (7)"),
        (
            lambda d: d["benchmarks"][0].pop("samples_ms"),
            "missing field benchmarks[0].samples_ms (benchmark loading/users_latest_posts/join)",
        ),
        (lambda d: d["benchmarks"][0].pop("scenario"), "missing field benchmarks[0].scenario"),
        (
            lambda d: d["benchmarks"][0]["samples_ms"].__setitem__(2, "3.0"),
            "field benchmarks[0].samples_ms[2] must be a number, not a string ('3.0')",
        ),
        (lambda d: d["benchmarks"][0].update(samples_ms=3), "field benchmarks[0].samples_ms must be a list"),
        (lambda d: d["benchmarks"][0]["stats"].pop("median_ms"), "missing field benchmarks[0].stats.median_ms"),
        (lambda d: d["benchmarks"][0].update(stats=[1]), "field benchmarks[0].stats must be an object or null"),
        (
            lambda d: d["benchmarks"][0]["stats"].update(n=5.5),
            "field benchmarks[0].stats.n must be an integer, not a number (5.5)",
        ),
        (
            lambda d: d["benchmarks"][0]["counters"].update(statements=None),
            "field benchmarks[0].counters.statements must be a number, not null",
        ),
        (lambda d: d["benchmarks"][0]["counters"].update(rows=True), "counters.rows must be a number, not a boolean"),
        (lambda d: d["benchmarks"][0]["params"].update(n=[1]), "field benchmarks[0].params.n must be a string, number"),
        (lambda d: d["benchmarks"][0].update(notes="x"), "field benchmarks[0].notes must be a list"),
        (lambda d: d["benchmarks"][0].update(plan=3), "field benchmarks[0].plan must be an object or null"),
        # the plan summary: what plan:changed compares are lists of strings (a string compares letter by letter)
        (
            lambda d: d["benchmarks"][0]["plan"].update(node_types="Index Scan"),
            "field benchmarks[0].plan.node_types must be a list, not a string ('Index Scan') "
            "(benchmark loading/users_latest_posts/join)",
        ),
        (
            lambda d: d["benchmarks"][0]["plan"].update(node_types=["Limit", 7]),
            "field benchmarks[0].plan.node_types[1] must be a string, not a number (7)",
        ),
        (lambda d: d["benchmarks"][0]["plan"].pop("indexes"), "missing field benchmarks[0].plan.indexes"),
        (
            lambda d: d["benchmarks"][0]["plan"].update(seq_scans={"posts": 1}),
            "field benchmarks[0].plan.seq_scans must be a list, not an object",
        ),
        (
            lambda d: d["benchmarks"][0]["plan"].update(shared_hit_blocks="10"),
            "field benchmarks[0].plan.shared_hit_blocks must be an integer, not a string ('10')",
        ),
        (
            lambda d: d["benchmarks"][0]["plan"].update(planning_ms="fast"),
            "field benchmarks[0].plan.planning_ms must be a number or null, not a string ('fast')",
        ),
        (
            lambda d: d["benchmarks"][0]["plan"].update(index_only="yes"),
            "field benchmarks[0].plan.index_only must be a boolean",
        ),
        (
            lambda d: d["benchmarks"][0]["plan"].update(hottest_node="Limit"),
            "field benchmarks[0].plan.hottest_node must be an object or null",
        ),
        (
            lambda d: d["benchmarks"][0]["plan"].update(findings=[None]),
            "field benchmarks[0].plan.findings[0] must be a string, not null",
        ),
        (
            lambda d: d["benchmarks"][0]["plan"].update(index_scans=["idx"]),
            "field benchmarks[0].plan.index_scans[0] must be an object, not a string ('idx')",
        ),
        # samples that make no sense, and statistics that do not summarise them
        (
            lambda d: d["benchmarks"][0]["samples_ms"].__setitem__(1, float("nan")),
            "field benchmarks[0].samples_ms[1] must be a finite number, not NaN",
        ),
        (
            lambda d: d["benchmarks"][0]["samples_ms"].__setitem__(1, float("inf")),
            "field benchmarks[0].samples_ms[1] must be a finite number, not Infinity",
        ),
        (
            lambda d: d["benchmarks"][0]["samples_ms"].__setitem__(0, -1.0),
            "field benchmarks[0].samples_ms[0] must be a number >= 0, not a number (-1.0)",
        ),
        (
            lambda d: d["benchmarks"][0].update(samples_ms=[]),
            "field benchmarks[0].stats.n is 5 but benchmarks[0].samples_ms holds no samples",
        ),
        (
            lambda d: d["benchmarks"][0]["samples_ms"].pop(),
            "field benchmarks[0].stats.n is 5 but benchmarks[0].samples_ms holds 4 samples",
        ),
        (
            lambda d: d["benchmarks"][0].update(stats=None),
            "field benchmarks[0].stats is null but benchmarks[0].samples_ms holds 5 samples",
        ),
        (  # a median far outside the samples loaded, and every comparison would have used it
            lambda d: d["benchmarks"][0]["stats"].update(median_ms=999.0),
            "field benchmarks[0].stats.median_ms is 999 but the samples' is 3: the statistics must summarise",
        ),
        (
            lambda d: d["benchmarks"][0]["stats"].update(max_ms=d["benchmarks"][0]["stats"]["max_ms"] + 1),
            "field benchmarks[0].stats.max_ms is 6 but the samples' is 5",
        ),
        (
            lambda d: d["benchmarks"][0]["stats"].update(median_ms=float("nan")),
            "field benchmarks[0].stats.median_ms must be a finite number, not NaN",
        ),
        (
            lambda d: d["benchmarks"][0]["counters"].update(statements=float("-inf")),
            "field benchmarks[0].counters.statements must be a finite number, not -Infinity",
        ),
        (  # a count is whole: 3.5 statements loaded, and `statements:+0` gated against it
            lambda d: d["benchmarks"][0]["counters"].update(statements=3.5),
            "field benchmarks[0].counters.statements must be a whole number >= 0 (a count), not a number (3.5)",
        ),
        (  # compare read 3 -> -1 statements as an improvement
            lambda d: d["benchmarks"][0]["counters"].update(statements=-1),
            "field benchmarks[0].counters.statements must be a whole number >= 0 (a count), not a number (-1)",
        ),
        (
            lambda d: d["benchmarks"][0]["counters"].update(children_posts=0.5),
            "field benchmarks[0].counters.children_posts must be a whole number >= 0 (a count), not a number (0.5)",
        ),
        (
            lambda d: d["environment"].update(scale=float("inf")),
            "field environment.scale must be a finite number or null, not Infinity",
        ),
        (
            lambda d: d["benchmarks"].append(dict(d["benchmarks"][0], version="v2")),
            "benchmarks[1] repeats benchmark loading/users_latest_posts/join[n=10] (benchmarks[0]): each "
            "scenario/name/variant and parameters may appear once",
        ),
        (lambda d: d["environment"].update(embedded="yes"), "field environment.embedded must be a boolean"),
        (lambda d: d["environment"].update(seed=7.5), "field environment.seed must be an integer or null"),
        (lambda d: d["environment"].update(scale="big"), "field environment.scale must be a number or null"),
        (lambda d: d["environment"].pop("started_at"), "missing field environment.started_at"),
        (
            lambda d: d["environment"]["server_settings"].update(work_mem=4),
            "field environment.server_settings.work_mem must be a string, not a number (4)",
        ),
        (lambda d: d["tables"].update(t=[1]), "field tables.t[0] must be an object, not a number (1)"),
        (lambda d: d["tables"].update(t={"a": 1}), "field tables.t must be a list"),
    ],
)
def test_structural_errors_name_the_file_and_the_field(tmp_path: Path, change: Any, message: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_mutated(change)))
    with pytest.raises(ResultsError) as info:
        R.load(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text, text
    for internal in ("KeyError", "TypeError", "ValueError", "__init__", "argument", "Traceback"):
        assert internal not in text
    assert "\n" not in text


def test_what_the_writer_produces_legitimately_loads() -> None:
    """A benchmark without timings (no samples, null stats: counters and plan only), a single sample, no plan, and a
    plan with only the fields plan:changed compares all load."""
    bare = {"node_types": ["Seq Scan"], "indexes": [], "seq_scans": ["posts"]}
    doc = _mutated(
        lambda d: d["benchmarks"].extend(
            [
                dict(d["benchmarks"][0], variant="counted", samples_ms=[], stats=None),
                dict(d["benchmarks"][0], variant="once", samples_ms=[4.0], stats=asdict(summarize([4.0]))),
                dict(d["benchmarks"][0], variant="unplanned", plan=None),
                dict(d["benchmarks"][0], variant="bare", plan=bare),
                dict(d["benchmarks"][0], params={"n": 20}),  # same name and variant, other parameters
            ]
        )
    )
    loaded = R.from_dict(doc).benchmarks
    timings = [(b.variant, len(b.samples_ms), b.stats is None) for b in loaded[1:3]]
    assert timings == [("counted", 0, True), ("once", 1, False)]
    assert loaded[3].plan is None and loaded[4].plan == bare and len({b.key for b in loaded}) == 6


def test_write_refuses_what_load_would_refuse(tmp_path: Path) -> None:
    """perfkit never writes a file it cannot read back: a benchmark twice, or stats of other samples."""
    r = sample_results()
    twice = replace(r, benchmarks=(r.benchmarks[0], r.benchmarks[0]))
    with pytest.raises(ResultsError, match=r"refusing to write .*out\.json: benchmarks\[1\] repeats benchmark"):
        R.write(twice, tmp_path / "out.json")
    fewer = replace(r, benchmarks=(replace(r.benchmarks[0], samples_ms=(1.0,)),))
    with pytest.raises(ResultsError, match=r"stats.n is 5 but benchmarks\[0\].samples_ms holds 1 sample:"):
        R.write(fewer, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def test_unknown_fields_are_ignored() -> None:
    doc = _mutated(lambda d: (d.update(extra=1), d["environment"].update(extra=1), d["benchmarks"][0].update(x=1)))
    assert R.from_dict(doc) == sample_results()


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(b"\xff\xfe\x00{")
    with pytest.raises(ResultsError, match="not a perfkit results file: not UTF-8 text"):
        R.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="not found"):
        R.load(tmp_path / "nope.json")


def test_older_versions_upgrade_step_by_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """With format 3 current, a version-1 document goes through 1->2 and 2->3 in order."""
    calls: list[int] = []

    def step(frm: int) -> Any:
        def up(doc: dict[str, Any]) -> dict[str, Any]:
            calls.append(frm)
            return {**doc, "schema_version": frm + 1}

        return up

    monkeypatch.setattr(_results_upgrade, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(_results_upgrade, "UPGRADES", {1: step(1), 2: step(2)})
    assert R.upgrade({"schema_version": 1})["schema_version"] == 3
    assert calls == [1, 2]
    monkeypatch.setattr(_results_upgrade, "UPGRADES", {2: step(2)})
    with pytest.raises(ResultsError, match="cannot be upgraded"):
        R.upgrade({"schema_version": 1})


def test_version_1_file_loads_without_realism(tmp_path: Path) -> None:
    """Files written before the environment carried the realism report (format 1) still load, realism unknown."""
    doc = R.to_dict(sample_results())
    doc["schema_version"] = 1
    del doc["environment"]["realism"]
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(doc))
    loaded = R.load(path)
    assert loaded.environment.realism is None
    assert loaded.benchmarks == _legacy_names(sample_results().benchmarks)


def test_frames() -> None:
    r = sample_results()
    df = R.benchmarks_frame(r)
    assert list(df["param_n"]) == [10]
    assert list(df["median_ms"]) == [3.0]
    assert len(R.samples_frame(r)) == 5
    assert list(R.table_frame(r, "t")["a"]) == [1]


def _legacy_names(benches: tuple[R.Benchmark, ...]) -> tuple[R.Benchmark, ...]:
    """Benchmarks as read from a format-2 file: their plans marked as naming nodes as the JSON format does."""
    return tuple(
        replace(b, plan=None if b.plan is None else {**b.plan, "node_names": R.LEGACY_NODE_NAMES}) for b in benches
    )


def test_version_2_file_upgrades_machine_counts_and_single_samples(tmp_path: Path) -> None:
    """Format 2 wrote cpu_count and memory_bytes as text ("0" / "unknown" when not known) and a zero-width CI for
    a single sample; format 3 reads them as integers (None when unknown) and null spread."""
    doc = R.to_dict(sample_results())
    doc["schema_version"] = 2
    doc["environment"]["machine"] = {"hostname": "h", "cpu_count": "8", "memory_bytes": "17179869184"}
    one = dict(doc["benchmarks"][0], variant="once", samples_ms=[4.0])
    one["stats"] = {
        "n": 1, "median_ms": 4.0, "q1_ms": 4.0, "q3_ms": 4.0, "mean_ms": 4.0, "stdev_ms": 0.0, "min_ms": 4.0,
        "max_ms": 4.0, "ci_low_ms": 4.0, "ci_high_ms": 4.0,
    }  # fmt: skip
    doc["benchmarks"].append(one)
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(doc))
    loaded = R.load(path)
    assert loaded.environment.machine == {"hostname": "h", "cpu_count": 8, "memory_bytes": 17179869184}
    assert loaded.benchmarks[0] == _legacy_names(sample_results().benchmarks)[0]  # five samples: unchanged
    stats = loaded.benchmarks[1].stats
    assert stats is not None and (stats.n, stats.median_ms, stats.ci_low_ms, stats.ci_high_ms) == (1, 4.0, None, None)
    assert (stats.q1_ms, stats.q3_ms, stats.stdev_ms) == (None, None, None)
    doc["environment"]["machine"] = {"cpu_count": "0", "memory_bytes": "unknown"}
    path.write_text(json.dumps(doc))
    assert R.load(path).environment.machine == {"cpu_count": None, "memory_bytes": None}


def test_machine_counts_must_be_integers_in_format_3(tmp_path: Path) -> None:
    doc = R.to_dict(sample_results())
    doc["environment"]["machine"]["cpu_count"] = "8"
    path = tmp_path / "v3.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultsError, match=r"field environment\.machine\.cpu_count must be an integer or null"):
        R.load(path)


def test_machine_info_records_numbers() -> None:
    from perfkit.environment import machine_info

    info = machine_info()
    assert isinstance(info["cpu_count"], int) and isinstance(info["memory_bytes"], int)
    assert all(isinstance(info[k], str) for k in ("hostname", "system", "machine", "processor"))
