"""The versioned results format: one JSON document per run; records, atomic write, load, upgrade, pandas."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from perfkit._atomic import write_text
from perfkit._results_benchmark import check_plan, check_samples, check_summary, check_timing, check_unique
from perfkit._results_check import (
    BOOLEAN,
    INTEGER,
    LIST,
    NUMBER,
    OBJECT,
    SCALAR,
    STRING,
    check_counters,
    check_fields,
    check_items,
    check_object,
    check_value,
    json_type,
    nullable,
)
from perfkit._results_upgrade import LEGACY_NODE_NAMES as LEGACY_NODE_NAMES  # re-exported: part of the format
from perfkit._results_upgrade import MACHINE_NUMBERS as MACHINE_NUMBERS
from perfkit._results_upgrade import NO_SPREAD
from perfkit._results_upgrade import SCHEMA_VERSION as SCHEMA_VERSION
from perfkit._results_upgrade import upgrade as upgrade
from perfkit.errors import ResultsError
from perfkit.measure import PROTOCOL_BEFORE_2
from perfkit.stats import Stats

FORMAT_NAME = "perfkit-results"

Scalar = str | int | float | bool | None
#: A machine fact: text (hostname, system), a count (cpu_count, memory_bytes), or None when unknown.
MachineValue = str | int | None


@dataclass(frozen=True, slots=True)
class Environment:
    """Where and on what data a run was measured; comparisons across different ones are flagged."""

    server_version: str
    server_settings: Mapping[str, str]
    machine: Mapping[str, MachineValue]
    python_version: str
    perfkit_version: str
    git_commit: str | None
    scale: float | None
    seed: int | None
    profile: str | None
    data_fingerprint: str | None
    embedded: bool
    started_at: str
    realism: Mapping[str, Any] | None = None
    """The seed's realism report (`perfkit.realism.RealismReport.to_dict`): what the data looks like."""
    timing_protocol: str = PROTOCOL_BEFORE_2
    """How the samples were taken (`perfkit.measure.PROTOCOL`); files written before it was recorded say protocol 1."""

    def comparable_key(self) -> dict[str, Any]:
        """The fields that must match for two runs to be compared without a warning."""
        return {
            "server_version": self.server_version,
            "server_settings": dict(self.server_settings),
            "scale": self.scale,
            "seed": self.seed,
            "profile": self.profile,
            "data_fingerprint": self.data_fingerprint,
        }


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One measured thing: a scenario's query (name) run one way (variant) with fixed parameters."""

    scenario: str
    name: str
    variant: str
    params: Mapping[str, Scalar]
    samples_ms: tuple[float, ...]
    stats: Stats | None
    counters: Mapping[str, float]
    plan: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = ()
    version: str = ""

    @property
    def key(self) -> str:
        """Identity of the benchmark across runs: scenario/name/variant[params]."""
        p = ",".join(f"{k}={self.params[k]}" for k in sorted(self.params))
        return f"{self.scenario}/{self.name}/{self.variant}[{p}]"


def benchmark_version(*parts: object) -> str:
    """A short hash of what defines a benchmark (its SQL and parameters), to recognise stale baselines."""
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class RunResults:
    """A whole run: environment plus benchmarks (and scenario tables that are not timings)."""

    environment: Environment
    benchmarks: tuple[Benchmark, ...]
    tables: Mapping[str, tuple[Mapping[str, Scalar], ...]] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


# -- writing ----------------------------------------------------------------------------------------


def to_dict(results: RunResults) -> dict[str, Any]:
    """The JSON document for a run."""
    return {
        "format": FORMAT_NAME,
        "schema_version": SCHEMA_VERSION,
        "environment": _plain(asdict(results.environment)),
        "benchmarks": [_benchmark_dict(b) for b in results.benchmarks],
        "tables": {k: [dict(r) for r in rows] for k, rows in results.tables.items()},
    }


