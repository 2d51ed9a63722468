"""Loading strategies: pages of N parents with their relations loaded as N+1, JOIN, batched, JSON (and top-N ways)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from perfkit import pgss
from perfkit.counter import StatementCounter
from perfkit.errors import ConfigError, PerfkitError
from perfkit.measure import Measurement, measure_many, unprepared
from perfkit.results import Benchmark, Scalar, benchmark_version
from perfkit.scenarios import _loading_comments, _loading_posts, _loading_users
from perfkit.scenarios._loading_latency import LatencyCheck, latency_check
from perfkit.scenarios._loading_model import Loaded, Shape, Strategy, Workload

__all__ = [
    "SCENARIO",
    "WORKLOADS",
    "LatencyCheck",
    "LoadingConfig",
    "LoadingRun",
    "Shape",
    "Strategy",
    "StrategyMismatch",
    "Workload",
    "count",
    "empty_relations",
    "latency_check",
    "load_all",
    "run",
    "run_all",
]

SCENARIO = "loading"
WORKLOADS: Mapping[str, Workload] = {
    w.name: w for w in (_loading_users.WORKLOAD, _loading_posts.WORKLOAD, _loading_comments.WORKLOAD)
}
LATENCY_TABLE = "loading_latency_check"


@dataclass(frozen=True, slots=True)
class LoadingConfig:
    """Workloads, page sizes and timing budget of the loading comparison, and the proxy check of the latency model."""

    sizes: Sequence[int] = (1, 10, 100, 1000)
    workloads: Sequence[str] = tuple(WORKLOADS)
    warmup: int = 1
    min_runs: int = 3
    max_runs: int = 30
    budget_s: float = 0.25
    latency_check: bool = True
    latency_n: int = 10
    latency_rtt_ms: float = 1.0
    latency_runs: int = 31


class StrategyMismatch(PerfkitError):
    """Two loading strategies returned different data: a bug, never a result."""


def _validate(cfg: LoadingConfig) -> None:
    unknown = [w for w in cfg.workloads if w not in WORKLOADS]
    if unknown:
        raise ConfigError(f"unknown loading workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    if not cfg.sizes or any(n < 1 for n in cfg.sizes):
        raise ConfigError(f"loading page sizes must be positive integers, got {tuple(cfg.sizes)}")


def load_all(conn: psycopg.Connection[Any], workload: Workload, n: int) -> dict[str, Loaded]:
    """Every strategy's result for a page of N; raises StrategyMismatch unless they are all equal."""
    out: dict[str, Loaded] = {}
    for name, strategy in workload.strategies.items():
        out[name] = strategy.load(conn, n)
        first = next(iter(out))
        if out[name] != out[first]:
            raise StrategyMismatch(f"loading strategy {name!r} of {workload.name} returned different data at n={n}")
    return out


def _counters(counter: StatementCounter, shape: Shape, workload: Workload, strategy: str) -> dict[str, float]:
    logical = shape.logical_rows
    counters: dict[str, float] = {
        "statements": counter.statements,
        "round_trips": counter.round_trips,
        "rows": counter.rows,
        "bytes": counter.bytes,
        "parents": shape.parents,
        "logical_rows": logical,
        "row_explosion": counter.rows / logical if logical else 0.0,
        "expected_statements": workload.expected_statements(strategy, shape),
    }
    for rel in workload.relations:
        counters[f"children_{rel}"] = shape.children[rel]
        counters[f"distinct_{rel}"] = shape.distinct[rel]
    return counters


def empty_relations(workload: Workload, n: int, counters: Mapping[str, float]) -> tuple[str, ...]:
    """A warning per relation the page of N loaded no child of: the strategies were not compared on it there."""
    return tuple(
        f"the page of n={n} loaded no {rel} (children_{rel} = 0): the strategies are not compared on {rel} at this N"
        for rel in workload.relations
        if counters[f"children_{rel}"] == 0
    )


def count(conn: psycopg.Connection[Any], workload: Workload, name: str, n: int) -> tuple[dict[str, float], Loaded]:
    """One load of a page of N by strategy `name`, counted: statements, round trips, rows, bytes and the result's
    shape (what a benchmark records next to its timings), with the data loaded."""
    with StatementCounter(conn) as counter:
        loaded = workload.strategies[name].load(conn, n)
    return _counters(counter, workload.shape(loaded), workload, name), loaded


@dataclass(frozen=True, slots=True)
class _Case:
    """One benchmark to measure: a strategy at a page size, with its counters from a counted load."""

    workload: Workload
    strategy: str
    n: int
    counters: dict[str, float]

    def call(self, conn: psycopg.Connection[Any]) -> Callable[[], Loaded]:
        """One load of the page by the strategy, as timed."""
        strategy, n = self.workload.strategies[self.strategy], self.n
        return lambda: strategy.load(conn, n)


