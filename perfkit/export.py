"""Export a perfkit run in pytest-benchmark's JSON format (times in seconds), for `pytest-benchmark compare`."""

from __future__ import annotations

import json
import os
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perfkit._atomic import write_text
from perfkit.errors import ConfigError
from perfkit.results import Benchmark, RunResults

# The pytest-benchmark release whose file layout this mirrors (it reads the files of later 4.x/5.x releases too).
PYTEST_BENCHMARK_FORMAT = "5.1.0"
FORMATS = ("pytest-benchmark",)


def _quartiles(data: Sequence[float]) -> tuple[float, float]:
    """Q1 and Q3 exactly as pytest-benchmark computes them (Wikipedia's methods 2 and 3)."""
    n = len(data)
    if n == 1:
        return data[0], data[0]
    if n % 2:
        k, r = n // 4, n % 4
        if r == 1:
            return 0.25 * data[k - 1] + 0.75 * data[k], 0.75 * data[3 * k] + 0.25 * data[3 * k + 1]
        return 0.75 * data[k] + 0.25 * data[k + 1], 0.25 * data[3 * k + 1] + 0.75 * data[3 * k + 2]
    return statistics.median(data[: n // 2]), statistics.median(data[n // 2 :])


def pytest_benchmark_stats(samples_s: Sequence[float]) -> dict[str, Any]:
    """pytest-benchmark's `stats` block for samples in seconds (one iteration per round)."""
    data = list(samples_s)
    s = sorted(data)
    mean = statistics.mean(data)
    stddev = statistics.stdev(data) if len(data) > 1 else 0.0
    q1, q3 = _quartiles(s)
    iqr = q3 - q1
    lo_fence, hi_fence = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    iqr_outliers = sum(1 for v in data if v < lo_fence or v > hi_fence)
    stddev_outliers = sum(1 for v in data if v < mean - stddev or v > mean + stddev)
    total = sum(data)
    return {
        "min": s[0],
        "max": s[-1],
        "mean": mean,
        "stddev": stddev,
        "rounds": len(data),
        "median": statistics.median(data),
        "iqr": iqr,
        "q1": q1,
        "q3": q3,
        "iqr_outliers": iqr_outliers,
        "stddev_outliers": stddev_outliers,
        "outliers": f"{stddev_outliers};{iqr_outliers}",
        "ld15iqr": s[0] if len(s) == 1 else s[bisect_left(s, lo_fence)],
        "hd15iqr": s[0] if len(s) == 1 else s[bisect_right(s, hi_fence) - 1],
        "ops": len(data) / total if total else 0.0,
        "total": total,
        "data": data,
        "iterations": 1,
    }


def _param_id(b: Benchmark) -> str:
    return "-".join([b.variant, *(f"{k}={b.params[k]}" for k in sorted(b.params))])


def _benchmark(b: Benchmark) -> dict[str, Any]:
    param = _param_id(b)
    return {
        "group": f"{b.scenario}/{b.name}",
        "name": f"{b.name}[{param}]",
        "fullname": f"perfkit/{b.scenario}.py::{b.name}[{param}]",
        "params": {"variant": b.variant, **dict(b.params)},
        "param": param,
        "extra_info": {"perfkit_key": b.key, "perfkit_version": b.version, **dict(b.counters)},
        "options": {
            "disable_gc": False,
            "timer": "perfkit",
            "min_rounds": len(b.samples_ms),
            "max_time": None,
            "min_time": None,
            "precision": None,
            "confidence": None,
            "warmup": False,
        },
        "stats": pytest_benchmark_stats([ms / 1000.0 for ms in b.samples_ms]),
    }


def to_pytest_benchmark(results: RunResults) -> dict[str, Any]:
    """The pytest-benchmark document of a run; benchmarks without timing samples are left out."""
    env = results.environment
    m = dict(env.machine)
    machine_info: dict[str, Any] = {
        "node": m.get("node", m.get("hostname", "")),
        "processor": m.get("processor", ""),
        "machine": m.get("machine", ""),
        "python_compiler": m.get("python_compiler", ""),
        "python_implementation": m.get("python_implementation", "CPython"),
        "python_implementation_version": m.get("python_implementation_version", env.python_version),
        "python_version": env.python_version,
        "python_build": [],
        "release": m.get("release", ""),
        "system": m.get("system", ""),
        "cpu": {},
        "perfkit": env.comparable_key(),  # JSON values as they are (server settings an object, not its repr)
    }
    commit_info = {
        "id": env.git_commit or "unversioned",
        "time": None,
        "author_time": None,
        "dirty": False,
        "project": "perfkit",
        "branch": "(unknown)",
    }
    return {
        "machine_info": machine_info,
        "commit_info": commit_info,
        "benchmarks": [_benchmark(b) for b in results.benchmarks if b.samples_ms],
        "datetime": env.started_at,
        "version": PYTEST_BENCHMARK_FORMAT,
    }


def export(results: RunResults, path: str | os.PathLike[str], *, fmt: str = "pytest-benchmark") -> Path:
    """Write a run in another tool's format (only pytest-benchmark for now)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    out = Path(path)
    write_text(out, json.dumps(to_pytest_benchmark(results), indent=1, allow_nan=False) + "\n")
    return out
