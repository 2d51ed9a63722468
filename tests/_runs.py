"""Builders of RunResults for comparison tests: timing samples drawn from seeded numpy generators."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from perfkit.results import Benchmark, Environment, RunResults
from perfkit.stats import summarize


def env(**over: Any) -> Environment:
    base: dict[str, Any] = {
        "server_version": "15.18",
        "server_settings": {"work_mem": "4MB", "shared_buffers": "128MB"},
        "machine": {"hostname": "ci-1", "system": "Linux 6.1", "machine": "x86_64"},
        "python_version": "3.11.7",
        "perfkit_version": "0.1.0",
        "git_commit": "abc123",
        "scale": 0.1,
        "seed": 42,
        "profile": "default",
        "data_fingerprint": "f00d",
        "embedded": True,
        "started_at": "2026-01-01T00:00:00+00:00",
    }
    base.update(over)
    return Environment(**base)


def samples(median_ms: float, *, n: int = 40, noise: float = 0.05, seed: int = 0) -> tuple[float, ...]:
    """Log-normal timings around median_ms (noise = sigma of the log), as real query timings roughly are."""
    rng = np.random.default_rng(seed)
    return tuple(float(x) for x in median_ms * np.exp(rng.normal(0.0, noise, n)))


def bench(
    name: str = "posts_by_author_status",
    variant: str = "composite",
    *,
    scenario: str = "indexes",
    params: Mapping[str, Any] | None = None,
    times: Sequence[float] = (),
    counters: Mapping[str, float] | None = None,
    plan: Mapping[str, Any] | None = None,
    version: str = "v1",
) -> Benchmark:
    ts = tuple(times)
    return Benchmark(
        scenario=scenario,
        name=name,
        variant=variant,
        params=dict(params or {}),
        samples_ms=ts,
        stats=summarize(ts) if ts else None,
        counters=dict(counters or {}),
        plan=plan,
        version=version,
    )


def run(*benches: Benchmark, environment: Environment | None = None) -> RunResults:
    return RunResults(environment=environment or env(), benchmarks=tuple(benches))


def plan(node_types: Sequence[str], indexes: Sequence[str], seq_scans: Sequence[str] = ()) -> dict[str, Any]:
    """A PlanSummary.to_dict()-shaped plan."""
    return {
        "node_types": list(node_types),
        "indexes": list(indexes),
        "index_only": False,
        "seq_scans": list(seq_scans),
        "planning_ms": 0.1,
        "execution_ms": 1.0,
        "shared_hit_blocks": 10,
        "shared_read_blocks": 0,
        "rows_removed": 0,
        "hottest_node": None,
        "worst_misestimate": None,
    }


def with_times(b: Benchmark, times: Sequence[float]) -> Benchmark:
    ts = tuple(times)
    return replace(b, samples_ms=ts, stats=summarize(ts))
