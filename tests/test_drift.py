"""Drift under concurrent writes (C13): OFFSET duplicates and skips rows, keyset does not."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import psycopg
import pytest

from perfkit.drift import DriftReport, drift_walk, random_churn, scripted, walk_naive
from perfkit.errors import ConfigError
from perfkit.keyset import KeysetSpec

Conn = psycopg.Connection[Any]

C13_SCRIPT = scripted(
    [
        (0, "INSERT INTO timeline VALUES (11, '2024-01-01'::timestamptz + 11 * interval '1 minute')"),
        (1, "DELETE FROM timeline WHERE id = %s", (9,)),
    ]
)


def make_timeline(conn: Conn) -> KeysetSpec:
    conn.execute("DROP TABLE IF EXISTS timeline")
    conn.execute("CREATE TABLE timeline (id int PRIMARY KEY, created_at timestamptz NOT NULL)")
    conn.execute(
        "INSERT INTO timeline SELECT g, '2024-01-01'::timestamptz + g * interval '1 minute'"
        " FROM generate_series(1,10) g"
    )
    return KeysetSpec.create("timeline", ["created_at DESC"], conn=conn)


def test_c13_offset_duplicates_and_skips(conn: Conn, writer: Conn) -> None:
    spec = make_timeline(conn)
    report = drift_walk(conn, spec, 3, "offset", writer=writer, mutator=C13_SCRIPT)
    assert report.pages == ((10, 9, 8), (8, 7, 6), (4, 3, 2), (1,))
    assert report.rows_served == 10 and report.distinct_rows == 9
    assert report.duplicates == (8,)
    assert report.missing == (5,)
    assert report.deleted == (9,) and report.extra == () and report.snapshot_rows == 10
    assert len(report.mutations) == 2 and "INSERT INTO timeline" in report.mutations[0]
    assert len(report.time_per_page_ms) == 4 and all(t > 0 for t in report.time_per_page_ms)
    assert not report.ok


def test_c13_keyset_serves_every_row_once(conn: Conn, writer: Conn) -> None:
    spec = make_timeline(conn)
    report = drift_walk(conn, spec, 3, "keyset", writer=writer, mutator=C13_SCRIPT)
    assert report.pages == ((10, 9, 8), (7, 6, 5), (4, 3, 2), (1,))
    assert report.rows_served == 10 and report.distinct_rows == 10
    assert report.duplicates == () and report.missing == ()
    assert report.extra == ()  # id 11 was inserted behind the reader
    assert report.ok
    row = report.to_row()
    assert row["strategy"] == "keyset" and row["duplicates"] == 0 and row["missing"] == 0 and row["pages"] == 4


def test_without_writes_both_strategies_agree(conn: Conn) -> None:
    spec = make_timeline(conn)
    offset, keyset = (drift_walk(conn, spec, 4, s) for s in ("offset", "keyset"))
    assert offset.pages == keyset.pages == ((10, 9, 8, 7), (6, 5, 4, 3), (2, 1))
    assert offset.ok and keyset.ok


def test_naive_strategy_on_shared_timestamps(conn: Conn) -> None:
    conn.execute("CREATE TABLE feed (id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())")
    with conn.transaction():
        conn.execute("INSERT INTO feed (id) SELECT g FROM generate_series(1,5) g")
    spec = KeysetSpec.create("feed", ["created_at DESC"], conn=conn)
    naive = walk_naive(conn, spec, 2)
    assert naive.strategy == "naive" and naive.rows_served == 2 and len(naive.missing) == 3
    assert drift_walk(conn, spec, 2, "keyset").pages == ((5, 4), (3, 2), (1,))


def _timeline_rows(conn: Conn, n: int) -> KeysetSpec:
    conn.execute("DROP TABLE IF EXISTS timeline")
    conn.execute("CREATE TABLE timeline (id int PRIMARY KEY, created_at timestamptz NOT NULL)")
    conn.execute(
        "INSERT INTO timeline SELECT g, '2024-01-01'::timestamptz + (g / 3) * interval '1 minute'"
        " FROM generate_series(1, %s) g",
        (n,),
    )
    return KeysetSpec.create("timeline", ["created_at DESC"], conn=conn)


def _new_row(rng: random.Random, n: int) -> dict[str, Any]:
    minute = rng.randint(0, 25)
    return {"id": 1000 + n, "created_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)}


def _churn(conn: Conn, writer: Conn, strategy: str, seed: int) -> DriftReport:
    spec = _timeline_rows(conn, 60)
    mutator = random_churn(spec, _new_row, seed=seed, inserts_per_page=2, deletes_per_page=2)
    return drift_walk(conn, spec, 5, strategy, writer=writer, mutator=mutator)


def test_random_churn_keyset_never_drifts(conn: Conn, writer: Conn) -> None:
    for seed in range(5):
        report = _churn(conn, writer, "keyset", seed)
        assert report.ok, (seed, report.duplicates, report.missing)
        assert report.rows_served == sum(len(p) for p in report.pages) == report.distinct_rows
        assert len(report.deleted) > 0 and len(report.mutations) > 0


def test_random_churn_offset_drifts_and_is_reproducible(conn: Conn, writer: Conn) -> None:
    first = _churn(conn, writer, "offset", 3)
    again = _churn(conn, writer, "offset", 3)
    assert first.pages == again.pages and first.mutations == again.mutations
    assert len(first.duplicates) + len(first.missing) > 0
    served = [i for p in first.pages for i in p]
    assert first.rows_served == len(served) and first.distinct_rows == len(set(served))
    assert len(first.duplicates) == len(served) - len(set(served))


def test_bad_arguments(conn: Conn) -> None:
    spec = make_timeline(conn)
    with pytest.raises(ConfigError, match="unknown pagination strategy"):
        drift_walk(conn, spec, 3, "cursor")
    with pytest.raises(ConfigError, match="writer"):
        drift_walk(conn, spec, 3, "offset", mutator=C13_SCRIPT)
    with pytest.raises(ConfigError, match="page size"):
        drift_walk(conn, spec, 0, "offset")
