"""A seed ended from outside (kill -9, SIGTERM from kill, timeout or a CI cancel) leaves no process or lock behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from perfkit.db import Target
from perfkit.errors import ServerError
from perfkit.seed import seed
from perfkit.server import EmbeddedServer

LOAD_SCALE = 1  # big enough that the load lasts a few seconds, so the signal lands in it


def _start_seed(*args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "perfkit", "seed", "--scale", str(LOAD_SCALE), "--jobs", "2", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_copy(conninfo: Any, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    """Until a seed worker's COPY runs (both workers are then up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                n = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'perfkit seed'"
                    " AND query LIKE 'COPY%%' AND state = 'active'"
                ).fetchone()
            if n and n[0] >= 1:
                return
        except psycopg.OperationalError:
            pass  # the server is still starting
        time.sleep(0.02)
    raise AssertionError("the seed never reached its COPY")


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if text.encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _gone(text: str, timeout: float = 15) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := _processes_mentioning(text)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_kill_9_of_a_parallel_seed_leaves_no_worker_and_no_lock(empty_db: Target) -> None:
    proc = _start_seed("--dsn", empty_db.conninfo)
    _wait_for_copy(empty_db.conninfo, proc)
    proc.kill()
    proc.communicate()
    assert _gone(f"dbname={empty_db.dbname}") == [], "a seed worker outlived its parent"
    deadline = time.monotonic() + 15
    with psycopg.connect(empty_db.conninfo, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
            if row == (0,):
                break
            time.sleep(0.1)
        assert row == (0,), "the killed seed's sessions (and its seed lock) are still open"
    info = seed(empty_db, scale=0.01, seed=42)  # and the next seed is not refused as "another seed is running"
    assert info.rows["posts"] == 1000


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_end_a_seed_like_ctrl_c(private_server: EmbeddedServer, sig: signal.Signals) -> None:
    srv = private_server
    proc = _start_seed("--data-dir", str(srv.base_dir))
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.communicate()
        try:
            conninfo = srv.info().conninfo("perfkit")
            break
        except ServerError:  # not started yet
            assert time.monotonic() < deadline, "the seed never started its server"
            time.sleep(0.02)
    _wait_for_copy(conninfo, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, (out, err)
    assert ("hung up" if sig == signal.SIGHUP else "terminated") in err and "Traceback" not in err, err
    assert not srv.status().running, "the server the seed started is still running"
    assert _gone(str(srv.base_dir)) == [], "a seed worker or server process outlived the seed"
