"""Every notebook runs headless (nbclient, a python3 kernel on this interpreter) against a results file."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from perfkit.runner import RunOutcome
from tests.fix_results import ResultsFiles

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECK = "import sys\nprint(sys.executable)"


@pytest.fixture(scope="session")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A private 'python3' kernel spec bound to this interpreter, whatever other python3 specs the machine has."""
    folder = tmp_path_factory.mktemp("kernels")
    spec = folder / "python3"
    spec.mkdir()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "perfkit tests", "language": "python"}))
    return KernelSpecManager(kernel_dirs=[str(folder)])


def test_there_are_notebooks() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert names == [
        "00-overview.ipynb",
        "01-loading-strategies.ipynb",
        "02-pagination.ipynb",
        "03-index-strategies.ipynb",
        "04-regressions.ipynb",
    ]


def test_notebooks_match_their_build_script() -> None:
    spec = importlib.util.spec_from_file_location("nb_build", ROOT / "notebooks" / "_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def _execute(path: Path, current: Path, baseline: Path, specs: KernelSpecManager) -> list[nbformat.NotebookNode]:
    """Run a notebook (plus a cell printing the kernel's interpreter) and return all outputs."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CHECK))
    env = dict(os.environ)
    env["PERFKIT_RESULTS"] = str(current)
    env["PERFKIT_BASELINE"] = str(baseline)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=specs)
    client = NotebookClient(nb, km=km, timeout=120, resources={"metadata": {"path": str(path.parent)}})
    client.execute(cleanup_kc=True, env=env)  # raises CellExecutionError on the first failing cell; shuts down
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert nb.cells[-1].outputs[0]["text"].strip() == sys.executable  # the kernel ran on this interpreter
    return outputs


def _text(outputs: list[nbformat.NotebookNode]) -> str:
    return "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, small_run: RunOutcome, kernel_specs: KernelSpecManager) -> None:
    """Every notebook on the results of a small real run (the run is its own baseline for 04)."""
    outputs = _execute(path, small_run.results_path, small_run.results_path, kernel_specs)
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure displayed"
    assert str(small_run.results_path) in _text(outputs)


def test_regressions_notebook_on_two_runs(results_files: ResultsFiles, kernel_specs: KernelSpecManager) -> None:
    """The regressions notebook with a baseline that differs (hand-made records with a planted slowdown)."""
    outputs = _execute(
        ROOT / "notebooks" / "04-regressions.ipynb", results_files.current, results_files.baseline, kernel_specs
    )
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure displayed"


def test_notebook_without_its_scenario(results_files: ResultsFiles, kernel_specs: KernelSpecManager) -> None:
    path = ROOT / "notebooks" / "03-index-strategies.ipynb"
    outputs = _execute(path, results_files.loading_only, results_files.loading_only, kernel_specs)
    assert "This run has no index benchmarks" in _text(outputs)


def test_pagination_notebook_on_a_real_run(small_run: RunOutcome, kernel_specs: KernelSpecManager) -> None:
    path = ROOT / "notebooks" / "02-pagination.ipynb"
    outputs = _execute(path, small_run.results_path, small_run.results_path, kernel_specs)
    text = _text(outputs)
    assert "posts_feed: offset grows linearly" in text
    assert "admin_users" in text and "only a Filter" in text
    assert "server_cursor" in text and "no drift table" not in text
