"""Seeding throughput: `perfkit seed` vs pg_restore of the same data vs a naive Faker + executemany seeder.

Run: PYTHONPATH=$PWD python -m pytest -q -s benchmarks/bench_seed.py
Env: PERFKIT_BENCH_SCALE (default 10), PERFKIT_BENCH_JOBS (default 2, used by perfkit and pg_restore alike),
PERFKIT_BENCH_NAIVE_SCALE (default 0.02: about 17,000 rows).

What is timed:
(a) `python -m perfkit seed --scale S --jobs J` in a subprocess, wall clock, from process start to exit: imports,
    Faker pools, generation, COPY, keys/foreign keys/indexes, ANALYZE, checks, fingerprint. Its peak memory is read
    with getrusage(RUSAGE_CHILDREN) (largest single process) and by sampling /proc (the process tree's summed RSS).
(b) the same data restored: `pg_dump --data-only -Fc` of (a)'s eight tables (not timed), then, into a fresh
    database with perfkit's schema migrated and its keys, foreign keys and secondary indexes dropped (not timed),
    timed: `pg_restore --data-only -j J`, rebuilding the keys, indexes and foreign keys over J connections
    (perfkit's own `rebuild`: same statements, same order), and ANALYZE of every table over J connections.
(c) a naive seeder (benchmarks/_naive_seed.py) on a small sample of the same eight tables in the same proportions:
    one Faker call per value, rows inserted with `executemany` into the migrated schema with its indexes in place;
    Faker and INSERT timed per table. Its per-row cost per table, times (a)'s rows per table, is how long it would
    take for (a)'s data (an estimate in its favour: its indexes stay small and cached on a sample). Run before (a)
    and after (b); the faster run counts (the machine's load changes during a long run).
Asserted: ratio (a)/(b) <= 1.5 at scale >= 10 (the issue's target scale), peak RSS of every perfkit process
< 1 GiB, disk estimate >= actual size.
The speed-up over (c) (target >= 100x end to end) is printed with its verdict, not asserted: it is out of reach of
any loader here. Most of the profile's rows (post_tags, comments, notifications) take few Faker calls, so the naive
seeder manages about 20,000 rows/s on the mix, and 100x that is 2M rows/s end to end; building the same keys and
indexes alone (the statements pg_restore's side runs too) takes longer than 1/100 of the naive time. The benchmark
prints that ceiling beside the speed-up.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import conninfo as pg_conninfo
from psycopg import sql

from benchmarks._naive_seed import naive_seconds_for, naive_seed
from perfkit import schema
from perfkit._disk import estimate_bytes
from perfkit._load import deferred, rebuild, run_parallel
from perfkit.db import Target, connect
from perfkit.seed import current_seed
from perfkit.server import find_binaries
from tests.fix_server import _drop_db, _make_db

SCALE = float(os.environ.get("PERFKIT_BENCH_SCALE", "10"))
JOBS = int(os.environ.get("PERFKIT_BENCH_JOBS", "2"))
NAIVE_SCALE = float(os.environ.get("PERFKIT_BENCH_NAIVE_SCALE", "0.02"))
RATIO_TARGET = 1.5
SPEEDUP_TARGET = 100
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def databases(admin_conninfo: str) -> Iterator[tuple[Target, Target, Target]]:
    """Three fresh databases: perfkit's seed, the pg_restore copy, the naive seeder's sample."""
    names = [f"pk_bench_{kind}_{uuid.uuid4().hex[:6]}" for kind in ("seed", "restore", "naive")]
    targets = [_make_db(admin_conninfo, name) for name in names]
    try:
        yield targets[0], targets[1], targets[2]
    finally:
        for name in names:
            _drop_db(admin_conninfo, name)


def _tree_rss(pid: int) -> int:
    """Summed RSS (bytes) of a process and its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[1])
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1]) * 1024
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += [c for c, parent in parents.items() if parent == p]
    return total


def _env_and_dsn(target: Target) -> tuple[dict[str, str], str]:
    """Environment (password in PGPASSWORD, never on a command line) and the conninfo without the password."""
    params = pg_conninfo.conninfo_to_dict(target.conninfo)
    password = str(params.pop("password", "") or "")
    env = {**os.environ, "PGPASSWORD": password, "PYTHONPATH": str(ROOT)}
    return env, pg_conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})


