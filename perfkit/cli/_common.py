"""Shared pieces of the command line: consoles, common options, one-line error exit."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click
import psycopg
from rich.console import Console
from rich.markup import escape

from perfkit._pgerror import with_hint
from perfkit.errors import ConfigError, PerfkitError, ResultsError
from perfkit.seed import MAX_SEED, MIN_SCALE
from perfkit.server import EmbeddedServer, command_scope

# Piped into a file or a CI log there is no terminal width to respect: do not cut tables to 80 columns.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
console = Console(highlight=False, width=_WIDTH)
err_console = Console(stderr=True, highlight=False)


#: Exit status of a usage error: bad arguments or input (click's own usage errors exit 2 too).
USAGE_EXIT = 2
#: File errors that come from the path given (no such folder, not a folder, no permission): usage errors. A full
#: disk or an I/O error is not.
_BAD_PATH = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS, errno.EEXIST, errno.ELOOP}
    | {errno.ENAMETOOLONG}
)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error and exit (the message is plain text: brackets in it are not markup)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    sys.exit(code)


#: Servers stopped by a command that ended in a usage error: `main` says so after the error line.
STOPPED_AFTER_USAGE_ERROR: list[EmbeddedServer] = []


def say_stopped(servers: list[EmbeddedServer]) -> None:
    """Tell (on stderr) that a command stopped the embedded servers it had started."""
    for server in servers:
        err_console.print(
            f"[dim]stopped the embedded server (its data stays in {escape(str(server.base_dir))})[/]", soft_wrap=True
        )
    servers.clear()


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, timeout, a cancelled CI job) or SIGHUP (the terminal closed), raised where Ctrl-C would be, so
    that the same clean-up runs."""


_ENDING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM and SIGHUP raise Terminated in the main thread (by default they end the process
    at once, leaving the embedded server running, and a seed's workers and locks behind)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, _frame: Any) -> None:
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, raise_terminated) for sig in _ENDING}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class PerfkitGroup(click.Group):
    """A click group that turns PerfkitError, Ctrl-C and SIGTERM into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        stopped: list[EmbeddedServer] = []
        STOPPED_AFTER_USAGE_ERROR.clear()  # what an earlier in-process call (click's test runner) left unsaid
        try:
            # an embedded server this command starts is stopped when it ends
            with _terminate_as_interrupt(), command_scope(stopped.append):
                return super().invoke(ctx)
        except click.ClickException:  # a usage error, shown by `main` on one line: the note follows it there
            STOPPED_AFTER_USAGE_ERROR.extend(stopped)
            stopped.clear()
            raise
        except (ConfigError, ResultsError) as exc:  # bad arguments, profile, settings or input file: a usage error
            fail(str(exc), USAGE_EXIT)
        except PerfkitError as exc:
            fail(str(exc))
        except psycopg.Error as exc:  # the server failed under us (disk full, crash, shutdown): one line, no traceback
            fail(f"the database server reported an error: {with_hint(exc)} ({type(exc).__name__})")
        except OSError as exc:  # a file perfkit was told to read or write: unwritable folder, disk full, no such path
            where = f": {exc.filename}" if exc.filename else ""
            fail(f"{exc.strerror or exc}{where}", USAGE_EXIT if exc.errno in _BAD_PATH else 1)
        except Terminated as exc:
            signum = int(exc.args[0]) if exc.args else signal.SIGTERM
            err_console.print("hung up" if signum == getattr(signal, "SIGHUP", None) else "terminated")
            sys.exit(128 + signum)  # as the shell reports a process the signal ended: 143 for SIGTERM, 129 for SIGHUP
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)
        finally:  # after the command's output or its error, so that an error stays the first line on stderr
            say_stopped(stopped)


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PERFKIT_DATA_DIR",
    help="Folder of the embedded cluster (default: a per-user cache folder).",
)

dsn_option = click.option(
    "--dsn",
    envvar="PERFKIT_DSN",
    default=None,
    help="Use this existing server/database (libpq DSN or URI) instead of the embedded one.",
)


class PositiveFloat(click.ParamType):  # type: ignore[type-arg]
    """A number > 0 (scales)."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            if isinstance(value, str) and "_" in value:  # Python reads 1_0 as 10: a typo, not a scale
                raise ValueError(value)
            f = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not f > 0 or f != f or f == float("inf"):
            self.fail(f"{value!r} must be a positive number", param, ctx)
        if f < MIN_SCALE:
            self.fail(f"{value!r} is too small: the smallest scale is {MIN_SCALE} (10 users, 100 posts)", param, ctx)
        return f


positive_scale = PositiveFloat()
#: A seed as stored (bigint): 0 .. 2**63 - 1.
seed_number = click.IntRange(min=0, max=MAX_SEED)
