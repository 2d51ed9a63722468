"""The delay proxy and the latency model: proxied time at 1 ms agrees with measured + round trips × 1 ms."""

from __future__ import annotations

import time

import pytest

from perfkit.db import Target, connect_raw
from perfkit.errors import ConfigError
from perfkit.proxy import DelayProxy
from perfkit.scenarios import loading
from perfkit.scenarios._loading_latency import upstream_of
from perfkit.scenarios._loading_model import Conn
from perfkit.seed import SeedInfo


def test_proxy_adds_the_round_trip_time(seeded: tuple[Target, SeedInfo]) -> None:
    conninfo = seeded[0].conninfo
    with DelayProxy(upstream_of(conninfo), 20.0) as proxy, connect_raw(proxy.conninfo(conninfo)) as conn:
        conn.autocommit = True
        conn.execute("SELECT 1").fetchone()
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            assert conn.execute("SELECT %s::int", (7,)).fetchone() == (7,)
            times.append((time.perf_counter() - t0) * 1000)
    assert 19.5 <= min(times) and max(times) < 60


def test_proxy_bounds_and_stops_itself() -> None:
    with pytest.raises(ConfigError, match="between 0 and 1000 ms"):
        DelayProxy(("127.0.0.1", 9), 5000)
    with pytest.raises(ConfigError, match="between 0 and 1000 ms"):
        DelayProxy(("127.0.0.1", 9), -1)
    proxy = DelayProxy(("127.0.0.1", 9), 1.0, max_lifetime_s=0.3)
    try:
        deadline = time.monotonic() + 5
        while proxy.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not proxy.running
    finally:
        proxy.close()


def test_upstream_must_be_tcp() -> None:
    assert upstream_of("host=127.0.0.1 port=5433 dbname=x") == ("127.0.0.1", 5433)
    assert upstream_of("postgresql://u@db.example:6000/x") == ("db.example", 6000)
    with pytest.raises(ConfigError, match="Unix socket"):
        upstream_of("host=/var/run/postgresql dbname=x")


def test_latency_check_shape(seeded: tuple[Target, SeedInfo], seeded_conn: Conn) -> None:
    """The check's structure and its hard bounds; the 15% agreement itself is measured in benchmarks/."""
    checks = loading.latency_check(seeded_conn, seeded[0].conninfo, loading.WORKLOADS["users_latest_posts"], n=10)
    by = {c.strategy: c for c in checks}
    assert by["n_plus_one"].round_trips == 21 and by["batched"].round_trips == 3
    for c in checks:
        assert c.modelled_ms == pytest.approx(c.base_ms + c.round_trips * 1.0)
        # the proxy sleeps at least half the round-trip time each way: a lower bound, whatever the load
        assert c.proxied_ms >= c.round_trips * 1.0 * 0.95
    row = by["n_plus_one"].row()
    assert row["tolerance_pct"] == 15.0 and row["round_trips"] == 21
    assert row["agrees"] == (abs(by["n_plus_one"].error) <= 0.15)
