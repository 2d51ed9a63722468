"""The command line: parse arguments, call one library function, render its result. No logic lives here."""

from __future__ import annotations

import os
import sys

import click
import psycopg
from psycopg import conninfo as pg_conninfo
from rich.markup import escape

from perfkit.cli._common import PerfkitGroup, err_console
from perfkit.cli.advise import advise_cmd
from perfkit.cli.compare import baseline, compare_cmd, export_cmd
from perfkit.cli.db import db, seed
from perfkit.cli.explain import explain
from perfkit.cli.report import notebook, report
from perfkit.cli.run import run_cmd
from perfkit.cli.server import server


@click.group(cls=PerfkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="perfkit")
def cli() -> None:
    """perfkit: how PostgreSQL query patterns really perform, on realistic data."""


cli.add_command(server)
cli.add_command(run_cmd)
cli.add_command(compare_cmd)
cli.add_command(baseline)
cli.add_command(export_cmd)
cli.add_command(explain)
cli.add_command(db)
cli.add_command(seed)
cli.add_command(report)
cli.add_command(notebook)
cli.add_command(advise_cmd)


def _passwords(args: list[str]) -> set[str]:
    """Passwords in the command line's arguments and PERFKIT_DSN: a usage error may quote any argument."""
    found = set()
    for text in [*args, os.environ.get("PERFKIT_DSN", "")]:
        if "password" not in text and "@" not in text:
            continue
        try:
            password = pg_conninfo.conninfo_to_dict(text).get("password")
        except psycopg.Error:
            continue
        if password:
            found.add(str(password))
    return found


def _safe(message: str, args: list[str]) -> str:
    for password in _passwords(args):
        message = message.replace(password, "***")
    return message


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `perfkit` console script: usage errors are one line, exit code 2; no password printed."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rc = cli.main(args=args, prog_name="perfkit", standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        err_console.print(f"[bold red]error:[/] {escape(_safe(exc.format_message() + hint, args))}", soft_wrap=True)
        sys.exit(2)
    except click.ClickException as exc:
        err_console.print(f"[bold red]error:[/] {escape(_safe(exc.format_message(), args))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("interrupted")
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)
