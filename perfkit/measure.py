"""The timing protocol every scenario uses: warm-up runs, then repetitions (in rounds that take turns, over several
callables) until a count or a time budget; measured queries are plain, never auto-prepared."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.abc import Params, QueryNoTemplate

from perfkit.errors import ConfigError
from perfkit.stats import Stats, summarize

__all__ = [
    "CACHE_UNWARMED",
    "CACHE_WARM",
    "PROTOCOL",
    "PROTOCOL_BEFORE_2",
    "ROUNDS",
    "Measurement",
    "Rounds",
    "measure",
    "measure_many",
    "query_calls",
    "time_query",
    "unprepared",
]

ROUNDS = 5
"""Rounds over which `measure_many` spreads each callable's timed calls."""

PROTOCOL = "2 (rounds; plain queries)"
"""How perfkit's scenarios take their samples, recorded in each run's environment (`timing_protocol`): timings taken
with another protocol are not like for like, and `perfkit compare` does not gate on them."""
PROTOCOL_BEFORE_2 = "1 (back to back; loading and index queries auto-prepared)"
"""The protocol of results files that do not record one (perfkit before protocol 2)."""

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
    return measure_many([fn], warmup=warmup, min_runs=min_runs, max_runs=max_runs, budget_s=budget_s, rounds=1)[0]


def measure_many(
    fns: Sequence[Callable[[], object]],
    *,
    warmup: int = 2,
    min_runs: int = 5,
    max_runs: int = 50,
    budget_s: float = 2.0,
    rounds: int = ROUNDS,
    stretch: Callable[[int], AbstractContextManager[object]] | None = None,
) -> list[Measurement]:
    """`measure` for each callable, with their timed calls spread over `rounds` rounds that take turns.

    Every callable gets its warm-up calls first. Then each round times each callable in turn, up to its share of
    the runs and budget so far (round r of R: r/R of `max_runs`, `min_runs` and `budget_s`), so every callable's
    samples are spread over the whole measurement. A slow spell of a shared machine then falls on a few samples of
    every callable, which the median absorbs, instead of on all the samples of the one callable that ran during it.
    A callable that has had `min_runs` calls and its whole budget sits out the remaining rounds, so spreading costs
    no more calls than `measure`.

    `stretch(i)`, when given, is entered around every unbroken stretch of calls to `fns[i]` (warm-up included), e.g.
    to read server counters before and after; it is not timed.
    """
    sampler = Rounds(len(fns), warmup=warmup, min_runs=min_runs, max_runs=max_runs, budget_s=budget_s, rounds=rounds)
    around = stretch or (lambda _i: nullcontext())
    for i, fn in enumerate(fns):
        with around(i):
            sampler.warm(i, fn)
    for r in range(1, rounds + 1):
        for i, fn in enumerate(fns):
            if sampler.wants(i, r):
                with around(i):
                    sampler.take(i, fn, r)
    return sampler.results()


class Rounds:
    """The state of `measure_many`'s protocol for `n` callables, for callers that must drive the rounds themselves
    (the index scenario rebuilds each index set for every round): `warm`, then `take(i, fn, r)` for r = 1..rounds,
    then `results`."""

    def __init__(
        self,
        n: int,
        *,
        warmup: int = 2,
        min_runs: int = 5,
        max_runs: int = 50,
        budget_s: float = 2.0,
        rounds: int = ROUNDS,
    ) -> None:
        _check(warmup, min_runs, max_runs, budget_s)
        if rounds < 1:
            raise ConfigError(f"rounds must be >= 1, got {rounds}")
        self.warmup = warmup
        self.min_runs = min_runs
        self.max_runs = max_runs
        self.budget_ns = budget_s * 1e9
        self.rounds = rounds
        self._samples: list[list[float]] = [[] for _ in range(n)]
        self._timed_ns = [0] * n
        self._elapsed_ns = [0] * n
        self._warmed = [0] * n

    def warm(self, i: int, fn: Callable[[], object]) -> None:
        """The untimed warm-up calls of callable i (`fn`), counted in its Measurement's `warmup`."""
        for _ in range(self.warmup):
            fn()
            self._warmed[i] += 1

    def _met(self, i: int, r: int) -> bool:
        """Has callable i had its share of rounds 1..r? (The whole protocol met counts for every round: a slow
        callable sits out the rest.)"""
        n, timed = len(self._samples[i]), self._timed_ns[i]
        if n >= math.ceil(self.max_runs * r / self.rounds) or (n >= self.min_runs and timed >= self.budget_ns):
            return True
        return n >= math.ceil(self.min_runs * r / self.rounds) and timed >= self.budget_ns * r / self.rounds

    def wants(self, i: int, r: int) -> bool:
        """Does callable i take samples in round r?"""
        return not self._met(i, r)

    def take(self, i: int, fn: Callable[[], object], r: int) -> None:
        """Time calls to `fn` (callable i) until its share of rounds 1..r is met."""
        if not 1 <= r <= self.rounds:
            raise ValueError(f"round {r} is not one of 1..{self.rounds}")
        clock = time.perf_counter_ns
        mine = self._samples[i]
        started = clock()
        while not self._met(i, r):
            t0 = clock()
            fn()
            t1 = clock()
            mine.append((t1 - t0) / 1e6)
            self._timed_ns[i] += t1 - t0
        self._elapsed_ns[i] += clock() - started

    def results(self) -> list[Measurement]:
        """A Measurement per callable; every one must have taken samples."""
        unsampled = [i for i, mine in enumerate(self._samples) if not mine]
        if unsampled:
            raise ValueError(f"callable {unsampled[0]} has no samples: take() it in round 1 at least")
        return [
            Measurement(
                samples_ms=tuple(mine),
                stats=summarize(mine),
                cache=CACHE_WARM if self._warmed[i] else CACHE_UNWARMED,
                warmup=self._warmed[i],
                runs=len(mine),
                elapsed_s=self._elapsed_ns[i] / 1e9,
            )
            for i, mine in enumerate(self._samples)
        ]


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
    with query_calls(conn, [(query, params)], prepare=prepare) as (run,):
        return measure(run, **kw)


@contextmanager
def query_calls(
    conn: psycopg.Connection[Any],
    queries: Sequence[tuple[QueryNoTemplate, Params | None]],
    *,
    prepare: bool | None = False,
) -> Iterator[list[Callable[[], None]]]:
    """One callable per (query, params), each a plain execution on a cursor of its own that fetches all the rows, as
    `time_query` times them (for `measure_many`); the cursors are closed on leaving."""
    cursors: list[psycopg.Cursor[Any]] = []

    def runner(cur: psycopg.Cursor[Any], query: QueryNoTemplate, params: Params | None) -> Callable[[], None]:
        def run() -> None:
            cur.execute(query, params, prepare=prepare)
            if cur.pgresult is not None and cur.description is not None:
                cur.fetchall()

        return run

    try:
        calls = []
        for query, params in queries:
            cursors.append(conn.cursor())
            calls.append(runner(cursors[-1], query, params))
        yield calls
    finally:
        for cur in cursors:
            cur.close()


@contextmanager
def unprepared(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """No automatic server-side preparation on `conn` inside the block, for code that calls `conn.execute` itself.

    psycopg prepares a statement once it has run `prepare_threshold` times (5 by default), so without this the first
    samples of a measurement would be parsed and planned and the later ones not (nor planned the same way: a
    prepared statement can switch to a generic plan). Every execution is then an ad-hoc query, as with `time_query`.
    """
    saved = conn.prepare_threshold
    conn.prepare_threshold = None
    try:
        yield
    finally:
        conn.prepare_threshold = saved
