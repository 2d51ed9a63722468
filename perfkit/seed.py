"""Seeding: generate the schema's data from a profile, load it with binary COPY, verify, fingerprint, record it."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from perfkit import _data_lock as data_lock
from perfkit import schema
from perfkit._disk import check_disk, estimate_bytes
from perfkit._gen import GENERATOR_VERSION, counts
from perfkit._load import Loaded, Progress, check_json, copy_types, deferred, rebuild, run_parallel
from perfkit._profile import Profile, load_profile
from perfkit._seed_marks import (
    await_counts,
    changes,
    flush_stats,
    marks_from_json,
    marks_to_json,
    page_changes,
    read_marks,
    written_pages,
)
from perfkit._seed_shape import read_shape, shape_changes
from perfkit._tables import ADDRESS_OIDS, GENERATORS, WIRE_TYPES, World, make_world
from perfkit._workers import load_tables, session
from perfkit.db import Target, connect
from perfkit.errors import ConfigError, SeedError

#: Load order when tables run in parallel: biggest first, so the slowest table starts at once.
_LOAD_ORDER = ("comments", "post_tags", "notifications", "posts", "users", "user_profiles", "user_settings", "tags")


@dataclass(frozen=True, slots=True)
class SeedInfo:
    """A completed seed: its arguments, rows per table, data fingerprint and how long it took."""

    scale: float
    seed: int
    profile: str
    rows: dict[str, int]
    fingerprint: str
    seconds: float
    profile_hash: str = ""
    generator_version: int = GENERATOR_VERSION
    reused: bool = False
    phases: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else math.inf


#: Below this the default profile gives fewer than 10 users and 100 posts: nothing to compare.
MIN_SCALE = 0.001
#: Tables whose created_at is distinct to the microsecond (feeds and keyset walks sort by it): one slot per row.
DISTINCT_TIMES = ("users", "posts", "tags", "notifications")
#: Far beyond any disk (the free-space check refuses much less), and where row numbers stay exact in a float.
MAX_TABLE_ROWS = 10**12
#: Seeds are stored as bigint.
MAX_SEED = 2**63 - 1


def check_args(scale: float, seed: int, jobs: int) -> None:
    """One-line ConfigErrors for arguments no seed can use."""
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale) or scale <= 0:
        raise ConfigError(f"scale must be a positive number, not {scale!r}")
    if scale < MIN_SCALE:
        raise ConfigError(f"scale {scale:g} is too small: the smallest is {MIN_SCALE:g} (10 users, 100 posts)")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed must be an integer from 0 to {MAX_SEED}, not {seed!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs must be at least 1, not {jobs!r}")


def check_counts(scale: float, prof: Profile) -> dict[str, int]:
    """Rows per table at this scale, refused when a table would need rows of a table left empty (or absurdly many)."""
    biggest = max(prof.rows.values(), default=0) * scale
    if not biggest <= MAX_TABLE_ROWS:  # also inf: 1e308 x 100,000 rows
        raise ConfigError(
            f"scale {scale:g} is too large: profile {prof.name} would put {biggest:.3g} rows in one table, and"
            f" a seed holds at most {MAX_TABLE_ROWS:.0e} per table"
        )
    n = counts(scale, prof)
    span_us = (prof.end - prof.start) // dt.timedelta(microseconds=1)
    crowded = [t for t in DISTINCT_TIMES if n[t] > span_us]
    if crowded:
        t = max(crowded, key=lambda name: n[name])
        raise ConfigError(
            f"profile {prof.name}'s dates span {span_us:,} microseconds, fewer than the {n[t]:,} {t} at scale"
            f" {scale:g}, whose created_at must be distinct: widen [dates] or lower the scale"
        )
    if n["posts"] == 0 and (n["comments"] or n["notifications"]):
        raise ConfigError(
            f"profile {prof.name} gives no posts at scale {scale:g} but {n['comments']:,} comments and"
            f" {n['notifications']:,} notifications, which refer to posts: raise rows.posts or the scale"
        )
    return n


def seeding_now(conn: psycopg.Connection[Any]) -> str | None:
    """Who is seeding this database right now (application and pid), or None: the data lock's holders."""
    found = data_lock.holders(conn, data_lock.DATA)
    return ", ".join(f"{app}, pid {pid}" for pid, app in found) if found else None


_SELECT = (
    "SELECT scale, seed, profile, profile_hash, generator_version, state, rows, fingerprint, seconds FROM perfkit_seed"
)


