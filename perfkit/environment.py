"""The environment recorded with every run: server version and settings, machine, versions, data identity."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from perfkit.results import Environment, MachineValue

# Settings that change plans or timings; recorded so that runs on different settings are not compared blindly.
KEY_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "random_page_cost",
    "seq_page_cost",
    "jit",
    "max_parallel_workers_per_gather",
    "max_parallel_workers",
    "fsync",
    "synchronous_commit",
    "block_size",
)


def server_settings(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """The key settings as the server reports them (with units)."""
    rows = conn.execute(
        "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s) ORDER BY name",
        (list(KEY_SETTINGS),),
    ).fetchall()
    return {str(name): str(value) for name, value in rows}


def _memory_bytes() -> int | None:
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None
    return pages * size if pages > 0 and size > 0 else None


def machine_info() -> dict[str, MachineValue]:
    """Host name, OS, architecture (text), CPU count and memory in bytes (integers; None when unknown)."""
    return {
        "hostname": os.environ.get("PERFKIT_MACHINE") or platform.node(),
        "system": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
    }


def git_commit(cwd: Path | None = None) -> str | None:
    """The commit of the git checkout the run was started from, if any."""
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=cwd or Path.cwd(), timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = res.stdout.strip()
    return out if res.returncode == 0 and out else None


def capture(
    conn: psycopg.Connection[Any],
    *,
    embedded: bool,
    scale: float | None,
    seed: int | None,
    profile: str | None,
    data_fingerprint: str | None,
    realism: dict[str, Any] | None = None,
) -> Environment:
    """Record everything a later comparison needs to know about this run."""
    from perfkit import __version__
    from perfkit.measure import PROTOCOL

    row = conn.execute("SHOW server_version").fetchone()
    return Environment(
        server_version=str(row[0]) if row else "unknown",
        server_settings=server_settings(conn),
        machine=machine_info(),
        python_version=platform.python_version(),
        perfkit_version=__version__,
        git_commit=git_commit(),
        scale=scale,
        seed=seed,
        profile=profile,
        data_fingerprint=data_fingerprint,
        embedded=embedded,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        realism=realism,
        timing_protocol=PROTOCOL,
    )
