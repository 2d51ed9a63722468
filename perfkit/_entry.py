"""The `perfkit` console script: Ctrl-C while the command line is still being imported ends quietly too."""

from __future__ import annotations

import sys


def main() -> None:
    """Import the command line (about half a second), then run it."""
    try:
        from perfkit.cli import main as run_cli
    except KeyboardInterrupt:  # before perfkit's own handling is in place: no traceback from deep in an import
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    run_cli()
