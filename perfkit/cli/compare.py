"""`perfkit compare`, `perfkit baseline save|list`, `perfkit export`: regression gates for CI."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from perfkit import results as _results
from perfkit.baseline import DEFAULT_ROOT, latest_results, list_baselines, resolve_baseline, save_baseline
from perfkit.cli._common import USAGE_EXIT, console, err_console, fail
from perfkit.compare import compare_files
from perfkit.compare_render import comparison_table, to_json, to_markdown
from perfkit.errors import CompareError, ConfigError, ResultsError
from perfkit.export import FORMATS, export

baselines_option = click.option(
    "--baselines",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_ROOT,
    envvar="PERFKIT_BASELINES",
    show_default=True,
    help="Folder of saved baselines (one sub-folder per machine).",
)


@contextmanager
def _usage_errors() -> Iterator[None]:
    """Bad input exits 2 (the group would turn any PerfkitError into 1, which CI reads as a regression)."""
    try:
        yield
    except (ConfigError, ResultsError, CompareError) as exc:
        fail(str(exc), USAGE_EXIT)


@click.command("compare")
@click.argument("baseline")
@click.argument("current", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--fail",
    "specs",
    multiple=True,
    metavar="SPEC",
    help="Threshold, repeatable: time:median:+20%, buffers:+10%, statements:+0, counter:NAME:+N (a counter either "
    "file records), plan:changed (default: pyproject.toml [tool.perfkit] fail, else a built-in set).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table", show_default=True)
@click.option(
    "--summary",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also append the Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY).",
)
@click.option("--allow-env-mismatch", is_flag=True, help="Compare runs from different environments (with a warning).")
@click.option(
    "--no-drift-correction",
    is_flag=True,
    help="Judge raw timings (default: relative to the drift of each scenario on a shared machine).",
)
@baselines_option
def compare_cmd(
    baseline: str,
    current: Path,
    specs: tuple[str, ...],
    fmt: str,
    summary: Path | None,
    allow_env_mismatch: bool,
    no_drift_correction: bool,
    root: Path,
) -> None:
    """Compare CURRENT results with BASELINE (a file, a saved baseline name, or 'latest').

    Exit 0 within limits, 1 on a regression, 2 on bad input.
    """
    with _usage_errors():
        cmp = compare_files(
            resolve_baseline(baseline, root),
            current,
            specs,
            allow_env_mismatch=allow_env_mismatch,
            correct_drift=not no_drift_correction,
        )
    try:
        if fmt == "table":
            console.print(comparison_table(cmp))
        else:
            for w in cmp.warnings:
                err_console.print(f"[bold red]warning:[/] {escape(w)}", soft_wrap=True)
            click.echo(to_markdown(cmp) if fmt == "markdown" else to_json(cmp), nl=False)
            sys.stdout.flush()
        if summary is not None:
            with summary.open("a") as fh:
                fh.write(to_markdown(cmp))
    except OSError as exc:  # an output that cannot be written is bad input (2), never "a regression" (1)
        where = f": {exc.filename}" if exc.filename else ""
        fail(f"cannot write the comparison: {exc.strerror or exc}{where}", USAGE_EXIT)
    if cmp.failed:
        sys.exit(1)


@click.group("baseline")
def baseline() -> None:
    """Save and list baselines (results files kept under .perfkit/baselines/<machine>/)."""


@baseline.command("save")
@click.argument("name", required=False)
@click.option(
    "--results",
    "results_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Results file to save (default: the newest perfkit-out/*/results.json).",
)
@baselines_option
def baseline_save(name: str | None, results_path: Path | None, root: Path) -> None:
    """Save a results file as baseline NAME (default: a timestamp, so history is kept)."""
    with _usage_errors():
        path = save_baseline(results_path or latest_results(), name, root)
    console.print(f"saved baseline {path}")


@baseline.command("list")
@baselines_option
def baseline_list(root: Path) -> None:
    """List saved baselines, oldest first per machine."""
    infos = list_baselines(root)
    if not infos:
        console.print(f"no baselines under {root}")
        return
    table = Table(title=f"baselines in {root}")
    for col in ("machine", "name", "saved", "run started", "commit", "benchmarks"):
        table.add_column(col)
    for i in infos:
        count = Text(str(i.benchmarks)) if i.error is None else Text(f"unreadable: {i.error}", style="red")
        cells = (i.machine, i.name, i.saved_at, i.started_at or "-", (i.git_commit or "-")[:12])
        table.add_row(*(Text(c) for c in cells), count)
    console.print(table)


@click.command("export")
@click.argument("results_path", metavar="RESULTS", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="pytest-benchmark", show_default=True)
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
def export_cmd(results_path: Path, fmt: str, out: Path) -> None:
    """Write RESULTS in another tool's format (pytest-benchmark JSON, read by `pytest-benchmark compare`)."""
    with _usage_errors():
        path = export(_results.load(results_path), out, fmt=fmt)
    console.print(f"wrote {path}")
