"""Pagination drift under concurrent writes (C13): rows served, duplicated and missed by OFFSET and keyset walks.

Definitions (per walk):
- snapshot: the ids matching the query, read on the walking connection just before page 1;
- deleted: snapshot ids gone when the walk ends (deleted by the writer during the walk);
- duplicates: every serving of an id beyond its first (an id served three times counts twice);
- missing: snapshot ids never served and not deleted: rows that existed for the whole walk and were skipped;
- extra: distinct served ids not in the snapshot (inserted during the walk and picked up).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from perfkit.errors import ConfigError, CursorDidNotAdvance
from perfkit.keyset import KeysetSpec, Page, fetch_offset_page, fetch_page

Strategy = Literal["offset", "keyset", "naive"]
STRATEGIES: tuple[str, ...] = ("offset", "keyset", "naive")
Mutator = Callable[[int, psycopg.Connection[Any]], Sequence[str]]
"""Called with (index of the page just served, writer connection); returns a description of what it changed."""
Statement = str | sql.SQL | sql.Composed
Step = tuple[int, Statement] | tuple[int, Statement, Sequence[Any]]


@dataclass(frozen=True, slots=True)
class DriftReport:
    """What one walk served, against the snapshot taken at its start (see the module docstring)."""

    strategy: str
    page_size: int
    pages: tuple[tuple[Any, ...], ...]
    rows_served: int
    distinct_rows: int
    duplicates: tuple[Any, ...]
    missing: tuple[Any, ...]
    extra: tuple[Any, ...]
    deleted: tuple[Any, ...]
    snapshot_rows: int
    mutations: tuple[str, ...]
    time_per_page_ms: tuple[float, ...]

    @property
    def ok(self) -> bool:
        """No row served twice and none skipped."""
        return not self.duplicates and not self.missing

    def to_row(self) -> dict[str, Any]:
        """A flat, JSON-able row for the `pagination_drift` results table."""
        return {
            "strategy": self.strategy,
            "page_size": self.page_size,
            "pages": len(self.pages),
            "snapshot_rows": self.snapshot_rows,
            "rows_served": self.rows_served,
            "distinct_rows": self.distinct_rows,
            "duplicates": len(self.duplicates),
            "missing": len(self.missing),
            "extra": len(self.extra),
            "deleted": len(self.deleted),
            "median_page_ms": median(self.time_per_page_ms) if self.time_per_page_ms else 0.0,
        }


def scripted(steps: Sequence[Step]) -> Mutator:
    """A mutator running each statement after the page with the given index (0 = after the first page)."""
    by_page: dict[int, list[tuple[Statement, Sequence[Any]]]] = {}
    for step in steps:
        after, statement, params = (step[0], step[1], step[2] if len(step) == 3 else ())
        by_page.setdefault(after, []).append((statement, params))

    def mutate(page_index: int, writer: psycopg.Connection[Any]) -> Sequence[str]:
        done = []
        for statement, params in by_page.get(page_index, ()):
            query = sql.SQL(statement) if isinstance(statement, str) else statement
            writer.execute(query, params)
            done.append(f"after page {page_index + 1}: {query.as_string(writer)} {list(params) or ''}".rstrip())
        return done

    return mutate


def random_churn(
    spec: KeysetSpec,
    new_row: Callable[[random.Random, int], Mapping[str, Any]],
    *,
    seed: int = 42,
    inserts_per_page: int = 1,
    deletes_per_page: int = 1,
    id_column: str = "id",
) -> Mutator:
    """A seeded mutator inserting `new_row(rng, n)` rows and deleting random existing ids between pages."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    made = 0

    def mutate(page_index: int, writer: psycopg.Connection[Any]) -> Sequence[str]:
        nonlocal made
        done = []
        ids = sorted(
            r[0]
            for r in writer.execute(
                sql.SQL("SELECT {} FROM {}").format(sql.Identifier(id_column), spec.relation)
            ).fetchall()
        )
        for victim in rng.sample(ids, min(deletes_per_page, len(ids))):
            writer.execute(
                sql.SQL("DELETE FROM {} WHERE {} = %s").format(spec.relation, sql.Identifier(id_column)), (victim,)
            )
            done.append(f"after page {page_index + 1}: delete {victim}")
        for _ in range(inserts_per_page):
            row = dict(new_row(rng, made))
            made += 1
            writer.execute(
                sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    spec.relation,
                    sql.SQL(", ").join(map(sql.Identifier, row)),
                    sql.SQL(", ").join([sql.SQL("%s")] * len(row)),
                ),
                list(row.values()),
            )
            done.append(f"after page {page_index + 1}: insert {row.get(id_column, '?')}")
        return done

    return mutate


