"""Loading strategies on the seeded fixture: statement counts, identical results, row explosion, server stats."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import psycopg
import pytest

from perfkit import pgss
from perfkit.counter import StatementCounter
from perfkit.errors import ConfigError
from perfkit.results import Benchmark
from perfkit.scenarios import loading
from perfkit.scenarios._loading_model import Conn, Loaded, Strategy
from tests.fix_server import server_prepares

USERS, POSTS, COMMENTS = "users_latest_posts", "posts_author_tags", "posts_comments_authors"


def counted(conn: Conn, workload: str, strategy: str, n: int) -> tuple[StatementCounter, Loaded]:
    with StatementCounter(conn) as c:
        loaded = loading.WORKLOADS[workload].strategies[strategy].load(conn, n)
    return c, loaded


@pytest.mark.parametrize("n", [1, 10, 50])
def test_statement_counts_users(seeded_conn: Conn, n: int) -> None:
    for strategy, expected in {"n_plus_one": 1 + 2 * n, "batched": 3, "join": 1, "json": 1, "window": 1}.items():
        c, loaded = counted(seeded_conn, USERS, strategy, n)
        assert len(loaded) == n
        assert (c.statements, c.round_trips) == (expected, expected), strategy
    c, _ = counted(seeded_conn, USERS, "lateral", n)
    assert c.statements == 1


@pytest.mark.parametrize("n", [1, 10, 50])
def test_statement_counts_posts_with_author_and_tags(seeded_conn: Conn, n: int) -> None:
    for strategy, expected in {"n_plus_one": 1 + 2 * n, "batched": 3, "join": 1, "json": 1}.items():
        c, loaded = counted(seeded_conn, POSTS, strategy, n)
        assert len(loaded) == n
        assert c.statements == expected, strategy


@pytest.mark.parametrize("n", [1, 10, 50])
def test_statement_counts_two_levels(seeded_conn: Conn, n: int) -> None:
    c, loaded = counted(seeded_conn, COMMENTS, "n_plus_one", n)
    comments = sum(len(p[3]) for p in loaded)
    assert len(loaded) == n and all(p[3] for p in loaded)  # only posts that have comments
    assert c.statements == 1 + n + comments  # 1 page + one per post (comments) + one per comment (author)
    for strategy, expected in {"batched": 3, "join": 1, "json": 1}.items():
        assert counted(seeded_conn, COMMENTS, strategy, n)[0].statements == expected, strategy


def test_page_larger_than_the_table_loads_every_parent(seeded_conn: Conn) -> None:
    c, loaded = counted(seeded_conn, USERS, "n_plus_one", 1000)
    assert len(loaded) == 100  # scale 0.01 has 100 users
    assert c.statements == 1 + 2 * 100


@pytest.mark.parametrize("workload", list(loading.WORKLOADS))
@pytest.mark.parametrize("n", [10, 100])
def test_strategies_return_identical_results(seeded_conn: Conn, workload: str, n: int) -> None:
    results = loading.load_all(seeded_conn, loading.WORKLOADS[workload], n)
    assert len(set(results.values())) == 1
    shape = loading.WORKLOADS[workload].shape(results["n_plus_one"])
    assert shape.parents == min(n, 100)
    assert all(v > 0 for v in shape.children.values())  # non-vacuous: children to compare


@pytest.mark.parametrize("workload", list(loading.WORKLOADS))
def test_every_measured_page_loads_children_of_every_relation(seeded_conn: Conn, workload: str) -> None:
    # A page whose children are all empty compares the strategies on nothing (the newest users, who had not
    # published yet, were such a page): every N the scenario measures must load every relation.
    for n in loading.LoadingConfig().sizes:
        counters, _ = loading.count(seeded_conn, loading.WORKLOADS[workload], "batched", n)
        assert 0 < counters["parents"] <= n
        assert not loading.empty_relations(loading.WORKLOADS[workload], n, counters)


def test_users_page_is_the_earliest_members(seeded_conn: Conn) -> None:
    loaded = loading.WORKLOADS[USERS].strategies["lateral"].load(seeded_conn, 10)
    earliest = seeded_conn.execute("SELECT id FROM users ORDER BY created_at, id LIMIT 10").fetchall()
    assert [u[0] for u in loaded] == [r[0] for r in earliest]
    assert sum(len(u[4]) > 0 for u in loaded) >= 9  # nearly all have published (most more than 5)


def test_a_page_without_children_is_noted(seeded_conn: Conn, monkeypatch: pytest.MonkeyPatch) -> None:
    base = loading.WORKLOADS[USERS]

    def without_posts(strategy: Strategy) -> Strategy:
        def load(conn: Conn, n: int) -> Loaded:
            return tuple((*u[:4], ()) for u in strategy.load(conn, n))

        return Strategy(load, strategy.statements, strategy.doc)

    strategies = {k: without_posts(base.strategies[k]) for k in ("n_plus_one", "batched")}
    monkeypatch.setitem(loading.WORKLOADS, USERS, dataclasses.replace(base, strategies=strategies))
    cfg = loading.LoadingConfig(sizes=(2,), workloads=(USERS,), warmup=0, min_runs=1, max_runs=1, budget_s=0)
    benches = loading.run(seeded_conn, cfg)
    assert {b.variant for b in benches} == {"n_plus_one", "batched"}
    for b in benches:
        assert b.counters["children_posts"] == 0 < b.counters["children_profile"]
        assert [n for n in b.notes if "loaded no" in n] == [
            "the page of n=2 loaded no posts (children_posts = 0): the strategies are not compared on posts at this N"
        ]


def test_top_n_keeps_the_latest_five_published(seeded_conn: Conn) -> None:
    loaded = loading.load_all(seeded_conn, loading.WORKLOADS[USERS], 100)["lateral"]
    by_user = {u[0]: [p[0] for p in u[4]] for u in loaded}
    rows = seeded_conn.execute(
        "SELECT author_id, id FROM posts WHERE status = 'published' ORDER BY author_id, published_at DESC, id DESC"
    ).fetchall()
    expected: dict[Any, list[Any]] = {}
    for author, pid in rows:
        expected.setdefault(author, []).append(pid)
    assert max(len(v) for v in by_user.values()) == 5
    for user, posts in by_user.items():
        assert posts == expected.get(user, [])[:5]


def test_a_strategy_returning_other_data_is_an_error(seeded_conn: Conn) -> None:
    base = loading.WORKLOADS[POSTS]

    def drops_last_tag(conn: Conn, n: int) -> Loaded:
        posts = base.strategies["batched"].load(conn, n)
        return tuple((*p[:4], p[4][:-1]) for p in posts)

    broken = dataclasses.replace(
        base, strategies={**base.strategies, "broken": Strategy(drops_last_tag, ("x",), "drops a tag")}
    )
    with pytest.raises(loading.StrategyMismatch, match="'broken' of posts_author_tags"):
        loading.load_all(seeded_conn, broken, 20)


def test_row_explosion_of_the_join(seeded_conn: Conn) -> None:
    n = 20
    tags = dict(
        seeded_conn.execute(
            """SELECT p.id, count(pt.tag_id) FROM (SELECT id FROM posts WHERE status = 'published'
               ORDER BY published_at DESC, id DESC LIMIT %s) p LEFT JOIN post_tags pt ON pt.post_id = p.id
               GROUP BY p.id""",
            (n,),
        ).fetchall()
    )
    links = sum(tags.values())
    join, _ = counted(seeded_conn, POSTS, "join", n)
    batched, loaded = counted(seeded_conn, POSTS, "batched", n)
    n1, _ = counted(seeded_conn, POSTS, "n_plus_one", n)
    js, _ = counted(seeded_conn, POSTS, "json", n)
    shape = loading.WORKLOADS[POSTS].shape(loaded)
    assert shape.logical_rows == n + n + links  # posts, their author, their tags
    assert join.rows == sum(max(1, k) for k in tags.values())  # one row per (post, tag)
    assert batched.rows == n + shape.distinct["author"] + links
    assert n1.rows == shape.logical_rows
    assert js.rows == 1
    assert join.bytes > 1.5 * batched.bytes  # post content repeated on every tag row


def test_plain_join_transfers_every_published_post(seeded_conn: Conn) -> None:
    (total,) = seeded_conn.execute(
        """SELECT sum(greatest(k, 1)) FROM (SELECT u.id, count(p.id) AS k FROM users u
           LEFT JOIN posts p ON p.author_id = u.id AND p.status = 'published' GROUP BY u.id) x"""
    ).fetchone() or (0,)
    join, loaded = counted(seeded_conn, USERS, "join", 100)
    lateral, _ = counted(seeded_conn, USERS, "lateral", 100)
    assert join.rows == total
    assert lateral.rows == sum(max(1, len(u[4])) for u in loaded) < join.rows


def test_run_records_counters_and_server_stats(seeded_conn: Conn) -> None:
    cfg = loading.LoadingConfig(sizes=(3,), workloads=(COMMENTS,), warmup=0, min_runs=2, max_runs=2, budget_s=0)
    benches = {b.variant: b for b in loading.run(seeded_conn, cfg)}
    assert set(benches) == {"n_plus_one", "join", "batched", "json"}
    n1 = benches["n_plus_one"]
    assert (n1.scenario, n1.name, dict(n1.params)) == ("loading", COMMENTS, {"n": 3})
    assert n1.counters["statements"] == n1.counters["expected_statements"] == 1 + 3 + n1.counters["children_comments"]
    assert benches["batched"].counters["statements"] == 3
    assert benches["join"].counters["row_explosion"] < 1 < benches["join"].counters["bytes"] / 1000
    missing = pgss.enable(seeded_conn)
    if missing is None:
        assert n1.counters["server_ms"] > 0
        assert n1.counters["shared_hit_blocks"] + n1.counters["shared_read_blocks"] > 0
        assert not n1.notes
    else:
        assert "server_ms" not in n1.counters
        assert n1.notes == (missing,)


def test_strategies_are_timed_as_plain_queries(seeded_conn: Conn, tmp_path: Path) -> None:
    # N+1 runs its child query 10 times per load: psycopg would prepare it from the 5th execution on, so the first
    # samples would be planned and later ones not. The connection's own setting is left as it was.
    threshold = seeded_conn.prepare_threshold
    cfg = loading.LoadingConfig(sizes=(10,), workloads=(USERS,), warmup=1, min_runs=6, max_runs=6, budget_s=0)
    benches: list[Benchmark] = []
    assert server_prepares(seeded_conn, lambda: benches.extend(loading.run(seeded_conn, cfg)), tmp_path / "t") == 0
    assert {b.stats.n for b in benches} == {6}
    assert seeded_conn.prepare_threshold == threshold


def test_pg_stat_statements_deltas(seeded_conn: Conn) -> None:
    assert pgss.enable(seeded_conn) is None, "the test server must preload pg_stat_statements (the embedded one does)"
    before = pgss.snapshot(seeded_conn)
    for _ in range(3):
        seeded_conn.execute("SELECT count(*) FROM posts").fetchone()
    delta = pgss.snapshot(seeded_conn) - before
    assert delta.calls == 3
    assert delta.exec_ms > 0 and delta.consistent
    assert delta.shared_hit_blocks + delta.shared_read_blocks >= 3  # posts has at least one page
    assert delta.per(3)["server_ms"] == pytest.approx(delta.exec_ms / 3)


def test_unknown_workload_is_a_config_error(seeded_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(ConfigError, match="unknown loading workload 'nope'"):
        loading.run(seeded_conn, loading.LoadingConfig(workloads=("nope",)))
