"""Finding results files and notebooks, and how to open the notebooks in Jupyter."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perfkit.errors import ConfigError, ResultsError
from perfkit.report.html import render_html
from perfkit.results import load

RESULTS_ENV = "PERFKIT_RESULTS"
BASELINE_ENV = "PERFKIT_BASELINE"
OUT_DIR = "perfkit-out"


def find_results(start: str | os.PathLike[str] | None = None) -> list[Path]:
    """Results files under perfkit-out/ in `start` (default: cwd) or its parents, newest first."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        out = folder / OUT_DIR
        if out.is_dir():
            found = [*out.glob("*/results.json"), *out.glob("results.json")]
            if found:
                return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
    return []


def default_results_path(env_var: str = RESULTS_ENV, *, nth: int = 0) -> Path:
    """The results file a notebook reads: $env_var if set, else the nth newest perfkit-out/*/results.json."""
    value = os.environ.get(env_var)
    if value:
        return Path(value)
    found = find_results()
    if len(found) <= nth:
        raise ResultsError(
            f"no results file: set {env_var}=PATH or run `perfkit run` (it writes {OUT_DIR}/<run>/results.json)"
        )
    return found[nth]


def label_for(path: str | os.PathLike[str]) -> str:
    """A short name for a results file: its folder for '<run>/results.json', else its file name."""
    p = Path(path)
    return p.parent.name if p.name == "results.json" and p.parent.name else p.name


def render_files(
    paths: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str], labels: Sequence[str] | None = None
) -> Path:
    """Load results files (one-line ResultsError when missing or corrupt) and write one HTML report."""
    runs = [load(p) for p in paths]
    if labels is None:
        names = [label_for(p) for p in paths]
        roles = ["baseline", "current"] if len(runs) == 2 else [f"run {i + 1}" for i in range(len(runs))]
        labels = [f"{role}: {name}" if len(runs) > 1 else name for role, name in zip(roles, names, strict=True)]
    return render_html(runs, output, labels)


#: Where the headless command writes the executed notebooks (relative to the current folder).
HEADLESS_OUT = "perfkit-out/notebooks"


@dataclass(frozen=True, slots=True)
class NotebookLaunch:
    """How to open the notebooks: the command, where, with which environment, and whether Jupyter is installed."""

    argv: tuple[str, ...]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    available: bool = False

    @property
    def command_line(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        return (env + " " if env else "") + shlex.join(self.argv)

    @property
    def headless_command_line(self) -> str:
        """Run every notebook without a browser (nbconvert, installed with perfkit), as HTML in HEADLESS_OUT."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        run = shlex.join(
            [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--execute", "--output-dir", HEADLESS_OUT]
        )
        return (env + " " if env else "") + f"{run} {shlex.quote(str(self.cwd))}/*.ipynb"

    @property
    def instructions(self) -> str:
        pip = f"{shlex.quote(sys.executable)} -m pip install jupyterlab"
        return (
            f"JupyterLab is not installed. Install it with:\n  {pip}\nthen run:\n  {self.command_line}\n"
            f"or run the notebooks headless (no browser), as HTML in {HEADLESS_OUT}/:\n  {self.headless_command_line}"
        )


def notebooks_dir() -> Path:
    """The notebooks/ folder of the perfkit checkout (or of the current directory)."""
    for candidate in (Path(__file__).resolve().parents[2] / "notebooks", Path.cwd() / "notebooks"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("no notebooks/ folder found: run this from a perfkit checkout")


def notebook_launch(results: str | os.PathLike[str] | None = None) -> NotebookLaunch:
    """The Jupyter command that opens the notebooks on a results file (given, or the newest one found)."""
    folder = notebooks_dir()
    if results is not None:
        load(results)  # a missing or corrupt file is reported now, not in the first notebook cell
        chosen: Path | None = Path(results).resolve()
    else:
        found = find_results() or find_results(folder)
        chosen = found[0] if found else None
    env = {RESULTS_ENV: str(chosen)} if chosen else {}
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    for tool, sub in (("jupyter-lab", "lab"), ("jupyter-notebook", "notebook")):
        exe = shutil.which(tool, path=search)
        if exe:
            jupyter = shutil.which("jupyter", path=str(Path(exe).parent)) or "jupyter"
            return NotebookLaunch((jupyter, sub, str(folder)), folder, env, available=True)
    jupyter = str(Path(sys.executable).parent / "jupyter")  # where pip puts it: the command works as printed
    return NotebookLaunch((jupyter, "lab", str(folder)), folder, env, available=False)
