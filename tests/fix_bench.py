"""Session fixtures for benchmarks/: one database seeded at PERFKIT_BENCH_SCALE (default 0.1), checked fresh."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from perfkit import freshness, schema
from perfkit.db import Target, connect
from perfkit.seed import SeedInfo, seed
from tests.fix_server import _drop_db, _make_db

DEFAULT_BENCH_SCALE = 0.1


def bench_scale() -> float:
    """PERFKIT_BENCH_SCALE, else 0.1 (10,000 posts: planner statistics read every row, so plans are reproducible)."""
    return float(os.environ.get("PERFKIT_BENCH_SCALE") or DEFAULT_BENCH_SCALE)


@pytest.fixture(scope="session")
def bench_db(admin_conninfo: str) -> Iterator[tuple[Target, SeedInfo]]:
    """A database seeded at the benchmark scale (seed 42), its statistics and visibility maps current."""
    name = "pk_bench"
    target = _make_db(admin_conninfo, name)
    try:
        info = seed(target, scale=bench_scale(), seed=42)
        with connect(target) as conn:
            freshness.ensure_fresh(conn, schema.TABLES)
            freshness.ensure_all_visible(conn, schema.TABLES)
        yield target, info
    finally:
        _drop_db(admin_conninfo, name)


@pytest.fixture(scope="session")
def bench_conn(bench_db: tuple[Target, SeedInfo]) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the benchmark database (benchmarks only read, or roll back)."""
    c = connect(bench_db[0], application_name="perfkit-bench")
    try:
        yield c
    finally:
        c.close()
