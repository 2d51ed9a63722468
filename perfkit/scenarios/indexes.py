"""Index strategies: one query measured without an index, with a single-column and with a composite index."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from perfkit.explain import explain_analyze
from perfkit.measure import measure
from perfkit.plan import summarize
from perfkit.results import Benchmark, Scalar, benchmark_version

SCENARIO = "indexes"


@dataclass(frozen=True, slots=True)
class IndexSet:
    """A named set of indexes on one table, as (index name, column list or expression) pairs."""

    name: str
    table: str
    indexes: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class CatalogQuery:
    """A query of the catalogue, the table it reads, and the index sets compared for it."""

    name: str
    table: str
    sql: str
    index_sets: tuple[IndexSet, ...]


POSTS_BY_AUTHOR_STATUS = CatalogQuery(
    name="posts_by_author_status",
    table="posts",
    sql="SELECT id, title, created_at FROM posts WHERE author_id = %(author)s AND status = %(status)s",
    index_sets=(
        IndexSet("none", "posts", ()),
        IndexSet("single", "posts", (("pk_ix_posts_author", "author_id"),)),
        IndexSet("composite", "posts", (("pk_ix_posts_author_status", "author_id, status"),)),
    ),
)


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """Which queries to run and the timing budget."""

    queries: Sequence[CatalogQuery] = (POSTS_BY_AUTHOR_STATUS,)
    warmup: int = 2
    min_runs: int = 5
    max_runs: int = 30
    budget_s: float = 1.5
    extra: Mapping[str, str] = field(default_factory=dict)


def popular_author_params(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """The author with most posts and the common status: a realistic, selective-enough parameter set."""
    row = conn.execute(
        "SELECT author_id FROM posts GROUP BY author_id ORDER BY count(*) DESC, author_id LIMIT 1"
    ).fetchone()
    if row is None:
        raise AssertionError("posts is empty: seed the database first")
    return {"author": row[0], "status": "published"}


def _secondary_indexes(conn: psycopg.Connection[Any], table: str) -> list[str]:
    """Indexes on the table that back no constraint (those can be dropped for the 'none' baseline)."""
    rows = conn.execute(
        """
        SELECT i.relname FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE t.relname = %s AND n.nspname = current_schema()
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """,
        (table,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def run(
    conn: psycopg.Connection[Any], config: IndexConfig | None = None
) -> tuple[list[Benchmark], list[dict[str, Scalar]]]:
    """Measure each catalogue query under each index set; the schema is left exactly as it was.

    Each index set lives inside a transaction that is rolled back: the table's own secondary indexes are
    dropped, the set is built, the table analysed, the query explained and timed, and everything undone.
    """
    cfg = config or IndexConfig()
    benches: list[Benchmark] = []
    sizes: list[dict[str, Scalar]] = []
    for q in cfg.queries:
        params = popular_author_params(conn)
        for iset in q.index_sets:
            with conn.transaction(force_rollback=True):
                for existing in _secondary_indexes(conn, q.table):
                    conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(existing)))
                for ix_name, columns in iset.indexes:
                    t0 = time.perf_counter()
                    conn.execute(
                        sql.SQL("CREATE INDEX {} ON {} ({})").format(
                            sql.Identifier(ix_name), sql.Identifier(q.table), sql.SQL(columns)
                        )
                    )
                    build_ms = (time.perf_counter() - t0) * 1000
                    size = conn.execute("SELECT pg_relation_size(%s::regclass)", (ix_name,)).fetchone()
                    sizes.append(
                        {
                            "query": q.name,
                            "index_set": iset.name,
                            "index": ix_name,
                            "columns": columns,
                            "size_bytes": int(size[0]) if size else 0,
                            "build_ms": round(build_ms, 3),
                        }
                    )
                conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(q.table)))
                plan = explain_analyze(conn, q.sql, params)
                m = measure(
                    lambda: conn.execute(q.sql, params).fetchall(),  # noqa: B023 - used within the loop
                    warmup=cfg.warmup,
                    min_runs=cfg.min_runs,
                    max_runs=cfg.max_runs,
                    budget_s=cfg.budget_s,
                )
            summary = summarize(plan)
            benches.append(
                Benchmark(
                    scenario=SCENARIO,
                    name=q.name,
                    variant=iset.name,
                    params={"status": str(params["status"]), "author": "most posts"},
                    samples_ms=m.samples_ms,
                    stats=m.stats,
                    counters={
                        "shared_hit_blocks": summary.shared_hit_blocks,
                        "shared_read_blocks": summary.shared_read_blocks,
                        "rows_removed": summary.rows_removed,
                        "rows_returned": plan.root.rows_total,
                    },
                    plan=summary.to_dict(),
                    version=benchmark_version(q.sql, [list(i.indexes) for i in [iset]]),
                )
            )
    return benches, sizes