def seed_state(conn: psycopg.Connection[Any]) -> str | None:
    """'loading' (in progress or interrupted), 'complete', or None when nothing was seeded."""
    if conn.execute("SELECT to_regclass('perfkit_seed') IS NULL").fetchone() == (True,):
        return None
    row = conn.execute("SELECT state FROM perfkit_seed").fetchone()
    return str(row[0]) if row else None


def current_seed(conn: psycopg.Connection[Any]) -> SeedInfo | None:
    """The complete seed recorded in the database, or None (nothing seeded, or a load that did not finish)."""
    if seed_state(conn) != "complete":
        return None
    row = conn.execute(_SELECT).fetchone()
    assert row is not None
    scale, seed_, profile, digest, version, _state, rows, fp, seconds = row
    return SeedInfo(
        scale=float(scale),
        seed=int(seed_),
        profile=str(profile),
        rows={str(k): int(v) for k, v in rows.items()},
        fingerprint=str(fp),
        seconds=float(seconds),
        profile_hash=str(digest),
        generator_version=int(version),
    )


_FREE_SLOTS = """
SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
       - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
       current_setting('max_connections')::int
"""


def connections_for(jobs: int) -> int:
    """Connections a seed with `jobs` opens at its busiest: `jobs` of its own (keys, indexes, ANALYZE) and, during the
    load, one per worker process (a table each, so at most one per table)."""
    return jobs + (min(jobs, len(_LOAD_ORDER)) if jobs > 1 else 0)


def _open(target: Target, jobs: int, stack: ExitStack) -> list[psycopg.Connection[Any]]:
    """`jobs` connections (the first one checks that the server has room for them and for the load's workers)."""
    conns = []
    for i in range(jobs):
        conn = stack.enter_context(connect(target, statement_timeout_ms=0, application_name="perfkit seed"))
        session(conn)
        conns.append(conn)
        if i == 0 and jobs > 1:
            row = conn.execute(_FREE_SLOTS).fetchone()
            free, most = (int(row[0]), int(row[1])) if row else (jobs, jobs)
            room = free + 1  # this connection's slot is taken already
            if connections_for(jobs) > room:
                fits = max((j for j in range(1, jobs) if connections_for(j) <= room), default=1)
                raise ConfigError(
                    f"--jobs {jobs} needs {connections_for(jobs)} connections (its own and one per loading worker),"
                    f" but the server has room for {room} more (max_connections {most}): use --jobs {fits} or fewer"
                )
    return conns


def _check_address(conn: psycopg.Connection[Any]) -> None:
    """The generators write the composite `address` with fixed attribute type OIDs: they must match the catalog."""
    rows = conn.execute(
        "SELECT a.atttypid::int FROM pg_attribute a JOIN pg_type t ON t.typrelid = a.attrelid"
        " WHERE t.typname = 'address' AND t.typnamespace = current_schema()::regnamespace AND a.attnum > 0"
        " AND NOT a.attisdropped ORDER BY a.attnum"
    ).fetchall()
    if tuple(r[0] for r in rows) != ADDRESS_OIDS:
        raise SeedError("type address does not match perfkit's schema (run `perfkit db reset`)")


def _check_types(conn: psycopg.Connection[Any]) -> None:
    """C23: binary COPY casts nothing, so each column's type must be the one its generator writes."""
    _check_address(conn)
    for table, gen in GENERATORS.items():
        wanted = {"varchar": "text", "bpchar": "text"}  # same binary form as text
        got = [wanted.get(t, t) for t in copy_types(conn, table, gen.columns)]
        for column, have, write in zip(gen.columns, got, WIRE_TYPES[table], strict=True):
            if have != write:
                raise SeedError(f"{table}.{column} is {have}, the generator writes {write} (run `perfkit db reset`)")


def copy_bytes(world: World) -> dict[str, float]:
    """Binary COPY bytes per row of each table's first batch, as this profile and locale make them (for the disk
    estimate; a batch takes well under a second to make)."""
    out = {}
    for table, gen in GENERATORS.items():
        if world.n[gen.driver]:
            batch = gen.make(world, 0)
            out[table] = len(batch.data) / max(batch.rows, 1)
    return out


def combine(loaded: dict[str, Loaded]) -> str:
    """The data fingerprint: md5 over each table's row count and digest, in schema order."""
    parts = [f"{t}:{loaded[t].rows}:{loaded[t].digest}" for t in schema.TABLES]
    return hashlib.md5("|".join(parts).encode(), usedforsecurity=False).hexdigest()


