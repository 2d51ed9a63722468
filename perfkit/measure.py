"""The timing protocol every scenario uses: warm-up runs, then repetitions until a count or a time budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.abc import Params, QueryNoTemplate

from perfkit.errors import ConfigError
from perfkit.stats import Stats, summarize

__all__ = ["CACHE_UNWARMED", "CACHE_WARM", "Measurement", "measure", "time_query"]

CACHE_WARM = "warm"
"""At least one warm-up run preceded the samples: the data the callable touches is in shared buffers or the OS cache
as far as it fits."""
CACHE_UNWARMED = "unwarmed"
"""No warm-up run: the first sample may include reading from disk, planning and connection-level caches filling."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """Timed repetitions of one callable, in milliseconds, and how they were taken."""

    samples_ms: tuple[float, ...]
    stats: Stats
    cache: str
    warmup: int
    runs: int
    elapsed_s: float

    def protocol(self) -> dict[str, int]:
        """How the samples were taken, as counters for the results: warm-up runs and whether the cache was warm
        (1 or 0); integers, as every count in a results file is."""
        return {"warmup_runs": self.warmup, "cache_warm": 1 if self.cache == CACHE_WARM else 0}


def _check(warmup: int, min_runs: int, max_runs: int, budget_s: float) -> None:
    if warmup < 0:
        raise ConfigError(f"warmup must be >= 0, got {warmup}")
    if min_runs < 1:
        raise ConfigError(f"min_runs must be >= 1, got {min_runs}")
    if max_runs < min_runs:
        raise ConfigError(f"max_runs ({max_runs}) must be >= min_runs ({min_runs})")
    if not budget_s >= 0:  # also rejects NaN
        raise ConfigError(f"budget_s must be >= 0, got {budget_s}")


def measure(
    fn: Callable[[], object], *, warmup: int = 2, min_runs: int = 5, max_runs: int = 50, budget_s: float = 2.0
) -> Measurement:
    """Call `fn` `warmup` times untimed, then time calls until `max_runs`, or until `budget_s` seconds of timed
    calls have passed and at least `min_runs` were taken (so a slow callable still gets `min_runs` samples).

    Each sample is the wall time of one call (`time.perf_counter_ns`), in milliseconds. Exceptions from `fn`
    propagate: a failing callable has no timing.
    """
    _check(warmup, min_runs, max_runs, budget_s)
    for _ in range(warmup):
        fn()
    clock = time.perf_counter_ns
    budget_ns = int(budget_s * 1e9)
    samples: list[float] = []
    started = clock()
    while len(samples) < max_runs:
        t0 = clock()
        fn()
        t1 = clock()
        samples.append((t1 - t0) / 1e6)
        if len(samples) >= min_runs and t1 - started >= budget_ns:
            break
    elapsed_s = (clock() - started) / 1e9
    return Measurement(
        samples_ms=tuple(samples),
        stats=summarize(samples),
        cache=CACHE_WARM if warmup else CACHE_UNWARMED,
        warmup=warmup,
        runs=len(samples),
        elapsed_s=elapsed_s,
    )


def time_query(
    conn: psycopg.Connection[Any],
    query: QueryNoTemplate,
    params: Params | None = None,
    *,
    prepare: bool | None = False,
    **kw: Any,
) -> Measurement:
    """Time plain executions of `query` on `conn` (never EXPLAIN ANALYZE), each fetching all its rows.

    Every execution uses the same connection and one cursor; the time includes sending the query, the server's
    work, transferring the rows and building the Python rows, as an application pays it. `prepare` is passed to
    psycopg for every execution:

    - `False` (default): never a server-side prepared statement; each execution is parsed and planned, like an
      application's ad-hoc query (and `pgbench -M simple`, or `-M extended` when there are parameters).
    - `True`: prepared on the first (warm-up) execution, so every sample runs the prepared statement
      (`pgbench -M prepared`); its generic-vs-custom plan choice is PostgreSQL's.
    - `None`: psycopg's automatic preparation after `conn.prepare_threshold` executions (5 by default), so the
      samples may mix unprepared and prepared executions; use it only to reproduce an application's behaviour.

    Other keyword arguments (`warmup`, `min_runs`, `max_runs`, `budget_s`) go to `measure`.
    """
    cur = conn.cursor()

    def run() -> None:
        cur.execute(query, params, prepare=prepare)
        if cur.pgresult is not None and cur.description is not None:
            cur.fetchall()

    try:
        return measure(run, **kw)
    finally:
        cur.close()
