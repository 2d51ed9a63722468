"""`perfkit advise`: candidate indexes for queries the catalogue does not contain, with and without HypoPG."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from rich.console import Console

from perfkit import advise as advise_mod
from perfkit import indexing
from perfkit._advise_columns import ColumnUse
from perfkit.advise import WORTH_PCT, advise
from perfkit.advise_render import render_advice
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
        "orders (customer, status, created_at DESC)",
        "orders (customer, status)",
        "orders (status, customer)",
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


BLOG = (
    "SELECT c.id FROM users u JOIN comments c ON c.author_id = u.id WHERE u.role = 'admin' AND u.name = 'x' "
    "AND c.post_id = 7 AND c.created_at > '2025-01-01' ORDER BY c.created_at DESC LIMIT 10"
)


def test_advise_join_keys_and_candidates_shared_across_tables(conn: psycopg.Connection[Any]) -> None:
    conn.execute("CREATE TABLE users (id int PRIMARY KEY, role text, name text)")
    conn.execute("CREATE TABLE comments (id int PRIMARY KEY, post_id int, author_id int, created_at timestamptz)")
    conn.execute("CREATE INDEX ON comments (post_id)")
    conn.execute("CREATE INDEX ON comments (author_id)")
    conn.execute(
        "INSERT INTO users SELECT g, (ARRAY['user','admin'])[1 + g % 2], 'n' || g FROM generate_series(1, 4000) g"
    )
    conn.execute(
        "INSERT INTO comments SELECT g, g % 500, 1 + g % 4000, timestamptz '2024-06-01' + g * interval '1 hour' "
        "FROM generate_series(1, 40000) g"
    )
    conn.execute("ANALYZE users")
    conn.execute("ANALYZE comments")
    a = advise(conn, BLOG, build_best=False)
    cols = {c["relation"]: c for c in a.columns}
    assert cols["users"]["equality"] == ["role", "name"] and cols["users"]["join"] == ["id"]
    assert cols["comments"]["equality"] == ["post_id"] and cols["comments"]["join"] == ["author_id"]
    defs = [e.definition for e in a.estimates]
    assert "comments (post_id, created_at DESC)" in defs
    assert not any("author_id" in d for d in defs)  # join key, already indexed; never an equality column
    assert any(d.startswith("users (") for d in defs)  # the other table gets candidates too
    assert not ("comments (created_at)" in defs and "comments (created_at DESC)" in defs)
    assert "already indexed: comments (author_id)" in a.notes
    assert "already indexed: comments (post_id)" in a.notes
    # --no-build: the "nothing lowered the cost" note only when true; otherwise the best candidate by estimate
    lowering = [e for e in a.estimates if e.used and e.total_cost < a.baseline_cost]
    assert lowering
    assert not any("no candidate index lowered" in n for n in a.notes)
    assert any(n.startswith("best candidate by estimate: ") for n in a.notes)


def test_candidates_round_robin_after_existing_filtered() -> None:
    uses = {
        "a": ColumnUse("a", equality=["x", "y", "z"], range=["r", "s"], sort=[("t", True)], join=["j"]),
        "b": ColumnUse("b", equality=["p", "q"]),
    }
    cands, indexed, dropped = advise_mod.candidates(uses, {"b": {("q", "p", "x")}, "a": {("t",)}})
    tables = [c.index.table for c in cands]
    assert len(cands) == advise_mod.MAX_CANDIDATES and tables[:4] == ["a", "b", "a", "b"]
    assert {c.index.short for c in indexed} == {"b (q, p)", "b (q)", "a (t DESC)"}
    assert dropped > 0


def test_statement_timeout_and_budget(shop: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    slow = "SELECT id FROM orders WHERE customer = 42 AND pg_sleep(0.01) IS NOT NULL"
    with connect(shop) as conn:
        before = conn.execute("SHOW statement_timeout").fetchone()
        with pytest.raises(AdviseError) as err:
            advise(conn, slow, statement_timeout_ms=150)
        assert str(err.value).startswith("the query was cancelled after the statement timeout (150 ms)")
        assert conn.execute("SHOW statement_timeout").fetchone() == before  # restored
        started = time.perf_counter()
        advise_mod._time(conn, "SELECT pg_sleep(0.2)", 0.1)
        assert time.perf_counter() - started < 0.6  # one run past the budget, not five
        cancelled: list[bool] = []
        monkeypatch.setattr(conn, "cancel_safe", lambda **_kw: cancelled.append(True))

        def interrupted(*_a: Any) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(advise_mod, "_advise", interrupted)
        with pytest.raises(KeyboardInterrupt):
            advise(conn, FEED)
        assert cancelled == [True]


def test_no_hypopg_says_not_used(shop: Target) -> None:
    with connect(shop) as conn:
        a = advise(conn, FEED, use_hypopg=False, build_best=False, budget_s=0.02)
    assert a.hypopg_status == "disabled"
    out = Console(width=200, record=True)
    out.print(render_advice(a))
    text = out.export_text()
    assert "HypoPG not used: --no-hypopg" in text and "not available" not in text


def test_an_index_that_barely_lowers_the_cost_is_called_not_worth_building(empty_db: Target) -> None:
    """The best candidate here only saves a sort of 30 rows: it was shown as 'best' with its size, like a
    recommendation, though the measured difference was noise."""
    with connect(empty_db) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, customer int, created_at timestamptz)")
        conn.execute(
            "INSERT INTO orders SELECT g, g % 2000, timestamptz '2024-01-01' + g * interval '1 minute'"
            " FROM generate_series(1, 60000) g"
        )
        conn.execute("CREATE INDEX orders_customer ON orders (customer)")
        conn.execute("ANALYZE orders")
        a = advise(conn, "SELECT * FROM orders WHERE customer = 7 ORDER BY created_at", budget_s=0.1)
    assert a.best is not None and a.best.estimated_saving_pct < WORTH_PCT, a.best
    (note,) = [n for n in a.notes if "not worth building" in n]
    assert note.startswith(f"{a.best.definition} is not worth building: it lowers the plan's estimated cost by")