def seed(
    target: Target,
    *,
    scale: float,
    seed: int = 42,
    profile: str | Path = "default",
    jobs: int = 1,
    progress: Progress | None = None,
    force: bool = False,
) -> SeedInfo:
    """Replace the data with a fresh seed: reset the schema, COPY every table, build keys and indexes, ANALYZE.

    Refuses a database holding tables perfkit did not create unless `force`. Interrupted, it leaves the state
    'loading', which `ensure_seeded` and `current_seed` treat as no seed.
    """
    check_args(scale, seed, jobs)
    prof = load_profile(profile)
    check_counts(scale, prof)
    return _seed(target, scale, seed, prof, jobs, progress, force)


def _seed(
    target: Target,
    scale: float,
    seed: int,
    prof: Profile,
    jobs: int,
    progress: Progress | None,
    force: bool,
    about_to_load: Callable[[], None] | None = None,
) -> SeedInfo:
    started = time.perf_counter()
    phases: dict[str, float] = {}
    notes: list[str] = []
    with ExitStack() as stack:
        conns = _open(target, jobs, stack)
        main = conns[0]
        _lock(main)
        n = counts(scale, prof)
        checked = check_disk(main, target, estimate_bytes(n))  # first the default profile's row sizes: cheap
        if checked is None:
            notes.append(
                "disk space not checked: the server's data directory is not on this machine, or this role may not"
                " read where it is"
            )
        world = make_world(scale, seed, prof)
        if checked is not None:  # then this profile's (a locale's longer text, fewer NULLs)
            check_disk(main, target, estimate_bytes(n, copy_bytes(world)))
        before = read_shape(main, schema.TABLES)
        schema.reset(main, force=force)  # refused (locks, objects of the user's that depend on the tables) or done
        if about_to_load is not None:  # the old data is gone: the load starts
            about_to_load()
        notes += _lost(before, read_shape(main, schema.TABLES))
        _check_types(main)
        _record_start(main, scale, seed, prof)
        plan = deferred(main)
        for stmt in plan.drops:
            main.execute(stmt)
        phases["prepare"] = time.perf_counter() - started
        mark = time.perf_counter()
        loaded = load_tables(target, main, world, _LOAD_ORDER, jobs, progress)
        rows = {t: loaded[t].rows for t in schema.TABLES}
        phases["load"] = time.perf_counter() - mark
        for conn in conns:  # the load's row counts reach the statistics before ANALYZE resets them, not after
            flush_stats(conn)
        mark = time.perf_counter()
        rebuild(conns, plan)
        phases["indexes"] = time.perf_counter() - mark
        mark = time.perf_counter()
        run_parallel(conns, [sql.SQL("ANALYZE {}").format(sql.Identifier(t)) for t in _LOAD_ORDER])
        phases["analyze"] = time.perf_counter() - mark
        mark = time.perf_counter()
        check_json(conns)
        fp = combine(loaded)
        marks = marks_to_json(read_marks(main, schema.TABLES))
        shape = read_shape(main, schema.TABLES)
        phases["verify"] = time.perf_counter() - mark
        seconds = time.perf_counter() - started
        done = main.execute(
            "UPDATE perfkit_seed SET state = 'complete', rows = %s, fingerprint = %s, seconds = %s,"
            " finished_at = now(), marks = %s, shape = %s WHERE state = 'loading'",
            (Jsonb(rows), fp, seconds, Jsonb(marks), Jsonb(shape)),
        )
        if done.rowcount != 1:
            raise SeedError("the seed's record vanished while it loaded (the schema was reset under it); seed again")
        data_lock.release_exclusive(main)  # now, not when the server has ended the session: a run reads next
    return SeedInfo(
        scale, seed, prof.name, rows, fp, seconds, prof.digest, GENERATOR_VERSION, False, phases, tuple(notes)
    )


