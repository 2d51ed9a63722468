"""`perfkit db migrate|reset|status` and `perfkit seed`: the schema and its seeded data."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from perfkit import schema
from perfkit._gen import top1_ceiling, top1_floor
from perfkit._profile import Profile, load_profile
from perfkit.cli._common import console, data_dir_option, dsn_option, positive_scale, seed_number
from perfkit.db import connect, resolve_target
from perfkit.realism import RealismReport, realism_report, seed_realism
from perfkit.seed import NO_SEED_YET, SeedInfo, check_counts, ensure_seeded
from perfkit.seed import seed as run_seed

force_option = click.option(
    "--force", is_flag=True, help="Work in a database that holds tables perfkit did not create."
)


@click.group()
def db() -> None:
    """Create, reset or inspect perfkit's schema."""


@db.command("migrate")
@dsn_option
@data_dir_option
@force_option
def db_migrate(dsn: str | None, data_dir: Path | None, force: bool) -> None:
    """Apply pending schema migrations and build perfkit's indexes that were dropped."""
    with connect(resolve_target(dsn, data_dir)) as conn:
        applied = schema.migrate(conn, force=force)
        restored = schema.restore_indexes(conn)
    if restored:
        console.print(f"rebuilt missing index(es): {', '.join(restored)}")
    if applied or not restored:
        console.print(f"applied: {', '.join(applied)}" if applied else "schema up to date")


@db.command("reset")
@dsn_option
@data_dir_option
@force_option
def db_reset(dsn: str | None, data_dir: Path | None, force: bool) -> None:
    """Drop perfkit's tables (and data) and recreate them empty."""
    with connect(resolve_target(dsn, data_dir)) as conn:
        applied = schema.reset(conn, force=force)
    console.print(f"schema recreated ({len(applied)} migrations)")


@db.command("status")
@dsn_option
@data_dir_option
def db_status(dsn: str | None, data_dir: Path | None) -> None:
    """Show applied and pending migrations and the seed state."""
    from perfkit.seed import NO_SHAPE, current_seed, schema_changes, seed_changes, seed_state, seeding_now

    with connect(resolve_target(dsn, data_dir)) as conn:
        st = schema.status(conn)
        state = seed_state(conn) if st.initialised else None
        running = seeding_now(conn) if state == "loading" else None
        info = current_seed(conn) if state == "complete" else None
        changed = seed_changes(conn, console.print) if info is not None and not st.pending else []
        reshaped = schema_changes(conn) if info is not None and not st.pending else []
    console.print(f"initialised: {'yes' if st.initialised else 'no'}")
    console.print(f"applied: {', '.join(st.applied) or '-'}")
    console.print(f"pending: {', '.join(st.pending) or '-'}")
    if st.missing_indexes:
        console.print(f"missing indexes: {', '.join(st.missing_indexes)}")
    if st.invalid_indexes:
        console.print(
            f"INVALID indexes (an interrupted CREATE INDEX CONCURRENTLY; the next index run drops perfkit's own): "
            f"{', '.join(st.invalid_indexes)}",
            soft_wrap=True,
        )
    if st.foreign_tables:
        console.print(f"other tables: {', '.join(st.foreign_tables[:10])}")
    if info is not None:
        console.print(
            f"seed: scale {info.scale:g}, seed {info.seed}, profile {info.profile}, "
            f"{info.total_rows:,} rows, fingerprint {info.fingerprint}"
        )
        if changed:
            console.print(
                f"written to since the seed (the next run or seed seeds again): {'; '.join(changed)}",
                soft_wrap=True,
            )
        if reshaped is None or reshaped:
            what = NO_SHAPE if reshaped is None else "; ".join(reshaped)
            console.print(f"schema changed since the seed (the next run or seed seeds again): {what}")
    elif running:
        console.print(f"seed: in progress ({running}); another seed or run is refused until it ends")
    elif state == "loading":
        console.print("seed: incomplete (interrupted); the next seed or run redoes it")
    else:
        console.print("seed: none")


@contextmanager
def _bars() -> Iterator[Any]:
    """A progress callback drawing one bar per table; the display starts with the first update."""
    bars = Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    tasks: dict[str, TaskID] = {}

    def update(table: str, done: int, total: int) -> None:
        if not tasks:
            bars.start()
        if table not in tasks:
            tasks[table] = bars.add_task(table, total=total)
        bars.update(tasks[table], completed=done, total=total)

    try:
        yield update
    finally:
        if tasks:
            bars.stop()


