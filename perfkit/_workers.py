"""Parallel loading: tables generated and COPYed by worker processes, so the GIL does not serialise generation."""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import psycopg

from perfkit._gen import batches
from perfkit._load import Loaded, Progress, copy_batches
from perfkit._seed_marks import flush_stats
from perfkit._tables import GENERATORS, World
from perfkit.db import Target, connect
from perfkit.errors import SeedError

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
#: Set in each worker process by `_init`: where to load and what to generate.
_WORKER: dict[str, Any] = {}


def session(conn: psycopg.Connection[Any]) -> None:
    """Session settings for a bulk load."""
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '256MB'")


def copy_table(conn: psycopg.Connection[Any], world: World, table: str, tick: Callable[[int], None]) -> Loaded:
    """Generate every batch of `table` and COPY it over `conn`."""
    gen = GENERATORS[table]
    stream = (gen.make(world, b) for b in batches(world.n[gen.driver]))
    return copy_batches(conn, table, gen.columns, stream, on_batch=tick)


def _die_with(parent: int) -> None:
    """End this worker when the seed process that started it dies, even by kill -9: a forked worker holds copies
    of the parent's connections, the one holding the seed lock too, so an orphan would block every later seed."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler: terminate() must end the worker
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # died before prctl took effect
            os._exit(1)
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _init(target: Target, world: World, ticks: Any, parent: int) -> None:
    _die_with(parent)
    _WORKER.update(target=target, world=world, ticks=ticks)


def _task(table: str) -> Loaded:
    ticks = _WORKER["ticks"]
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        ticks.put((table, done))

    with connect(_WORKER["target"], statement_timeout_ms=0, application_name="perfkit seed") as conn:
        session(conn)
        loaded = copy_table(conn, _WORKER["world"], table, tick)
        flush_stats(conn)  # the seed's write marks are read from another session, before this one has exited
        return loaded


def load_tables(
    target: Target,
    conn: psycopg.Connection[Any],
    world: World,
    tables: Sequence[str],
    jobs: int,
    progress: Progress | None,
) -> dict[str, Loaded]:
    """Load `tables` (biggest first): in this process over `conn` when jobs is 1, else in `jobs` worker processes.

    An error or Ctrl-C here terminates the workers; their transactions roll back, leaving the seed 'loading'.
    """
    report = progress or (lambda table, done, total: None)
    for table in tables:
        report(table, 0, world.n[table])
    if jobs == 1:
        loaded = {}
        for table in tables:
            done = 0

            def tick(n: int, table: str = table) -> None:
                nonlocal done
                done += n
                report(table, done, max(done, world.n[table]))

            loaded[table] = copy_table(conn, world, table, tick)
            report(table, loaded[table].rows, loaded[table].rows)
        return loaded
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    ticks = ctx.Queue()
    pool = ProcessPoolExecutor(min(jobs, len(tables)), ctx, _init, (target, world, ticks, os.getpid()))
    try:
        futures = [pool.submit(_task, table) for table in tables]
        while not all(f.done() for f in futures):
            failed = next((f for f in futures if f.done() and f.exception() is not None), None)
            if failed is not None:
                failed.result()  # raise the first worker's error now: the other loads are stopped, not awaited
            try:
                table, done = ticks.get(timeout=0.1)
            except queue.Empty:
                continue
            report(table, done, max(done, world.n[table]))
        results = [f.result() for f in futures]
    except BrokenProcessPool:
        raise SeedError(
            "a seed worker process died (killed, perhaps by the out-of-memory killer); the seed is left incomplete"
            " and is redone on the next run (try fewer --jobs)"
        ) from None
    finally:
        _stop(pool)
    for item in results:
        report(item.table, item.rows, item.rows)
    return {item.table: item for item in results}


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now, busy or not (an error or Ctrl-C must not wait for the other tables' loads)."""
    processes = list((pool._processes or {}).values())  # private, but the executor has no terminate() before 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(5)
