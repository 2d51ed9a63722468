"""Who stops the embedded server: the command that started it, unless another still uses it or it was kept."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfkit._server_leases import holders
from perfkit.cli import cli
from perfkit.server import EmbeddedServer, command_scope


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def other() -> Iterator[subprocess.Popen[bytes]]:
    """Another live process (standing in for a second perfkit command), killed at the end."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        _end(proc)


def _end(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait()


def _lease_for(srv: EmbeddedServer, proc: subprocess.Popen[bytes]) -> None:
    """A lease as the process `proc` would take it."""
    stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    folder = srv.base_dir / "leases"
    folder.mkdir(exist_ok=True)
    (folder / str(proc.pid)).write_text(stat[19] + "\n")


def test_a_command_stops_the_server_it_started(private_server: EmbeddedServer) -> None:
    srv = private_server
    out = _invoke("db", "status", "--data-dir", str(srv.base_dir))
    assert "initialised: no" in out, out
    assert f"stopped the embedded server (its data stays in {srv.base_dir})" in out
    assert not srv.status().running
    assert srv.pgdata.joinpath("PG_VERSION").is_file()  # the cluster stays on disk: the next command reuses it
    assert holders(srv.base_dir / "leases") == []


def test_an_error_comes_before_the_note_on_the_stopped_server(private_server: EmbeddedServer) -> None:
    """The error is the first line on stderr (the server a failed command started is still stopped, and said so)."""
    srv = private_server
    for args, code, error in [
        (["--set", "work_mem=64XB"], 2, "error: Invalid value for '--set': cannot set work_mem=64XB"),  # a usage error
        (["--statement-timeout", "1", "--", "SELECT pg_sleep(1)"], 1, "error: "),  # the statement failed
    ]:
        sql = [] if "--" in args else ["SELECT 1"]
        result = subprocess.run(
            [sys.executable, "-m", "perfkit", "explain", *sql, "--data-dir", str(srv.base_dir), *args],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == code, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 2 and lines[0].startswith(error), lines
        assert lines[1] == f"stopped the embedded server (its data stays in {srv.base_dir})"
        assert not srv.status().running


def test_a_kept_server_outlives_commands(private_server: EmbeddedServer) -> None:
    srv = private_server
    _invoke("server", "start", "--data-dir", str(srv.base_dir))
    _invoke("db", "status", "--data-dir", str(srv.base_dir))
    st = srv.status()
    assert st.running and not st.transient
    status = _invoke("server", "status", "--data-dir", str(srv.base_dir))
    assert "started by a perfkit command" not in status and "kept running (perfkit server start" in status
    _invoke("server", "stop", "--data-dir", str(srv.base_dir))
    assert not srv.status().running


def test_a_server_started_outside_a_command_is_kept(private_server: EmbeddedServer) -> None:
    srv = private_server
    srv.start()  # the library, a notebook, a fixture: it stays up until stop()
    with command_scope():
        srv.start()
    assert srv.status().running and not srv.status().transient


def test_another_live_command_keeps_it_running(private_server: EmbeddedServer, other: subprocess.Popen[bytes]) -> None:
    srv = private_server
    with command_scope():
        srv.start()
        assert srv.status().transient
        _lease_for(srv, other)  # a second perfkit command starts using the server
    assert srv.status().running, "stopped under another command"
    out = _invoke("server", "status", "--data-dir", str(srv.base_dir))
    assert "stops when the last command using it ends" in out
    _end(other)
    with command_scope():  # the other command died without releasing: the next command to end stops the server
        srv.start()
    assert not srv.status().running
    assert not (srv.base_dir / "leases" / str(other.pid)).exists()


def test_a_lease_from_a_reused_pid_does_not_count(
    private_server: EmbeddedServer, other: subprocess.Popen[bytes]
) -> None:
    srv = private_server
    with command_scope():
        srv.start()
        (srv.base_dir / "leases" / str(other.pid)).write_text("1\n")  # a live pid, another process's start time
    assert not srv.status().running


def test_server_start_adopts_a_command_started_server(
    private_server: EmbeddedServer, other: subprocess.Popen[bytes]
) -> None:
    srv = private_server
    with command_scope():
        srv.start()
        _lease_for(srv, other)
    _invoke("server", "start", "--data-dir", str(srv.base_dir))
    assert json.loads((srv.base_dir / "state.json").read_text())["transient"] is False
    _end(other)
    with command_scope():
        srv.start()
    assert srv.status().running  # kept: only `perfkit server stop` stops it now


def test_an_interrupted_command_still_stops_its_server(
    private_server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("perfkit.schema.status", interrupted)
    result = CliRunner().invoke(cli, ["db", "status", "--data-dir", str(private_server.base_dir)])
    assert result.exit_code == 130, result.output
    assert not private_server.status().running


def test_first_use_by_several_commands_at_once(private_server: EmbeddedServer) -> None:
    """Three commands on a new folder at once: one initialises and starts it, all three create-or-find the database."""
    cmd = [sys.executable, "-m", "perfkit", "db", "status", "--data-dir", str(private_server.base_dir)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert not private_server.status().running


def test_status_of_a_folder_without_a_cluster_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["server", "status", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 3 and f"not running (no cluster in {tmp_path / 'none'} yet" in result.output
