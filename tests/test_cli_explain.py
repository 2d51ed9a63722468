"""`perfkit explain`: saved plans as JSON, refusal and rollback of writes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from click.testing import CliRunner

from perfkit.cli import cli
from perfkit.db import Target

PLANS = Path(__file__).parent / "plans"
NODE_KEYS = (
    "node_type",
    "relation",
    "index",
    "loops",
    "rows_total",
    "plan_rows",
    "estimate_factor",
    "inclusive_ms",
    "exclusive_ms",
    "shared_hit_blocks",
    "shared_read_blocks",
    "exclusive_shared_hit_blocks",
    "exclusive_shared_read_blocks",
    "exclusive_temp_written_blocks",
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_saved_plan_json() -> None:
    code, out, _ = run("explain", "--plan", str(PLANS / "06-buffers-loops.json"), "--json")
    assert code == 0
    data = json.loads(out)
    for key in ("planning_ms", "execution_ms", "triggers_ms", "jit_ms", "warnings", "findings", "nodes"):
        assert key in data
    nodes = data["nodes"]
    assert [n["node_type"] for n in nodes] == ["Nested Loop", "Index Scan", "Limit", "Index Scan"]
    for node in nodes:
        assert set(NODE_KEYS) <= set(node)
    root, _users, _limit, posts = nodes
    assert (root["shared_hit_blocks"], root["exclusive_shared_hit_blocks"]) == (922, 0)
    assert (posts["shared_read_blocks"], posts["loops"], posts["rows_total"]) == (83, 200, 600)
    assert root["exclusive_ms"] == 0.148  # 1.197 - 0.049 - 0.005 x 200


def test_saved_plan_trigger_jit_and_parallel() -> None:
    trigger = json.loads(run("explain", "--plan", str(PLANS / "14-trigger.json"), "--json")[1])
    assert trigger["triggers_ms"] == 1.181 and trigger["jit_ms"] == 0.0
    jit = json.loads(run("explain", "--plan", str(PLANS / "15-jit.json"), "--json")[1])
    assert jit["jit_ms"] == 75.398
    parallel = json.loads(run("explain", "--plan", str(PLANS / "07-buffers-parallel.json"), "--json")[1])
    assert parallel["nodes"][0]["exclusive_shared_hit_blocks"] == 0
    assert parallel["nodes"][0]["shared_hit_blocks"] == 5600
    assert any("not cumulative" in w for w in parallel["warnings"])


def test_saved_plan_tree() -> None:
    code, out, _ = run("explain", "--plan", str(PLANS / "05-never-executed.json"))
    assert code == 0
    assert "never executed" in out and "posts_author_created_idx" in out


def test_malformed_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"Plan": {"Node Type": "Seq Scan", "Actual')
    code, out, err = run("explain", "--plan", str(bad), "--json")
    assert code != 0 and out == ""
    assert "truncated plan JSON" in err and len(err.strip().splitlines()) == 1
    code, _, err = run("explain", "--plan", str(tmp_path / "absent.json"))
    assert code != 0 and "cannot read plan file" in err
    text = tmp_path / "text.txt"
    text.write_text("Seq Scan on t  (cost=0.00..1.01 rows=1 width=4) (actual time=0.01..0.01 rows=1 loops=1)\n")
    code, _, err = run("explain", "--plan", str(text))
    assert code != 0 and "text-format plan" in err


def test_needs_sql_or_plan() -> None:
    code, _, err = run("explain")
    assert code != 0 and "either a SQL statement or --plan FILE" in err


def _setup(target: Target) -> None:
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        conn.execute("INSERT INTO t SELECT generate_series(1, 20)")


def _count(target: Target) -> int:
    with psycopg.connect(target.conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM t").fetchone()
        assert row is not None
        return int(row[0])


def test_delete_refused_then_rolled_back(empty_db: Target) -> None:
    _setup(empty_db)
    code, out, err = run("explain", "DELETE FROM t", "--dsn", empty_db.conninfo)
    assert code != 0 and "refusing" in err and "--allow-writes" in err
    code, out, err = run(
        "explain", "DELETE FROM t WHERE id > 5", "--dsn", empty_db.conninfo, "--allow-writes", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["nodes"][0]["node_type"] == "ModifyTable"
    assert data["nodes"][1]["rows_total"] == 15
    assert _count(empty_db) == 20


def test_query_tree_and_errors(empty_db: Target) -> None:
    _setup(empty_db)
    code, out, err = run("explain", "SELECT * FROM t WHERE id < 4", "--dsn", empty_db.conninfo)
    assert code == 0, err
    assert " on t " in out and "rows 3 " in out and "ms" in out
    code, out, err = run("explain", "SELECT FROM WHERE", "--dsn", empty_db.conninfo)
    assert code != 0 and out == ""
    assert "SQL error: syntax error at or near" in err and len(err.strip().splitlines()) == 1
    code, _, err = run("explain", "SELECT pg_sleep(1)", "--dsn", empty_db.conninfo, "--statement-timeout", "20")
    assert code != 0 and "ran longer than 20 ms" in err
