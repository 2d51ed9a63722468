"""OFFSET vs keyset pages of the post feed at a few depths under pytest-benchmark, with the scenario's own SQL.

Run: python -m pytest benchmarks/bench_pagination.py --benchmark-autosave
extra_info: buffers (shared_hit_blocks, shared_read_blocks), rows_read and rows_returned of one EXPLAIN ANALYZE, plus
the plan's node types and indexes.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from perfkit.plan import summarize
from perfkit.scenarios import pagination

PAGE_SIZE = 20
DEPTHS = ("0", "100", "1000", "last")


def _feed(conn: psycopg.Connection[Any]) -> Any:
    (q,) = [q for q in pagination.guide_queries(conn, ()) if q.name == "posts_feed"]
    return q


@pytest.mark.parametrize("variant", ["offset", "keyset"])
@pytest.mark.parametrize("where", DEPTHS)
def test_posts_feed_page(benchmark: Any, bench_conn: psycopg.Connection[Any], variant: str, where: str) -> None:
    q = _feed(bench_conn)
    depth = q.total(bench_conn) - PAGE_SIZE if where == "last" else int(where)
    query, params = pagination.page(bench_conn, q, variant, depth, PAGE_SIZE)
    counters, plan = pagination.page_counters(bench_conn, query, params)
    shape = summarize(plan)
    benchmark.group = f"pagination/posts_feed/depth={where}"
    benchmark.extra_info.update({"depth": depth, **counters})
    benchmark.extra_info.update(node_types=list(shape.node_types), indexes=list(shape.indexes))
    rows = benchmark(lambda: bench_conn.execute(query, params).fetchall())
    assert len(rows) == PAGE_SIZE
