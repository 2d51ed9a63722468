"""The `perfkit` console script: Ctrl-C while the command line is still being imported ends quietly too."""

from __future__ import annotations

import sys


def main() -> None:
    """Import the command line (about half a second), then run it."""
    if sys.stdout is None:  # started with standard output closed (`perfkit ... >&-`): nowhere to write results
        if sys.stderr is not None:
            sys.stderr.write("error: standard output is closed: perfkit has nowhere to write (redirect it to a file)\n")
        sys.exit(2)
    try:
        from perfkit.cli import main as run_cli
    except KeyboardInterrupt:  # before perfkit's own handling is in place: no traceback from deep in an import
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    run_cli()
