"""Results files for report tests: HAND-MADE RunResults records with known values (a unit-test fixture).

They follow the results naming contract of all three scenarios but are not measured. The notebook tests are meant
to move to a small real run via perfkit.runner.run once it exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from perfkit.results import Benchmark, Environment, RunResults, Scalar, benchmark_version, write
from perfkit.stats import summarize

LOADING_NS = (1, 10, 100, 1000)
DEPTHS = (0, 100, 1000, 10_000, 50_000)
PAGE_SIZE = 20
# Known straight lines: offset time = 0.1 ms + 0.002 ms per row of depth (2 ms per 1,000 rows); keyset flat.
OFFSET_MS_PER_ROW = 0.002
OFFSET_BUFFERS_PER_ROW = 0.02  # 20 buffers per 1,000 rows
INDEX_MEDIANS = {
    "posts_by_author_status": {"none": 20.0, "single": 2.0, "composite": 0.5},
    "user_by_email": {"none": 8.0, "single": 0.08},
}


def environment(**overrides: Any) -> Environment:
    values: dict[str, Any] = {
        "server_version": "15.18",
        "server_settings": {"shared_buffers": "128MB", "work_mem": "4MB", "jit": "off"},
        "machine": {
            "hostname": "bench-1",
            "system": "Linux 6.1",
            "machine": "x86_64",
            "processor": "x86_64",
            "cpu_count": 8,
            "memory_bytes": 16 * 1024**3,
        },
        "python_version": "3.11.2",
        "perfkit_version": "0.1.0",
        "git_commit": "0123456789abcdef",
        "scale": 0.01,
        "seed": 42,
        "profile": "default",
        "data_fingerprint": "f1ngerpr1nt",
        "embedded": True,
        "started_at": "2025-01-02T10:30:00+00:00",
    }
    values.update(overrides)
    return Environment(**values)


def bench(
    scenario: str,
    name: str,
    variant: str,
    params: Mapping[str, Scalar],
    median: float,
    counters: Mapping[str, float],
    plan: Mapping[str, Any] | None = None,
    spread: float = 0.02,
) -> Benchmark:
    """A benchmark whose samples have exactly the given median and a ±spread relative scatter."""
    samples = tuple(median * (1 + spread * f) for f in (-1.0, -0.5, 0.0, 0.5, 1.0))
    return Benchmark(
        scenario=scenario,
        name=name,
        variant=variant,
        params=dict(params),
        samples_ms=samples,
        stats=summarize(samples),
        counters=dict(counters),
        plan=plan,
        version=benchmark_version(scenario, name, variant, dict(params)),
    )


def loading_median(strategy: str, n: int) -> float:
    return {
        "n_plus_one": 0.05 + 0.08 * n,
        "join": 0.2 + 0.01 * n,
        "batched": 0.3 + 0.008 * n,
        "json": 0.25 + 0.012 * n,
    }[strategy]


def loading_statements(strategy: str, n: int) -> int:
    return {"n_plus_one": 1 + n, "join": 1, "batched": 2, "json": 1}[strategy]


def _loading(strategies: tuple[str, ...], slow_n_plus_one: float = 1.0, batched_extra: int = 0) -> list[Benchmark]:
    out = []
    for s in strategies:
        for n in LOADING_NS:
            st = loading_statements(s, n) + (batched_extra if s == "batched" else 0)
            med = loading_median(s, n) * (slow_n_plus_one if s == "n_plus_one" else 1.0)
            counters = {"statements": st, "round_trips": st, "rows": 6 * n, "bytes": 400.0 * n}
            out.append(bench("loading", "users_latest_posts", s, {"n": n}, med, counters))
    return out


def _pagination() -> list[Benchmark]:
    out = []
    for d in DEPTHS:
        off = {"shared_hit_blocks": 3 + OFFSET_BUFFERS_PER_ROW * d, "shared_read_blocks": 0.0}
        off |= {"rows_read": d + PAGE_SIZE, "rows_returned": PAGE_SIZE}
        key = {"shared_hit_blocks": 4.0, "shared_read_blocks": 0.0, "rows_read": PAGE_SIZE, "rows_returned": PAGE_SIZE}
        params = {"depth": d, "page_size": PAGE_SIZE}
        out.append(bench("pagination", "posts_feed", "offset", params, 0.1 + OFFSET_MS_PER_ROW * d, off))
        out.append(bench("pagination", "posts_feed", "keyset", params, 0.1, key))
    return out


def _plan(nodes: list[str], indexes: list[str], index_only: bool = False) -> dict[str, Any]:
    return {
        "node_types": nodes,
        "indexes": indexes,
        "index_only": index_only,
        "seq_scans": ["posts"] if "Seq Scan" in nodes else [],
        "planning_ms": 0.1,
        "execution_ms": 1.0,
        "shared_hit_blocks": 10,
        "shared_read_blocks": 0,
        "rows_removed": 0,
        "hottest_node": None,
        "worst_misestimate": None,
    }


PLANS = {
    "none": _plan(["Seq Scan"], []),
    "single": _plan(["Bitmap Heap Scan", "Bitmap Index Scan"], ["idx_single"]),
    "composite": _plan(["Index Only Scan"], ["idx_composite"], index_only=True),
}


def _indexes(composite_factor: float = 1.0) -> list[Benchmark]:
    out = []
    for query, medians in INDEX_MEDIANS.items():
        for index_set, med in medians.items():
            m = med * (composite_factor if index_set == "composite" else 1.0)
            counters = {"shared_hit_blocks": 100.0 / m, "shared_read_blocks": 0.0, "rows_removed": 0.0}
            out.append(bench("indexes", query, index_set, {}, m, counters, plan=PLANS[index_set]))
    return out


TABLES: dict[str, tuple[Mapping[str, Scalar], ...]] = {
    "pagination_drift": (
        {"strategy": "offset", "rows_served": 1000, "duplicates": 12, "missed": 8},
        {"strategy": "keyset", "rows_served": 1004, "duplicates": 0, "missed": 0},
    ),
    "index_sizes": (
        {"index_set": "single", "index": "idx_single", "table": "posts", "size_bytes": 2_000_000, "build_ms": 120.0},
        {
            "index_set": "composite",
            "index": "idx_composite",
            "table": "posts",
            "size_bytes": 3_500_000,
            "build_ms": 180.0,
        },
    ),
    "index_write_overhead": (
        {"index_set": "none", "rows": 1000, "insert_ms": 10.0},
        {"index_set": "single", "rows": 1000, "insert_ms": 12.0},
        {"index_set": "composite", "rows": 1000, "insert_ms": 13.5},
    ),
}


def current_results() -> RunResults:
    benches = [*_loading(("n_plus_one", "join", "batched", "json")), *_pagination(), *_indexes()]
    return RunResults(environment=environment(), benchmarks=tuple(benches), tables=TABLES)


def baseline_results() -> RunResults:
    """The baseline: N+1 was half as slow, batched ran one more statement, json did not exist yet."""
    benches = [*_loading(("n_plus_one", "join", "batched"), slow_n_plus_one=0.5, batched_extra=1), *_pagination()]
    benches += _indexes()
    env = environment(started_at="2025-01-01T09:00:00+00:00", git_commit="fedcba9876543210")
    return RunResults(environment=env, benchmarks=tuple(benches), tables=TABLES)


def loading_only_results() -> RunResults:
    return RunResults(environment=environment(), benchmarks=tuple(_loading(("join", "batched"))))


def pagination_only_results() -> RunResults:
    return RunResults(environment=environment(), benchmarks=tuple(_pagination()))


@dataclass(frozen=True, slots=True)
class Reports:
    one: Path
    two: Path


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """HTML reports rendered once per session (figures take seconds): the current run; baseline and current."""
    from perfkit.report import render_html

    base = tmp_path_factory.mktemp("reports")
    return Reports(
        one=render_html([current_results()], base / "one" / "report.html"),
        two=render_html([baseline_results(), current_results()], base / "two" / "report.html"),
    )


@dataclass(frozen=True, slots=True)
class ResultsFiles:
    current: Path
    baseline: Path
    loading_only: Path
    empty: Path


@pytest.fixture(scope="session")
def results_files(tmp_path_factory: pytest.TempPathFactory) -> ResultsFiles:
    """Hand-made results files: a full current run, a baseline, a loading-only run and a run with no benchmarks."""
    base = tmp_path_factory.mktemp("results")
    return ResultsFiles(
        current=write(current_results(), base / "current" / "results.json"),
        baseline=write(baseline_results(), base / "baseline" / "results.json"),
        loading_only=write(loading_only_results(), base / "loading-only" / "results.json"),
        empty=write(RunResults(environment=environment(), benchmarks=()), base / "empty" / "results.json"),
    )
