"""The N+1 guard, on case C19's counting rules, with plain psycopg loaders over a tiny users/posts fixture."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from perfkit.db import Target
from perfkit.errors import ConfigError, PerfkitError
from perfkit.guard import GuardFailure, NPlusOneDetected, StatementBudgetExceeded, guard
from perfkit.pytest_plugin import GuardFactory

F1 = (1, 2, 3, 4, 5)  # posts 1..5 written by users 1..5: 5 distinct authors
F2 = (1, 2, 1, 2, 1)  # 2 distinct authors

USER_BY_ID = "select id, name from users where id = ?"


def make_fixture(conn: psycopg.Connection[Any], authors: tuple[int, ...]) -> psycopg.Connection[Any]:
    conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)")
    conn.execute("CREATE TABLE posts (id int PRIMARY KEY, author_id int NOT NULL REFERENCES users, title text)")
    conn.cursor().executemany("INSERT INTO users VALUES (%s, %s)", [(i, f"user {i}") for i in range(1, 6)])
    conn.cursor().executemany(
        "INSERT INTO posts VALUES (%s, %s, %s)", [(i, a, f"post {i}") for i, a in enumerate(authors, 1)]
    )
    return conn


@pytest.fixture
def f1(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    return make_fixture(conn, F1)


@pytest.fixture
def f2(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    return make_fixture(conn, F2)


def lazy(conn: psycopg.Connection[Any]) -> list[str]:
    """Posts, then each post's author on first access, kept in an identity map as an ORM does."""
    identity: dict[int, tuple[int, str]] = {}
    names = []
    for _, author_id in conn.execute("SELECT id, author_id FROM posts ORDER BY id").fetchall():
        if author_id not in identity:
            identity[author_id] = conn.execute("SELECT id, name FROM users WHERE id = %s", (author_id,)).fetchone()
        names.append(identity[author_id][1])
    return names


def batched(conn: psycopg.Connection[Any]) -> list[str]:
    """Posts, then all their authors in one `= ANY(%s)` query (the "selectin" strategy)."""
    posts = conn.execute("SELECT id, author_id FROM posts ORDER BY id").fetchall()
    ids = sorted({a for _, a in posts})
    users = dict(conn.execute("SELECT id, name FROM users WHERE id = ANY(%s)", (ids,)).fetchall())
    return [users[a] for _, a in posts]


