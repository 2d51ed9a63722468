"""perfkit: how PostgreSQL query patterns really perform, on realistic seeded data, and guards against regressions."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from perfkit.advise import Advice
from perfkit.baseline import latest_baseline, list_baselines, save_baseline
from perfkit.compare import Comparison, compare_files, parse_check
from perfkit.db import Target, connect, resolve_target
from perfkit.drift import DriftReport, drift_walk
from perfkit.errors import PerfkitError, PlanError
from perfkit.explain import explain_analyze, explain_estimate
from perfkit.export import to_pytest_benchmark
from perfkit.keyset import KeysetSpec, Page, SortKey, decode_cursor, encode_cursor, fetch_page, walk
from perfkit.plan import Plan, PlanNode, PlanSummary, parse_plan
from perfkit.results import Benchmark, Environment, RunResults, benchmarks_frame, load
from perfkit.server import EmbeddedServer
from perfkit.stats import Stats, summarize

try:
    __version__ = version("perfkit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = [
    "Advice",
    "Benchmark",
    "Comparison",
    "DriftReport",
    "EmbeddedServer",
    "Environment",
    "KeysetSpec",
    "Page",
    "PerfkitError",
    "Plan",
    "PlanError",
    "PlanNode",
    "PlanSummary",
    "RunResults",
    "SortKey",
    "Stats",
    "Target",
    "__version__",
    "benchmarks_frame",
    "compare_files",
    "connect",
    "decode_cursor",
    "drift_walk",
    "encode_cursor",
    "explain_analyze",
    "explain_estimate",
    "fetch_page",
    "latest_baseline",
    "list_baselines",
    "load",
    "parse_check",
    "parse_plan",
    "resolve_target",
    "save_baseline",
    "summarize",
    "to_pytest_benchmark",
    "walk",
]
