"""Fixtures for the gate proofs: a cheap, fixed-effort run config and the baseline run it makes on the run database."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfkit.db import Target
from perfkit.runner import RunConfig, RunOutcome, run
from perfkit.scenarios.indexes import IndexConfig
from perfkit.scenarios.loading import LoadingConfig
from perfkit.scenarios.pagination import PaginationConfig
from tests.fix_run import quick_config

# Fixed effort (no time budget): every run executes each query the same number of times, so the runs differ only in
# what the code does. The counters are per execution, so they would match at any effort anyway.
FIXED = {"warmup": 1, "min_runs": 3, "max_runs": 3, "budget_s": 0.0}
GATE_SIZES = (1, 20)


def gate_config(out: Path, scenarios: tuple[str, ...] = ("loading", "pagination", "indexes")) -> RunConfig:
    """A second or two per run: one workload per scenario, no drift, batch, latency, build or write passes."""
    return quick_config(
        out,
        scenarios=scenarios,
        report=False,
        loading=LoadingConfig(sizes=GATE_SIZES, workloads=("users_latest_posts",), latency_check=False, **FIXED),  # type: ignore[arg-type]
        pagination=PaginationConfig(page_size=10, queries=("posts_feed",), drift=False, batches=False, **FIXED),  # type: ignore[arg-type]
        indexes=IndexConfig(queries=("posts_by_author_status",), concurrently=False, write_rows=0, **FIXED),  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def gate_baseline(small_run: RunOutcome, run_db: Target, tmp_path_factory: pytest.TempPathFactory) -> RunOutcome:
    """The cheap run on the (already seeded) run database: the baseline every planted regression is compared to."""
    return run(gate_config(tmp_path_factory.mktemp("gate-base")), target=run_db)
