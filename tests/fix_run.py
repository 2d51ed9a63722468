"""Session fixtures: a small real `perfkit run` (scale 0.01) whose results other tests and the notebooks read."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfkit.db import Target
from perfkit.runner import RunConfig, RunOutcome, run
from perfkit.scenarios.indexes import IndexConfig
from perfkit.scenarios.loading import LoadingConfig
from perfkit.scenarios.pagination import PaginationConfig
from tests.fix_server import _make_db

QUICK = {"warmup": 1, "min_runs": 5, "max_runs": 8, "budget_s": 0.2}


def quick_config(out: Path, **kw: object) -> RunConfig:
    """A run small and short enough for the test suite (seconds), still on a real seeded database."""
    base: dict[str, object] = {
        "scale": 0.01,
        "seed": 7,
        "out": out,
        "loading": LoadingConfig(sizes=(1, 5, 20), latency_runs=11, **{**QUICK, "budget_s": 0.05}),  # type: ignore[arg-type]
        "pagination": PaginationConfig(page_size=10, **QUICK),  # type: ignore[arg-type]
        "indexes": IndexConfig(**QUICK),  # type: ignore[arg-type]
    }
    base.update(kw)
    return RunConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def run_db(admin_conninfo: str) -> Target:
    """A database for the session's runs (migrated and seeded by the first run)."""
    return _make_db(admin_conninfo, "pk_test_run")


@pytest.fixture(scope="session")
def small_run(run_db: Target, tmp_path_factory: pytest.TempPathFactory) -> RunOutcome:
    """One real run of all three comparisons at scale 0.01."""
    out = tmp_path_factory.mktemp("run")
    return run(quick_config(out), target=run_db)
