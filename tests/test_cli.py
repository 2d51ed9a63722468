"""Bad input at the command line: one-line errors, non-zero exits, never a traceback or a password."""

from __future__ import annotations

import subprocess
import sys
import types
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from perfkit import _entry
from perfkit.cli._common import PerfkitGroup


def perfkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "perfkit", *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def assert_one_line_error(res: subprocess.CompletedProcess[str], code: int | None = None) -> None:
    assert res.returncode != 0
    if code is not None:
        assert res.returncode == code
    assert "Traceback" not in res.stderr + res.stdout
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error:")


def test_unknown_command() -> None:
    assert_one_line_error(perfkit("frobnicate"), 2)


def test_unknown_option() -> None:
    assert_one_line_error(perfkit("run", "--no-such-option"), 2)


@pytest.mark.parametrize("scale", ["0", "-1", "abc", "nan", "inf", "1e-6", "1_0"])  # 1_0 seeded scale 10
def test_bad_scale(scale: str) -> None:
    res = perfkit("run", "--scale", scale, "--dsn", "host=127.0.0.1 port=1 dbname=x")
    assert_one_line_error(res, 2)
    assert "scale" in res.stderr


def test_unreachable_dsn_names_no_password() -> None:
    res = perfkit("run", "--scale", "0.01", "--dsn", "host=127.0.0.1 port=1 user=u password=sekrit1 dbname=x")
    assert_one_line_error(res, 1)
    assert "sekrit1" not in res.stderr + res.stdout
    assert "cannot connect" in res.stderr


def test_wrong_password_names_no_password(admin_conninfo: str) -> None:
    params = psycopg.conninfo.conninfo_to_dict(admin_conninfo)
    if "password" not in params:
        pytest.fail("the test server must use password authentication over TCP")
    params["password"] = "wrong-Pa55word"
    dsn = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})
    res = perfkit("run", "--scale", "0.01", "--dsn", dsn)
    assert_one_line_error(res, 1)
    assert "wrong-Pa55word" not in res.stderr + res.stdout
    assert "password authentication failed" in res.stderr


def test_help_lists_commands() -> None:
    res = perfkit("--help")
    assert res.returncode == 0
    for cmd in ("run", "server"):
        assert cmd in res.stdout


def test_a_server_error_mid_command_is_one_line(admin_conninfo: str) -> None:
    """A server error that perfkit does not turn into its own (disk full, the server shut down or crashed under a
    seed) ends with PostgreSQL's message on one line and exit 1, not a psycopg traceback."""
    group = PerfkitGroup()

    @group.command()
    def killed() -> None:
        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    out = CliRunner().invoke(group, ["killed"])
    assert out.exit_code == 1, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the database server reported an error: ")
    assert "terminating connection due to administrator command" in lines[0] and "Traceback" not in out.output


def test_usage_errors_never_print_a_password() -> None:
    """click quotes unexpected arguments: after a lone `--` the --dsn option and its value are such arguments."""
    for dsn in ("postgresql://u:s3cretpw@127.0.0.1:1/x", "host=127.0.0.1 port=1 password=s3cretpw"):
        for args in (("--dsn", dsn), (f"--dsn={dsn}",)):
            res = perfkit("explain", "--", "SELECT 1", *args)
            assert_one_line_error(res, 2)
            assert "s3cretpw" not in res.stderr + res.stdout and "***" in res.stderr
    # a one-letter password is masked where it stands, not in every word ('No ***uch command "***tatu***"')
    res = perfkit("--dsn", "host=127.0.0.1 password=s", "statu")
    assert_one_line_error(res, 2)
    assert "No such option" in res.stderr or "No such command" in res.stderr, res.stderr


def test_an_unwritable_output_folder_is_refused_before_any_work(empty_db: Any) -> None:
    """Found before seeding and benchmarking (it surfaced as a traceback after them, and the results were lost)."""
    res = perfkit("run", "--dsn", empty_db.conninfo, "--scale", "0.01", "--scenario", "pagination", "--out", "/proc/x")
    assert_one_line_error(res, 2)  # a bad --out is a usage error
    assert "cannot write results to /proc/x" in res.stderr
    assert res.stdout == ""  # not even the empty line of a progress display started for nothing
    with psycopg.connect(empty_db.conninfo) as conn:
        assert conn.execute("SELECT to_regclass('perfkit_migrations')").fetchone() == (None,)


