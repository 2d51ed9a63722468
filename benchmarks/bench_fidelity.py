"""Fidelity: one fixed query timed by perfkit's protocol and by pgbench, in the same run; they must agree within 10%.

Run: PYTHONPATH=$PWD python -m pytest -q -s benchmarks/bench_fidelity.py
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import conninfo as pg_conninfo

from perfkit.db import Target
from perfkit.measure import time_query
from perfkit.server import find_binaries

# One row out, about a millisecond of server work: both clients pay the same transfer and parsing.
QUERY = "SELECT count(*), sum(v) FROM fidelity WHERE v % 7 = 3"
TRANSACTIONS = 100  # per round, for each tool
ROUNDS = 15  # short rounds, alternated, so that drift and neighbours' load hit both tools alike
TOLERANCE = 0.10


def _pgbench() -> str:
    """pgbench: PERFKIT_PGBENCH, PATH, or beside the server binaries perfkit uses."""
    found = os.environ.get("PERFKIT_PGBENCH") or shutil.which("pgbench")
    for path in (found, str(find_binaries().bindir / "pgbench")):
        if path and Path(path).is_file():
            return path
    pytest.fail("pgbench not found beside the server binaries (set PERFKIT_PGBENCH)")


def _pgbench_latency_ms(pgbench: str, target: Target, script: Path, transactions: int) -> float:
    """Average latency pgbench reports for one client over TCP with the simple protocol, in ms."""
    params = pg_conninfo.conninfo_to_dict(target.conninfo)
    env = {**os.environ, "PGPASSWORD": str(params.get("password") or "")}
    cmd = [pgbench, "-n", "-M", "simple", "-c", "1", "-j", "1", "-t", str(transactions), "-f", str(script)]
    cmd += ["-h", str(params["host"]), "-p", str(params["port"]), "-U", str(params["user"]), str(params["dbname"])]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=300).stdout
    m = re.search(r"latency average = ([0-9.]+) ms", out)
    assert m, out
    return float(m.group(1))


def test_perfkit_agrees_with_pgbench(
    empty_db: Target, conn: psycopg.Connection[Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pgbench = _pgbench()
    conn.execute("CREATE TABLE fidelity (id int PRIMARY KEY, v int NOT NULL)")
    conn.execute("INSERT INTO fidelity SELECT g, (g * 7919) % 100003 FROM generate_series(1, 20000) g")
    conn.execute("VACUUM ANALYZE fidelity")
    script = tmp_path / "fidelity.sql"
    script.write_text(QUERY + ";\n")

    _pgbench_latency_ms(pgbench, empty_db, script, 50)  # warm-up of pgbench's side (same data, same caches)
    perfkit_ms: list[float] = []
    pgbench_ms: list[float] = []
    for _ in range(ROUNDS):
        m = time_query(conn, QUERY, warmup=20, min_runs=TRANSACTIONS, max_runs=TRANSACTIONS, budget_s=0)
        perfkit_ms.append(m.stats.mean_ms)
        pgbench_ms.append(_pgbench_latency_ms(pgbench, empty_db, script, TRANSACTIONS))

    # Each perfkit round is paired with the pgbench round right after it (same load on the machine); the verdict is
    # the median of the paired ratios, so that a round disturbed by another process does not decide it.
    ours = statistics.median(perfkit_ms)
    theirs = statistics.median(pgbench_ms)
    ratio = statistics.median(a / b for a, b in zip(perfkit_ms, pgbench_ms, strict=True))
    with capsys.disabled():
        print(f"\nfidelity query: {QUERY}")
        print(f"  rounds (perfkit mean ms): {', '.join(f'{x:.4f}' for x in perfkit_ms)}")
        print(f"  rounds (pgbench avg ms):  {', '.join(f'{x:.4f}' for x in pgbench_ms)}")
        print(f"  median of round means: perfkit {ours:.4f} ms, pgbench {theirs:.4f} ms")
        print(f"  median paired ratio perfkit/pgbench: {ratio:.3f}")
    assert abs(ratio - 1) <= TOLERANCE, f"perfkit/pgbench = {ratio:.3f}, outside ±{TOLERANCE:.0%}"
