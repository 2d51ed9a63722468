"""perfkit: how PostgreSQL query patterns really perform, on realistic seeded data, and guards against regressions."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfkit.advise import Advice
    from perfkit.baseline import latest_baseline, list_baselines, save_baseline
    from perfkit.compare import Comparison, compare_files, parse_check
    from perfkit.counter import StatementCounter, normalize_sql
    from perfkit.db import Target, connect, resolve_target
    from perfkit.drift import DriftReport, drift_walk
    from perfkit.errors import CursorDidNotAdvance, InvalidCursor, PerfkitError, PlanError
    from perfkit.explain import explain_analyze, explain_estimate
    from perfkit.export import to_pytest_benchmark
    from perfkit.keyset import KeysetSpec, Page, SortKey, decode_cursor, encode_cursor, fetch_page, walk
    from perfkit.measure import Measurement, time_query
    from perfkit.plan import Plan, PlanNode, PlanSummary, parse_plan
    from perfkit.realism import realism_report
    from perfkit.results import Benchmark, Environment, RunResults, benchmarks_frame, load
    from perfkit.runner import RunConfig, RunOutcome, run
    from perfkit.seed import SeedInfo, ensure_seeded
    from perfkit.server import EmbeddedServer
    from perfkit.stats import Stats, summarize

__version__: str  # read from the installed metadata on first use (importlib.metadata costs an import at start-up)

# The public API, imported on first use (PEP 562) so that `perfkit --help` does not pay for pandas and matplotlib.
_EXPORTS: dict[str, str] = {
    "CursorDidNotAdvance": "perfkit.errors",
    "InvalidCursor": "perfkit.errors",
    "Advice": "perfkit.advise",
    "Benchmark": "perfkit.results",
    "Comparison": "perfkit.compare",
    "DriftReport": "perfkit.drift",
    "EmbeddedServer": "perfkit.server",
    "Environment": "perfkit.results",
    "KeysetSpec": "perfkit.keyset",
    "Measurement": "perfkit.measure",
    "Page": "perfkit.keyset",
    "PerfkitError": "perfkit.errors",
    "Plan": "perfkit.plan",
    "PlanError": "perfkit.errors",
    "PlanNode": "perfkit.plan",
    "PlanSummary": "perfkit.plan",
    "RunConfig": "perfkit.runner",
    "RunOutcome": "perfkit.runner",
    "RunResults": "perfkit.results",
    "SeedInfo": "perfkit.seed",
    "SortKey": "perfkit.keyset",
    "StatementCounter": "perfkit.counter",
    "Stats": "perfkit.stats",
    "Target": "perfkit.db",
    "benchmarks_frame": "perfkit.results",
    "compare_files": "perfkit.compare",
    "connect": "perfkit.db",
    "decode_cursor": "perfkit.keyset",
    "drift_walk": "perfkit.drift",
    "encode_cursor": "perfkit.keyset",
    "ensure_seeded": "perfkit.seed",
    "explain_analyze": "perfkit.explain",
    "explain_estimate": "perfkit.explain",
    "fetch_page": "perfkit.keyset",
    "latest_baseline": "perfkit.baseline",
    "list_baselines": "perfkit.baseline",
    "load": "perfkit.results",
    "normalize_sql": "perfkit.counter",
    "parse_check": "perfkit.compare",
    "parse_plan": "perfkit.plan",
    "realism_report": "perfkit.realism",
    "resolve_target": "perfkit.db",
    "run": "perfkit.runner",
    "save_baseline": "perfkit.baseline",
    "summarize": "perfkit.stats",
    "time_query": "perfkit.measure",
    "to_pytest_benchmark": "perfkit.export",
    "walk": "perfkit.keyset",
}

__all__ = [
    "Advice",
    "Benchmark",
    "Comparison",
    "CursorDidNotAdvance",
    "DriftReport",
    "EmbeddedServer",
    "Environment",
    "InvalidCursor",
    "KeysetSpec",
    "Measurement",
    "Page",
    "PerfkitError",
    "Plan",
    "PlanError",
    "PlanNode",
    "PlanSummary",
    "RunConfig",
    "RunOutcome",
    "RunResults",
    "SeedInfo",
    "SortKey",
    "StatementCounter",
    "Stats",
    "Target",
    "__version__",
    "benchmarks_frame",
    "compare_files",
    "connect",
    "decode_cursor",
    "drift_walk",
    "encode_cursor",
    "ensure_seeded",
    "explain_analyze",
    "explain_estimate",
    "fetch_page",
    "latest_baseline",
    "list_baselines",
    "load",
    "normalize_sql",
    "parse_check",
    "parse_plan",
    "realism_report",
    "resolve_target",
    "run",
    "save_baseline",
    "summarize",
    "time_query",
    "to_pytest_benchmark",
    "walk",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("perfkit")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'perfkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
