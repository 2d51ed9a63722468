"""`perfkit explain`: saved plans as JSON, refusal and rollback of writes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from perfkit._profile import load_profile
from perfkit.cli import cli, main
from perfkit.db import Target
from perfkit.seed import reuse_check, seed

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


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The console script's entry point, as a user runs it: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    captured = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


def assert_usage_error(result: tuple[int, str, str], *words: str) -> None:
    """Exit 2 and one click-style line on stderr naming the problem and pointing at --help."""
    code, out, err = result
    assert code == 2, err
    assert out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and lines[0].endswith("(see 'perfkit explain --help')"), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]


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
    fk = json.loads(run("explain", "--plan", str(PLANS / "21-trigger-fk-cascade.json"), "--json")[1])
    cascade = [t for t in fk["triggers"] if t["constraint"] == "pets_owner_id_fkey"]
    assert cascade and all(t["after_tree"] for t in cascade)
    code, text, _ = run("explain", "--plan", str(PLANS / "21-trigger-fk-cascade.json"))
    assert code == 0 and "(constraint pets_owner_id_fkey)" in text and "after the tree" in text
    code, text, _ = run("explain", "--plan", str(PLANS / "20-trigger-before.json"))
    assert code == 0 and "inside ModifyTable (BEFORE)" in text
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


def test_tree_shows_rows_and_estimate_on_the_same_basis() -> None:
    """PostgreSQL's estimate is per loop: with several loops the actual rows are shown per loop too, then totalled."""
    code, out, _ = run("explain", "--plan", str(PLANS / "13-subplan.json"))
    assert code == 0
    # Bitmap Heap Scan: 20 rows per loop over 50 loops (about 1,000 in all) against an estimate of 20 per loop
    assert "rows 20/loop (est 20/loop =1.0x) × 50 loops ≈ 1,000" in out
    assert "rows 50 (est 50 =1.0x)" in out  # one loop: no per-loop label
    assert "rows 1,000 (est 20" not in out  # the old, misleading form
    assert "rows: actual (est: the planner's estimate" in out and "cover all loops" in out
    code, out, _ = run("explain", "--plan", str(PLANS / "19-parallel-single-process-node.json"))
    assert "rows 667/loop (est 833/loop ↓1.2x) × 3 loops ≈ 2,001" in out  # 3 processes, per process


def test_json_floats_are_rounded(tmp_path: Path) -> None:
    cte = json.loads(run("explain", "--plan", str(PLANS / "11-cte-materialized.json"), "--json")[1])
    merge = cte["nodes"][0]
    assert merge["estimate_factor"] == 0.298  # 499 / 1675 = 0.297910...
    sort = json.loads(run("explain", "--plan", str(PLANS / "18-limit-cuts-sort-short.json"), "--json")[1])
    assert sort["nodes"][1]["estimate_factor"] == 0.000201  # 5 / 24900 = 0.00020080...
    assert sort["summary"]["worst_misestimate"]["magnitude"] == 2.01  # 50000 / 24900 = 2.00803...
    parallel = json.loads(run("explain", "--plan", str(PLANS / "07-buffers-parallel.json"), "--json")[1])
    assert parallel["summary"]["hottest_node"]["percent"] == 99.9  # 310.2 / 310.5 = 99.9034...%
    # exclusive time 0.3 - 0.1 is 0.19999999999999998 in floating point
    doc = [
        {
            "Plan": {
                "Node Type": "Limit", "Actual Total Time": 0.3, "Actual Rows": 1, "Actual Loops": 1, "Plan Rows": 3,
                "Plans": [
                    {"Node Type": "Seq Scan", "Relation Name": "t", "Actual Total Time": 0.1, "Actual Rows": 1,
                     "Actual Loops": 1, "Plan Rows": 3},
                ],
            },
            "Planning Time": 0.1 + 0.2,
            "Execution Time": 0.4,
        }
    ]  # fmt: skip
    path = tmp_path / "noise.json"
    path.write_text(json.dumps(doc))
    data = json.loads(run("explain", "--plan", str(path), "--json")[1])
    assert data["nodes"][0]["exclusive_ms"] == 0.2
    assert data["planning_ms"] == 0.3 and data["outside_tree_ms"] == 0.1
    assert data["nodes"][0]["estimate_factor"] == 0.333


