"""Export to pytest-benchmark's JSON: the numbers match pytest-benchmark's own, and its CLI reads the files."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_benchmark.stats import Stats as PBStats

from perfkit.export import export, pytest_benchmark_stats, to_pytest_benchmark
from tests._runs import bench, run, samples

PB_CLI = Path(sys.executable).with_name("pytest-benchmark")


@pytest.mark.parametrize("n", [1, 2, 5, 6, 7, 8, 9, 40])
def test_stats_equal_pytest_benchmarks(n: int) -> None:
    data = [x / 1000 for x in samples(3.0, n=n, noise=0.3, seed=n)]
    ours = pytest_benchmark_stats(data)
    theirs = PBStats()
    for x in data:
        theirs.update(x)
    for field in PBStats.fields:
        assert ours[field] == pytest.approx(getattr(theirs, field)), field
    assert ours["data"] == data


def sample_run(median_ms: float, seed: int) -> object:
    return run(
        bench(
            scenario="loading",
            name="users_latest_posts",
            variant="n_plus_one",
            params={"n": 20},
            times=samples(median_ms, n=12, seed=seed),
            counters={"statements": 21, "round_trips": 21},
        ),
        bench(scenario="loading", name="users_latest_posts", variant="join", params={"n": 20}, times=[1.5, 1.25, 1.0]),
        bench(variant="no-samples"),
    )


def test_document_shape_in_seconds() -> None:
    doc = to_pytest_benchmark(sample_run(8.0, 1))  # type: ignore[arg-type]
    assert set(doc) == {"machine_info", "commit_info", "benchmarks", "datetime", "version"}
    assert doc["commit_info"]["id"] == "abc123"
    env = doc["machine_info"]["perfkit"]  # JSON as recorded: the settings were their Python repr, a string
    assert isinstance(env["server_settings"], dict) and isinstance(env["scale"], float | int | None)
    names = [b["name"] for b in doc["benchmarks"]]
    assert names == ["users_latest_posts[n_plus_one-n=20]", "users_latest_posts[join-n=20]"]  # no samples: left out
    join = doc["benchmarks"][1]
    assert join["group"] == "loading/users_latest_posts"
    assert join["params"] == {"variant": "join", "n": 20}
    assert join["stats"]["median"] == pytest.approx(0.00125)  # ms -> s
    assert join["stats"]["min"] == pytest.approx(0.001)
    assert join["stats"]["rounds"] == 3
    assert join["extra_info"]["perfkit_key"] == "loading/users_latest_posts/join[n=20]"
    assert doc["benchmarks"][0]["extra_info"]["statements"] == 21


def test_pytest_benchmark_compare_reads_the_export(tmp_path: Path) -> None:
    a = export(sample_run(8.0, 1), tmp_path / "0001_base.json")  # type: ignore[arg-type]
    b = export(sample_run(12.0, 2), tmp_path / "0002_head.json")  # type: ignore[arg-type]
    res = subprocess.run(
        [str(PB_CLI), "compare", str(a), str(b), "--columns", "min,median,rounds", "--time-unit", "ms"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "Failed to load" not in out
    assert "users_latest_posts[n_plus_one-n=20]" in out
    assert "users_latest_posts[join-n=20]" in out
    assert "0001_base" in out
    assert "0002_head" in out
    # medians, shown in milliseconds: join's 1.25 ms and both N+1 runs'
    assert "1.2500" in out
    assert f"{statistics.median(samples(8.0, n=12, seed=1)):.4f}" in out
    assert f"{statistics.median(samples(12.0, n=12, seed=2)):.4f}" in out


def test_export_writes_json(tmp_path: Path) -> None:
    path = export(sample_run(8.0, 1), tmp_path / "sub" / "out.json")  # type: ignore[arg-type]
    assert json.loads(path.read_text())["benchmarks"][0]["stats"]["rounds"] == 12
