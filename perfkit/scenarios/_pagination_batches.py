"""Batch passes over the whole posts table (processLargeDataset): time and peak client memory per strategy."""

from __future__ import annotations

from typing import Any

import psycopg

from perfkit.batches import STRATEGIES, BatchRun, process
from perfkit.keyset import KeysetSpec
from perfkit.measure import measure_many, unprepared
from perfkit.results import Benchmark, Scalar, benchmark_version

SCENARIO = "pagination"
NAME = "posts_batches"


def _counters(check: BatchRun, traced: BatchRun) -> dict[str, float]:
    return {
        "batches": check.batches,
        "rows": check.rows,
        "distinct_rows": check.distinct_rows,
        "duplicates": check.duplicates,
        "peak_kib": (traced.peak_bytes or 0) / 1024.0,
        "memory_batches": traced.batches,
    }


def batch_benchmarks(
    conn: psycopg.Connection[Any],
    batch_size: int = 1000,
    *,
    runs: int = 1,
    memory_batches: int | None = 3,
    table: str = "posts",
) -> tuple[list[Benchmark], tuple[dict[str, Scalar], ...]]:
    """Each strategy: `runs` timed passes over the whole table, counting every id (each row must come exactly
    once), then the peak of Python memory (tracemalloc) over the first `memory_batches` batches (None: a whole
    pass). Rows are whole rows ordered by id, as the guide's processLargeDataset reads them."""
    spec = KeysetSpec.create(table, ["id"], conn=conn)
    benches: list[Benchmark] = []
    rows: list[dict[str, Scalar]] = []
    passes: dict[str, list[BatchRun]] = {strategy: [] for strategy in STRATEGIES}
    with unprepared(conn):  # plain batch queries, as the other scenarios time theirs
        measured = measure_many(  # the strategies' passes take turns, so a slow spell does not fall on one strategy
            [
                lambda s=strategy: passes[s].append(process(conn, spec, batch_size, s, id_column="id"))  # type: ignore[misc]
                for strategy in STRATEGIES
            ],
            warmup=0,
            min_runs=max(runs, 1),
            max_runs=max(runs, 1),
            budget_s=0.0,
        )
    for strategy, m in zip(STRATEGIES, measured, strict=True):
        check = passes[strategy][0]
        traced = process(conn, spec, batch_size, strategy, trace_memory=True, max_batches=memory_batches)
        params: dict[str, Scalar] = {"batch_size": batch_size}
        benches.append(
            Benchmark(
                scenario=SCENARIO,
                name=NAME,
                variant=strategy,
                params=params,
                samples_ms=m.samples_ms,
                stats=m.stats,
                counters={**_counters(check, traced), **m.protocol()},
                version=benchmark_version(NAME, strategy, str(spec), params),
            )
        )
        rows.append(
            {
                "strategy": strategy,
                "batch_size": batch_size,
                "batches": check.batches,
                "rows": check.rows,
                "distinct_rows": check.distinct_rows,
                "duplicates": check.duplicates,
                "median_s": m.stats.median_ms / 1000.0,
                "peak_kib": (traced.peak_bytes or 0) / 1024.0,
                "memory_batches": traced.batches,
            }
        )
    return benches, tuple(rows)