def joined(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("SELECT p.id, u.name FROM posts p JOIN users u ON u.id = p.author_id ORDER BY p.id")
    return [name for _, name in rows.fetchall()]


def test_f1_lazy_is_n_plus_one_with_a_readable_message(f1: psycopg.Connection[Any]) -> None:
    with pytest.raises(NPlusOneDetected) as info, guard(f1) as report:
        assert lazy(f1) == [f"user {i}" for i in F1]
    assert report.statements == 6
    assert report.fingerprints == {"select id, author_id from posts order by id": 1, USER_BY_ID: 5}
    assert str(info.value).splitlines() == [
        "N+1 detected: 1 statement repeated (threshold 2) among 6 statements in 6 round trips",
        f"  5x  {USER_BY_ID}",
        "      e.g. SELECT id, name FROM users WHERE id = %s  params: (1,)",
    ]


def test_f2_lazy_is_n_plus_one_at_threshold_2(f2: psycopg.Connection[Any]) -> None:
    with pytest.raises(NPlusOneDetected, match=r"among 3 statements") as info, guard(f2) as report:
        lazy(f2)
    assert report.statements == 3
    assert f"  2x  {USER_BY_ID}" in str(info.value)


def test_f2_lazy_is_hidden_at_threshold_3(f2: psycopg.Connection[Any]) -> None:
    with guard(f2, n_plus_one_threshold=3) as report:
        assert lazy(f2) == [f"user {i}" for i in F2]
    assert (report.statements, report.repeated) == (3, [])


def test_batched_is_not_n_plus_one(f1: psycopg.Connection[Any]) -> None:
    with guard(f1) as report:
        assert batched(f1) == [f"user {i}" for i in F1]
    assert report.statements == 2
    assert report.fingerprints["select id, name from users where id = any (?)"] == 1


def test_join_is_one_statement(f1: psycopg.Connection[Any]) -> None:
    with guard(f1, max_statements=1) as report:
        assert joined(f1) == [f"user {i}" for i in F1]
    assert report.statements == 1


def test_batched_then_lazy_in_one_block_reports_the_lazy_part(f1: psycopg.Connection[Any]) -> None:
    def unit_of_work() -> None:
        batched(f1)
        lazy(f1)

    with pytest.raises(NPlusOneDetected) as info, guard(f1) as report:
        unit_of_work()
    assert report.statements == 2 + 6
    message = str(info.value)
    assert f"  5x  {USER_BY_ID}" in message
    assert "any (?)" not in message
    # the posts query also ran twice (once per loader): it is repeated too, and listed after the worst one
    assert message.splitlines()[0].startswith("N+1 detected: 2 statements repeated")


def test_budget_exceeded(f1: psycopg.Connection[Any]) -> None:
    with pytest.raises(StatementBudgetExceeded) as info, guard(f1, max_statements=1):
        batched(f1)
    lines = str(info.value).splitlines()
    assert lines[0] == "statement budget exceeded: 2 statements in 2 round trips, budget 1"
    assert "  1x  select id, name from users where id = any (?)" in lines


def test_failures_are_assertion_errors_and_perfkit_errors() -> None:
    assert issubclass(NPlusOneDetected, AssertionError)
    assert issubclass(StatementBudgetExceeded, GuardFailure)
    assert issubclass(GuardFailure, PerfkitError)


def test_an_error_in_the_block_is_not_masked(f1: psycopg.Connection[Any]) -> None:
    def buggy() -> None:
        lazy(f1)
        raise KeyError("app bug")

    with pytest.raises(KeyError), guard(f1, max_statements=0):
        buggy()


def test_executemany_and_server_side_paging_are_not_n_plus_one(f1: psycopg.Connection[Any]) -> None:
    with guard(f1, max_statements=20) as report, f1.transaction(), f1.cursor(name="page") as cur:
        f1.cursor().executemany("UPDATE posts SET title = %s WHERE id = %s", [(f"t{i}", i) for i in range(1, 6)])
        cur.itersize = 2
        cur.execute("SELECT id FROM posts ORDER BY id")
        assert len(list(cur)) == 5
    assert report.statements == 5 + 1 + 3
    assert report.repeated == []


def test_bad_guard_arguments(f1: psycopg.Connection[Any]) -> None:
    with pytest.raises(ConfigError, match="n_plus_one_threshold must be >= 2"), guard(f1, n_plus_one_threshold=1):
        pass


def test_pytest_fixture_guards_a_block(f1: psycopg.Connection[Any], perfkit_guard: GuardFactory) -> None:
    with perfkit_guard(f1, max_statements=2):
        batched(f1)
    with pytest.raises(NPlusOneDetected), perfkit_guard(f1, max_statements=3):
        lazy(f1)


def test_pytest_plugin_reports_the_failure(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, empty_db: Target, f1: psycopg.Connection[Any]
) -> None:
    pytester.makepyfile(
        test_app="""
        import os
        import psycopg

        def test_author_names(perfkit_guard):
            with psycopg.connect(os.environ["PK_GUARD_DSN"], autocommit=True) as conn:
                with perfkit_guard(conn):
                    for (author_id,) in conn.execute("SELECT author_id FROM posts ORDER BY id").fetchall():
                        conn.execute("SELECT name FROM users WHERE id = %s", (author_id,)).fetchone()
        """
    )
    monkeypatch.setenv("PK_GUARD_DSN", empty_db.conninfo)  # f1 filled this database
    result = pytester.runpytest_subprocess()  # the plugin loads through its pytest11 entry point
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*NPlusOneDetected: N+1 detected: 1 statement repeated*", "*5x  select name from users*"]
    )
