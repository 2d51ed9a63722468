"""`perfkit run`: the main job, with progress and a summary table."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from perfkit.cli._common import console, data_dir_option, dsn_option, positive_scale, seed_number
from perfkit.runner import SCENARIOS, RunConfig, run
from perfkit.scenarios.indexes import IndexConfig
from perfkit.summary import summary_tables


@click.command("run")
@click.option(
    "--scale",
    type=positive_scale,
    default=1.0,
    show_default=True,
    help="Data size: 1 = 10,000 users and 100,000 posts.",
)
@click.option(
    "--seed",
    type=seed_number,
    default=42,
    show_default=True,
    help="Random seed of the generated data.",
)
@click.option("--profile", default="default", show_default=True, help="Seed profile: a name in seeds/ or a file.")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    type=click.Choice(SCENARIOS),
    help="Comparison to run (repeatable; default: all).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: perfkit-out/run-<timestamp>).",
)
@click.option("--no-report", is_flag=True, help="Write results.json only.")
@click.option("--full", is_flag=True, help="Run the whole index catalogue (default: a representative subset).")
@click.option(
    "--force", is_flag=True, help="Use a database that holds tables perfkit did not create (they may be lost)."
)
@dsn_option
@data_dir_option
def run_cmd(
    scale: float,
    seed: int,
    profile: str,
    scenarios: tuple[str, ...],
    out: Path | None,
    no_report: bool,
    full: bool,
    force: bool,
    dsn: str | None,
    data_dir: Path | None,
) -> None:
    """Seed (or reuse) data and run the comparisons; write results.json and report.html."""
    config = RunConfig(
        scale=scale,
        seed=seed,
        profile=profile,
        scenarios=scenarios or SCENARIOS,
        out=out,
        dsn=dsn,
        data_dir=data_dir,
        report=not no_report,
        force=force,
        indexes=IndexConfig(full=full),
    )
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def seed_progress(table: str, done: int, total: int) -> None:
        if not tasks:  # started with the first bar: a run that fails first prints no empty progress line
            progress.start()
        if table not in tasks:
            tasks[table] = progress.add_task(f"seed {table}", total=total)
        progress.update(tasks[table], completed=done, total=total)

    def say(message: str) -> None:
        if tasks and progress.live.is_started:  # the seed is over: its bars end here, not after every scenario
            progress.stop()
        console.print(f"• {message}")

    try:
        outcome = run(config, say=say, seed_progress=seed_progress)
    finally:
        if tasks and progress.live.is_started:
            progress.stop()
    for summary in summary_tables(outcome.results):
        table = Table(title=summary.title, title_justify="left")
        for i, col in enumerate(summary.columns):
            if i >= 3:
                table.add_column(col, justify="right", no_wrap=True)
            else:  # names wrap rather than being cut to "pos…"
                table.add_column(col, overflow="fold")
        for row in summary.rows:
            table.add_row(*row)
        console.print(table)
    console.print(f"results: {outcome.results_path}", soft_wrap=True)  # a path is never cut across lines
    if outcome.report_path is not None:
        console.print(f"report:  {outcome.report_path}", soft_wrap=True)