def _benchmark_dict(b: Benchmark) -> dict[str, Any]:
    return {
        "scenario": b.scenario,
        "name": b.name,
        "variant": b.variant,
        "params": dict(b.params),
        "version": b.version,
        "samples_ms": list(b.samples_ms),
        "stats": None if b.stats is None else asdict(b.stats),
        "counters": dict(b.counters),
        "plan": None if b.plan is None else _plain(b.plan),
        "notes": list(b.notes),
    }


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def write(results: RunResults, path: str | os.PathLike[str]) -> Path:
    """Write the run atomically (temp file in the same folder, then rename); a run that `load` would refuse (NaN or
    negative samples, statistics that do not summarise them, a benchmark twice) raises ResultsError instead."""
    target = Path(path)
    doc = to_dict(results)
    try:
        from_dict(doc)
    except ResultsError as exc:
        raise ResultsError(f"refusing to write {target}: {exc}") from None
    return write_text(target, json.dumps(doc, indent=1, allow_nan=False) + "\n")


# -- reading ----------------------------------------------------------------------------------------


_ENVIRONMENT = {
    "server_version": STRING,
    "server_settings": OBJECT,
    "machine": OBJECT,
    "python_version": STRING,
    "perfkit_version": STRING,
    "git_commit": nullable(STRING),
    "scale": nullable(NUMBER),
    "seed": nullable(INTEGER),
    "profile": nullable(STRING),
    "data_fingerprint": nullable(STRING),
    "embedded": BOOLEAN,
    "started_at": STRING,
}
_BENCHMARK = {
    "scenario": STRING,
    "name": STRING,
    "variant": STRING,
    "params": OBJECT,
    "samples_ms": LIST,
    "stats": nullable(OBJECT),
    "counters": OBJECT,
}
_BENCHMARK_OPTIONAL = {"plan": nullable(OBJECT), "notes": LIST, "version": STRING}
_STATS = {
    name: INTEGER if name == "n" else nullable(NUMBER) if name in NO_SPREAD else NUMBER for name in Stats.__slots__
}
_MACHINE_VALUE = nullable(lambda v: None if STRING(v) is None or INTEGER(v) is None else "a string or an integer")


def _check_format(doc: Mapping[str, Any]) -> None:
    """A perfkit results document says so: `"format": "perfkit-results"`, written by every version of the format."""
    if "format" not in doc:
        raise ResultsError(f'not a perfkit results file: no "format": "{FORMAT_NAME}" (every results file has it)')
    fmt = doc["format"]
    if fmt != FORMAT_NAME:
        shown = repr(fmt) if isinstance(fmt, str) else json_type(fmt)
        raise ResultsError(f"not a perfkit results file: its format is {shown}, not '{FORMAT_NAME}'")


def _environment(doc: Mapping[str, Any]) -> Environment:
    env = check_fields(
        doc["environment"], "environment", _ENVIRONMENT, {"realism": nullable(OBJECT), "timing_protocol": STRING}
    )
    check_items(env["server_settings"], "environment.server_settings", STRING)
    check_items(env["machine"], "environment.machine", _MACHINE_VALUE)
    for key in MACHINE_NUMBERS:
        if key in env["machine"]:
            check_value(env["machine"][key], nullable(INTEGER), f"environment.machine.{key}")
    return Environment(
        **{name: env[name] for name in _ENVIRONMENT},
        realism=env.get("realism"),
        timing_protocol=env.get("timing_protocol", PROTOCOL_BEFORE_2),
    )


def _stats(obj: Any, where: str) -> Stats | None:
    if obj is None:
        return None
    stats = check_fields(obj, where, _STATS)
    return Stats(**{name: stats[name] for name in _STATS})


def _benchmark(obj: Any, where: str) -> Benchmark:
    try:
        return _benchmark_record(obj, where)
    except ResultsError as exc:
        names = [obj.get(k) for k in ("scenario", "name", "variant")] if isinstance(obj, Mapping) else []
        if names and all(isinstance(n, str) for n in names):
            raise ResultsError(f"{exc} (benchmark {'/'.join(str(n) for n in names)})") from None
        raise


