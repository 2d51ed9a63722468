"""`perfkit advise`: candidate indexes for queries the catalogue does not contain, with and without HypoPG."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from perfkit import advise as advise_mod
from perfkit import indexing
from perfkit.advise import advise
from perfkit.cli import cli
from perfkit.db import Target, connect
from perfkit.errors import AdviseError

FEED = "SELECT id, amount FROM orders WHERE customer = 42 AND status = 'open' ORDER BY created_at DESC LIMIT 10"
JOIN = "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer WHERE c.country = 'NZ' AND o.amount > 900"


def _state(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    exts = conn.execute("SELECT extname FROM pg_extension ORDER BY 1").fetchall()
    return (indexing.schema_indexes(conn), exts)


def test_advise_with_hypopg_builds_and_measures_the_best(shop: Target) -> None:
    with connect(shop) as conn:
        before = _state(conn)
        a = advise(conn, FEED, budget_s=0.2)
        assert _state(conn) == before  # no index, no extension left behind
    assert a.hypopg
    (orders,) = a.columns
    assert orders["equality"] == ["customer", "status"] and orders["sort"] == ["created_at DESC"]
    defs = [e.definition for e in a.estimates]
    assert defs[:3] == [
        "orders (customer, status)",
        "orders (status, customer)",
        "orders (customer, status, created_at DESC)",
    ]
    assert all(e.hypothetical for e in a.estimates)
    assert a.best is not None
    assert a.best.definition in defs and a.best.plan_shape.startswith("Limit")
    assert "Index Scan using pk_ix_adv_" in a.best.plan_shape
    assert a.best.estimated_saving_pct > 90 and a.best.measured_saving_pct > 50
    assert a.best.size_bytes > 0
    assert "Seq Scan" in a.baseline_shape


def test_advise_without_hypopg_measures_real_candidates(shop: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(advise_mod, "hypopg_available", lambda _conn: False)
    with connect(shop) as conn:
        before = _state(conn)
        a = advise(conn, FEED, budget_s=0.1)
        assert _state(conn) == before
    assert not a.hypopg
    assert any("HypoPG not installed on this server" in n for n in a.notes)
    assert 0 < len(a.estimates) <= advise_mod.MAX_REAL_CANDIDATES
    assert not any(e.hypothetical for e in a.estimates)
    assert a.best is not None and a.best.measured_saving_pct > 50
    with connect(shop) as conn:
        forced = advise(conn, FEED, use_hypopg=False, build_best=False, budget_s=0.05)
    assert not forced.hypopg and any("use_hypopg=False" in n for n in forced.notes)


def test_advise_reads_joins_and_ranges(shop: Target) -> None:
    with connect(shop) as conn:
        a = advise(conn, JOIN, build_best=False)
    cols = {c["relation"]: c for c in a.columns}
    assert cols["customers"]["equality"] == ["country"]
    assert cols["orders"]["range"] == ["amount"] and cols["orders"]["join"] == ["customer"]
    assert "customers (id)" not in [e.definition for e in a.estimates]  # the primary key already serves it
    assert any(n == "already indexed: customers (id)" for n in a.notes)
    assert {"orders (customer)", "orders (amount)", "customers (country)"} <= {e.definition for e in a.estimates}
    assert a.best is None


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELEC id FROM orders", 'syntax error: at or near "SELEC" (at character 1)'),
        ("DELETE FROM orders", "not a query: perfkit advise takes one SELECT (or WITH ... SELECT), got DELETE"),
        ("SELECT * FROM invisible WHERE id = 1", 'perfkit cannot see that table: relation "invisible" does not exist'),
        ("SELECT 1; SELECT 2", "give one query, not several statements"),
        ("  ", "the SQL is empty: give one SELECT query"),
    ],
)
def test_bad_input_one_line_messages(shop: Target, sql: str, message: str) -> None:
    with connect(shop) as conn, pytest.raises(AdviseError) as err:
        advise(conn, sql)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_cli_advise(shop: Target) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["advise", FEED, "--dsn", shop.conninfo, "--json", "--no-build"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["hypopg"] is True and doc["best"] is None and doc["estimates"]
    res = runner.invoke(cli, ["advise", "DROP TABLE orders", "--dsn", shop.conninfo])
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: not a query: perfkit advise takes one SELECT (or WITH ... SELECT), got DROP"
