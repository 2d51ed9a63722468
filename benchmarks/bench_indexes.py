"""Catalogue queries with their best index set vs none under pytest-benchmark.

Each set is built by the scenario's own `index_set` inside a transaction that is rolled back after the benchmark, so
the schema is left as it was. Run: python -m pytest benchmarks/bench_indexes.py --benchmark-autosave
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from perfkit.plan import summarize
from perfkit.scenarios import indexes

BEST = {"posts_by_author_status": "composite", "published_feed": "partial", "user_by_email_ci": "expression"}
CASES = [(q, s) for q, best in BEST.items() for s in ("none", best)]


@pytest.mark.parametrize(("query", "set_name"), CASES, ids=[f"{q}-{s}" for q, s in CASES])
def test_index_set(benchmark: Any, bench_conn: psycopg.Connection[Any], query: str, set_name: str) -> None:
    q = indexes.BY_NAME[query]
    (iset,) = [s for s in q.index_sets if s.name == set_name]
    case = q.cases(bench_conn)[0]
    with indexes.index_set(bench_conn, q, iset):
        counters, plan = indexes.index_counters(bench_conn, q, case.params)
        shape = summarize(plan)
        benchmark.group = f"indexes/{query}"
        benchmark.extra_info.update({**dict(case.label), **counters})
        benchmark.extra_info.update(node_types=list(shape.node_types), indexes=list(shape.indexes))
        benchmark(lambda: bench_conn.execute(q.sql, case.params).fetchall())
    if set_name != "none":
        assert {ix.name for ix in iset.indexes} & set(shape.indexes), f"{iset.name} not used: {shape.indexes}"
