"""perfkit: how PostgreSQL query patterns really perform, on realistic seeded data, and guards against regressions."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from perfkit.baseline import latest_baseline, list_baselines, save_baseline
from perfkit.compare import Comparison, compare_files, parse_check
from perfkit.counter import StatementCounter, normalize_sql
from perfkit.db import Target, connect, resolve_target
from perfkit.drift import DriftReport, drift_walk
from perfkit.errors import PerfkitError, PlanError
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

try:
    __version__ = version("perfkit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = [
    "Benchmark",
    "Comparison",
    "DriftReport",
    "EmbeddedServer",
    "Environment",
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