def _cases(conn: psycopg.Connection[Any], cfg: LoadingConfig) -> list[_Case]:
    """Every strategy of every workload at every page size, counted once; strategies must return the same data."""
    cases: list[_Case] = []
    for wname in cfg.workloads:
        workload = WORKLOADS[wname]
        for n in cfg.sizes:
            reference: Loaded | None = None
            for name in workload.strategies:
                counters, loaded = count(conn, workload, name, n)
                if reference is None:
                    reference = loaded
                elif loaded != reference:
                    raise StrategyMismatch(f"loading strategy {name!r} of {wname} returned different data at n={n}")
                cases.append(_Case(workload, name, n, counters))
    return cases


def run(conn: psycopg.Connection[Any], config: LoadingConfig | None = None) -> list[Benchmark]:
    """Measure every strategy of every workload at every page size; strategies must return the same data.

    All of them are timed together (`measure_many`), their repetitions in rounds, so that a slow spell of the
    machine does not shift one strategy's timing against another's. Every statement is an ad-hoc query (`unprepared`).
    Server time and buffers per execution come from pg_stat_statements, read around each strategy's stretch of calls
    and summed.
    """
    cfg = config or LoadingConfig()
    _validate(cfg)
    with unprepared(conn):
        return _run(conn, cfg)


def _run(conn: psycopg.Connection[Any], cfg: LoadingConfig) -> list[Benchmark]:
    missing = pgss.enable(conn)
    cases = _cases(conn, cfg)
    server: list[pgss.ServerStats | None] = [None] * len(cases)  # summed over each case's stretches of calls
    backwards: set[int] = set()

    @contextmanager
    def stretch(i: int) -> Iterator[None]:
        if missing is not None:
            yield
            return
        before = pgss.snapshot(conn)
        yield
        delta = pgss.snapshot(conn) - before
        total = server[i]
        server[i] = delta if total is None else total + delta
        if not delta.consistent:
            backwards.add(i)

    measured = measure_many(
        [case.call(conn) for case in cases],
        warmup=cfg.warmup,
        min_runs=cfg.min_runs,
        max_runs=cfg.max_runs,
        budget_s=cfg.budget_s,
        stretch=stretch,
    )
    empty = [empty_relations(case.workload, case.n, case.counters) for case in cases]
    notes = [((missing,) if missing else ()) + e for e in empty]
    for i in backwards:
        notes[i] = (
            "pg_stat_statements went backwards during the measurement (reset or evicted): no server time",
            *empty[i],
        )
    return [
        _benchmark(case, m, None if i in backwards else server[i], notes[i])
        for i, (case, m) in enumerate(zip(cases, measured, strict=True))
    ]


def _benchmark(case: _Case, m: Measurement, server: pgss.ServerStats | None, notes: tuple[str, ...]) -> Benchmark:
    counters = dict(case.counters)
    if server is not None:
        counters.update(server.per(m.warmup + m.runs))
    strategy = case.workload.strategies[case.strategy]
    return Benchmark(
        scenario=SCENARIO,
        name=case.workload.name,
        variant=case.strategy,
        params={"n": case.n},
        samples_ms=m.samples_ms,
        stats=m.stats,
        counters={**counters, **m.protocol()},
        notes=notes,
        version=benchmark_version(strategy.statements, case.n),
    )


@dataclass(frozen=True, slots=True)
class LoadingRun:
    """The loading comparison's benchmarks and its non-timing tables (the latency check)."""

    benchmarks: list[Benchmark]
    tables: dict[str, tuple[dict[str, Scalar], ...]]


def run_all(conn: psycopg.Connection[Any], config: LoadingConfig | None = None, *, conninfo: str | None) -> LoadingRun:
    """`run`, then (if configured and a TCP `conninfo` is given) the proxy check of the latency model at N+1 and
    batched, reported as the `loading_latency_check` table."""
    cfg = config or LoadingConfig()
    benches = run(conn, cfg)
    tables: dict[str, tuple[dict[str, Scalar], ...]] = {}
    if cfg.latency_check and conninfo is not None and _loading_users.NAME in cfg.workloads:
        try:
            checks = latency_check(
                conn,
                conninfo,
                WORKLOADS[_loading_users.NAME],
                n=cfg.latency_n,
                rtt_ms=cfg.latency_rtt_ms,
                runs=cfg.latency_runs,
            )
        except ConfigError as exc:  # e.g. a Unix-socket connection: the proxy forwards TCP only
            tables[LATENCY_TABLE] = ({"skipped": str(exc)},)
        else:
            tables[LATENCY_TABLE] = tuple(c.row() for c in checks)
    return LoadingRun(benches, tables)
