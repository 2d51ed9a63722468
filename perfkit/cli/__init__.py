"""The command line: parse arguments, call one library function, render its result. No logic lives here."""

from __future__ import annotations

import click

from perfkit.cli._common import PerfkitGroup
from perfkit.cli.report import notebook, report
from perfkit.cli.server import server


@click.group(cls=PerfkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="perfkit")
def cli() -> None:
    """perfkit: how PostgreSQL query patterns really perform, on realistic data."""


cli.add_command(server)
cli.add_command(report)
cli.add_command(notebook)


def main() -> None:
    """Entry point of the `perfkit` console script."""
    cli(prog_name="perfkit")
