"""Fidelity: one fixed query timed by perfkit's protocol and by pgbench, in the same run; they must agree within 10%.

Run: PYTHONPATH=$PWD python -m pytest -q -s benchmarks/bench_fidelity.py

Both tools time the same statement over TCP, one client, simple query protocol, no prepared statement, in short
rounds that alternate which tool goes first (so drift and a neighbour's burst of load fall on both alike). pgbench
logs every transaction's latency (`-l`), so both sides are compared on the statistic perfkit reports, the median of
the samples, as well as on the mean (pgbench's own "latency average"). The verdict is the median over rounds of the
per-round ratio of medians.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
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
ROUNDS = 31  # short rounds, alternated
TOLERANCE = 0.10


def _pgbench() -> str:
    """pgbench: PERFKIT_PGBENCH, PATH, or beside the server binaries perfkit uses."""
    found = os.environ.get("PERFKIT_PGBENCH") or shutil.which("pgbench")
    for path in (found, str(find_binaries().bindir / "pgbench")):
        if path and Path(path).is_file():
            return path
    pytest.fail("pgbench not found beside the server binaries (set PERFKIT_PGBENCH)")


@dataclass(frozen=True, slots=True)
class Round:
    """One round of one tool: the median and mean of its transactions, in ms."""

    median_ms: float
    mean_ms: float


def pgbench_round(pgbench: str, target: Target, script: Path, transactions: int, logs: Path) -> Round:
    """One pgbench run (one client, TCP, simple protocol) with every transaction's latency read from its `-l` log."""
    params = pg_conninfo.conninfo_to_dict(target.conninfo)
    env = {**os.environ, "PGPASSWORD": str(params.get("password") or "")}
    script, logs = script.resolve(), logs.resolve()
    for old in logs.glob("pgb*"):
        old.unlink()
    cmd = [pgbench, "-n", "-M", "simple", "-c", "1", "-j", "1", "-t", str(transactions), "-f", str(script)]
    cmd += ["-l", f"--log-prefix={logs / 'pgb'}"]
    cmd += ["-h", str(params["host"]), "-p", str(params["port"]), "-U", str(params["user"]), str(params["dbname"])]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=300, cwd=logs).stdout
    m = re.search(r"latency average = ([0-9.]+) ms", out)
    assert m, out
    # log line: client_id transaction_no latency_us script_no epoch_s epoch_us
    (log,) = logs.glob("pgb*")
    latencies = [int(line.split()[2]) / 1000 for line in log.read_text().splitlines()]
    assert len(latencies) == transactions, out
    return Round(statistics.median(latencies), float(m.group(1)))


def perfkit_round(conn: psycopg.Connection[Any], query: str, transactions: int) -> Round:
    """One round of perfkit's protocol: plain executions, no warm-up inside the round (the rounds warm each other)."""
    m = time_query(conn, query, warmup=1, min_runs=transactions, max_runs=transactions, budget_s=0)
    return Round(m.stats.median_ms, m.stats.mean_ms)


def alternate(rounds: int, ours: Callable[[], Round], theirs: Callable[[], Round]) -> list[tuple[Round, Round]]:
    """`rounds` pairs (perfkit, pgbench), perfkit first in even rounds and pgbench first in odd ones."""
    pairs = []
    for i in range(rounds):
        if i % 2 == 0:
            a = ours()
            b = theirs()
        else:
            b = theirs()
            a = ours()
        pairs.append((a, b))
    return pairs


def test_perfkit_agrees_with_pgbench(
    empty_db: Target, conn: psycopg.Connection[Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pgbench = _pgbench()
    conn.execute("CREATE TABLE fidelity (id int PRIMARY KEY, v int NOT NULL)")
    conn.execute("INSERT INTO fidelity SELECT g, (g * 7919) % 100003 FROM generate_series(1, 20000) g")
    conn.execute("VACUUM ANALYZE fidelity")
    script = tmp_path / "fidelity.sql"
    script.write_text(QUERY + ";\n")
    pgbench_round(pgbench, empty_db, script, 50, tmp_path)  # warm-up of pgbench's side (same data, same caches)
    perfkit_round(conn, QUERY, 50)
    pairs = alternate(
        ROUNDS,
        partial(perfkit_round, conn, QUERY, TRANSACTIONS),
        partial(pgbench_round, pgbench, empty_db, script, TRANSACTIONS, tmp_path),
    )
    ratio = statistics.median(a.median_ms / b.median_ms for a, b in pairs)
    mean_ratio = statistics.median(a.mean_ms / b.mean_ms for a, b in pairs)
    spread = sorted(a.median_ms / b.median_ms for a, b in pairs)
    with capsys.disabled():
        print(f"\nfidelity query: {QUERY} ({ROUNDS} alternating rounds of {TRANSACTIONS} executions per tool)")
        print(f"  perfkit round medians (ms): {', '.join(f'{a.median_ms:.3f}' for a, _ in pairs)}")
        print(f"  pgbench round medians (ms): {', '.join(f'{b.median_ms:.3f}' for _, b in pairs)}")
        print(
            f"  median of round medians: perfkit {statistics.median(a.median_ms for a, _ in pairs):.4f} ms,"
            f" pgbench {statistics.median(b.median_ms for _, b in pairs):.4f} ms"
        )
        print(f"  perfkit/pgbench, median of per-round ratios: {ratio:.3f} on medians, {mean_ratio:.3f} on means")
        print(f"  per-round ratios, middle half: {spread[len(spread) // 4]:.3f} .. {spread[3 * len(spread) // 4]:.3f}")
    assert abs(ratio - 1) <= TOLERANCE, f"perfkit/pgbench = {ratio:.3f}, outside ±{TOLERANCE:.0%}"
