"""`perfkit explain "SQL"` / `perfkit explain --plan FILE`: the plan tree with exclusive times, buffers and findings."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from perfkit.cli._common import console, data_dir_option, dsn_option, err_console
from perfkit.db import connect, resolve_target
from perfkit.errors import SettingError
from perfkit.explain import MAX_STATEMENT_TIMEOUT_MS, explain_analyze, parse_settings
from perfkit.plan import Plan, parse_plan, summarize
from perfkit.plan_render import plan_to_dict, render_plan
from perfkit.seed import seed_state


def _starts_with_a_comment(arg: str) -> bool:
    """SQL that starts with a `--` comment, not an option: an option's name (before any `=`) never holds a space or
    a line break, and such SQL always does (the comment runs to the end of its line)."""
    name = arg.partition("=")[0]
    return arg.startswith("--") and any(ch.isspace() for ch in name)


class _ExplainCommand(click.Command):
    """Takes `perfkit explain "-- note<newline>SELECT 1"` as the SQL it is, as `perfkit explain -- "SQL"` does:
    click would otherwise read the argument as an unknown option."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {
            name
            for p in self.params
            if isinstance(p, click.Option) and not p.is_flag
            for name in (*p.opts, *p.secondary_opts)
        }
        return super().parse_args(ctx, _sql_after_separator(args, takes_value))


def _sql_after_separator(args: Sequence[str], takes_value: set[str]) -> list[str]:
    """`args` with each SQL argument that starts with a `--` comment moved after a `--` separator."""
    out: list[str] = []
    sql: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        if arg in takes_value:  # its value follows, whatever it looks like
            out.extend(args[i : i + 2])
            i += 2
            continue
        (sql if _starts_with_a_comment(arg) else out).append(arg)
        i += 1
    if not sql:
        return out
    if "--" not in out:
        return [*out, "--", *sql]
    at = out.index("--") + 1
    return [*out[:at], *sql, *out[at:]]


def _read_plan(path: str) -> Plan:
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        message = f"cannot read plan file {path}: {exc.strerror or exc}"
        raise click.BadParameter(message, param_hint="'--plan'") from None
    return parse_plan(data)


def _settings(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, str]:
    try:
        return parse_settings(value)
    except SettingError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _check_usage(ctx: click.Context, sql: str | None, plan_file: str | None) -> None:
    """Usage errors (exit 2): exactly one of SQL and --plan; options that only apply to a statement."""
    if sql is None and plan_file is None:
        raise click.UsageError("give a SQL statement or --plan FILE")
    if sql is not None and plan_file is not None:
        raise click.UsageError("give either a SQL statement or --plan FILE, not both")
    if sql is not None and not sql.strip():
        raise click.UsageError("the SQL statement is empty")
    if plan_file is None:
        return
    given = [
        name
        for name, param in (
            ("--allow-writes", "allow_writes"),
            ("--statement-timeout", "timeout_ms"),
            ("--set", "settings"),
        )
        if ctx.get_parameter_source(param) == click.core.ParameterSource.COMMANDLINE
    ]
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise click.UsageError(f"{' and '.join(given)} {verb} to a SQL statement, not to a saved plan (--plan)")


@click.command("explain", cls=_ExplainCommand)
@click.argument("sql", required=False)
@click.option(
    "--plan",
    "plan_file",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="Analyse a saved EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ('-': standard input).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable form.")
@click.option(
    "--allow-writes", is_flag=True, help="Allow INSERT/UPDATE/DELETE/MERGE/CREATE TABLE AS (always rolled back)."
)
@click.option(
    "--statement-timeout",
    "timeout_ms",
    type=click.IntRange(min=0, max=MAX_STATEMENT_TIMEOUT_MS),
    metavar="MS",
    default=300_000,
    show_default=True,
    help=f"Cancel the statement after MS milliseconds (at most {MAX_STATEMENT_TIMEOUT_MS}; 0: no limit).",
)
@click.option(
    "--set",
    "settings",
    metavar="NAME=VALUE",
    multiple=True,
    callback=_settings,
    help="Set a planner or runtime setting for this statement only (SET LOCAL; repeatable), "
    "e.g. --set enable_seqscan=off --set work_mem=64MB.",
)
@dsn_option
@data_dir_option
@click.pass_context
def explain(
    ctx: click.Context,
    sql: str | None,
    plan_file: str | None,
    as_json: bool,
    allow_writes: bool,
    timeout_ms: int | None,
    settings: dict[str, str],
    dsn: str | None,
    data_dir: Path | None,
) -> None:
    """EXPLAIN ANALYZE a statement (in a transaction that is rolled back) or analyse a saved plan.

    SQL that starts with a -- comment is taken as the statement. A lone -- ends the options, so nothing after it
    is read as one: perfkit explain --json -- "SQL".

    Exit 0 on success, 1 when the statement or plan fails (SQL error, timeout, refused write, unusable plan),
    2 on a usage error.
    """
    _check_usage(ctx, sql, plan_file)
    if plan_file is not None:
        plan = _read_plan(plan_file)
    else:
        assert sql is not None
        with connect(resolve_target(dsn, data_dir)) as conn:
            try:
                plan = explain_analyze(
                    conn, sql, allow_writes=allow_writes, statement_timeout_ms=timeout_ms, settings=settings
                )
            except SettingError as exc:  # PostgreSQL refused a --set: a bad option value (exit 2)
                raise click.BadParameter(str(exc), ctx, param_hint="'--set'") from None
            if (
                allow_writes
                and any(n.node_type == "ModifyTable" for n in plan.nodes())
                and seed_state(conn) == "complete"
            ):
                err_console.print(
                    "note: the write was rolled back, but it left traces in the seeded tables (dead row versions,"
                    " write counters): the next perfkit run or seed loads the data again",
                    soft_wrap=True,
                )
    summary = summarize(plan)
    if as_json:
        click.echo(json.dumps(plan_to_dict(plan, summary, settings), indent=2, allow_nan=False))  # strict JSON
    else:
        console.print(render_plan(plan, summary, settings))