def test_triggers_ms_is_always_a_float() -> None:
    for name in ("06-buffers-loops.json", "14-trigger.json", "07-buffers-parallel.json"):
        data = json.loads(run("explain", "--plan", str(PLANS / name), "--json")[1])
        assert isinstance(data["triggers_ms"], float), name
        assert isinstance(data["summary"]["triggers_ms"], float), name
        assert isinstance(data["jit_ms"], float), name
    assert data["triggers_ms"] == 0.0


def test_malformed_plan_files_are_runtime_failures(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A file that can be read but holds no usable plan: exit 1, one line."""
    bad = tmp_path / "bad.json"
    bad.write_text('[{"Plan": {"Node Type": "Seq Scan", "Actual')
    code, out, err = run_main(capsys, "explain", "--plan", str(bad), "--json")
    assert (code, out) == (1, "")
    assert "truncated plan JSON" in err and len(err.strip().splitlines()) == 1
    text = tmp_path / "text.txt"
    text.write_text("Seq Scan on t  (cost=0.00..1.01 rows=1 width=4) (actual time=0.01..0.01 rows=1 loops=1)\n")
    code, _, err = run_main(capsys, "explain", "--plan", str(text))
    assert code == 1 and "text-format plan" in err and len(err.strip().splitlines()) == 1


def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plan = str(PLANS / "01-loops.json")
    assert_usage_error(run_main(capsys, "explain"), "give a SQL statement or --plan FILE")
    assert_usage_error(run_main(capsys, "explain", "SELECT 1", "--plan", plan), "not both")
    assert_usage_error(run_main(capsys, "explain", "  "), "the SQL statement is empty")
    absent = str(tmp_path / "absent.json")
    assert_usage_error(run_main(capsys, "explain", "--plan", absent), "'--plan'", "does not exist")
    assert_usage_error(run_main(capsys, "explain", "--plan", str(tmp_path)), "'--plan'", "is a directory")
    assert_usage_error(run_main(capsys, "explain", "--plan", str(tmp_path / "[bold]x")), "[bold]x")  # not markup
    assert_usage_error(run_main(capsys, "explain", "--plan", plan, "--allow-writes"), "--allow-writes applies")
    assert_usage_error(
        run_main(capsys, "explain", "--plan", plan, "--statement-timeout", "5"), "--statement-timeout applies"
    )
    assert_usage_error(run_main(capsys, "explain", "SELECT 1", "--statement-timeout", "-5"), "'--statement-timeout'")
    assert_usage_error(run_main(capsys, "explain", "SELECT 1", "--statement-timeout", "soon"), "'--statement-timeout'")
    assert_usage_error(run_main(capsys, "explain", "SELECT 1", "--no-such-option"), "--no-such-option")


def test_unreadable_plan_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text("[]")

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)  # as root, chmod 000 would not stop the read
    assert_usage_error(run_main(capsys, "explain", "--plan", str(plan)), "cannot read plan file", "Permission denied")


def _setup(target: Target) -> None:
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        conn.execute("INSERT INTO t SELECT generate_series(1, 20)")
        conn.execute("ANALYZE t")


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


def test_query_tree_and_errors(capsys: pytest.CaptureFixture[str], empty_db: Target) -> None:
    """Runtime failures (SQL error, timeout, refused write) exit 1 with one line; usage errors are 2."""
    _setup(empty_db)
    code, out, err = run("explain", "SELECT * FROM t WHERE id < 4", "--dsn", empty_db.conninfo)
    assert code == 0, err
    assert " on t " in out and "rows 3 " in out and "ms" in out
    code, out, err = run_main(capsys, "explain", "SELECT FROM WHERE", "--dsn", empty_db.conninfo)
    assert (code, out) == (1, "")
    assert "SQL error: syntax error at or near" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_main(
        capsys, "explain", "SELECT pg_sleep(1)", "--dsn", empty_db.conninfo, "--statement-timeout", "20"
    )
    assert code == 1 and "ran longer than 20 ms" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_main(capsys, "explain", "DELETE FROM t", "--dsn", empty_db.conninfo)
    assert code == 1 and "refusing" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_main(capsys, "explain", "SELECT 'x[bold]y' + 1", "--dsn", empty_db.conninfo)
    assert code == 1 and "x[bold]y" in err  # the server's message is printed as it is, not as markup


def test_set_applies_settings_and_records_them(capsys: pytest.CaptureFixture[str], empty_db: Target) -> None:
    _setup(empty_db)
    args = ("explain", "SELECT * FROM t WHERE id > 0", "--dsn", empty_db.conninfo)
    code, out, err = run(*args, "--json")
    assert code == 0, err
    assert json.loads(out)["settings"] == {}
    assert json.loads(out)["nodes"][0]["node_type"] == "Seq Scan"
    code, out, err = run(*args, "--set", "enable_seqscan=off", "--set", "Work_Mem=64MB", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["settings"] == {"enable_seqscan": "off", "work_mem": "64MB"}
    assert "Seq Scan" not in [n["node_type"] for n in data["nodes"]]
    code, out, err = run(*args, "--set", "enable_seqscan=off")
    assert code == 0, err
    assert out.startswith("settings enable_seqscan=off\n")
    result = run_main(capsys, *args, "--set", "enable_seqscn=off")
    assert_usage_error(result, "'--set'", 'unrecognized configuration parameter "enable_seqscn"')
    result = run_main(capsys, *args, "--set", "work_mem=64XB")
    assert_usage_error(result, 'invalid value for parameter "work_mem": "64XB"', "Valid units")
    assert_usage_error(run_main(capsys, *args, "--set", "x;drop table t=1"), "is not a setting name")
    assert_usage_error(run_main(capsys, *args, "--set", "enable_seqscan"), "is not NAME=VALUE")
    plan = str(PLANS / "01-loops.json")
    assert_usage_error(run_main(capsys, "explain", "--plan", plan, "--set", "work_mem=1MB"), "--set applies")
    assert _count(empty_db) == 20


def test_json_marks_rounded_totals() -> None:
    # 28: the inner Index Only Scan, 0.001 ms and 3 rows per loop x 5,000 loops; its row total is the Nested Loop's
    # exact 17,498, its time 5.000 ms +/- 5000 x 0.0005 = 2.5
    data = json.loads(run("explain", "--plan", str(PLANS / "28-nested-loop-rounded-rows.json"), "--json")[1])
    inner = data["nodes"][3]
    assert (inner["rows_total"], inner["rows_total_approx"], inner["rows_total_error"]) == (17498, False, 0.0)
    assert (inner["inclusive_ms"], inner["inclusive_ms_error"], inner["exclusive_ms_error"]) == (5.0, 2.5, 2.5)
    assert data["summary"]["hottest_node"]["within_error_of"] == "Nested Loop"
    semi = json.loads(run("explain", "--plan", str(PLANS / "29-semi-join-inner-stops-early.json"), "--json")[1])
    assert (semi["nodes"][2]["rows_total_approx"], semi["nodes"][2]["rows_total_error"]) == (True, 100.0)  # 200 x 0.5


def test_plan_with_absurd_figures_is_a_one_line_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = (PLANS / "13-subplan.json").read_text()
    edits = [
        ('"Actual Total Time": 0.593', '"Actual Total Time": Infinity'),
        ('"Actual Total Time": 0.593', '"Actual Total Time": 1e308'),
        ('"Shared Hit Blocks": 1101', '"Shared Hit Blocks": -1'),
    ]
    for old, edit in edits:
        bad = tmp_path / "bad.json"
        bad.write_text(text.replace(old, edit))
        code, out, err = run_main(capsys, "explain", "--plan", str(bad), "--json")
        assert (code, out) == (1, ""), edit
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_statements_explain_cannot_run_exit_1_with_or_without_allow_writes(
    capsys: pytest.CaptureFixture[str], empty_db: Target
) -> None:
    """TRUNCATE used to be 'SQL error: syntax error at or near "TRUNCATE"' with --allow-writes and 'refused unless
    writes are allowed' without it, though the flag cannot help: one line saying what EXPLAIN takes, exit 1."""
    _setup(empty_db)
    expected = (
        "error: EXPLAIN cannot run TRUNCATE: it explains only SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES, "
        "EXECUTE, DECLARE and CREATE TABLE AS"
    )
    for flags in (("--allow-writes",), ()):
        code, out, err = run_main(capsys, "explain", "TRUNCATE t", "--dsn", empty_db.conninfo, *flags)
        assert (code, out, err.strip()) == (1, "", expected)
    code, _, err = run_main(capsys, "explain", "DROP TABLE t", "--dsn", empty_db.conninfo, "--allow-writes")
    assert code == 1 and err.startswith("error: EXPLAIN cannot run DROP TABLE: it explains only SELECT")
    code, out, err = run_main(
        capsys, "explain", "CREATE TABLE t2 AS SELECT * FROM t", "--dsn", empty_db.conninfo, "--allow-writes"
    )
    assert code == 0, err
    assert _count(empty_db) == 20


def test_a_cancelled_statement_says_so(capsys: pytest.CaptureFixture[str], empty_db: Target) -> None:
    """pg_cancel_backend used to be reported as running longer than the 300000 ms statement timeout."""
    sql = "SELECT pg_cancel_backend(pg_backend_pid()), pg_sleep(2)"
    code, out, err = run_main(capsys, "explain", sql, "--dsn", empty_db.conninfo)
    assert (code, out) == (1, "")
    assert err.startswith("error: the statement was cancelled by a cancel request (canceling statement due to user")
    assert "300000" not in err and len(err.strip().splitlines()) == 1


def test_statement_timeout_beyond_postgresqls_range_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], empty_db: Target
) -> None:
    """99999999999 used to reach the server ('SQL error: invalid value for parameter', exit 1)."""
    for too_big in ("99999999999", "2147483648"):
        result = run_main(capsys, "explain", "SELECT 1", "--statement-timeout", too_big, "--dsn", empty_db.conninfo)
        assert_usage_error(result, "'--statement-timeout'", too_big, "0<=x<=2147483647")
    for fine in ("2147483647", "0"):  # PostgreSQL's largest, and no limit
        code, _, err = run_main(capsys, "explain", "SELECT 1", "--statement-timeout", fine, "--dsn", empty_db.conninfo)
        assert code == 0, err
    code, out, _ = run_main(capsys, "explain", "--help")
    assert code == 0 and "2147483647" in out and "0: no limit" in out