def run_perfkit_seed(target: Target) -> tuple[float, int, int, str]:
    """(seconds, peak RSS of the largest process, peak summed RSS of the process tree, output) of `perfkit seed`."""
    env, dsn = _env_and_dsn(target)
    cmd = [sys.executable, "-m", "perfkit", "seed", "--dsn", dsn, "--scale", f"{SCALE:g}", "--jobs", str(JOBS)]
    peak = 0
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.25):
            peak = max(peak, _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    assert proc.returncode == 0, out
    print("\n" + out.strip())
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return seconds, largest, peak, out


TABLES = list(schema.TABLES)


def run_pg_restore(source: Target, target: Target, dump: Path) -> float:
    """Dump `source` (untimed), prepare `target` (untimed), then time restore + keys and indexes + ANALYZE."""
    tools = find_binaries()
    env, src = _env_and_dsn(source)
    tables = [arg for t in TABLES for arg in ("-t", t)]
    subprocess.run(
        [tools.tool("pg_dump"), "--data-only", "-Fc", "-f", str(dump), *tables, "-d", src], env=env, check=True
    )
    with connect(target) as conn:
        schema.migrate(conn)
        plan = deferred(conn)
        for stmt in plan.drops:
            conn.execute(stmt)
    env, dst = _env_and_dsn(target)
    conns = [connect(target, statement_timeout_ms=0) for _ in range(JOBS)]
    try:
        for c in conns:
            c.execute("SET maintenance_work_mem = '256MB'")
        started = time.perf_counter()
        cmd = [tools.tool("pg_restore"), "--data-only", "-j", str(JOBS), "-d", dst, str(dump)]
        subprocess.run(cmd, env=env, check=True)
        rebuild(conns, plan)
        run_parallel(conns, [sql.SQL("ANALYZE {}").format(sql.Identifier(t)) for t in TABLES])
        return time.perf_counter() - started
    finally:
        for c in conns:
            c.close()


def run_naive(target: Target) -> dict[str, tuple[float, int]]:
    """The naive seeder on a freshly migrated schema: (seconds, rows) per table."""
    with connect(target) as conn:
        schema.reset(conn, force=True)
        return naive_seed(conn, NAIVE_SCALE)


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def test_seed_vs_pg_restore_vs_naive(databases: tuple[Target, Target, Target], tmp_path: Path) -> None:
    seeded, restored, naive = databases
    naive_runs = [run_naive(naive)]  # before and after the big runs: the faster one counts
    seconds, largest, tree, out = run_perfkit_seed(seeded)
    phases = {k: float(v) for k, v in re.findall(r"(\w+) ([0-9.]+) s", out.split("phases:", 1)[-1])}
    with connect(seeded) as conn:
        info = current_seed(conn)
        on_disk = _one_int(
            conn, "SELECT sum(pg_total_relation_size(t::regclass))::bigint FROM unnest(%s::text[]) t", TABLES
        )
    assert info is not None
    rows = info.total_rows
    restore_s = run_pg_restore(seeded, restored, tmp_path / "seed.dump")
    with connect(restored) as conn:
        got = {t: _one_int(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))) for t in TABLES}
    assert got == info.rows
    naive_runs.append(run_naive(naive))
    naive_s = min(naive_seconds_for(info.rows, run) for run in naive_runs)
    sample_rows = sum(n for _, n in naive_runs[0].values())
    ratio = seconds / restore_s
    speedup = naive_s / seconds
    load_speedup = naive_s / phases["load"] if phases.get("load") else float("nan")
    builds = phases.get("indexes", float("nan"))
    print(
        f"\nscale {SCALE:g}, jobs {JOBS}: {rows:,} rows"
        f"\n(a) perfkit seed end to end:        {seconds:8.1f} s  {rows / seconds:>12,.0f} rows/s"
        f"\n(b) pg_restore + indexes + ANALYZE: {restore_s:8.1f} s  {rows / restore_s:>12,.0f} rows/s"
        f"\n    ratio perfkit / pg_restore:     {ratio:8.2f}x"
        f" (target <= {RATIO_TARGET}x: {_verdict(ratio <= RATIO_TARGET)})"
        f"\n(c) naive Faker + executemany:      {naive_s:8.1f} s  {rows / naive_s:>12,.0f} rows/s for the same rows"
        f" (per-table cost of the best of {len(naive_runs)} runs on {sample_rows:,} rows:"
        f" {', '.join(f'{sum(s for s, _ in r.values()):.1f} s' for r in naive_runs)})"
        f"\n    naive cost per row: {_per_row(naive_runs)}"
        f"\n    perfkit speed-up over naive:    {speedup:8.0f}x end to end (target >= {SPEEDUP_TARGET}x:"
        f" {_verdict(speedup >= SPEEDUP_TARGET)}); {load_speedup:.0f}x in the load phase (generation + COPY)"
        f"\n    ceiling: keys, indexes and foreign keys alone took {builds:.1f} s, so no seeder that ends with them"
        f" beats the naive one by more than {naive_s / builds:.0f}x"
        f"\n    peak RSS: largest process {largest / 2**20:,.0f} MiB, process tree (sampled) {tree / 2**20:,.0f} MiB"
        f"\n    disk: estimated {estimate_bytes(info.rows) / 1e9:.2f} GB (with headroom),"
        f" tables and indexes {on_disk / 1e9:.2f} GB"
    )
    if SCALE >= 10:  # the target is set at scale 10; below it, start-up (imports, Faker pools) weighs more
        assert ratio <= RATIO_TARGET
    assert largest < 2**30
    assert estimate_bytes(info.rows) >= on_disk


def _per_row(runs: list[dict[str, tuple[float, int]]]) -> str:
    best = {t: min(run[t][0] / run[t][1] for run in runs if run[t][1]) for t in runs[0] if runs[0][t][1]}
    return ", ".join(f"{t} {s * 1e6:,.0f} µs" for t, s in best.items())


def _one_int(conn: psycopg.Connection[Any], query: Any, *params: Any) -> int:
    row = conn.execute(query, params or None).fetchone()
    assert row is not None
    return int(row[0])
