"""`perfkit report` and `perfkit notebook`: the standalone HTML report and the notebooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from perfkit.cli._common import console


@click.command("report")
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write.",
)
def report(results: tuple[Path, ...], output: Path) -> None:
    """Write a self-contained HTML report of RESULTS (two or more: the first is the baseline, shown side by side)."""
    from perfkit.report.paths import render_files  # matplotlib: import only when rendering

    path = render_files(results, output)
    console.print(f"report written to {path}")


@click.command("notebook")
@click.option("--results", type=click.Path(dir_okay=False, path_type=Path), help="Results file (default: newest).")
def notebook(results: Path | None) -> None:
    """Open Jupyter on the notebooks with the latest results (or say how to)."""
    from perfkit.report.paths import notebook_launch

    launch = notebook_launch(results)
    if not launch.available:
        console.print(launch.instructions, soft_wrap=True)
        return
    console.print(f"starting: {launch.command_line}", soft_wrap=True)
    sys.exit(subprocess.call(launch.argv, cwd=launch.cwd, env={**os.environ, **launch.env}))
