"""Loading strategies under pytest-benchmark: each workload x strategy x page size, timing the scenario's own loaders.

Run: python -m pytest benchmarks/bench_loading.py --benchmark-autosave   (then --benchmark-compare to compare)
Counters (statements, round trips, rows, bytes) are in each benchmark's extra_info; PERFKIT_BENCH_SCALE sets the data.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from perfkit.scenarios import loading

SIZES = (10, 100)
CASES = [(w, s, n) for w, wl in loading.WORKLOADS.items() for s in wl.strategies for n in SIZES]


@pytest.mark.parametrize(("workload", "strategy", "n"), CASES, ids=[f"{w}-{s}-n{n}" for w, s, n in CASES])
def test_loading(benchmark: Any, bench_conn: psycopg.Connection[Any], workload: str, strategy: str, n: int) -> None:
    wl = loading.WORKLOADS[workload]
    counters, loaded = loading.count(bench_conn, wl, strategy, n)
    assert counters["statements"] == counters["expected_statements"]
    benchmark.group = f"loading/{workload}/n={n}"
    benchmark.extra_info.update(counters)
    result = benchmark(wl.strategies[strategy].load, bench_conn, n)
    assert result == loaded
