"""StatementCounter against the real server, and normalize_sql."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from perfkit.counter import StatementCounter, normalize_sql


@pytest.fixture
def items(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """`conn` with a table items(id, label) holding 10 rows labelled 'item-1' .. 'item-10'."""
    conn.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
    conn.execute("INSERT INTO items SELECT g, 'item-' || g FROM generate_series(1, 10) g")
    return conn


def test_execute_counts_statements_rows_and_bytes(items: psycopg.Connection[Any]) -> None:
    with StatementCounter(items) as c:
        items.execute("SELECT id, label FROM items WHERE id <= %s ORDER BY id", (3,)).fetchall()
        items.cursor().execute("SELECT label, NULL FROM items WHERE id = 10").fetchall()
    assert (c.statements, c.round_trips, c.rows) == (2, 2, 4)
    # text format: '1','2','3' + 'item-1'..'item-3' (6 each) + 'item-10' (7) + NULL (0)
    assert c.bytes == 3 + 3 * 6 + 7
    assert c.fingerprints == {
        "select id, label from items where id <= ? order by id": 1,
        "select label, null from items where id = ?": 1,
    }


def test_fingerprints_strip_literals_and_parameters(items: psycopg.Connection[Any]) -> None:
    with StatementCounter(items) as c:
        for i in (1, 2):
            items.execute("SELECT label FROM items WHERE id = %s", (i,))
        items.execute("select label from items where id = 3")
        items.execute("SELECT label FROM items WHERE label = 'item-4'")
        items.execute("SELECT label FROM items WHERE label = %(l)s", {"l": "item-5"})
        items.execute("SELECT label FROM items WHERE id IN (1, 2, 3)")
        items.execute("SELECT label FROM items WHERE id IN (4, 5)")
        items.execute("SELECT label FROM items WHERE id = ANY(%s)", ([1, 2],))
    assert c.fingerprints == {
        "select label from items where id = ?": 3,
        "select label from items where label = ?": 2,
        "select label from items where id in (?)": 2,
        "select label from items where id = any (?)": 1,
    }
    first = c.details[0]
    assert (first.count, first.round_trips) == (3, 3)
    assert first.example == "SELECT label FROM items WHERE id = %s"
    assert first.example_params == "(1,)"


def test_executemany_counts_each_parameter_set_in_one_pipeline(items: psycopg.Connection[Any]) -> None:
    assert psycopg.Pipeline.is_supported()
    with StatementCounter(items) as c:
        items.cursor().executemany("INSERT INTO items VALUES (%s, %s)", [(i, f"new-{i}") for i in range(11, 16)])
    assert (c.statements, c.round_trips, c.rows) == (5, 1, 0)
    assert c.fingerprints == {"insert into items values (?)": 5}
    assert items.execute("SELECT count(*) FROM items").fetchone() == (15,)


def test_executemany_returning_counts_rows(items: psycopg.Connection[Any]) -> None:
    with StatementCounter(items) as c:
        cur = items.cursor()
        cur.executemany(
            "UPDATE items SET label = label WHERE id = %s RETURNING id", [(1,), (2,), (99,)], returning=True
        )
    assert (c.statements, c.rows, c.bytes) == (3, 2, 2)


def test_client_cursor_iteration_fetches_nothing_more(items: psycopg.Connection[Any]) -> None:
    with StatementCounter(items) as c:
        cur = items.cursor()
        cur.execute("SELECT id FROM items")
        assert [r[0] for r in cur] == list(range(1, 11))
    assert (c.statements, c.round_trips, c.rows, c.bytes) == (1, 1, 10, 9 + 2)


def test_server_side_cursor_counts_declare_and_each_fetch(items: psycopg.Connection[Any]) -> None:
    with StatementCounter(items) as c, items.transaction(), items.cursor(name="walk") as cur:
        cur.itersize = 4
        cur.execute("SELECT id FROM items ORDER BY id")
        assert [r[0] for r in cur] == list(range(1, 11))
    # DECLARE, then FETCH 4 (4 rows), FETCH 4 (4), FETCH 4 (2): the short page ends the walk.
    assert c.statements == 4
    assert c.round_trips == 2 + 3
    assert (c.rows, c.bytes) == (10, 11)
    assert c.fingerprints == {
        "select id from items order by id": 1,  # the query the code ran, not psycopg's DECLARE wrapper
        "fetch forward ? from walk": 3,
    }


def test_server_side_fetch_methods(items: psycopg.Connection[Any]) -> None:
    with StatementCounter(items) as c, items.transaction(), items.cursor(name="m", scrollable=True) as cur:
        cur.execute("SELECT id FROM items ORDER BY id")
        assert cur.fetchone() == (1,)
        assert cur.fetchmany(2) == [(2,), (3,)]
        cur.scroll(2)
        assert cur.fetchall() == [(6,), (7,), (8,), (9,), (10,)]
    assert c.statements == 5
    assert c.rows == 8


def test_copy_and_stream(items: psycopg.Connection[Any]) -> None:
    with StatementCounter(items) as c:
        cur = items.cursor()
        with cur.copy("COPY items (id, label) FROM STDIN") as cp:
            cp.write_row((50, "copied"))
        assert [r[0] for r in cur.stream("SELECT id FROM items WHERE id >= 10 ORDER BY id")] == [10, 50]
    assert c.fingerprints == {
        "copy items (id, label) from stdin": 1,
        "select id from items where id >= ? order by id": 1,
    }
    assert (c.statements, c.rows, c.bytes) == (2, 2, 4)


def test_composed_queries_and_custom_cursor_classes(items: psycopg.Connection[Any]) -> None:
    items.cursor_factory = psycopg.ClientCursor
    with StatementCounter(items) as c:
        cur = items.cursor()
        assert isinstance(cur, psycopg.ClientCursor)
        q = sql.SQL("SELECT {} FROM {} WHERE id = %s").format(sql.Identifier("label"), sql.Identifier("items"))
        cur.execute(q, (2,))
    assert c.fingerprints == {'select "label" from "items" where id = ?': 1}
    assert items.cursor_factory is psycopg.ClientCursor  # restored


def test_factories_are_restored_and_later_work_is_not_counted(items: psycopg.Connection[Any]) -> None:
    before = (items.cursor_factory, items.server_cursor_factory)
    with pytest.raises(psycopg.errors.UndefinedTable), StatementCounter(items) as c:
        items.execute("SELECT * FROM missing")
    assert (items.cursor_factory, items.server_cursor_factory) == before
    items.execute("SELECT 1")
    assert c.statements == 1  # the failed statement was sent, so it counts


def test_nested_counters_both_count(items: psycopg.Connection[Any]) -> None:
    with StatementCounter(items) as outer:
        items.execute("SELECT 1")
        with StatementCounter(items) as inner:
            items.execute("SELECT 2")
    assert (outer.statements, inner.statements) == (2, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SELECT *\n  FROM users\tWHERE id = 42", "select * from users where id = ?"),
        ("select * from USERS where id=$1", "select * from users where id = ?"),
        ("SELECT 1 -- trailing\n", "select ?"),
        ("SELECT /* hint */ x FROM t WHERE s = 'it''s' AND e = E'a\\'b'", "select x from t where s = ? and e = ?"),
        ("SELECT $$body$$, $tag$ x $tag$", "select ?, ?"),
        ("SELECT a FROM t WHERE x = -1.5e3 AND y = a - 2", "select a from t where x = ? and y = a - ?"),
        ("SELECT a FROM t WHERE id IN (1, 2, 3)", "select a from t where id in (?)"),
        ("SELECT a FROM t WHERE id IN (%s, %s)", "select a from t where id in (?)"),
        ("SELECT a FROM t WHERE id = ANY(ARRAY[1, 2, 3])", "select a from t where id = any (array [?])"),
        ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y');", "insert into t (a, b) values (?)"),
        ('SELECT %(name)s::text, "Mixed""Case"', 'select ?::text, "Mixed""Case"'),
        ("SELECT f(1, 2)", "select f (?, ?)"),
        ("SELECT a FROM t WHERE author_id=%s", "select a from t where author_id = ?"),
        ("SELECT a FROM t WHERE a=%(x)s AND b<>%s", "select a from t where a = ? and b <> ?"),
        ("SELECT a % 7 FROM t", "select a % ? from t"),
    ],
)
def test_normalize_sql(raw: str, expected: str) -> None:
    assert normalize_sql(raw) == expected
