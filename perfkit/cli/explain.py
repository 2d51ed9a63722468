"""`perfkit explain "SQL"` / `perfkit explain --plan FILE`: the plan tree with exclusive times, buffers and findings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from perfkit.cli._common import console, data_dir_option, dsn_option
from perfkit.db import connect, resolve_target
from perfkit.errors import ConfigError, PlanError
from perfkit.explain import explain_analyze
from perfkit.plan import Plan, parse_plan, summarize
from perfkit.plan_render import plan_to_dict, render_plan


def _read_plan(path: str) -> Plan:
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise PlanError(f"cannot read plan file {path}: {exc.strerror or exc}") from None
    return parse_plan(data)


@click.command("explain")
@click.argument("sql", required=False)
@click.option("--plan", "plan_file", metavar="FILE", help="Analyse a saved EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON).")
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable form.")
@click.option("--allow-writes", is_flag=True, help="Allow INSERT/UPDATE/DELETE/MERGE (always rolled back).")
@click.option(
    "--statement-timeout",
    "timeout_ms",
    type=click.IntRange(min=0),
    metavar="MS",
    default=300_000,
    show_default=True,
    help="Cancel the statement after MS milliseconds (0: no limit).",
)
@dsn_option
@data_dir_option
def explain(
    sql: str | None,
    plan_file: str | None,
    as_json: bool,
    allow_writes: bool,
    timeout_ms: int | None,
    dsn: str | None,
    data_dir: Path | None,
) -> None:
    """EXPLAIN ANALYZE a statement (in a transaction that is rolled back) or analyse a saved plan."""
    if (sql is None) == (plan_file is None):
        raise ConfigError("give either a SQL statement or --plan FILE")
    if plan_file is not None:
        plan = _read_plan(plan_file)
    else:
        assert sql is not None
        with connect(resolve_target(dsn, data_dir)) as conn:
            plan = explain_analyze(conn, sql, allow_writes=allow_writes, statement_timeout_ms=timeout_ms)
    summary = summarize(plan)
    if as_json:
        click.echo(json.dumps(plan_to_dict(plan, summary), indent=2))
    else:
        console.print(render_plan(plan, summary))
