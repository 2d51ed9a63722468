"""Baselines: saved per machine under a project folder, history kept, listed, resolved by name or 'latest'."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from perfkit import results
from perfkit.baseline import (
    latest_baseline,
    latest_results,
    list_baselines,
    machine_name,
    resolve_baseline,
    save_baseline,
)
from perfkit.errors import ConfigError, ResultsError
from tests._runs import bench, env, run, samples


@pytest.fixture
def results_file(tmp_path: Path) -> Path:
    r = run(bench(times=samples(5.0, n=8), counters={"statements": 2}), environment=env(git_commit="c0ffee"))
    return results.write(r, tmp_path / "run" / "results.json")


@pytest.fixture(autouse=True)
def machine(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PERFKIT_MACHINE", "ci box/1")
    return "ci-box-1"


def test_machine_name_is_stable_and_safe(machine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert machine_name() == machine
    monkeypatch.delenv("PERFKIT_MACHINE")
    name = machine_name()
    assert name and "/" not in name
    assert name == machine_name()


def test_save_keeps_history(results_file: Path, tmp_path: Path, machine: str) -> None:
    root = tmp_path / "baselines"
    first = save_baseline(results_file, root=root)
    second = save_baseline(results_file, root=root)
    named = save_baseline(results_file, "main", root=root)
    assert first != second
    assert first.parent == root / machine
    assert named == root / machine / "main.json"
    assert results.load(named) == results.load(results_file)
    infos = list_baselines(root)
    assert [i.path for i in infos] == [first, second, named]
    assert {(i.machine, i.benchmarks, i.git_commit, i.error) for i in infos} == {(machine, 1, "c0ffee", None)}
    os.utime(first, ns=(4_000_000_000 * 10**9, 4_000_000_000 * 10**9))  # make the oldest the newest
    assert latest_baseline(root) == first


def test_named_baseline_is_replaced(results_file: Path, tmp_path: Path) -> None:
    root = tmp_path / "b"
    save_baseline(results_file, "main", root=root)
    save_baseline(results_file, "main", root=root)
    assert len(list_baselines(root)) == 1


@pytest.mark.parametrize("name", ["../evil", "a/b", "", "latest", "with space"])
def test_bad_names(results_file: Path, tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="bad baseline name"):
        save_baseline(results_file, name, root=tmp_path)


def test_save_refuses_a_broken_results_file(tmp_path: Path) -> None:
    bad = tmp_path / "results.json"
    bad.write_text('{"schema_version": 1, "environment": {')
    with pytest.raises(ResultsError, match="truncated or corrupt"):
        save_baseline(bad, root=tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_list_marks_unreadable_and_other_machines(results_file: Path, tmp_path: Path) -> None:
    root = tmp_path / "b"
    save_baseline(results_file, "x", root=root, machine="other")
    (root / "ci-box-1").mkdir()
    (root / "ci-box-1" / "broken.json").write_text("{")
    infos = list_baselines(root)
    assert [(i.machine, i.name, i.benchmarks) for i in infos] == [("ci-box-1", "broken", None), ("other", "x", 1)]
    assert infos[0].error is not None
    assert latest_baseline(root, machine="other") == root / "other" / "x.json"
    assert list_baselines(tmp_path / "nothing") == []


def test_resolve(results_file: Path, tmp_path: Path) -> None:
    root = tmp_path / "b"
    with pytest.raises(ResultsError, match="no baseline saved"):
        resolve_baseline("latest", root)
    saved = save_baseline(results_file, "main", root=root)
    assert resolve_baseline("main", root) == saved
    assert resolve_baseline("latest", root) == saved
    assert resolve_baseline(str(results_file), root) == results_file
    with pytest.raises(ResultsError, match="baseline not found: nope"):
        resolve_baseline("nope", root)


def test_latest_results(tmp_path: Path, results_file: Path) -> None:
    with pytest.raises(ResultsError, match="--results"):
        latest_results(tmp_path / "perfkit-out")
    assert latest_results(tmp_path) == results_file


def test_a_name_given_with_json_is_not_doubled(results_file: Path, tmp_path: Path) -> None:
    path = save_baseline(results_file, "main.json", tmp_path)
    assert path.name == "main.json" and resolve_baseline("main", tmp_path) == path
