"""Loading strategies: N users with their latest published posts, as N+1 queries, one statement, or batched."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from perfkit.counter import StatementCounter
from perfkit.errors import PerfkitError
from perfkit.measure import measure
from perfkit.results import Benchmark, benchmark_version

SCENARIO = "loading"
POSTS_PER_USER = 5

USERS_PAGE = """
SELECT id, name, email FROM users ORDER BY created_at DESC, id DESC LIMIT %(n)s
"""
POSTS_OF_ONE_USER = """
SELECT id, title, published_at FROM posts
WHERE author_id = %(author)s AND status = 'published'
ORDER BY published_at DESC, id DESC LIMIT %(take)s
"""
ONE_STATEMENT = """
SELECT u.id, u.name, u.email, p.id, p.title, p.published_at
FROM (SELECT id, name, email, created_at FROM users ORDER BY created_at DESC, id DESC LIMIT %(n)s) u
LEFT JOIN LATERAL (
    SELECT id, title, published_at FROM posts
    WHERE author_id = u.id AND status = 'published'
    ORDER BY published_at DESC, id DESC LIMIT %(take)s
) p ON true
ORDER BY u.created_at DESC, u.id DESC, p.published_at DESC, p.id DESC
"""
POSTS_OF_MANY_USERS = """
SELECT author_id, id, title, published_at FROM (
    SELECT author_id, id, title, published_at,
           row_number() OVER (PARTITION BY author_id ORDER BY published_at DESC, id DESC) AS rn
    FROM posts WHERE author_id = ANY(%(authors)s) AND status = 'published'
) ranked WHERE rn <= %(take)s
ORDER BY author_id, published_at DESC, id DESC
"""

# The logical result every strategy must produce: user id -> ids of its latest posts, newest first.
Loaded = dict[UUID, tuple[UUID, ...]]


def load_n_plus_one(conn: psycopg.Connection[Any], n: int) -> Loaded:
    """One query for the users, then one query per user for its posts (the N+1 pattern)."""
    users = conn.execute(USERS_PAGE, {"n": n}).fetchall()
    out: Loaded = {}
    for uid, _name, _email in users:
        posts = conn.execute(POSTS_OF_ONE_USER, {"author": uid, "take": POSTS_PER_USER}).fetchall()
        out[uid] = tuple(p[0] for p in posts)
    return out


def load_join(conn: psycopg.Connection[Any], n: int) -> Loaded:
    """One statement: the page of users LEFT JOIN LATERAL their latest posts."""
    out: Loaded = {}
    for uid, _name, _email, pid, _title, _published in conn.execute(
        ONE_STATEMENT, {"n": n, "take": POSTS_PER_USER}
    ).fetchall():
        posts = out.setdefault(uid, ())
        if pid is not None:
            out[uid] = (*posts, pid)
    return out


def load_batched(conn: psycopg.Connection[Any], n: int) -> Loaded:
    """Two statements: the users, then all their posts at once with `author_id = ANY(...)`."""
    users = conn.execute(USERS_PAGE, {"n": n}).fetchall()
    ids = [u[0] for u in users]
    by_author: dict[UUID, list[UUID]] = {uid: [] for uid in ids}
    for author, pid, _title, _published in conn.execute(
        POSTS_OF_MANY_USERS, {"authors": ids, "take": POSTS_PER_USER}
    ).fetchall():
        by_author[author].append(pid)
    return {uid: tuple(by_author[uid]) for uid in ids}


STRATEGIES: Mapping[str, tuple[Callable[[psycopg.Connection[Any], int], Loaded], tuple[str, ...]]] = {
    "n_plus_one": (load_n_plus_one, (USERS_PAGE, POSTS_OF_ONE_USER)),
    "join": (load_join, (ONE_STATEMENT,)),
    "batched": (load_batched, (USERS_PAGE, POSTS_OF_MANY_USERS)),
}


@dataclass(frozen=True, slots=True)
class LoadingConfig:
    """Page sizes and timing budget of the loading comparison."""

    sizes: Sequence[int] = (1, 10, 100)
    warmup: int = 2
    min_runs: int = 5
    max_runs: int = 30
    budget_s: float = 1.5


class StrategyMismatch(PerfkitError):
    """Two loading strategies returned different data: a bug, never a result."""


def run(conn: psycopg.Connection[Any], config: LoadingConfig | None = None) -> list[Benchmark]:
    """Measure every strategy at every page size; check they return the same data."""
    cfg = config or LoadingConfig()
    benches: list[Benchmark] = []
    for n in cfg.sizes:
        reference: Loaded | None = None
        for variant, (fn, statements) in STRATEGIES.items():
            with StatementCounter(conn) as counter:
                loaded = fn(conn, n)
            if reference is None:
                reference = loaded
            elif loaded != reference:
                raise StrategyMismatch(f"loading strategy {variant!r} returned different data at n={n}")
            m = measure(
                lambda fn=fn, n=n: fn(conn, n),  # type: ignore[misc]
                warmup=cfg.warmup,
                min_runs=cfg.min_runs,
                max_runs=cfg.max_runs,
                budget_s=cfg.budget_s,
            )
            benches.append(
                Benchmark(
                    scenario=SCENARIO,
                    name="users_latest_posts",
                    variant=variant,
                    params={"n": n, "take": POSTS_PER_USER},
                    samples_ms=m.samples_ms,
                    stats=m.stats,
                    counters={
                        "statements": counter.statements,
                        "round_trips": counter.round_trips,
                        "rows": counter.rows,
                        "bytes": counter.bytes,
                        "users": len(loaded),
                        "posts": sum(len(v) for v in loaded.values()),
                    },
                    version=benchmark_version(statements, n, POSTS_PER_USER),
                )
            )
    return benches
