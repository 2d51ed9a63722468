"""`perfkit run`, the main job: server, schema and seeded data ensured, the comparisons run, results written."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from perfkit import _data_lock as data_lock
from perfkit import environment, schema
from perfkit._profile import load_profile
from perfkit.db import Target, connect, resolve_target
from perfkit.errors import ConfigError, SeedError
from perfkit.realism import seed_realism
from perfkit.results import Benchmark, RunResults, Scalar, write
from perfkit.scenarios import indexes, loading, pagination
from perfkit.seed import SeedInfo, check_args, check_counts, current_seed, ensure_seeded
from perfkit.server import EmbeddedServer

SCENARIOS = ("loading", "pagination", "indexes")

Say = Callable[[str], None]
SeedProgress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class RunConfig:
    """What `perfkit run` does: data (scale, seed, profile), scenarios, where to write, and timing effort."""

    scale: float = 1.0
    seed: int = 42
    profile: str = "default"
    scenarios: Sequence[str] = SCENARIOS
    out: Path | None = None
    dsn: str | None = None
    data_dir: Path | None = None
    force: bool = False
    report: bool = True
    loading: loading.LoadingConfig = field(default_factory=loading.LoadingConfig)
    pagination: pagination.PaginationConfig = field(default_factory=pagination.PaginationConfig)
    indexes: indexes.IndexConfig = field(default_factory=indexes.IndexConfig)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """The run's results and where they were written."""

    results: RunResults
    results_path: Path
    report_path: Path | None
    seed: SeedInfo


def check_writable(folder: Path) -> None:
    """Create `folder` if needed and make sure files can be written in it, or a one-line ConfigError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".perfkit-write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write results to {folder}: {exc.strerror or exc}") from None


def default_out_dir(now: datetime | None = None) -> Path:
    """perfkit-out/run-YYYYmmdd-HHMMSS in the current folder."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path("perfkit-out") / f"run-{stamp}"


def validate(config: RunConfig) -> None:
    """Reject bad options before any work starts."""
    check_args(config.scale, config.seed, 1)
    check_counts(config.scale, load_profile(config.profile))  # an unknown profile before the server is started
    unknown = [s for s in config.scenarios if s not in SCENARIOS]
    if unknown:
        raise ConfigError(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)}")
    if not config.scenarios:
        raise ConfigError("no scenario selected")


def run(
    config: RunConfig,
    *,
    say: Say | None = None,
    seed_progress: SeedProgress | None = None,
    target: Target | None = None,
) -> RunOutcome:
    """Ensure server, schema and data; run the selected scenarios; write results.json (and report.html)."""
    validate(config)
    tell: Say = say or (lambda _msg: None)
    out = config.out or default_out_dir()
    check_writable(out)  # before the benchmarks, not after them
    if target is None:
        if config.dsn or os.environ.get("PERFKIT_DSN"):
            tell("connecting to the given server")
        elif not EmbeddedServer(config.data_dir).status().running:
            tell("starting the embedded server")
        target = resolve_target(config.dsn, config.data_dir)
    with ExitStack() as held:
        # held for the whole run: no second run at once, and (once seeded) no seed or reset under the benchmarks
        lock = held.enter_context(connect(target, application_name="perfkit run"))
        data_lock.take_run(lock, SeedError)
        return _run(config, target, lock, out, tell, seed_progress)


def _run(
    config: RunConfig,
    target: Target,
    lock: psycopg.Connection[Any],
    out: Path,
    tell: Say,
    seed_progress: SeedProgress | None,
) -> RunOutcome:
    with connect(target) as conn:
        applied = schema.migrate(conn, force=config.force)
        if applied:
            tell(f"schema: applied {len(applied)} migration(s)")
    tell(f"data: scale {config.scale}, seed {config.seed}, profile {config.profile}")
    info = ensure_seeded(
        target,
        scale=config.scale,
        seed=config.seed,
        profile=config.profile,
        progress=seed_progress,
        force=config.force,
        why=lambda reason: tell(f"{reason}: seeding"),
        tell=tell,
    )
    if info.reused:
        tell(f"reusing the seeded data ({info.total_rows:,} rows, fingerprint {info.fingerprint[:12]})")
    for note in info.notes:
        tell(f"note: {note}")
    data_lock.take_shared(lock, "run again", SeedError)
    now = current_seed(lock)
    if now is None or now.fingerprint != info.fingerprint:  # replaced between the seed and the lock
        raise SeedError("another perfkit command replaced the data just after it was seeded; run again")
    benches: list[Benchmark] = []
    tables: dict[str, tuple[dict[str, Scalar], ...]] = {}
    with connect(target) as conn:
        env = environment.capture(
            conn,
            embedded=target.embedded,
            scale=info.scale,
            seed=info.seed,
            profile=info.profile,
            data_fingerprint=info.fingerprint,
            realism=seed_realism(conn),
        )
        if "loading" in config.scenarios:
            tell("loading strategies: N+1 vs JOIN vs batched vs JSON, and the latency model through a proxy")
            lrun = loading.run_all(conn, config.loading, conninfo=target.conninfo)
            benches += lrun.benchmarks
            tables.update(lrun.tables)
        if "pagination" in config.scenarios:
            tell("pagination: OFFSET vs keyset by depth, drift under writes, batch passes")
            paged = pagination.run(
                conn, config.pagination, connect_writer=lambda: connect(target, application_name="perfkit-writer")
            )
            benches += paged.benchmarks
            tables.update(paged.tables)
        if "indexes" in config.scenarios:
            scope = "full catalogue" if config.indexes.full else "representative subset"
            tell(f"index strategies: catalogue queries x index sets ({scope})")
            irun = indexes.run(conn, config.indexes)
            benches += irun.benchmarks
            tables.update(irun.tables)
            for row in irun.tables.get("index_hygiene", ()):
                if row.get("action") not in (None, "none"):
                    tell(f"index strategies: {row['table']}: {row['check']} {row['state']} -> {row['action']}")
    results = RunResults(environment=env, benchmarks=tuple(benches), tables=tables)
    results_path = write(results, out / "results.json")
    report_path: Path | None = None
    if config.report:
        from perfkit.report import render_html

        report_path = render_html([results], out / "report.html")
    return RunOutcome(results=results, results_path=results_path, report_path=report_path, seed=info)
