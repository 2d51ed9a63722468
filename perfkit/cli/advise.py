"""`perfkit advise "SQL"`: candidate indexes for a query, what-if estimates with HypoPG, the best one measured."""

from __future__ import annotations

import json
from pathlib import Path

import click

from perfkit.advise import DEFAULT_TIMEOUT_MS, advise
from perfkit.advise_render import render_advice
from perfkit.cli._common import console, data_dir_option, dsn_option
from perfkit.db import connect, resolve_target


@click.command("advise")
@click.argument("sql")
@click.option("--no-hypopg", is_flag=True, help="Do not use HypoPG: build and measure real candidates only.")
@click.option("--no-build", is_flag=True, help="Only estimate; do not build the best candidate to measure it.")
@click.option(
    "--statement-timeout",
    "timeout_ms",
    type=click.IntRange(min=0),
    default=DEFAULT_TIMEOUT_MS,
    show_default=True,
    metavar="MS",
    help="statement_timeout for every statement advise runs (0: none).",
)
@click.option(
    "--budget", type=click.FloatRange(min=0), default=1.0, show_default=True, metavar="S",
    help="Seconds of timed runs per measurement (at least one run).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable form.")
@dsn_option
@data_dir_option
def advise_cmd(
    sql: str,
    no_hypopg: bool,
    no_build: bool,
    timeout_ms: int,
    budget: float,
    as_json: bool,
    dsn: str | None,
    data_dir: Path | None,
) -> None:
    """Propose B-tree indexes for a SELECT, estimate each, build the best (rolled back) and measure it."""
    if not sql.strip():  # a usage error (2), as in explain, before any server is started
        raise click.UsageError("the SQL statement is empty")
    with connect(resolve_target(dsn, data_dir)) as conn:
        result = advise(
            conn, sql, use_hypopg=False if no_hypopg else None, build_best=not no_build, budget_s=budget,
            statement_timeout_ms=timeout_ms,
        )  # fmt: skip
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        console.print(render_advice(result))