def _lost(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What the reset removed or put back that perfkit's schema does not define (an index of the user's, say)."""
    dropped = sorted(before.keys() - after.keys())
    reverted = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    out = []
    if dropped:
        out.append(f"the seed rebuilt perfkit's schema and dropped what it does not define: {', '.join(dropped)}")
    if reverted:
        out.append(f"the seed rebuilt perfkit's schema and put back its own definition of {', '.join(reverted)}")
    return out


def _lock(conn: psycopg.Connection[Any]) -> None:
    """Hold the data alone for this session (released when it closes), or refuse at once (another seed, a run)."""
    data_lock.take_exclusive(conn, "seed again", SeedError)


def seed_changes(conn: psycopg.Connection[Any], tell: Callable[[str], None] | None = None) -> list[str]:
    """What wrote to the seeded tables since the seed completed, one phrase per table ([] when untouched).

    A seed recorded without write marks (by an older perfkit) cannot be checked and is reported as such.
    """
    row = conn.execute("SELECT marks FROM perfkit_seed").fetchone()
    before = marks_from_json(row[0]) if row else None
    if before is None:
        return ["the seed has no write marks (made by an older perfkit), so it cannot be checked"]
    await_counts(conn, tell)  # a session that just wrote may not have reported it yet (`tell` hears of the wait)
    found = changes(before, read_marks(conn, schema.TABLES), schema.TABLES)
    if found:
        return found
    # the counts of a session still connected arrive up to 10 s late: its writes still show in the visibility map
    return page_changes(written_pages(conn, schema.TABLES) or {}, schema.TABLES)


#: Why a seed recorded before perfkit kept the seeded tables' shape cannot be reused.
NO_SHAPE = "the seed has no record of its schema (made by an older perfkit), so it cannot be checked"


def schema_changes(conn: psycopg.Connection[Any]) -> list[str] | None:
    """Columns, constraints, indexes and triggers of the seeded tables added, dropped or changed since the seed
    ([] when none); None when the seed kept no record of them (made by an older perfkit)."""
    row = conn.execute("SELECT shape FROM perfkit_seed").fetchone()
    if row is None or row[0] is None:
        return None
    return shape_changes(dict(row[0]), read_shape(conn, schema.TABLES))


def _record_start(conn: psycopg.Connection[Any], scale: float, seed_: int, prof: Profile) -> None:
    conn.execute(
        "INSERT INTO perfkit_seed (scale, seed, profile, profile_hash, generator_version, state)"
        " VALUES (%s, %s, %s, %s, %s, 'loading')",
        (float(scale), seed_, prof.name, prof.digest, GENERATOR_VERSION),
    )


#: Why there is nothing to reuse in a database never seeded.
NO_SEED_YET = "no seed yet"


def reuse_check(
    target: Target, scale: float, seed: int, prof: Profile, tell: Callable[[str], None] | None = None
) -> tuple[SeedInfo | None, str]:
    """The complete seed to reuse for these arguments, or None and why it cannot be reused."""
    with connect(target) as conn:
        status = schema.status(conn)
        if not status.initialised:
            return None, NO_SEED_YET
        if status.pending:
            return None, "the schema has pending migrations"
        state = seed_state(conn)
        if state == "loading":
            data_lock.refuse_if_seeding(conn, SeedError)  # in progress, not interrupted: say so, and seed nothing
            return None, "the previous seed did not finish (interrupted?)"
        existing = current_seed(conn) if state == "complete" else None
        if existing is None:
            return None, NO_SEED_YET
        if (existing.scale, existing.seed, existing.profile) != (float(scale), seed, prof.name):
            return None, f"the data is scale {existing.scale:g}, seed {existing.seed}, profile {existing.profile}"
        if existing.profile_hash != prof.digest:
            return None, f"profile {prof.name} changed since the seed"
        if existing.generator_version != GENERATOR_VERSION:
            return None, "the seed was made by another version of perfkit's generators"
        if status.missing_indexes:
            return None, f"index(es) missing since the seed ({', '.join(status.missing_indexes)})"
        reshaped = schema_changes(conn)
        if reshaped is None:
            return None, NO_SHAPE
        if reshaped:
            return None, f"the schema changed since the seed ({'; '.join(reshaped)})"
        changed = seed_changes(conn, tell)
        if changed:
            return None, f"the data changed since the seed ({'; '.join(changed)})"
    return existing, ""


def ensure_seeded(
    target: Target,
    *,
    scale: float,
    seed: int = 42,
    profile: str | Path = "default",
    jobs: int = 1,
    progress: Progress | None = None,
    force: bool = False,
    why: Callable[[str], None] | None = None,
    tell: Callable[[str], None] | None = None,
) -> SeedInfo:
    """Reuse a complete, untouched seed of the same scale, seed and profile (content included); otherwise seed
    afresh, telling `why` the reason once every check has passed and the old data is about to go. `tell` hears of a
    wait for another session's row counts."""
    check_args(scale, seed, jobs)
    prof = load_profile(profile)
    check_counts(scale, prof)
    existing, reason = reuse_check(target, scale, seed, prof, tell)
    if existing is not None:
        return replace(existing, reused=True)
    say = None if why is None else lambda: why(reason)  # once the seed is sure to load, not before a refusal
    return _seed(target, scale, seed, prof, jobs, progress, force, say)


__all__ = [
    "MIN_SCALE",
    "NO_SEED_YET",
    "NO_SHAPE",
    "SeedInfo",
    "check_args",
    "check_counts",
    "connections_for",
    "copy_bytes",
    "current_seed",
    "ensure_seeded",
    "reuse_check",
    "schema_changes",
    "seed",
    "seed_changes",
    "seed_state",
    "seeding_now",
]
