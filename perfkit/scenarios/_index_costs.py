"""What indexes cost: CONCURRENTLY build times (outside any transaction) and write overhead on a batch of posts."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from perfkit import indexing
from perfkit._seed_marks import OwnWrites
from perfkit.errors import IndexBuildError
from perfkit.indexing import IndexDef
from perfkit.results import Scalar
from perfkit.scenarios._index_catalog import IndexSet

Conn = psycopg.Connection[Any]

INSERT_BATCH = """
INSERT INTO posts (id, author_id, title, content, status, published_at, view_count, created_at, updated_at)
SELECT gen_random_uuid(), author_id, title, left(content, 200), status, published_at, view_count, created_at, updated_at
FROM posts ORDER BY id LIMIT %(rows)s
"""


def _has_extension(conn: Conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_extension WHERE extname = %s", (name,)).fetchone() is not None


def concurrent_builds(conn: Conn, wanted: Iterable[tuple[IndexDef, tuple[str, ...]]]) -> dict[str, dict[str, Scalar]]:
    """Build each index CONCURRENTLY (autocommit, no transaction), time it, drop it. Keyed by index name.

    An extension a set needs (pg_trgm) is created for the build and dropped again if perfkit created it. A failed
    build leaves an INVALID index: indexing.build_concurrently drops it and the status says so.
    """
    out: dict[str, dict[str, Scalar]] = {}
    created: list[str] = []
    try:
        for ix, extensions in wanted:
            if ix.name in out:
                continue
            missing = [e for e in extensions if not _has_extension(conn, e)]
            for ext in missing:
                conn.execute(sql.SQL("CREATE EXTENSION {}").format(sql.Identifier(ext)))
                created.append(ext)
            try:
                b = indexing.build_concurrently(conn, ix)
                out[ix.name] = {"build_concurrently_ms": b.build_ms, "concurrent_status": "ok"}
            except IndexBuildError as exc:
                out[ix.name] = {"build_concurrently_ms": None, "concurrent_status": str(exc)}
    finally:
        for ext in reversed(created):
            conn.execute(sql.SQL("DROP EXTENSION IF EXISTS {}").format(sql.Identifier(ext)))
    return out


def _insert_ms(conn: Conn, rows: int, runs: int, own: OwnWrites) -> float:
    """Best (minimum) time of inserting `rows` posts (each run in a savepoint rolled back), after one untimed run."""
    samples: list[float] = []
    for i in range(runs + 1):
        with conn.transaction(force_rollback=True):
            t0 = time.perf_counter()
            inserted = conn.execute(INSERT_BATCH, {"rows": rows}).rowcount
            if i:
                samples.append((time.perf_counter() - t0) * 1000)
        own.add("posts", inserted=inserted)
    return min(samples)


def write_overhead(
    conn: Conn, sets: Sequence[tuple[str, IndexSet]], rows: int, runs: int, own: OwnWrites
) -> list[dict[str, Scalar]]:
    """Insert the same batch of posts with only each posts index set present (and with none); all rolled back, and
    each row inserted told to `own` (so that the seed's write marks excuse exactly these rows).

    `sets` are (used by, set) pairs; sets with the same definitions are measured once.
    """
    distinct: dict[str, tuple[IndexSet, list[str]]] = {"": (IndexSet("none"), [])}
    for used_by, iset in sets:
        if not iset.indexes or any(ix.table != "posts" for ix in iset.indexes):
            continue
        key = "; ".join(ix.text for ix in iset.indexes)
        distinct.setdefault(key, (iset, []))[1].append(used_by)
    out: list[dict[str, Scalar]] = []
    base_ms: float | None = None
    for key, (iset, users) in distinct.items():
        with conn.transaction(force_rollback=True):
            indexing.strip_table(conn, "posts")
            for ix in iset.indexes:
                indexing.create(conn, ix)
            ms = _insert_ms(conn, rows, runs, own)
        if not key:
            base_ms = ms
        label = "none" if not key else ", ".join(_short(ix) for ix in iset.indexes)
        out.append(
            {
                "index_set": label,
                "indexes": key or "primary key only",
                "used_by": ", ".join(users),
                "rows": rows,
                "insert_ms": round(ms, 3),
                "overhead_pct": round((ms / base_ms - 1.0) * 100.0, 1) if base_ms else 0.0,
            }
        )
    return out


def _short(ix: IndexDef) -> str:
    body = ", ".join(k.text for k in ix.keys)
    method = "" if ix.method == "btree" else f"{ix.method} "
    out = f"{method}({body})"
    if ix.include:
        out += f" incl ({', '.join(ix.include)})"
    if ix.where:
        out += f" where {ix.where}"
    return out
