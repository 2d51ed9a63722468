"""Leases on the embedded server: which perfkit processes use a server that a command started."""

from __future__ import annotations

import os
from pathlib import Path


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (tells a live process from a reused pid), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, started: str) -> bool:
    """Whether the process that took a lease still runs."""
    now = _start_time(pid)
    if now is not None:
        return now == started
    if Path("/proc/self/stat").exists():  # /proc works, and this pid is not in it
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def take(folder: Path) -> None:
    """Record that this process uses the server."""
    folder.mkdir(exist_ok=True)
    pid = os.getpid()
    (folder / str(pid)).write_text(f"{_start_time(pid) or ''}\n")


def drop(folder: Path) -> None:
    """This process no longer uses the server."""
    (folder / str(os.getpid())).unlink(missing_ok=True)


def holders(folder: Path) -> list[int]:
    """Pids of the live processes holding a lease; leases of processes that died are removed."""
    live = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            started = entry.read_text().strip()
        except OSError:
            continue
        if _alive(int(entry.name), started):
            live.append(int(entry.name))
        else:
            entry.unlink(missing_ok=True)
    return live
