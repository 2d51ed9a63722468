"""The command line: parse arguments, call one library function, render its result. No logic lives here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from perfkit.errors import PerfkitError
from perfkit.server import EmbeddedServer

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


def _fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    sys.exit(code)


class PerfkitGroup(click.Group):
    """A click group that turns PerfkitError and Ctrl-C into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PerfkitError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PERFKIT_DATA_DIR",
    help="Folder of the embedded cluster (default: a per-user cache folder).",
)


@click.group(cls=PerfkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="perfkit")
def cli() -> None:
    """perfkit: how PostgreSQL query patterns really perform, on realistic data."""


@cli.group()
def server() -> None:
    """Manage the embedded PostgreSQL server."""


@server.command("start")
@data_dir_option
def server_start(data_dir: Path | None) -> None:
    """Start the embedded server (initialising it on first use)."""
    srv = EmbeddedServer(data_dir)
    info = srv.start()
    console.print(f"embedded PostgreSQL {srv.binaries.version} running on 127.0.0.1:{info.port} "
                  f"(data: {srv.base_dir})")


@server.command("stop")
@data_dir_option
def server_stop(data_dir: Path | None) -> None:
    """Stop the embedded server."""
    srv = EmbeddedServer(data_dir)
    console.print("stopped" if srv.stop() else "not running")


@server.command("status")
@data_dir_option
def server_status(data_dir: Path | None) -> None:
    """Say whether the embedded server runs, where, and as whom."""
    st = EmbeddedServer(data_dir).status()
    if st.running:
        console.print(f"running: PostgreSQL {st.version}, pid {st.pid}, 127.0.0.1:{st.port}, "
                      f"as {st.run_as}, data {st.base_dir}")
    else:
        console.print(f"not running (data {st.base_dir})")


def main() -> None:
    """Entry point of the `perfkit` console script."""
    cli(prog_name="perfkit")