def _ids(
    conn: psycopg.Connection[Any],
    spec: KeysetSpec,
    id_column: str,
    where: sql.Composable | None,
    where_params: Sequence[Any],
) -> set[Any]:
    query = sql.SQL("SELECT {} FROM {}").format(sql.Identifier(id_column), spec.relation)
    if where is not None:
        query = query + sql.SQL(" WHERE ") + where
    return {r[0] for r in conn.cursor(row_factory=tuple_row).execute(query, list(where_params)).fetchall()}


def naive_spec(spec: KeysetSpec, keys: int | None = None) -> KeysetSpec:
    """The spec cut to its first `keys` keys (default: all but the last), i.e. without the unique tiebreaker."""
    n = len(spec.keys) - 1 if keys is None else keys
    if not 1 <= n <= len(spec.keys):
        raise ConfigError(f"a naive spec keeps 1..{len(spec.keys)} keys, not {n}")
    return KeysetSpec(spec.table, spec.keys[:n], spec.schema, spec.columns)


def drift_walk(
    conn: psycopg.Connection[Any],
    spec: KeysetSpec,
    page_size: int,
    strategy: str,
    *,
    writer: psycopg.Connection[Any] | None = None,
    mutator: Mutator | None = None,
    id_column: str = "id",
    where: sql.Composable | None = None,
    where_params: Sequence[Any] = (),
    max_pages: int = 100_000,
) -> DriftReport:
    """Walk every page with `strategy` ("offset", "keyset", or "naive" = keyset without the tiebreaker).

    After each page but the last, `mutator` runs on `writer` (another autocommit connection), so the next page
    sees its changes. `conn` should be in autocommit so every page reads fresh data, as a web request would.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown pagination strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    if mutator is not None and writer is None:
        raise ConfigError("a mutator needs a writer connection (another connection than the walker's)")
    walk_spec = naive_spec(spec) if strategy == "naive" else spec
    snapshot = _ids(conn, spec, id_column, where, where_params)
    pages: list[tuple[Any, ...]] = []
    times: list[float] = []
    mutations: list[str] = []
    cursor: str | None = None
    while len(pages) < max_pages:
        start = time.perf_counter()
        page: Page
        if strategy == "offset":
            page = fetch_offset_page(
                conn, spec, page_size, len(pages) * page_size, where=where, where_params=where_params
            )
        else:
            page = fetch_page(conn, walk_spec, page_size, cursor, where=where, where_params=where_params)
        times.append((time.perf_counter() - start) * 1000.0)
        pages.append(tuple(r[id_column] for r in page.rows))
        if not page.has_more:
            break
        if strategy != "offset" and page.next_cursor == cursor:
            raise CursorDidNotAdvance(f"page {len(pages)} of {walk_spec} ended where the previous page did")
        cursor = page.next_cursor
        if mutator is not None and writer is not None:
            mutations += mutator(len(pages) - 1, writer)
    else:
        raise ConfigError(f"walk of {spec} did not end within {max_pages} pages")
    remaining = _ids(conn, spec, id_column, where, where_params)
    counts = Counter(i for p in pages for i in p)
    served = set(counts)
    deleted = snapshot - remaining
    return DriftReport(
        strategy=strategy,
        page_size=page_size,
        pages=tuple(pages),
        rows_served=sum(counts.values()),
        distinct_rows=len(served),
        duplicates=tuple(sorted(i for i, n in counts.items() for _ in range(n - 1))),
        missing=tuple(sorted(snapshot - served - deleted)),
        extra=tuple(sorted(served - snapshot)),
        deleted=tuple(sorted(deleted)),
        snapshot_rows=len(snapshot),
        mutations=tuple(mutations),
        time_per_page_ms=tuple(times),
    )


def walk_naive(
    conn: psycopg.Connection[Any], spec: KeysetSpec, page_size: int, *, id_column: str = "id"
) -> DriftReport:
    """A keyset walk without the spec's tiebreaker (`WHERE created_at < last`): shows the rows it loses (C09)."""
    return drift_walk(conn, spec, page_size, "naive", id_column=id_column)