def test_sql_that_starts_with_a_comment_is_the_statement(capsys: pytest.CaptureFixture[str], empty_db: Target) -> None:
    """click read "-- note\\nSELECT 1" as an unknown option ('No such option'); an option's name has no line break."""
    _setup(empty_db)
    sql = "-- how many?\nSELECT count(*) FROM t"
    for args in (
        (sql, "--json"),
        ("--json", sql),
        ("--json", "--", sql),  # the documented way to end the options
        ("--set", "search_path=public, pg_catalog", sql, "--json"),  # an option's value is left where it is
    ):
        code, out, err = run_main(capsys, "explain", "--dsn", empty_db.conninfo, *args)
        assert code == 0, (args, err)
        assert json.loads(out)["nodes"][0]["node_type"] == "Aggregate"
    code, out, err = run_main(capsys, "explain", "--dsn", empty_db.conninfo, "--json", "--", "/* c */ TABLE t")
    assert code == 0, err
    code, out, err = run_main(capsys, "explain", "--dsn", empty_db.conninfo, "--", "SELECT 1", "--json")
    assert_usage_error((code, out, err), "unexpected extra argument")  # after --, --json is not an option
    code, out, _ = run_main(capsys, "explain", "--help")
    assert code == 0 and 'perfkit explain --json -- "SQL"' in " ".join(out.split())  # as wrapped for the terminal


