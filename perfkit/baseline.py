"""Baselines: results files kept in the user's project under <root>/<machine>/<name>.json, with history."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from perfkit import results as _results
from perfkit.errors import ConfigError, ResultsError

DEFAULT_ROOT = Path(".perfkit/baselines")
RUNS_DIR = Path("perfkit-out")  # where `perfkit run` writes <run>/results.json by default
LATEST = "latest"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class BaselineInfo:
    """One saved baseline; benchmarks is None (and error says why) when the file cannot be read."""

    name: str
    machine: str
    path: Path
    saved_at: str
    started_at: str | None
    git_commit: str | None
    benchmarks: int | None
    error: str | None = None


def machine_name() -> str:
    """A stable name for this machine: $PERFKIT_MACHINE, else the host name (made safe for a folder name)."""
    raw = os.environ.get("PERFKIT_MACHINE") or socket.gethostname() or "unknown"
    return _SAFE.sub("-", raw).strip(".-") or "unknown"


def _check_name(name: str) -> str:
    name = name.removesuffix(".json")  # `baseline save main.json` names it main, not main.json.json
    if not name or name in (".", "..") or _SAFE.search(name) or name == LATEST:
        raise ConfigError(f"bad baseline name {name!r}: use letters, digits, '.', '_' or '-' (and not {LATEST!r})")
    return name


def save_baseline(
    results_path: str | os.PathLike[str],
    name: str | None = None,
    root: Path = DEFAULT_ROOT,
    *,
    machine: str | None = None,
) -> Path:
    """Store a results file as a baseline (validated, upgraded); a name is replaced, timestamps accumulate."""
    run = _results.load(results_path)
    stem = _check_name(name) if name is not None else datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = Path(root) / (machine or machine_name())
    return _results.write(run, folder / f"{stem}.json")


def _info(path: Path) -> BaselineInfo:
    saved = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    try:
        run = _results.load(path)
    except ResultsError as exc:
        return BaselineInfo(path.stem, path.parent.name, path, saved, None, None, None, error=str(exc))
    env = run.environment
    return BaselineInfo(path.stem, path.parent.name, path, saved, env.started_at, env.git_commit, len(run.benchmarks))


def _files(root: Path, machine: str | None) -> list[Path]:
    if machine:
        folders = [root / machine]
    else:
        folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    files = [f for d in folders if d.is_dir() for f in d.glob("*.json") if not f.name.startswith(".")]
    return sorted(files, key=lambda f: (f.parent.name, f.stat().st_mtime_ns, f.name))


def list_baselines(root: Path = DEFAULT_ROOT, machine: str | None = None) -> list[BaselineInfo]:
    """Every baseline under root (or one machine's), oldest first per machine."""
    return [_info(f) for f in _files(Path(root), machine)]


def latest_baseline(root: Path = DEFAULT_ROOT, machine: str | None = None) -> Path | None:
    """The most recently saved baseline of a machine (default: this one), or None."""
    files = _files(Path(root), machine or machine_name())
    return files[-1] if files else None


def resolve_baseline(ref: str, root: Path = DEFAULT_ROOT) -> Path:
    """A baseline reference as a path: an existing file, 'latest', or a name saved for this machine."""
    path = Path(ref)
    if path.exists():
        return path
    if ref == LATEST:
        found = latest_baseline(root)
        if found is None:
            raise ResultsError(f"no baseline saved for machine {machine_name()!r} under {root}")
        return found
    named = Path(root) / machine_name() / f"{ref}.json"
    if not _SAFE.search(ref) and named.exists():
        return named
    if Path(ref).is_absolute() or _SAFE.search(ref):
        raise ResultsError(f"no such results file: {ref}")
    raise ResultsError(f"baseline not found: {ref} (neither a file nor a baseline saved under {named.parent})")


def latest_results(runs: Path = RUNS_DIR) -> Path:
    """The newest <runs>/*/results.json (what `perfkit run` wrote last), for `perfkit baseline save`."""
    found = sorted(runs.glob("*/results.json"), key=lambda f: (f.stat().st_mtime_ns, str(f))) if runs.is_dir() else []
    if not found:
        raise ResultsError(f"no results.json under {runs}/: run `perfkit run` first or pass --results PATH")
    return found[-1]
