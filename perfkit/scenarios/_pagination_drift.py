"""Drift at run time (C13): walk a scratch copy of the newest posts while another connection inserts and deletes."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg import sql

from perfkit.drift import DriftReport, drift_walk, random_churn
from perfkit.keyset import KeysetSpec
from perfkit.results import Scalar

SCRATCH = "perfkit_scratch_drift"
ConnectFn = Callable[[], psycopg.Connection[Any]]


def _create(conn: psycopg.Connection[Any], rows: int) -> tuple[dt.datetime, dt.datetime]:
    """A fresh unlogged copy of the newest `rows` posts with the feed's index; returns its time range."""
    table = sql.Identifier(SCRATCH)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
    conn.execute(
        sql.SQL(
            "CREATE UNLOGGED TABLE {} AS SELECT id, author_id, title, created_at FROM posts"
            " ORDER BY created_at DESC, id DESC LIMIT %s"
        ).format(table),
        (rows,),
    )
    conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(table))
    conn.execute(
        sql.SQL("CREATE INDEX {} ON {} (created_at DESC, id DESC)").format(sql.Identifier(SCRATCH + "_feed"), table)
    )
    row = conn.execute(sql.SQL("SELECT min(created_at), max(created_at) FROM {}").format(table)).fetchone()
    if row is None or row[0] is None:
        raise ValueError("no posts to copy")  # the caller checked there are posts
    return row[0], row[1]


def _new_post(low: dt.datetime, high: dt.datetime) -> Callable[[random.Random, int], Mapping[str, Any]]:
    """Rows with random, reproducible ids and timestamps inside the copied range (ahead of and behind a reader)."""
    span = max(int((high - low).total_seconds() * 1e6), 1)

    def make(rng: random.Random, n: int) -> Mapping[str, Any]:
        return {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "author_id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "title": f"drift post {n}",
            "created_at": low + dt.timedelta(microseconds=rng.randrange(span)),
        }

    return make


def drift_table(
    conn: psycopg.Connection[Any],
    connect_writer: ConnectFn,
    *,
    rows: int = 200,
    page_size: int = 10,
    seed: int = 42,
    churn: int = 1,
    strategies: tuple[str, ...] = ("offset", "keyset"),
) -> list[DriftReport]:
    """Each strategy walks its own fresh copy under the same seeded churn (`churn` inserts and deletes per page).

    The copy is a scratch table dropped afterwards: the seeded tables (and so the data fingerprint) are untouched.
    """
    reports = []
    writer = connect_writer()
    try:
        for strategy in strategies:
            low, high = _create(conn, rows)
            spec = KeysetSpec.create(SCRATCH, ["created_at DESC"], conn=conn, columns=["id", "title"])
            mutator = random_churn(
                spec, _new_post(low, high), seed=seed, inserts_per_page=churn, deletes_per_page=churn
            )
            reports.append(drift_walk(conn, spec, page_size, strategy, writer=writer, mutator=mutator))
    finally:
        writer.close()
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SCRATCH)))
    return reports


def drift_rows(reports: list[DriftReport], subject: str) -> tuple[dict[str, Scalar], ...]:
    """The `pagination_drift` results table: one row per strategy, with what was walked."""
    out = []
    for r in reports:
        row: dict[str, Scalar] = {"subject": subject}
        row.update(r.to_row())
        row["writes"] = len(r.mutations)
        out.append(row)
    return tuple(out)
