"""The command line: parse arguments, call one library function, render its result. No logic lives here."""

from __future__ import annotations

import logging
import os
import sys

import click
import psycopg
from psycopg import conninfo as pg_conninfo
from rich.markup import escape

from perfkit.cli._common import STOPPED_AFTER_USAGE_ERROR, PerfkitGroup, err_console, say_stopped
from perfkit.cli.advise import advise_cmd
from perfkit.cli.compare import baseline, compare_cmd, export_cmd
from perfkit.cli.db import db, seed
from perfkit.cli.explain import explain
from perfkit.cli.report import notebook, report
from perfkit.cli.run import run_cmd
from perfkit.cli.server import server
from perfkit.db import redact


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


def _secret_dsns(args: list[str]) -> dict[str, str]:
    """Each argument (or `--dsn=` value) and PERFKIT_DSN that is a conninfo with a password -> its redacted form."""
    found: dict[str, str] = {}
    for arg in [*args, os.environ.get("PERFKIT_DSN", "")]:
        text = arg.split("=", 1)[1] if arg.startswith("--") and "=" in arg else arg
        if "password" not in text and "@" not in text:
            continue
        try:
            has_password = bool(pg_conninfo.conninfo_to_dict(text).get("password"))
        except psycopg.Error:
            continue
        if has_password:
            found[text] = redact(text)
    return found


def _safe(message: str, args: list[str]) -> str:
    """The message with every DSN argument that holds a password shown redacted (click quotes arguments whole)."""
    for text, redacted in _secret_dsns(args).items():
        message = message.replace(text, redacted)
    return message


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `perfkit` console script: usage errors are one line, exit code 2; no password printed."""
    args = list(sys.argv[1:] if argv is None else argv)
    # psycopg logs "error ignored in rollback" when Ctrl-C lands mid-statement: with no handler Python prints it
    # before perfkit's own one-line "interrupted"; perfkit reports the errors that matter itself
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
    try:
        _main(args)
    finally:  # after the error line (and never lost to sys.exit)
        say_stopped(STOPPED_AFTER_USAGE_ERROR)


def _main(args: list[str]) -> None:
    try:
        rc = cli.main(args=args, prog_name="perfkit", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # `perfkit`, `perfkit db`: the help, not an error about it
        click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        sys.exit(0)
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
