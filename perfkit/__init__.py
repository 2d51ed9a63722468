"""perfkit: how PostgreSQL query patterns really perform, on realistic seeded data, and guards against regressions."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from perfkit.db import Target, connect, resolve_target
from perfkit.errors import PerfkitError, PlanError
from perfkit.explain import explain_analyze, explain_estimate
from perfkit.plan import Plan, PlanNode, PlanSummary, parse_plan
from perfkit.results import Benchmark, Environment, RunResults, benchmarks_frame, load
from perfkit.server import EmbeddedServer
from perfkit.stats import Stats, summarize

try:
    __version__ = version("perfkit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = [
    "Benchmark",
    "EmbeddedServer",
    "Environment",
    "PerfkitError",
    "Plan",
    "PlanError",
    "PlanNode",
    "PlanSummary",
    "RunResults",
    "Stats",
    "Target",
    "__version__",
    "benchmarks_frame",
    "connect",
    "explain_analyze",
    "explain_estimate",
    "load",
    "parse_plan",
    "resolve_target",
    "summarize",
]
