"""Keyset pagination: unique keys (C09), cursor codec (C10), NULLs and mixed directions against ORDER BY."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql

from perfkit._keyset_cursor import _canonical, _mac
from perfkit.drift import walk_naive
from perfkit.errors import CursorDidNotAdvance, InvalidCursor, KeysetSpecError
from perfkit.keyset import (
    KeysetSpec,
    SortKey,
    check_seek,
    cursor_predicate_is_seek,
    decode_cursor,
    encode_cursor,
    fetch_page,
    page_query,
    uses_row_comparison,
    walk,
)

Conn = psycopg.Connection[Any]


def ids(pages: Any) -> list[list[Any]]:
    return [[r["id"] for r in p.rows] for p in pages]


def explain(conn: Conn, query: sql.Composed, params: list[Any]) -> Any:
    return conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + query, params).fetchone()[0]  # type: ignore[index]


# --- C09: a non-unique key loses rows -------------------------------------------------------------------------


@pytest.fixture
def feed(conn: Conn) -> Conn:
    conn.execute("CREATE TABLE feed (id bigint PRIMARY KEY, title text, created_at timestamptz NOT NULL DEFAULT now())")
    with conn.transaction():
        conn.execute("INSERT INTO feed (id, title) SELECT g, 'post ' || g FROM generate_series(1,5) g")
    return conn


def test_c09_one_transaction_shares_one_timestamp(feed: Conn) -> None:
    assert feed.execute("SELECT count(DISTINCT created_at), count(*) FROM feed").fetchone() == (1, 5)


def test_c09_spec_appends_primary_key(feed: Conn) -> None:
    spec = KeysetSpec.create("feed", ["created_at DESC"], conn=feed)
    assert spec.keys == (SortKey("created_at", descending=True), SortKey("id", descending=True))
    assert uses_row_comparison(spec)
    assert KeysetSpec.create("feed", [SortKey("created_at", True)], unique="id").keys == spec.keys
    # already unique: nothing appended
    assert KeysetSpec.create("feed", ["id DESC"], conn=feed).keys == (SortKey("id", True),)


def test_c09_spec_refuses_non_unique_when_strict(feed: Conn) -> None:
    with pytest.raises(KeysetSpecError, match=r"not unique.*add id as a tiebreaker"):
        KeysetSpec.create("feed", ["created_at DESC"], conn=feed, strict=True)
    with pytest.raises(KeysetSpecError, match="pass conn= or unique="):
        KeysetSpec.create("feed", ["created_at DESC"])
    with pytest.raises(KeysetSpecError, match="no column 'nope'"):
        KeysetSpec.create("feed", ["nope"], conn=feed)
    with pytest.raises(KeysetSpecError, match="does not exist"):
        KeysetSpec.create("nofeed", ["id"], conn=feed)
    feed.execute("CREATE TABLE nopk (x int, y int)")
    with pytest.raises(KeysetSpecError, match="no primary key"):
        KeysetSpec.create("nopk", ["x"], conn=feed)


def test_c09_naive_walk_loses_three_of_five(feed: Conn) -> None:
    spec = KeysetSpec.create("feed", ["created_at DESC"], conn=feed)
    report = walk_naive(feed, spec, 2)
    assert [len(p) for p in report.pages] == [2, 0]
    assert report.rows_served == 2
    assert len(report.missing) == 3
    assert set(report.missing) | {i for p in report.pages for i in p} == {1, 2, 3, 4, 5}


def test_c09_tiebreaker_walk_serves_every_row_once(feed: Conn) -> None:
    spec = KeysetSpec.create("feed", ["created_at DESC"], conn=feed)
    assert ids(walk(feed, spec, 2)) == [[5, 4], [3, 2], [1]]


def test_c09_row_comparison_is_a_backward_index_seek(feed: Conn) -> None:
    feed.execute("CREATE INDEX feed_created_id ON feed (created_at, id)")
    feed.execute("SET enable_seqscan = off")
    spec = KeysetSpec.create("feed", ["created_at DESC"], conn=feed)
    first = fetch_page(feed, spec, 2)
    query, params = page_query(spec, first.last_key, 2)
    assert '("created_at", "id") < (%s, %s)' in query.as_string(feed)
    plan = explain(feed, query, params)
    node = plan[0]["Plan"]
    while node["Node Type"] == "Limit":
        node = node["Plans"][0]
    assert node["Node Type"] == "Index Scan"
    assert node["Scan Direction"] == "Backward"
    assert node["Index Cond"].startswith("(ROW(created_at, id) < ROW(")
    check = check_seek(plan, spec, feed)
    assert check.is_seek and check.index_name == "feed_created_id"
    assert check_seek(plan, spec).is_seek
    # without the index the same predicate is only a Filter, and the check says so
    feed.execute("DROP INDEX feed_created_id")
    feed.execute("RESET enable_seqscan")
    check = check_seek(explain(feed, query, params), spec, feed)
    assert not check.is_seek
    assert check.filter is not None and "ROW(created_at, id)" in check.filter
    assert "only a Filter" in check.reason


# --- C10: microseconds and strict tokens ---------------------------------------------------------------------


@pytest.fixture
def events(conn: Conn) -> Conn:
    conn.execute("CREATE TABLE events (id int PRIMARY KEY, created_at timestamptz NOT NULL)")
    conn.execute(
        "INSERT INTO events VALUES (1,'2024-03-05 10:15:30.123100+00'), (2,'2024-03-05 10:15:30.123200+00'),"
        " (3,'2024-03-05 10:15:30.123300+00'), (4,'2024-03-05 10:15:30.123400+00'),"
        " (5,'2024-03-05 10:15:30.124000+00')"
    )
    return conn


def _ms(key: tuple[Any, ...]) -> tuple[Any, ...]:
    ts, *rest = key
    return (ts.replace(microsecond=ts.microsecond // 1000 * 1000), *rest)


def test_c10_sql_results(events: Conn) -> None:
    asc = KeysetSpec.create("events", ["created_at"], conn=events)
    desc = KeysetSpec.create("events", ["created_at DESC"], conn=events)
    utc = dt.UTC
    ms, us = dt.datetime(2024, 3, 5, 10, 15, 30, 123000, utc), dt.datetime(2024, 3, 5, 10, 15, 30, 123200, utc)

    def page(spec: KeysetSpec, values: tuple[Any, ...]) -> list[int]:
        q, p = page_query(spec, values, 2)
        return [r[0] for r in events.execute(q, p).fetchall()]

    assert page(asc, (ms, 2)) == [1, 2]
    assert page(asc, (us, 2)) == [3, 4]
    assert page(desc, (ms, 4)) == []
    assert ids(walk(events, asc, 2)) == [[1, 2], [3, 4], [5]]
    assert ids(walk(events, desc, 2)) == [[5, 4], [3, 2], [1]]


def test_c10_millisecond_cursor_ascending_stops_instead_of_looping(events: Conn) -> None:
    spec = KeysetSpec.create("events", ["created_at"], conn=events)
    pages = walk(events, spec, 2, key_transform=_ms)
    assert [r["id"] for r in next(pages).rows] == [1, 2]
    with pytest.raises(CursorDidNotAdvance, match="page 2"):
        next(pages)


def test_c10_millisecond_cursor_descending_skips_rows(events: Conn) -> None:
    spec = KeysetSpec.create("events", ["created_at DESC"], conn=events)
    assert ids(walk(events, spec, 2, key_transform=_ms)) == [[5, 4], []]


def test_c10_codec_round_trips_microseconds() -> None:
    spec = KeysetSpec.create("events", ["created_at"], unique="id")
    ts = dt.datetime.fromisoformat("2024-03-05T10:15:30.123200+00:00")
    token = encode_cursor(spec, (ts, 2))
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    (back, id_) = decode_cursor(spec, token)
    assert back == ts and back.isoformat() == "2024-03-05T10:15:30.123200+00:00" and id_ == 2
    whole = dt.datetime(2024, 3, 5, 10, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert decode_cursor(spec, encode_cursor(spec, (whole, 1)))[0].utcoffset() == whole.utcoffset()


@pytest.mark.parametrize(
    "value",
    [
        uuid.UUID("0b5f3c1e-6a0e-4d0b-9d0e-6d7c3b1a2f10"),
        -(2**70),
        "ünïcode ' \" text",
        dt.datetime(2024, 3, 5, 10, 15, 30, 1),
        dt.date(2024, 2, 29),
        Decimal("12.3400"),
        0.1,
        b"\x00\xff",
        True,
        None,
    ],
)
def test_codec_round_trips_types(value: Any) -> None:
    spec = KeysetSpec("t", (SortKey("v", nullable=True), SortKey("id")), schema="s")
    back = decode_cursor(spec, encode_cursor(spec, (value, 7)))
    assert back == (value, 7) and type(back[0]) is type(value)


def _token(doc: dict[str, Any], secret: bytes | None = None, *, sign: bool = True) -> str:
    if sign:
        doc = {**doc, "mac": _mac(doc, secret)}
    return base64.urlsafe_b64encode(_canonical(doc)).rstrip(b"=").decode()


def _body(spec: KeysetSpec, **changes: Any) -> dict[str, Any]:
    body = {
        "v": 1,
        "spec": spec.fingerprint,
        "key": {"created_at": ["tstz", "2024-03-05T10:15:30.123200+00:00"], "id": ["int", 2]},
    }
    return {**body, **changes}


def test_c10_invalid_cursors_are_rejected(events: Conn) -> None:
    spec = KeysetSpec.create("events", ["created_at"], conn=events)
    other = KeysetSpec.create("events", ["created_at DESC"], conn=events)
    good = _token(_body(spec))
    assert decode_cursor(spec, good)[1] == 2
    tampered = json.loads(base64.urlsafe_b64decode(good + "=="))
    tampered["key"]["id"] = ["int", 3]
    cases = {
        "not base64": ("!!!not*base64", "base64url JSON"),
        "base64 of non-JSON": (base64.urlsafe_b64encode(b"\xff\xfe{").decode(), "base64url JSON"),
        "JSON array": (base64.urlsafe_b64encode(b"[1,2]").decode(), "not a JSON object"),
        "empty": ("", "empty"),
        "lacks a key column": (
            _token(_body(spec, key={"created_at": ["tstz", "2024-03-05T10:15:30+00:00"]})),
            "lacks key column 'id'",
        ),
        "extra column": (_token(_body(spec, key={**_body(spec)["key"], "x": None})), "unknown column 'x'"),
        "other sort spec": (encode_cursor(other, decode_cursor(spec, good)), "another sort spec"),
        "unknown version": (_token(_body(spec, v=2)), "version 2"),
        "version as bool": (_token(_body(spec, v=True)), "version True"),
        "bad signature": (_token(tampered, sign=False), "signature"),
        "no signature": (_token(_body(spec), sign=False), "fields"),
        "extra field": (_token({**_body(spec), "page": 1}), "fields"),
        "wrong secret": (_token(_body(spec), b"other"), "signature"),
        "NULL in NOT NULL key": (_token(_body(spec, key={**_body(spec)["key"], "id": None})), "NULL"),
        "unknown type": (_token(_body(spec, key={**_body(spec)["key"], "id": ["money", 2]})), "unknown type"),
        "bool for int": (_token(_body(spec, key={**_body(spec)["key"], "id": ["int", True]})), "not a valid int"),
        "naive timestamp": (
            _token(_body(spec, key={**_body(spec)["key"], "created_at": ["tstz", "2024-03-05"]})),
            "not a valid tstz",
        ),
        "duplicate field": (base64.urlsafe_b64encode(b'{"v":1,"v":1}').decode(), "repeats"),
    }
    for name, (token, message) in cases.items():
        with pytest.raises(InvalidCursor, match=message):
            decode_cursor(spec, token)
        # never a silent first page
        with pytest.raises(InvalidCursor):
            fetch_page(events, spec, 2, token)
        assert name


def test_c10_secret_signs_tokens(events: Conn) -> None:
    spec = KeysetSpec.create("events", ["created_at"], conn=events)
    page = fetch_page(events, spec, 2, secret="s3cret")
    assert page.next_cursor is not None
    assert [r["id"] for r in fetch_page(events, spec, 2, page.next_cursor, secret="s3cret").rows] == [3, 4]
    with pytest.raises(InvalidCursor, match="signature"):
        decode_cursor(spec, page.next_cursor)
    with pytest.raises(InvalidCursor, match="signature"):
        decode_cursor(spec, encode_cursor(spec, page.last_key or ()), secret="s3cret")


# --- NULLs and mixed directions against the server's own ORDER BY -------------------------------------------

MIXED_ROWS = [
    # id, a (ties, NULLs), b (ties, NULLs), c
    (1, 1, "x", "2024-01-01 00:00:00.000001+00"),
    (2, 1, "x", None),
    (3, 1, None, "2024-01-01 00:00:00.000002+00"),
    (4, None, "y", "2024-01-01 00:00:00.000001+00"),
    (5, None, None, None),
    (6, 2, "x", "2024-01-01 00:00:00.000001+00"),
    (7, 2, "y", None),
    (8, None, "x", "2024-01-01 00:00:00.000003+00"),
    (9, 1, "y", "2024-01-01 00:00:00.000002+00"),
    (10, 2, None, "2024-01-01 00:00:00.000002+00"),
    (11, None, "y", None),
    (12, 1, "x", "2024-01-01 00:00:00.000001+00"),
]


@pytest.fixture
def mixed(conn: Conn) -> Conn:
    conn.execute("CREATE TABLE m (id int PRIMARY KEY, a int, b text, c timestamptz)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO m VALUES (%s, %s, %s, %s)", MIXED_ROWS)
    return conn


def order_sql(keys: list[tuple[str, bool, bool]]) -> str:
    """ORDER BY written out by hand (independent of perfkit's builder): always explicit NULLS."""
    return ", ".join(f"{c} {'DESC' if d else 'ASC'} NULLS {'FIRST' if nf else 'LAST'}" for c, d, nf in keys)


def expected_order(conn: Conn, spec: KeysetSpec) -> list[int]:
    text = order_sql([(k.column, k.descending, k.nulls_come_first) for k in spec.keys])
    return [r[0] for r in conn.execute(f"SELECT id FROM {spec.table} ORDER BY {text}").fetchall()]


def assert_walks_match(conn: Conn, spec: KeysetSpec, sizes: range | list[int]) -> None:
    want = expected_order(conn, spec)
    for size in sizes:
        pages = ids(walk(conn, spec, size))
        assert [i for p in pages for i in p] == want, (str(spec), size)
        assert all(len(p) == size for p in pages[:-1]) and 0 < len(pages[-1]) <= size


@pytest.mark.parametrize(
    "keys",
    [
        ["a DESC", "b"],
        ["a", "b DESC"],
        ["a NULLS FIRST", "b DESC NULLS LAST"],
        ["a DESC NULLS LAST", "c", "b DESC"],
        ["b DESC", "a DESC"],
        ["c DESC NULLS LAST"],
        ["c NULLS FIRST", "id DESC"],
    ],
)
def test_nullable_and_mixed_directions_match_order_by(mixed: Conn, keys: list[str]) -> None:
    spec = KeysetSpec.create("m", keys, conn=mixed)
    assert all(k.nullable for k in spec.keys if k.column != "id")
    assert not uses_row_comparison(spec)
    assert_walks_match(mixed, spec, range(1, 8))


def test_random_specs_match_order_by(conn: Conn) -> None:
    rng = random.Random(20240305)
    conn.execute("CREATE TABLE r (id int PRIMARY KEY, a int, b text, c timestamptz NOT NULL, d uuid)")
    base = dt.datetime(2024, 3, 5, 10, 15, 30, tzinfo=dt.UTC)
    uuids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(3)]
    rows = [
        (
            i,
            rng.choice([None, 1, 2, 3]),
            rng.choice([None, "p", "q"]),
            base + dt.timedelta(microseconds=rng.choice([0, 1, 2, 1000])),
            rng.choice([None, *uuids]),
        )
        for i in range(1, 41)
    ]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO r VALUES (%s, %s, %s, %s, %s)", rows)
    for _ in range(25):
        columns = rng.sample(["a", "b", "c", "d"], rng.randint(1, 3))
        keys = [SortKey(c, rng.random() < 0.5, rng.choice([None, True, False])) for c in columns]
        if rng.random() < 0.3:
            keys.append(SortKey("id", rng.random() < 0.5))
        spec = KeysetSpec.create("r", keys, conn=conn)
        assert spec.keys[-1].column == "id"
        assert_walks_match(conn, spec, rng.sample(range(1, 8), 2))


