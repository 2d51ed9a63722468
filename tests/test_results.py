"""The results format: round trip, atomic writes, clear errors, and step-by-step upgrades."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from perfkit import results as R
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
        plan={"node_types": ["Limit"]},
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


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.json"
    R.write(sample_results(), path)
    before = path.read_text()

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(R.json, "dump", boom)
    with pytest.raises(RuntimeError):
        R.write(sample_results(), path)
    assert path.read_text() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp file left behind


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema_version": 1, "environment": ', "not valid JSON"),
        ("[1, 2]", "not a perfkit results file"),
        ('{"benchmarks": []}', "no integer schema_version"),
        ('{"schema_version": 99}', "newer than this perfkit understands"),
        ('{"schema_version": 1, "environment": {}, "benchmarks": []}', "malformed"),
    ],
)
def test_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ResultsError, match=message):
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

    monkeypatch.setattr(R, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(R, "_UPGRADES", {1: step(1), 2: step(2)})
    assert R.upgrade({"schema_version": 1})["schema_version"] == 3
    assert calls == [1, 2]
    monkeypatch.setattr(R, "_UPGRADES", {2: step(2)})
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
    assert loaded.benchmarks == sample_results().benchmarks


def test_frames() -> None:
    r = sample_results()
    df = R.benchmarks_frame(r)
    assert list(df["param_n"]) == [10]
    assert list(df["median_ms"]) == [3.0]
    assert len(R.samples_frame(r)) == 5
    assert list(R.table_frame(r, "t")["a"]) == [1]
