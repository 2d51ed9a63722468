"""Index strategies: each catalogue query measured under each index set, plus what every index costs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from perfkit import freshness, indexing
from perfkit._seed_marks import own_writes
from perfkit.errors import ConfigError, SchemaError
from perfkit.explain import explain_analyze
from perfkit.jsonb_rules import diagnose
from perfkit.measure import Rounds, query_calls
from perfkit.plan import Plan, summarize
from perfkit.results import Benchmark, Scalar, benchmark_version
from perfkit.scenarios._index_catalog import BY_NAME, CATALOGUE, CatalogQuery, IndexSet, selection
from perfkit.scenarios._index_costs import concurrent_builds, write_overhead

SCENARIO = "indexes"

__all__ = [
    "BY_NAME",
    "CATALOGUE",
    "SCENARIO",
    "CatalogQuery",
    "IndexConfig",
    "IndexRun",
    "IndexSet",
    "index_counters",
    "index_set",
    "run",
]

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """What to run: the representative subset (default) or the `full` catalogue, or named `queries`; timing effort.

    `concurrently` times each index's CREATE INDEX CONCURRENTLY too; `write_rows` posts are inserted per
    write-overhead run (0 skips it). Each set's tables are analysed after the build when the set has an expression
    index (the only kind whose statistics a build adds), or always with `analyze_always`.
    """

    full: bool = False
    queries: Sequence[str] | None = None
    warmup: int = 1
    min_runs: int = 5
    max_runs: int = 20
    budget_s: float = 0.25
    concurrently: bool = True
    write_rows: int = 1000
    write_runs: int = 3
    analyze_always: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IndexRun:
    """The benchmarks (query x case x index set) and the tables: sizes and builds, write overhead, statistics."""

    benchmarks: tuple[Benchmark, ...]
    tables: Mapping[str, tuple[dict[str, Scalar], ...]]


def _plan(conn: Conn, q: CatalogQuery, params: Mapping[str, Any]) -> Plan:
    return explain_analyze(conn, q.sql, params)


def index_counters(conn: Conn, q: CatalogQuery, params: Mapping[str, Any]) -> tuple[dict[str, float], Plan]:
    """The exact counters of one execution of `q` (buffers, rows removed, heap fetches...) and its plan."""
    plan = _plan(conn, q, params)
    return _counters(plan), plan


def _counters(plan: Plan) -> dict[str, float]:
    s = summarize(plan)
    heap_fetches = sum(int(n.raw.get("Heap Fetches", 0) or 0) for n in plan.nodes() if n.node_type == "Index Only Scan")
    return {
        "shared_hit_blocks": s.shared_hit_blocks,
        "shared_read_blocks": s.shared_read_blocks,
        "rows_removed": s.rows_removed,
        "rows_returned": plan.root.rows_total,
        "estimate_error": round(s.worst_misestimate.magnitude, 3) if s.worst_misestimate else 1.0,
        "heap_fetches": heap_fetches,
    }


def _notes(conn: Conn, plan: Plan, iset: IndexSet) -> tuple[str, ...]:
    notes = [f.message for f in diagnose(conn, plan)]
    used = set(summarize(plan).indexes)
    for ix in iset.indexes:
        if ix.name not in used:
            why = f" (partial: WHERE {ix.where} is not implied by the query)" if ix.where else ""
            notes.append(f"{ix.name} not used{why}")
    return tuple(notes)


@contextmanager
def index_set(
    conn: Conn, q: CatalogQuery, iset: IndexSet, cfg: IndexConfig | None = None
) -> Iterator[list[dict[str, Scalar]]]:
    """A rolled-back transaction in which the query's tables carry exactly `iset` (built, and analysed where the set
    needs it); yields the size and build time of each index. Nothing outlives the block."""
    cfg = cfg or IndexConfig()
    sizes: list[dict[str, Scalar]] = []
    with conn.transaction(force_rollback=True):
        for ext in iset.extensions:
            if not indexing.ensure_extension(conn, ext):
                raise ConfigError(f"index set {q.name}/{iset.name} needs the {ext} extension, which is not available")
        tables = dict.fromkeys([*q.tables, *(ix.table for ix in iset.indexes)])
        for table in tables:
            indexing.strip_table(conn, table)
        for ix in iset.indexes:
            b = indexing.create(conn, ix)
            sizes.append(
                {
                    "query": q.name,
                    "index_set": iset.name,
                    "index": ix.name,
                    "table": ix.table,
                    "kind": ix.kind,
                    "definition": ix.text,
                    "size_bytes": b.size_bytes,
                    "build_ms": b.build_ms,
                    "analysed": cfg.analyze_always or any(k.expression for k in ix.keys),
                }
            )
        # Column statistics survive DROP INDEX and were checked fresh before; CREATE INDEX records the index's own
        # size. Only an expression index needs ANALYZE (statistics on the expression), so only then is it paid for.
        analyse = [
            t
            for t in tables
            if cfg.analyze_always or any(k.expression for ix in iset.indexes if ix.table == t for k in ix.keys)
        ]
        for table in analyse:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
        yield sizes


#: Rounds over the index sets. Each round builds every set again (index sets of one table cannot coexist), so a round
#: costs the scenario's index builds once more: 3 rounds share a slow spell among the sets at twice the build time.
SET_ROUNDS = 3

Cell = tuple[CatalogQuery, IndexSet, list[Any]]


def _measure_sets(
    conn: Conn, cells: Sequence[Cell], cfg: IndexConfig
) -> tuple[list[Benchmark], list[dict[str, Scalar]]]:
    """Explain and time every case of every (query, index set, cases) cell, in SET_ROUNDS rounds over all the cells.

    Each round builds each set in `index_set`'s rolled-back transaction and takes that round's share of the samples
    (`Rounds`; the warm-up runs in the first round, where the EXPLAIN runs too), so the sets of a query are timed side
    by side through the whole scenario instead of one after the other. Plans, notes, index sizes and build times come
    from the first round.
    """
    slots: list[range] = []  # the sampler's numbers for each cell's cases
    for _q, _s, cases in cells:
        start = slots[-1].stop if slots else 0
        slots.append(range(start, start + len(cases)))
    sampler = Rounds(
        slots[-1].stop if slots else 0,
        warmup=cfg.warmup,
        min_runs=cfg.min_runs,
        max_runs=cfg.max_runs,
        budget_s=cfg.budget_s,
        rounds=SET_ROUNDS,
    )
    explained: dict[int, tuple[dict[str, float], Plan, tuple[str, ...]]] = {}
    sizes: list[dict[str, Scalar]] = []
    for r in range(1, SET_ROUNDS + 1):
        for (q, iset, cases), ids in zip(cells, slots, strict=True):
            if not any(sampler.wants(i, r) for i in ids):
                continue
            with index_set(conn, q, iset, cfg) as built:
                if r == 1:
                    sizes += built
                    for case, i in zip(cases, ids, strict=True):
                        counters, plan = index_counters(conn, q, case.params)
                        explained[i] = (counters, plan, _notes(conn, plan, iset))
                with query_calls(conn, [(q.sql, case.params) for case in cases]) as calls:  # ad hoc, as EXPLAIN ran
                    for i, call in zip(ids, calls, strict=True):
                        if r == 1:  # the EXPLAIN ANALYZE and the build itself left the rebuilt index warm later
                            sampler.warm(i, call)
                        if sampler.wants(i, r):
                            sampler.take(i, call, r)
    measured = sampler.results()
    benches: list[Benchmark] = []
    for (q, iset, cases), ids in zip(cells, slots, strict=True):
        for case, i in zip(cases, ids, strict=True):
            counters, plan, notes = explained[i]
            m = measured[i]
            plan_dict = summarize(plan).to_dict()
            plan_dict["index_set_definition"] = iset.label
            benches.append(
                Benchmark(
                    scenario=SCENARIO,
                    name=q.name,
                    variant=iset.name,
                    params=dict(case.label),
                    samples_ms=m.samples_ms,
                    stats=m.stats,
                    counters={**counters, **m.protocol()},
                    plan=plan_dict,
                    notes=notes,
                    version=benchmark_version(q.sql, dict(case.label), [ix.text for ix in iset.indexes]),
                )
            )
    return benches, sizes


def _selected(cfg: IndexConfig) -> list[tuple[CatalogQuery, tuple[IndexSet, ...], int]]:
    if cfg.queries is None:
        return selection(cfg.full)
    unknown = [n for n in cfg.queries if n not in BY_NAME]
    if unknown:
        raise ConfigError(f"unknown catalogue query {unknown[0]!r}; choose from {', '.join(BY_NAME)}")
    return [(BY_NAME[n], BY_NAME[n].index_sets, 99) for n in cfg.queries]


def run(conn: Conn, config: IndexConfig | None = None) -> IndexRun:
    """Measure the selected catalogue queries under their index sets; the schema is left exactly as it was.

    Before measuring: perfkit's leftover indexes are dropped, stale statistics are refreshed (ANALYZE) and tables
    whose visibility map is not current are VACUUMed (outside any transaction), so index-only scans are real.
    Each index set then lives in a transaction that is rolled back (see _measure_sets). CONCURRENTLY builds and the
    write-overhead batch follow. `conn` must be an autocommit connection.
    """
    cfg = config or IndexConfig()
    if not conn.autocommit:
        raise ConfigError("the index scenario needs an autocommit connection (VACUUM, CREATE INDEX CONCURRENTLY)")
    chosen = _selected(cfg)
    leftovers = indexing.cleanup_leftovers(conn)
    before = indexing.schema_indexes(conn)
    tables = [t for q, _, _ in chosen for t in q.tables]
    hygiene: list[dict[str, Scalar]] = [
        {"table": name, "check": "leftover index", "state": "dropped", "action": f"DROP INDEX {name}"}
        for name in leftovers
    ]
    for c in freshness.ensure_fresh(conn, tables):
        action = "ANALYZE" if c.analyzed else "none"
        hygiene.append({"table": c.table, "check": "statistics", "state": c.reason, "action": action})
    for v in freshness.ensure_all_visible(conn, tables):
        state = f"{v.all_visible_pages}/{v.pages} pages all-visible"
        hygiene.append(
            {"table": v.table, "check": "visibility map", "state": state, "action": "VACUUM" if v.vacuumed else "none"}
        )
    cells: list[Cell] = []
    for q, sets, ncases in chosen:
        cases = q.cases(conn)[:ncases]
        cells += [(q, iset, cases) for iset in sets]
    benches, sizes = _measure_sets(conn, cells, cfg)
    if cfg.concurrently:
        wanted = [(ix, iset.extensions) for q, sets, _ in chosen for iset in sets for ix in iset.indexes]
        builds = concurrent_builds(conn, wanted)
        sizes = [{**row, **builds.get(str(row["index"]), {})} for row in sizes]
    overhead: list[dict[str, Scalar]] = []
    if cfg.write_rows > 0 and any("posts" in q.tables for q, _, _ in chosen):
        pairs = [(f"{q.name}/{s.name}", s) for q, sets, _ in chosen for s in sets]
        with own_writes(conn, ("posts",)) as own:  # undone here, so a seed stays reusable
            overhead = write_overhead(conn, pairs, cfg.write_rows, cfg.write_runs, own)
            # The rolled-back inserts left dead rows at the end of posts: VACUUM truncates them and resets the map.
            # INDEX_CLEANUP ON: with few dead rows VACUUM may skip the indexes and keep the dead line pointers, whose
            # pages then stay (not all-visible) at the end of the table. VACUUM alone would also leave
            # pg_class.reltuples extrapolated from the dead tail (78 for 1,000 live rows at scale 0.01), and the next
            # run would plan with that: ANALYZE restores it, so a rerun plans the same.
            conn.execute("VACUUM (INDEX_CLEANUP ON, ANALYZE) posts")
        action = "VACUUM (INDEX_CLEANUP ON, ANALYZE)"
        hygiene.append({"table": "posts", "check": "after write batches", "state": "dead rows", "action": action})
    after = indexing.schema_indexes(conn)
    if after != before:
        raise SchemaError("the index scenario changed the schema's indexes; this is a perfkit bug")
    tables_out: dict[str, tuple[dict[str, Scalar], ...]] = {
        "index_sizes": tuple(sizes),
        "index_hygiene": tuple(hygiene),
    }
    if overhead:
        tables_out["index_write_overhead"] = tuple(overhead)
    return IndexRun(tuple(benches), tables_out)
