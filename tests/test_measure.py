"""The timing protocol: warm-up, repetitions bounded by count and budget, statistics, time_query."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from perfkit.counter import StatementCounter
from perfkit.errors import ConfigError
from perfkit.measure import (
    CACHE_UNWARMED,
    CACHE_WARM,
    Rounds,
    measure,
    measure_many,
    query_calls,
    time_query,
    unprepared,
)


class Calls:
    """A fake workload: counts calls and sleeps a fixed time on each."""

    def __init__(self, sleep_s: float = 0.0) -> None:
        self.n = 0
        self.sleep_s = sleep_s

    def __call__(self) -> None:
        self.n += 1
        if self.sleep_s:
            time.sleep(self.sleep_s)


def test_fast_callable_stops_at_max_runs() -> None:
    fn = Calls()
    m = measure(fn, warmup=3, min_runs=2, max_runs=7, budget_s=10.0)
    assert fn.n == 3 + 7
    assert m.runs == 7 == len(m.samples_ms) == m.stats.n
    assert m.warmup == 3
    assert m.cache == CACHE_WARM


def test_budget_stops_after_min_runs() -> None:
    fn = Calls(sleep_s=0.02)
    m = measure(fn, warmup=1, min_runs=3, max_runs=1000, budget_s=0.1)
    # ~0.1 s of 20 ms calls: stops at the first call ending past the budget, about 5 calls.
    assert 4 <= m.runs <= 8
    assert fn.n == 1 + m.runs
    assert all(s >= 19.0 for s in m.samples_ms)
    assert m.elapsed_s >= 0.1


def test_slow_callable_still_gets_min_runs() -> None:
    fn = Calls(sleep_s=0.03)
    m = measure(fn, warmup=0, min_runs=4, max_runs=10, budget_s=0.01)
    assert m.runs == 4
    assert fn.n == 4
    assert m.cache == CACHE_UNWARMED


def test_zero_budget_takes_exactly_min_runs() -> None:
    fn = Calls()
    assert measure(fn, warmup=0, min_runs=5, max_runs=50, budget_s=0).runs == 5


def test_stats_of_known_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fake clock: each call to fn lasts 1, 2, 3, 4, 10 ms in turn.
    durations = iter([1, 2, 3, 4, 10])
    now = [0]

    def clock() -> int:
        return now[0]

    def fn() -> None:
        now[0] += next(durations) * 1_000_000

    monkeypatch.setattr(time, "perf_counter_ns", clock)
    m = measure(fn, warmup=0, min_runs=5, max_runs=5, budget_s=100)
    assert m.samples_ms == (1.0, 2.0, 3.0, 4.0, 10.0)
    assert m.stats.median_ms == 3.0
    assert m.stats.mean_ms == 4.0
    assert (m.stats.q1_ms, m.stats.q3_ms) == (2.0, 4.0)
    assert m.stats.min_ms == 1.0 and m.stats.max_ms == 10.0
    assert m.stats.ci_low_ms <= 3.0 <= m.stats.ci_high_ms


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warmup": -1}, "warmup must be >= 0"),
        ({"min_runs": 0}, "min_runs must be >= 1"),
        ({"min_runs": 5, "max_runs": 4}, "max_runs (4) must be >= min_runs (5)"),
        ({"budget_s": -1.0}, "budget_s must be >= 0"),
        ({"budget_s": float("nan")}, "budget_s must be >= 0"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    fn = Calls()
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        measure(fn, **kwargs)
    assert fn.n == 0


def test_protocol_counters_are_integers() -> None:
    """warmup_runs and cache_warm are counts: written as 2 and 1, not 2.0 and 1.0."""
    assert measure(lambda: None, warmup=2, min_runs=1, max_runs=1).protocol() == {"warmup_runs": 2, "cache_warm": 1}
    cold = measure(lambda: None, warmup=0, min_runs=1, max_runs=1).protocol()
    assert cold == {"warmup_runs": 0, "cache_warm": 0}
    assert all(type(v) is int for v in cold.values())


def test_exception_in_callable_propagates() -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        measure(boom)


def test_time_query_runs_plain_executions_on_the_same_connection(conn: psycopg.Connection[Any]) -> None:
    with StatementCounter(conn) as counter:
        m = time_query(conn, "SELECT g FROM generate_series(1, %s) g", (100,), warmup=2, min_runs=3, max_runs=3)
    assert m.runs == 3 and m.warmup == 2
    assert counter.fingerprints == {"select g from generate_series (?, ?) g": 5}
    assert counter.rows == 500  # every execution fetched all its rows
    assert all(s > 0 for s in m.samples_ms)


def test_time_query_prepare_true_uses_a_prepared_statement(conn: psycopg.Connection[Any]) -> None:
    time_query(conn, "SELECT 1 WHERE %s::int > 0", (1,), prepare=True, warmup=1, min_runs=1, max_runs=1)
    prepared = conn.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT 1 WHERE%'")
    assert prepared.fetchone() == (1,)


def test_time_query_default_never_prepares(conn: psycopg.Connection[Any]) -> None:
    time_query(conn, "SELECT 1 WHERE %s::int > 0", (1,), warmup=5, min_runs=5, max_runs=5)
    assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)


def test_statistics_are_kept_to_the_nanosecond() -> None:
    """Interpolated quartiles carried float noise below the clock's resolution into results.json
    ("q1_ms": 0.18793674999999999): every statistic is rounded to 1 ns (6 decimals of a millisecond)."""
    from perfkit.stats import summarize

    samples = [0.187912, 0.187943, 0.187937, 0.188001, 0.187899, 0.187954, 0.1879]
    stats = summarize(samples)
    for value in (stats.q1_ms, stats.q3_ms, stats.median_ms, stats.mean_ms, stats.stdev_ms, stats.ci_low_ms):
        assert value is not None and value == round(value, 6) and len(repr(value)) <= 10, value
    assert stats.min_ms == 0.187899 and stats.max_ms == 0.188001


# -- several callables, their repetitions in rounds ------------------------------------------------------------------


def test_rounds_take_turns_and_stretches_wrap_each_run_of_calls() -> None:
    events: list[str] = []

    @contextmanager
    def stretch(i: int) -> Iterator[None]:
        events.append("[")
        yield
        events.append("]")

    fns = [lambda: events.append("a"), lambda: events.append("b")]
    a, b = measure_many(fns, warmup=1, min_runs=4, max_runs=4, budget_s=0, rounds=2, stretch=stretch)
    assert (a.runs, b.runs, a.warmup, b.warmup) == (4, 4, 1, 1)
    assert "".join(events) == "[a][b]" + "[aa][bb]" * 2  # warm-ups first, then two rounds of two calls each


def test_one_round_is_measure() -> None:
    fn, again = Calls(), Calls()
    m = measure(fn, warmup=2, min_runs=3, max_runs=7, budget_s=10.0)
    (many,) = measure_many([again], warmup=2, min_runs=3, max_runs=7, budget_s=10.0, rounds=1)
    assert (fn.n, m.runs) == (again.n, many.runs) == (9, 7)


def test_a_slow_callable_gets_no_more_calls_than_measure_gives_it() -> None:
    slow = Calls(sleep_s=0.03)
    (m,) = measure_many([slow], warmup=0, min_runs=2, max_runs=100, budget_s=0.05, rounds=5)
    # 2 calls of 30 ms meet both min_runs and the budget: the three remaining rounds are sat out
    assert m.runs == slow.n == 2


def test_a_slow_spell_is_shared_instead_of_falling_on_one_callable(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fake clock: every call lasts 1 ms, except calls 10-16 of the whole measurement, which last 3 ms (the machine
    # is busy for a while). Two identical callables, 10 samples each.
    now, calls = [0], [0]

    def work() -> None:
        now[0] += (3 if 10 <= calls[0] <= 16 else 1) * 1_000_000
        calls[0] += 1

    monkeypatch.setattr(time, "perf_counter_ns", lambda: now[0])
    kw: dict[str, Any] = {"warmup": 0, "min_runs": 10, "max_runs": 10, "budget_s": 0}
    back_to_back = [measure(work, **kw), measure(work, **kw)]
    assert [m.stats.median_ms for m in back_to_back] == [1.0, 3.0]  # the second one looks three times slower
    now[0] = calls[0] = 0
    interleaved = measure_many([work, work], **kw, rounds=5)
    assert [m.stats.median_ms for m in interleaved] == [1.0, 1.0]


def test_bad_rounds_are_rejected() -> None:
    with pytest.raises(ConfigError, match="rounds must be >= 1"):
        measure_many([Calls()], rounds=0)


def test_query_calls_each_run_their_query_and_fetch_all_rows(conn: psycopg.Connection[Any]) -> None:
    queries = [("SELECT g FROM generate_series(1, %s) g", (3,)), ("SELECT 'x' FROM generate_series(1, 5)", None)]
    with StatementCounter(conn) as counter, query_calls(conn, queries) as (first, second):
        first()
        second()
        second()
    assert counter.rows == 3 + 5 + 5
    assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)


def test_unprepared_keeps_repeated_executions_plain(conn: psycopg.Connection[Any]) -> None:
    threshold = conn.prepare_threshold
    with unprepared(conn):
        for _ in range(2 * (threshold or 5)):
            conn.execute("SELECT 1 WHERE %s::int > 0", (1,)).fetchall()
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)
    assert conn.prepare_threshold == threshold
    for _ in range(2 * (threshold or 5)):  # psycopg's automatic preparation is back after the block
        conn.execute("SELECT 2 WHERE %s::int > 0", (1,)).fetchall()
    assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (1,)


def test_rounds_refuses_a_round_outside_its_range_and_unsampled_results() -> None:
    sampler = Rounds(2, warmup=1, min_runs=2, max_runs=4, budget_s=0, rounds=2)
    with pytest.raises(ValueError, match=r"round 3 is not one of 1\.\.2"):
        sampler.take(0, Calls(), 3)
    sampler.warm(0, Calls())
    sampler.take(0, Calls(), 1)
    with pytest.raises(ValueError, match="callable 1 has no samples"):
        sampler.results()
    sampler.take(1, Calls(), 2)
    first, second = sampler.results()
    assert (first.runs, first.warmup, first.cache) == (1, 1, CACHE_WARM)
    assert (second.runs, second.warmup, second.cache) == (2, 0, CACHE_UNWARMED)  # rounds 1-2: min_runs 2 (budget 0)