def test_a_bad_figure_is_located_at_its_own_node(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A child's negative buffer count was blamed on its parent ('plan node at Plan (Hash Join), Plans: ...')."""
    doc = json.loads((PLANS / "30-hash-join-empty-hash.json").read_text())
    doc[0]["Plan"]["Plans"][0]["Shared Hit Blocks"] = -5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    code, out, err = run_main(capsys, "explain", "--plan", str(bad))
    assert (code, out) == (1, "")
    assert err.startswith("error: plan node at Plan > Plans[0] (Seq Scan): 'Shared Hit Blocks' is -5"), err


def test_a_rolled_back_write_to_the_seed_says_the_next_run_seeds_again(empty_db: Target) -> None:
    info = seed(empty_db, scale=0.01)
    code, _out, err = run("explain", "SELECT count(*) FROM users", "--dsn", empty_db.conninfo, "--allow-writes")
    assert code == 0 and "note:" not in err, err
    update = "UPDATE users SET name = name WHERE id IN (SELECT id FROM users LIMIT 1)"
    code, _out, err = run("explain", update, "--dsn", empty_db.conninfo, "--allow-writes")
    assert code == 0, err
    assert "note: the write was rolled back, but it left traces" in err and "loads the data again" in err
    kept, why = reuse_check(empty_db, info.scale, info.seed, load_profile(info.profile))
    assert kept is None and "changed since the seed" in why  # what the note announced
