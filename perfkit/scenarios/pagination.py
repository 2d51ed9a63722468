"""Pagination: OFFSET vs keyset on the guide's queries at growing depths, COUNT(*) totals, drift and batch passes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg

from perfkit.errors import ConfigError
from perfkit.explain import explain_analyze
from perfkit.growth import slope_rows
from perfkit.keyset import check_seek
from perfkit.measure import measure_many, query_calls
from perfkit.plan import Plan, PlanNode, summarize
from perfkit.results import Benchmark, Scalar, benchmark_version
from perfkit.scenarios._pagination_batches import batch_benchmarks
from perfkit.scenarios._pagination_drift import drift_rows, drift_table
from perfkit.scenarios._pagination_queries import AdminFilter, PageQuery, guide_queries

SCENARIO = "pagination"
NAME = "posts_feed"
QUERIES = ("posts_feed", "author_posts", "admin_users", "admin_users_search")
DEFAULT_ADMIN_FILTERS = (AdminFilter("admin_users"), AdminFilter("admin_users_search", search="an", role="user"))

Table = tuple[dict[str, Scalar], ...]
ConnectFn = Callable[[], psycopg.Connection[Any]]


@dataclass(frozen=True, slots=True)
class PaginationConfig:
    """Page size, depths (rows skipped before the page), timing budget, and the drift and batch passes."""

    page_size: int = 20
    depths: Sequence[int] | None = None  # None: log-spaced up to the last page of each query
    warmup: int = 2
    min_runs: int = 5
    max_runs: int = 10
    budget_s: float = 0.3
    queries: Sequence[str] | None = None  # names to run (see QUERIES); None: all
    admin_filters: Sequence[AdminFilter] = DEFAULT_ADMIN_FILTERS
    drift: bool = True
    drift_rows: int = 200
    drift_page_size: int = 10
    drift_seed: int = 42
    batches: bool = True
    batch_size: int = 1000
    batch_runs: int = 1
    batch_memory_batches: int | None = 3  # batches traced for peak client memory (None: a whole pass)


@dataclass(frozen=True, slots=True)
class PaginationRun:
    """The scenario's benchmarks and its tables (slopes, seek checks, drift, batch passes)."""

    benchmarks: tuple[Benchmark, ...]
    tables: dict[str, Table] = field(default_factory=dict)


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
    """Rows the table scans produced or discarded (by Filter or recheck): what the server read to return the page.

    Only nodes reading a relation count, so a Bitmap Index Scan and its Bitmap Heap Scan are not counted twice.
    """
    return int(
        sum(
            n.rows_total + n.rows_removed_total + n.rows_removed_recheck_total
            for n in plan.nodes()
            if n.relation is not None and n.node_type.endswith("Scan")
        )
    )


def _counters(plan: Plan, returned: int) -> dict[str, float]:
    s = summarize(plan)
    return {
        "shared_hit_blocks": s.shared_hit_blocks,
        "shared_read_blocks": s.shared_read_blocks,
        "rows_read": rows_read(plan),
        "rows_returned": returned,
    }


def page(conn: psycopg.Connection[Any], q: PageQuery, variant: str, depth: int, size: int) -> tuple[str, list[Any]]:
    """SQL and parameters of the page after `depth` rows: `offset` skips them, `keyset` seeks past the cursor a reader
    holds there (the row at depth - 1)."""
    if variant == "offset":
        return q.offset(conn, depth, size)
    if variant != "keyset":
        raise ConfigError(f"unknown pagination variant {variant!r}; choose offset or keyset")
    cursor = q.key_at(conn, depth - 1) if depth > 0 else None
    return q.page(conn, cursor, size)


def page_counters(conn: psycopg.Connection[Any], query: str, params: list[Any]) -> tuple[dict[str, float], Plan]:
    """The exact counters of one execution (buffers, rows read and returned) from its EXPLAIN ANALYZE, and the plan."""
    plan = explain_analyze(conn, query, params)
    return _counters(plan, int(plan.root.rows_total)), plan


@dataclass(frozen=True, slots=True)
class _Page:
    """One benchmark to time: a page query (or the COUNT) with its exact counters and plan from EXPLAIN ANALYZE."""

    name: str
    variant: str
    query: str
    params: list[Any]
    bench_params: dict[str, Scalar]
    counters: dict[str, float]
    plan: Plan
    notes: tuple[str, ...] = ()


def _page(
    conn: psycopg.Connection[Any],
    name: str,
    variant: str,
    query: str,
    params: list[Any],
    bench_params: dict[str, Scalar],
    extra: dict[str, float] | None = None,
) -> _Page:
    counters, plan = page_counters(conn, query, params)
    return _Page(name, variant, query, params, bench_params, {**counters, **(extra or {})}, plan)


