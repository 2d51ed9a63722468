"""The embedded server: start, status, stop, restart, stale pid recovery, and missing binaries."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

import perfkit.server
from perfkit.errors import ServerError
from perfkit.server import EmbeddedServer, find_binaries


def test_start_query_stop_restart(private_server: EmbeddedServer) -> None:
    srv = private_server
    assert not srv.status().running
    info = srv.start()
    with psycopg.connect(info.conninfo()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()
        assert preload is not None and "pg_stat_statements" in preload[0]
    st = srv.status()
    assert st.running and st.port == info.port and st.pid is not None
    if os.geteuid() == 0:
        assert st.run_as != "root"
    assert srv.start().port == info.port  # already running: a no-op
    assert srv.stop() is True
    assert not srv.status().running
    assert srv.stop() is False
    assert srv.start().port > 0


def _processes_using(path: Path) -> list[int]:
    """PIDs whose command line mentions the path (the postmaster and its children do)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if str(path).encode() in cmdline:
            pids.append(int(proc.name))
    return pids


def test_stop_leaves_no_process(private_server: EmbeddedServer) -> None:
    srv = private_server
    srv.start()
    assert _processes_using(srv.pgdata), "the running server should be visible in /proc"
    srv.stop()
    assert _processes_using(srv.pgdata) == []


def test_password_not_in_repr(private_server: EmbeddedServer) -> None:
    info = private_server.start()
    assert info.password not in repr(info)


def test_stale_pid_file_is_recovered(private_server: EmbeddedServer) -> None:
    srv = private_server
    srv.start()
    srv.stop()
    # a crash leaves postmaster.pid behind with the pid of a process that no longer exists
    (srv.pgdata / "postmaster.pid").write_text("999999\n" + str(srv.pgdata) + "\n")
    assert not srv.status().running
    info = srv.start()
    with psycopg.connect(info.conninfo()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_missing_binaries_give_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PERFKIT_PG_BINDIR", raising=False)
    monkeypatch.setattr("perfkit.server.Path.glob", lambda self, pattern: iter(()))
    with pytest.raises(ServerError, match="apt-get install postgresql"):
        find_binaries()


def test_interrupted_initdb_is_redone(private_server: EmbeddedServer) -> None:
    """An initdb cut short leaves PG_VERSION but no marker: the next start initialises again."""
    srv = private_server
    srv.start()
    srv.stop()
    # what a Ctrl-C during initdb leaves behind: a data folder with PG_VERSION and little else
    (srv.base_dir / ".initialized").unlink()
    for child in srv.pgdata.iterdir():
        if child.name != "PG_VERSION":
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    assert not srv.initialized()
    info = srv.start()
    with psycopg.connect(info.conninfo()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert srv.initialized()


def test_explicit_bindir_without_binaries_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="no PostgreSQL server binaries in"):
        find_binaries(tmp_path)


def test_status_says_how_to_connect_with_psql(private_server: EmbeddedServer) -> None:
    from click.testing import CliRunner

    from perfkit.cli import cli

    srv = private_server
    started = CliRunner().invoke(cli, ["server", "start", "--data-dir", str(srv.base_dir)])
    assert started.exit_code == 0 and "connect: psql '" in started.output, started.output
    info = srv.info()
    out = CliRunner().invoke(cli, ["server", "status", "--data-dir", str(srv.base_dir)])
    assert out.exit_code == 0, out.output
    (hint,) = [line for line in out.output.splitlines() if line.startswith("connect: psql '")]
    conninfo = hint.split("'")[1]
    assert info.password not in out.output
    with psycopg.connect(conninfo) as conn:  # the hint works as printed: the socket needs no password
        assert conn.execute("SELECT current_database(), current_user").fetchone() == ("perfkit", "perfkit")


def test_a_folder_with_a_space_in_its_name() -> None:
    """The socket folder and settings reach postgres through pg_ctl's shell: a space split them (macOS-style paths)."""
    base = Path(tempfile.mkdtemp(prefix="perfkit-srv-"))
    try:
        (base / "my dir").mkdir()
        for folder in (base, base / "my dir"):
            folder.chmod(0o711)
        srv = EmbeddedServer(base / "my dir" / "cluster")
        try:
            with psycopg.connect(srv.start().conninfo()) as conn:
                assert conn.execute("SHOW unix_socket_directories").fetchone() == (str(srv.socket_dir),)
        finally:
            srv.destroy()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_bad_server_user_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("perfkit.server.os.geteuid", lambda: 0)  # the account is chosen only when run as root
    monkeypatch.setenv("PERFKIT_SERVER_USER", "nosuchuser")
    with pytest.raises(ServerError, match="PERFKIT_SERVER_USER=nosuchuser: no such user"):
        EmbeddedServer(tmp_path / "c")
    monkeypatch.setenv("PERFKIT_SERVER_USER", "root")
    with pytest.raises(ServerError, match="PERFKIT_SERVER_USER=root is root, and PostgreSQL refuses"):
        EmbeddedServer(tmp_path / "c")


def test_a_failed_start_shows_its_own_log_lines(
    private_server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It showed the last lines of the log, which were an older shutdown's, not why this start failed."""
    srv = private_server
    srv.start()
    srv.stop()  # the log now ends with "database system is shut down"
    monkeypatch.setitem(perfkit.server.SERVER_SETTINGS, "work_mem", "banana")
    with pytest.raises(ServerError) as err:
        srv.start(timeout=20)
    assert "work_mem" in str(err.value) and "shut down" not in str(err.value), err.value
