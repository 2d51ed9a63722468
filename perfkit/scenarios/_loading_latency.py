"""The latency model checked for real: strategies run through a delaying proxy vs measured + round trips × RTT.

The base of the model is measured through the same proxy with no delay: the proxy's extra hop costs something per
round trip on its own (about 0.25 ms here), which is not network latency. What the check tests is the model's
claim that added latency costs round trips × RTT on top of what was measured on the same path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from psycopg.conninfo import conninfo_to_dict

from perfkit.counter import StatementCounter
from perfkit.db import connect_raw
from perfkit.errors import ConfigError, PerfkitError
from perfkit.measure import measure_many, unprepared
from perfkit.proxy import DelayProxy
from perfkit.results import Scalar
from perfkit.scenarios._loading_model import Conn, Load, Workload

DEFAULT_TOLERANCE = 0.15


class LatencyModelMismatch(PerfkitError):
    """A strategy returned different data through the proxy than directly."""


@dataclass(frozen=True, slots=True)
class LatencyCheck:
    """One strategy timed directly and through the proxy, against the model direct + round trips × RTT."""

    workload: str
    strategy: str
    n: int
    rtt_ms: float
    round_trips: int
    direct_ms: float
    base_ms: float  # through the proxy with no delay: the same path, without the added latency
    modelled_ms: float
    proxied_ms: float
    runs: int
    tolerance: float
    load_avg: float | None = None  # 1-minute load average during the check: a busy machine delays every wake-up

    @property
    def error(self) -> float:
        """Relative error of the model: proxied / modelled - 1."""
        return self.proxied_ms / self.modelled_ms - 1.0

    @property
    def agrees(self) -> bool:
        return abs(self.error) <= self.tolerance

    def row(self) -> dict[str, Scalar]:
        """The record as a row of the run's `loading_latency_check` table."""
        return {
            "workload": self.workload,
            "strategy": self.strategy,
            "n": self.n,
            "rtt_ms": self.rtt_ms,
            "round_trips": self.round_trips,
            "direct_ms": self.direct_ms,
            "base_ms": self.base_ms,
            "modelled_ms": self.modelled_ms,
            "proxied_ms": self.proxied_ms,
            "error_pct": 100.0 * self.error,
            "tolerance_pct": 100.0 * self.tolerance,
            "agrees": self.agrees,
            "runs": self.runs,
            "load_avg_1m": self.load_avg,
            "cpus": os.cpu_count(),
        }


def upstream_of(conninfo: str) -> tuple[str, int]:
    """The TCP host and port a conninfo connects to (the proxy cannot forward to a Unix socket)."""
    params = conninfo_to_dict(conninfo)
    host = str(params.get("hostaddr") or params.get("host") or "")
    if not host or host.startswith("/") or "," in host:
        raise ConfigError("the latency check needs a single TCP host in the connection string (not a Unix socket)")
    port = str(params.get("port") or "5432")
    if not port.isdigit():
        raise ConfigError(f"the latency check needs a single numeric port, got {port!r}")
    return host, int(port)


def _interleaved(conns: Sequence[Conn], load: Load, n: int, warmup: int, runs: int) -> list[float]:
    """Medians (ms) of `load` on each connection, taking turns one load at a time so that all see the same machine
    load; every statement a plain query, as the loading benchmarks run them."""
    with ExitStack() as stack:
        for conn in conns:
            stack.enter_context(unprepared(conn))
        measured = measure_many(
            [lambda c=conn: load(c, n) for conn in conns],  # type: ignore[misc]
            warmup=warmup,
            min_runs=runs,
            max_runs=runs,
            budget_s=0.0,
            rounds=runs,
        )
    return [m.stats.median_ms for m in measured]


def latency_check(
    conn: Conn,
    conninfo: str,
    workload: Workload,
    *,
    strategies: Sequence[str] = ("n_plus_one", "batched"),
    n: int = 10,
    rtt_ms: float = 1.0,
    warmup: int = 3,
    runs: int = 31,
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[LatencyCheck]:
    """Time each strategy directly, through a proxy with no delay (the base) and through one adding `rtt_ms` per
    round trip; the model says proxied = base median + round trips × rtt_ms."""
    unknown = [s for s in strategies if s not in workload.strategies]
    if unknown:
        raise ConfigError(f"workload {workload.name} has no strategy {unknown[0]!r}")
    out: list[LatencyCheck] = []
    upstream = upstream_of(conninfo)
    with (
        DelayProxy(upstream, rtt_ms) as proxy,
        DelayProxy(upstream, 0.0) as hop,
        connect_raw(proxy.conninfo(conninfo), autocommit=True) as proxied,
        connect_raw(hop.conninfo(conninfo), autocommit=True) as via_hop,
    ):
        for name in strategies:
            load = workload.strategies[name].load
            with StatementCounter(conn) as counter:
                expected = load(conn, n)
            if load(proxied, n) != expected:
                raise LatencyModelMismatch(f"{workload.name}/{name} returned different data through the proxy")
            direct_ms, base_ms, proxied_ms = _interleaved((conn, via_hop, proxied), load, n, warmup, runs)
            out.append(
                LatencyCheck(
                    workload=workload.name,
                    strategy=name,
                    n=n,
                    rtt_ms=rtt_ms,
                    round_trips=counter.round_trips,
                    direct_ms=direct_ms,
                    base_ms=base_ms,
                    modelled_ms=base_ms + counter.round_trips * rtt_ms,
                    proxied_ms=proxied_ms,
                    runs=runs,
                    tolerance=tolerance,
                    load_avg=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
                )
            )
    return out