def _timed(conn: psycopg.Connection[Any], cfg: PaginationConfig, pages: Sequence[_Page]) -> list[Benchmark]:
    """Time the pages together, their repetitions in rounds (`measure_many`), as `time_query` times one."""
    with query_calls(conn, [(p.query, p.params) for p in pages]) as calls:
        measured = measure_many(
            calls, warmup=cfg.warmup, min_runs=cfg.min_runs, max_runs=cfg.max_runs, budget_s=cfg.budget_s
        )
    return [
        Benchmark(
            scenario=SCENARIO,
            name=p.name,
            variant=p.variant,
            params=p.bench_params,
            samples_ms=m.samples_ms,
            stats=m.stats,
            counters={**p.counters, **m.protocol()},
            plan=summarize(p.plan).to_dict(),
            notes=p.notes,
            version=benchmark_version(p.query, p.bench_params),
        )
        for p, m in zip(pages, measured, strict=True)
    ]


def _node_json(node: PlanNode) -> dict[str, Any]:
    return {**node.raw, "Plans": [_node_json(c) for c in node.children]}


def _seek_row(q: PageQuery, depth: int, plan: Plan, conn: psycopg.Connection[Any]) -> dict[str, Scalar]:
    check = check_seek({"Plan": _node_json(plan.root)}, q.spec, conn)
    return {
        "query": q.name,
        "depth": depth,
        "order_by": ", ".join(str(k) for k in q.spec.keys),
        "seek": check.is_seek,
        "node_type": check.node_type,
        "index": check.index_name,
        "index_cond": check.index_cond,
        "filter": check.filter,
        "reason": check.reason,
    }


def sweep(
    conn: psycopg.Connection[Any], q: PageQuery, cfg: PaginationConfig
) -> tuple[list[Benchmark], dict[str, Scalar] | None]:
    """OFFSET and keyset pages of `q` at each depth (both must return the same rows), its COUNT(*) total, and the
    seek check of the deepest keyset page that has a cursor."""
    pages, seek = _sweep_pages(conn, q, cfg)
    return _timed(conn, cfg, pages), seek


def _sweep_pages(
    conn: psycopg.Connection[Any], q: PageQuery, cfg: PaginationConfig
) -> tuple[list[_Page], dict[str, Scalar] | None]:
    """`sweep`'s pages, checked and counted but not yet timed."""
    ps = cfg.page_size
    total = q.total(conn)
    depths = [d for d in (cfg.depths if cfg.depths is not None else log_depths(total, ps)) if d < max(total, 1)]
    pages: list[_Page] = []
    seek: dict[str, Scalar] | None = None
    for depth in depths:
        offset_sql, offset_params = page(conn, q, "offset", depth, ps)
        keyset_sql, keyset_params = page(conn, q, "keyset", depth, ps)
        offset_ids = [r[0] for r in conn.execute(offset_sql, offset_params).fetchall()]
        keyset_ids = [r[0] for r in conn.execute(keyset_sql, keyset_params).fetchall()]
        if offset_ids != keyset_ids:
            raise AssertionError(f"{q.name}: OFFSET and keyset pages differ at depth {depth}")
        params: dict[str, Scalar] = {"depth": depth, "page_size": ps}
        offset_page = _page(conn, q.name, "offset", offset_sql, offset_params, params)
        keyset_page = _page(conn, q.name, "keyset", keyset_sql, keyset_params, params)
        if depth > 0:
            seek = _seek_row(q, depth, keyset_page.plan, conn)
            if not seek["seek"]:
                keyset_page = replace(keyset_page, notes=(f"cursor predicate not seekable: {seek['reason']}",))
        pages += [offset_page, keyset_page]
    count_sql, count_params = q.count(conn)
    pages.append(_page(conn, q.name, "count", count_sql, count_params, {}, {"total": total}))
    return pages, seek


def run(
    conn: psycopg.Connection[Any], config: PaginationConfig | None = None, *, connect_writer: ConnectFn | None = None
) -> PaginationRun:
    """Every query's depth sweep and COUNT(*), then (when enabled) the batch passes over posts and, given a way to
    open a second connection, the drift walks under concurrent writes."""
    cfg = config or PaginationConfig()
    queries = [q for q in guide_queries(conn, cfg.admin_filters) if cfg.queries is None or q.name in cfg.queries]
    pages: list[_Page] = []
    seeks: list[dict[str, Scalar]] = []
    for q in queries:
        qp, seek = _sweep_pages(conn, q, cfg)
        pages += qp
        if seek is not None:
            seeks.append(seek)
    benches = _timed(conn, cfg, pages)  # every query's pages together, so that they share the machine's slow spells
    tables: dict[str, Table] = {"pagination_slopes": slope_rows(benches), "pagination_seek": tuple(seeks)}
    if cfg.batches:
        bb, rows = batch_benchmarks(conn, cfg.batch_size, runs=cfg.batch_runs, memory_batches=cfg.batch_memory_batches)
        benches += bb
        tables["pagination_batches"] = rows
    if cfg.drift and connect_writer is not None:
        reports = drift_table(
            conn, connect_writer, rows=cfg.drift_rows, page_size=cfg.drift_page_size, seed=cfg.drift_seed
        )
        tables["pagination_drift"] = drift_rows(reports, f"newest {cfg.drift_rows} posts (scratch copy)")
    return PaginationRun(tuple(benches), tables)
