"""perfkit: how PostgreSQL query patterns really perform, on realistic seeded data, and guards against regressions."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from perfkit.baseline import latest_baseline, list_baselines, save_baseline
from perfkit.compare import Comparison, compare_files, parse_check
from perfkit.db import Target, connect, resolve_target
from perfkit.drift import DriftReport, drift_walk
from perfkit.errors import PerfkitError
from perfkit.export import to_pytest_benchmark
from perfkit.keyset import KeysetSpec, Page, SortKey, decode_cursor, encode_cursor, fetch_page, walk
from perfkit.results import Benchmark, Environment, RunResults, benchmarks_frame, load
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
    "Page",
    "PerfkitError",
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
    "fetch_page",
    "latest_baseline",
    "list_baselines",
    "load",
    "parse_check",
    "resolve_target",
    "save_baseline",
    "summarize",
    "to_pytest_benchmark",
    "walk",
]