@click.command("seed")
@click.option("--scale", type=positive_scale, default=1.0, show_default=True, help="1 = 10,000 users, 100,000 posts.")
@click.option("--seed", "seed_value", type=seed_number, default=42, show_default=True, help="Random seed.")
@click.option("--profile", default="default", show_default=True, help="Profile name (seeds/<name>.toml) or path.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Parallel connections.")
@click.option(
    "--reuse/--fresh",
    default=True,
    show_default=True,
    help="Keep a complete, untouched seed of the same scale, seed and profile (--fresh: load again regardless).",
)
@click.option("--report", is_flag=True, help="Print the realism report after seeding.")
@dsn_option
@data_dir_option
@force_option
def seed(
    scale: float,
    seed_value: int,
    profile: str,
    jobs: int,
    reuse: bool,
    report: bool,
    dsn: str | None,
    data_dir: Path | None,
    force: bool,
) -> None:
    """Load every table with generated data (binary COPY), build indexes, ANALYZE, fingerprint."""
    check_counts(scale, load_profile(profile))  # a bad profile or scale before the server is started
    target = resolve_target(dsn, data_dir)
    args: dict[str, Any] = {"scale": scale, "seed": seed_value, "profile": profile, "jobs": jobs, "force": force}
    with _bars() as progress:
        if reuse:
            info = ensure_seeded(target, **args, progress=progress, why=_say_why, tell=console.print)
        else:
            info = run_seed(target, **args, progress=progress)
    _print_info(info)
    if report:
        with connect(target) as conn:
            rep = realism_report(conn)
            seed_realism(conn, rep)  # kept with the seed: the next run's results carry it without measuring again
            _print_report(rep, load_profile(profile), info.seed)


def _say_why(reason: str) -> None:
    """Why the seed is loaded rather than kept (nothing to say for a database never seeded)."""
    if reason != NO_SEED_YET:
        console.print(f"{reason}: seeding again")


def _print_info(info: SeedInfo) -> None:
    what = f"scale {info.scale:g}, seed {info.seed}, profile {info.profile}: {info.total_rows:,} rows"
    took = f"{info.seconds:.1f} s ({info.rows_per_second:,.0f} rows/s)"
    if info.reused:
        console.print(f"reused: {what}, untouched since it was seeded in {took}; fingerprint {info.fingerprint}")
    else:
        console.print(f"seeded: {what} in {took}; fingerprint {info.fingerprint}")
    if info.phases:
        console.print("phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in info.phases.items()))
    for note in info.notes:
        console.print(f"note: {note}")


def _asked(got: Mapping[str, float | None], asked: Mapping[str, float]) -> str:
    """Each share beside the profile's; n/a for a table without rows; 0.0% for what the profile asks for and the
    data lacks (a category left out would never show as a mismatch)."""
    empty = all(v is None for v in got.values())  # no rows at all: nothing is 0%
    shares = {**got, **{k: None if empty else 0.0 for k in asked if k not in got}}

    def one(k: str, v: float | None) -> str:
        share = "n/a (no rows)" if v is None else f"{v:.1%}"
        return f"{k} {share} (profile {asked[k]:.0%})" if k in asked else f"{k} {share}"

    return ", ".join(one(k, v) for k, v in shares.items())


def _print_report(rep: RealismReport, prof: Profile, seed: int) -> None:
    """The realism report, each figure beside what the profile asked for."""
    table = Table(title="rows and sizes")
    for col in ("table", "rows", "table MB", "index MB"):
        table.add_column(col, justify="left" if col == "table" else "right")
    for name, rows in rep.rows.items():
        size = rep.sizes[name]
        table.add_row(name, f"{rows:,}", f"{size.table_bytes / 2**20:.1f}", f"{size.index_bytes / 2**20:.1f}")
    console.print(table)
    ppa = rep.posts_per_author
    k = prof.skew["posts_per_author"]
    asked, floor, ceiling = 0.01 ** (1 / k), top1_floor(ppa.users), top1_ceiling(ppa.users, seed)
    expected = f"{asked:.0%}"
    if asked < floor:
        expected += f"; sign-up order alone gives at least {floor:.1%}"
    elif asked > ceiling:
        expected += f"; with {ppa.users:,} users sign-up order allows at most {ceiling:.1%}"
    console.print(
        f"posts per author: top 1% of {ppa.users:,} users write {ppa.top1_share:.1%} (profile k = {k:g}: {expected});"
        f" max {ppa.max_posts:,}, median {ppa.median_posts:g} (over all users); {ppa.authors:,} users have posts"
    )
    console.print(f"tags: top 1% of tags carry {rep.tag_top1_share:.1%} of post_tags")
    asked_tags = {str(i): share for i, share in enumerate(prof.tags_per_post)}
    console.print("tags per post: " + _asked({str(i): v for i, v in enumerate(rep.tags_per_post)}, asked_tags))
    console.print("status mix: " + _asked(rep.status_mix, prof.status_mix))
    console.print("role mix: " + _asked(rep.role_mix, prof.role_mix))
    console.print("notification types: " + _asked(rep.type_mix, prof.type_mix))
    asked_nulls = {f"{t}.{c}": rate for t, cols in prof.null_rates.items() for c, rate in cols.items()}
    console.print("NULL rates: " + _asked(rep.null_rates, asked_nulls))
    distinct = ", ".join(f"{k} {v:,.0f}" for k, v in rep.n_distinct.items())
    console.print(f"distinct values (planner estimates, pg_stats.n_distinct): {distinct}")
    wrong = {k: n for k, n in rep.time_order.items() if n}
    console.print(
        "time order: "
        + (
            ", ".join(f"{n:,} {k}" for k, n in wrong.items())
            if wrong
            else "every row is dated after what it refers to, none is on a draft"
        )
    )
