"""The latency model checked for real: strategies run through a delaying proxy vs measured + round trips × RTT."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg.conninfo import conninfo_to_dict

from perfkit.counter import StatementCounter
from perfkit.db import connect_raw
from perfkit.errors import ConfigError, PerfkitError
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


def _interleaved(direct: Conn, proxied: Conn, load: Load, n: int, warmup: int, runs: int) -> tuple[float, float]:
    """Medians (ms) of `load` on each connection, alternating so that both see the same machine load."""
    for _ in range(warmup):
        load(direct, n)
        load(proxied, n)
    a: list[float] = []
    b: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(runs):
        for conn, out in ((direct, a), (proxied, b)):
            t0 = clock()
            load(conn, n)
            out.append((clock() - t0) / 1e6)
    return statistics.median(a), statistics.median(b)


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
    """Time each strategy on `conn` and through a DelayProxy adding `rtt_ms` per round trip (a connection to
    `conninfo` via the proxy); the model says proxied = direct median + round trips × rtt_ms."""
    unknown = [s for s in strategies if s not in workload.strategies]
    if unknown:
        raise ConfigError(f"workload {workload.name} has no strategy {unknown[0]!r}")
    out: list[LatencyCheck] = []
    with (
        DelayProxy(upstream_of(conninfo), rtt_ms) as proxy,
        connect_raw(proxy.conninfo(conninfo), autocommit=True) as proxied,
    ):
        for name in strategies:
            load = workload.strategies[name].load
            with StatementCounter(conn) as counter:
                expected = load(conn, n)
            if load(proxied, n) != expected:
                raise LatencyModelMismatch(f"{workload.name}/{name} returned different data through the proxy")
            direct_ms, proxied_ms = _interleaved(conn, proxied, load, n, warmup, runs)
            out.append(
                LatencyCheck(
                    workload=workload.name,
                    strategy=name,
                    n=n,
                    rtt_ms=rtt_ms,
                    round_trips=counter.round_trips,
                    direct_ms=direct_ms,
                    modelled_ms=direct_ms + counter.round_trips * rtt_ms,
                    proxied_ms=proxied_ms,
                    runs=runs,
                    tolerance=tolerance,
                    load_avg=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
                )
            )
    return out