def test_files_that_cannot_be_written_are_one_line_errors(small_run: Any) -> None:
    results = str(small_run.results_path)
    for args in (["report", results, "-o", "/proc/x/report.html"], ["export", results, "-o", "/proc/x/out.json"]):
        res = perfkit(*args)
        assert_one_line_error(res, 2)  # a path that cannot be written is a usage error, as a bad --out of run is
        assert args[-1] in res.stderr, res.stderr  # the file asked for, not a temporary name
    res = perfkit("report", results, "-o", f"{results}/report.html")  # under a file: it said 'File exists'
    assert_one_line_error(res, 2)
    assert f"Not a directory: {results}" in res.stderr


def test_no_command_prints_the_help() -> None:
    res = perfkit()
    assert res.returncode == 0 and "error" not in res.stderr + res.stdout
    assert res.stdout.startswith("Usage: perfkit [OPTIONS] COMMAND") and "Commands:" in res.stdout


def test_an_unknown_profile_is_refused_before_the_server_starts(tmp_path: Any) -> None:
    folder = tmp_path / "never-started"
    for command in ("seed", "run"):
        res = perfkit(command, "--profile", "nope", "--data-dir", str(folder))
        assert_one_line_error(res, 2)
        assert "unknown profile 'nope'" in res.stderr
    assert not folder.exists()  # no initdb, no server


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["advise", "  "], "the SQL statement is empty"),  # as explain "" (it was 1 here, 2 there)
        (["report", "nope.json"], "nope.json"),
        (["notebook", "--results", "nope.json"], "nope.json"),
        (["seed", "--profile", "nope"], "unknown profile 'nope'"),
        (["compare", "nope.json", "nope2.json"], "nope"),
    ],
)
def test_the_same_kind_of_mistake_exits_2_in_every_command(args: list[str], message: str) -> None:
    res = perfkit(*args, "--dsn", "host=127.0.0.1 port=1 dbname=x") if args[0] in ("advise", "seed") else perfkit(*args)
    assert_one_line_error(res, 2)
    assert message in res.stderr


def test_ctrl_c_while_the_command_line_is_imported_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C in the first half second (imports of Faker, pandas, psycopg) printed a traceback from deep inside one."""

    class Importing(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "perfkit.cli", Importing("perfkit.cli"))
    with pytest.raises(SystemExit) as exited:
        _entry.main()
    assert exited.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_run_end_to_end_logs_the_seed_before_the_scenarios(empty_db: Any, tmp_path: Any) -> None:
    """`perfkit run` as CI runs it (output to a file): the seed's bars used to come out after every scenario's line,
    at the end of the log, as the progress display was stopped only when the run ended."""
    out = tmp_path / "out"
    res = perfkit(
        "run",
        "--dsn",
        empty_db.conninfo,
        "--scale",
        "0.01",
        "--scenario",
        "pagination",
        "--no-report",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    bars = [i for i, line in enumerate(lines) if line.startswith("seed comments")]
    scenario = [i for i, line in enumerate(lines) if line.startswith("• pagination")]
    assert bars and scenario and bars[0] < scenario[0], res.stdout
    assert (out / "results.json").is_file() and f"results: {out / 'results.json'}" in res.stdout


def test_a_closed_standard_output_is_one_line() -> None:
    """`perfkit compare A B >&-` ended in a traceback ('NoneType' object has no attribute 'isatty')."""
    res = subprocess.run(
        ["sh", "-c", f"exec {sys.executable} -m perfkit --help >&-"], capture_output=True, text=True, check=False
    )
    assert res.returncode == 2
    assert res.stderr == "error: standard output is closed: perfkit has nowhere to write (redirect it to a file)\n"