def _benchmark_record(obj: Any, where: str) -> Benchmark:
    b = check_fields(obj, where, _BENCHMARK, _BENCHMARK_OPTIONAL)
    check_items(b["params"], f"{where}.params", SCALAR)
    check_samples(b["samples_ms"], f"{where}.samples_ms")
    counters = check_counters(check_object(b["counters"], f"{where}.counters"), f"{where}.counters")
    check_items(b.get("notes", []), f"{where}.notes", STRING)
    samples = tuple(float(x) for x in b["samples_ms"])
    stats = _stats(b["stats"], f"{where}.stats")
    check_timing(samples, None if stats is None else stats.n, where)
    if stats is not None:
        figures = {
            "median_ms": stats.median_ms,
            "mean_ms": stats.mean_ms,
            "min_ms": stats.min_ms,
            "max_ms": stats.max_ms,
        }
        check_summary(samples, figures, where)
    return Benchmark(
        scenario=b["scenario"],
        name=b["name"],
        variant=b["variant"],
        params=dict(b["params"]),
        samples_ms=samples,
        stats=stats,
        counters=counters,
        plan=check_plan(b.get("plan"), f"{where}.plan"),
        notes=tuple(b.get("notes", ())),
        version=b.get("version", ""),
    )


def _tables(obj: Any) -> dict[str, tuple[Mapping[str, Scalar], ...]]:
    check_value(obj, OBJECT, "tables")
    out: dict[str, tuple[Mapping[str, Scalar], ...]] = {}
    for name, rows in obj.items():
        check_value(rows, LIST, f"tables.{name}")
        check_items(rows, f"tables.{name}", OBJECT)
        for i, row in enumerate(rows):
            check_items(row, f"tables.{name}[{i}]", SCALAR)
        out[str(name)] = tuple(dict(r) for r in rows)
    return out


def from_dict(doc: Mapping[str, Any]) -> RunResults:
    """Records from a JSON document (upgraded first); ResultsError names the first field that is missing or wrong."""
    check_value(doc, OBJECT, "the document")
    _check_format(doc)
    d = upgrade(dict(doc))
    check_fields(d, "", {"environment": OBJECT, "benchmarks": LIST}, {"tables": OBJECT})
    env = _environment(d)
    benches = tuple(_benchmark(b, f"benchmarks[{i}]") for i, b in enumerate(d["benchmarks"]))
    check_unique([b.key for b in benches])
    return RunResults(environment=env, benchmarks=benches, tables=_tables(d.get("tables", {})))


def load(path: str | os.PathLike[str]) -> RunResults:
    """Read a results file, with one-line errors for missing, truncated or foreign files."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ResultsError(f"results file not found: {p}") from None
    except OSError as exc:
        raise ResultsError(f"cannot read {p}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ResultsError(f"{p} is not a perfkit results file: not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{p} is not valid JSON (truncated or corrupt?): {exc.msg} at line {exc.lineno}") from None
    if not isinstance(doc, dict):
        raise ResultsError(f"{p} is not a perfkit results file: the JSON is {json_type(doc)}, not an object")
    try:
        return from_dict(doc)
    except ResultsError as exc:
        raise ResultsError(f"{p}: {exc}") from None


# -- pandas ----------------------------------------------------------------------------------------


def benchmarks_frame(results: RunResults | Iterable[Benchmark]) -> pd.DataFrame:
    """One row per benchmark: identity, parameters (param_*), statistics and counters."""
    import pandas as pd  # imported here: the CLI should not pay for pandas

    benches = results.benchmarks if isinstance(results, RunResults) else tuple(results)
    rows: list[dict[str, Any]] = []
    for b in benches:
        row: dict[str, Any] = {"scenario": b.scenario, "name": b.name, "variant": b.variant, "key": b.key}
        row.update({f"param_{k}": v for k, v in b.params.items()})
        if b.stats is not None:
            row.update({k: getattr(b.stats, k) for k in Stats.__slots__})
        row.update(b.counters)
        rows.append(row)
    return pd.DataFrame(rows)


def samples_frame(results: RunResults) -> pd.DataFrame:
    """One row per timing sample (long format), for distributions."""
    import pandas as pd  # imported here: the CLI should not pay for pandas

    rows = [
        {"scenario": b.scenario, "name": b.name, "variant": b.variant, "key": b.key, "sample": i, "ms": s}
        for b in results.benchmarks
        for i, s in enumerate(b.samples_ms)
    ]
    return pd.DataFrame(rows, columns=["scenario", "name", "variant", "key", "sample", "ms"])


def table_frame(results: RunResults, name: str) -> pd.DataFrame:
    """A scenario's non-timing table (e.g. the pagination drift table) as a DataFrame."""
    import pandas as pd  # imported here: the CLI should not pay for pandas

    return pd.DataFrame([dict(r) for r in results.tables.get(name, ())])
