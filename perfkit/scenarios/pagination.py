"""Pagination: OFFSET vs keyset over the post feed ordered by (created_at DESC, id DESC), at growing depths."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from perfkit.explain import explain_analyze
from perfkit.measure import measure
from perfkit.plan import Plan, summarize
from perfkit.results import Benchmark, benchmark_version

SCENARIO = "pagination"
NAME = "posts_feed"

OFFSET_PAGE = """
SELECT id, title, created_at FROM posts
ORDER BY created_at DESC, id DESC
LIMIT %(page_size)s OFFSET %(depth)s
"""
KEYSET_PAGE = """
SELECT id, title, created_at FROM posts
WHERE (created_at, id) < (%(after_created_at)s, %(after_id)s)
ORDER BY created_at DESC, id DESC
LIMIT %(page_size)s
"""
FIRST_PAGE = """
SELECT id, title, created_at FROM posts
ORDER BY created_at DESC, id DESC
LIMIT %(page_size)s
"""
ROW_AT = "SELECT created_at, id FROM posts ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET %(pos)s"


@dataclass(frozen=True, slots=True)
class PaginationConfig:
    """Page size, depths (rows skipped before the page) and timing budget."""

    page_size: int = 20
    depths: Sequence[int] | None = None  # None: log-spaced up to the last page
    warmup: int = 2
    min_runs: int = 5
    max_runs: int = 30
    budget_s: float = 1.0


def log_depths(total_rows: int, page_size: int) -> list[int]:
    """0, 10, 100, ... and the last page, all below total_rows - page_size."""
    last = max(total_rows - page_size, 0)
    depths = [0]
    d = 10
    while d < last:
        depths.append(d)
        d *= 10
    if last > 0 and depths[-1] != last:
        depths.append(last)
    return depths


def rows_read(plan: Plan) -> int:
    """Rows the scans produced or discarded: what the server had to read to return the page."""
    return int(sum(n.rows_total + n.rows_removed_total for n in plan.nodes() if n.node_type.endswith("Scan")))


def _counters(plan: Plan, returned: int) -> dict[str, float]:
    s = summarize(plan)
    return {
        "shared_hit_blocks": s.shared_hit_blocks,
        "shared_read_blocks": s.shared_read_blocks,
        "rows_read": rows_read(plan),
        "rows_returned": returned,
    }


def run(conn: psycopg.Connection[Any], config: PaginationConfig | None = None) -> list[Benchmark]:
    """Measure OFFSET and keyset at every depth; both must return the same page."""
    cfg = config or PaginationConfig()
    row = conn.execute("SELECT count(*) FROM posts").fetchone()
    total = int(row[0]) if row else 0
    depths = list(cfg.depths) if cfg.depths is not None else log_depths(total, cfg.page_size)
    benches: list[Benchmark] = []
    for depth in depths:
        offset_params = {"page_size": cfg.page_size, "depth": depth}
        if depth == 0:
            keyset_sql, keyset_params = FIRST_PAGE, {"page_size": cfg.page_size}
        else:
            anchor = conn.execute(ROW_AT, {"pos": depth - 1}).fetchone()
            if anchor is None:
                continue
            keyset_sql = KEYSET_PAGE
            keyset_params = {"page_size": cfg.page_size, "after_created_at": anchor[0], "after_id": anchor[1]}
        offset_rows = conn.execute(OFFSET_PAGE, offset_params).fetchall()
        keyset_rows = conn.execute(keyset_sql, keyset_params).fetchall()
        if [r[0] for r in offset_rows] != [r[0] for r in keyset_rows]:
            raise AssertionError(f"OFFSET and keyset pages differ at depth {depth}")
        for variant, query, params in (
            ("offset", OFFSET_PAGE, offset_params),
            ("keyset", keyset_sql, keyset_params),
        ):
            plan = explain_analyze(conn, query, params)
            m = measure(
                lambda q=query, p=params: conn.execute(q, p).fetchall(),  # type: ignore[misc]
                warmup=cfg.warmup,
                min_runs=cfg.min_runs,
                max_runs=cfg.max_runs,
                budget_s=cfg.budget_s,
            )
            benches.append(
                Benchmark(
                    scenario=SCENARIO,
                    name=NAME,
                    variant=variant,
                    params={"depth": depth, "page_size": cfg.page_size},
                    samples_ms=m.samples_ms,
                    stats=m.stats,
                    counters=_counters(plan, len(offset_rows)),
                    plan=summarize(plan).to_dict(),
                    version=benchmark_version(query, depth, cfg.page_size),
                )
            )
    return benches