# --- the cursor predicate seeks with an index even in the OR form ----------------------------------------------


@pytest.fixture
def big(conn: Conn) -> Conn:
    conn.execute("CREATE TABLE big (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL, n int)")
    conn.execute("INSERT INTO big SELECT g, g % 97, g % 13, nullif(g % 7, 0) FROM generate_series(1, 5000) g")
    conn.execute("CREATE INDEX big_a_b_id ON big (a DESC, b, id)")
    conn.execute("CREATE INDEX big_n_id ON big (n, id)")
    conn.execute("ANALYZE big")
    return conn


@pytest.mark.parametrize(
    ("keys", "after_id", "seek"),
    [
        (["a DESC", "b"], 100, True),  # mixed directions: bound a <= 3
        # nullable, NULLs placed after a non-null cursor: no single range to seek, the OR form is a Filter (flagged)
        (["n"], 101, False),
        (["n NULLS FIRST"], 101, True),  # nullable, NULLs before the cursor: n >= 3
        (["n"], 98, True),  # cursor inside the NULL group placed last: n IS NULL
        (["b"], 100, False),  # b is not a leading index column: Index Cond, but the whole index is scanned
        (["a DESC", "b"], 5000, True),  # mixed directions, another cursor row
    ],
)
def test_cursor_predicate_seek(big: Conn, keys: list[str], after_id: int, seek: bool) -> None:
    spec = KeysetSpec.create("big", keys, conn=big)
    cols = sql.SQL(", ").join(sql.Identifier(k.column) for k in spec.keys)
    cursor = big.execute(sql.SQL("SELECT {} FROM big WHERE id = %s").format(cols), (after_id,)).fetchone()
    assert cursor is not None
    want = expected_order(big, spec)
    got = [r[0] for r in big.execute(*page_query(spec, cursor, 5000)).fetchall()]
    assert got == want[want.index(after_id) + 1 :]
    big.execute("SET enable_seqscan = off")
    big.execute("SET enable_bitmapscan = off")
    query, params = page_query(spec, cursor, 20)
    plan = explain(big, query, params)
    assert cursor_predicate_is_seek(plan, spec, big) is seek, json.dumps(plan)


def test_where_filter_combines_with_cursor(mixed: Conn) -> None:
    spec = KeysetSpec.create("m", ["b DESC NULLS LAST"], conn=mixed, columns=["b"])
    pages = list(walk(mixed, spec, 2, where=sql.SQL("a = %s"), where_params=[1]))
    assert ids(pages) == [[9, 12], [2, 1], [3]]
    assert set(pages[0].rows[0]) == {"b", "id"}  # the key columns are added to the select list


def test_spec_from_a_dict_row_connection(conn: psycopg.Connection[Any]) -> None:
    """Many applications use dict_row: the catalog lookups must not depend on the caller's row factory."""
    from psycopg.rows import dict_row

    from perfkit.keyset import InvalidCursor as Reexported

    conn.execute("CREATE TABLE dr (id int PRIMARY KEY, created_at timestamptz NOT NULL)")
    conn.row_factory = dict_row  # type: ignore[assignment]
    spec = KeysetSpec.create("dr", ["created_at DESC"], conn=conn)
    assert [k.column for k in spec.keys] == ["created_at", "id"]
    assert Reexported is InvalidCursor
