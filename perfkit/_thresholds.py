"""Threshold specs (`metric:limit` strings) parsed into frozen check objects; pyproject `[tool.perfkit] fail`."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from perfkit.errors import ConfigError, ThresholdError

# Counter groups that have a short name of their own; any other counter is reachable as `counter:<name>:<limit>`.
COUNTER_ALIASES: dict[str, tuple[str, ...]] = {
    "buffers": ("shared_hit_blocks", "shared_read_blocks"),
    "statements": ("statements",),
    "round_trips": ("round_trips",),
    "rows_removed": ("rows_removed",),
}
TIME_STATS = ("median", "mean")

TIMING_COUNTERS = frozenset({"server_ms"})
"""Counters that are timings (pg_stat_statements' server time per call): judged by statistics, never exactly."""

# The keys `[tool.perfkit]` may hold; any other is a typo that would silently leave the defaults in force.
PYPROJECT_KEYS = ("fail",)

# What `perfkit compare` checks when neither --fail nor pyproject.toml says otherwise.
DEFAULT_SPECS = ("time:median:+20%", "statements:+0", "buffers:+10%", "rows_removed:+5%", "plan:changed")

_LIMIT = re.compile(r"^\+?(?P<num>\d+(?:\.\d+)?)(?P<unit>%|ms)?$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Limit:
    """How much a metric may grow: a fraction of the baseline (relative) or an absolute amount."""

    amount: float
    relative: bool

    def exceeded(self, baseline: float, current: float) -> bool:
        """True when current grew past baseline by more than the limit (a tiny tolerance absorbs float noise)."""
        growth = current - baseline
        if self.relative:
            if baseline == 0:
                return current > 0
            return growth / abs(baseline) > self.amount + 1e-9
        return growth > self.amount + 1e-9

    def fell(self, baseline: float, current: float) -> bool:
        """True when current fell below baseline by more than the limit: the mirror of `exceeded`."""
        drop = baseline - current
        if self.relative:
            return baseline != 0 and drop / abs(baseline) > self.amount + 1e-9
        return drop > self.amount + 1e-9

    def __str__(self) -> str:
        if self.relative:
            return f"+{_num(self.amount * 100)}%"
        return f"+{_num(self.amount)}"


@dataclass(frozen=True, slots=True)
class TimeCheck:
    """Wall time: a regression only when the change passes the limit and is statistically significant."""

    stat: str
    limit: Limit

    @property
    def metric(self) -> str:
        return f"time:{self.stat}"

    @property
    def spec(self) -> str:
        unit = "" if self.limit.relative else "ms"
        return f"{self.metric}:{self.limit}{unit}"


@dataclass(frozen=True, slots=True)
class CounterCheck:
    """An exact counter (or the sum of a group of counters, e.g. buffers): compared without statistics."""

    name: str
    counters: tuple[str, ...]
    limit: Limit
    alias: bool = True

    @property
    def metric(self) -> str:
        return self.name if self.alias else f"counter:{self.name}"

    @property
    def spec(self) -> str:
        return f"{self.metric}:{self.limit}"


@dataclass(frozen=True, slots=True)
class PlanCheck:
    """The plan's shape: node types (in tree order) and the set of indexes used must not change."""

    @property
    def metric(self) -> str:
        return "plan"

    @property
    def spec(self) -> str:
        return "plan:changed"


Check = TimeCheck | CounterCheck | PlanCheck


def parse_check(spec: str) -> Check:
    """One `metric:limit` string -> a check; a one-line ThresholdError when it does not parse."""
    text = spec.strip()
    parts = [p.strip() for p in text.split(":")]
    head = parts[0].lower() if parts else ""
    if head == "time":
        if len(parts) != 3 or parts[1].lower() not in TIME_STATS:
            raise _bad(spec, "expected time:median:+N% or time:mean:+N% (or +Nms)")
        return TimeCheck(stat=parts[1].lower(), limit=_limit(spec, parts[2], allow_ms=True))
    if head == "plan":
        if len(parts) != 2 or parts[1].lower() != "changed":
            raise _bad(spec, "the only plan check is plan:changed")
        return PlanCheck()
    if head == "counter":
        if len(parts) != 3 or not _NAME.match(parts[1]):
            raise _bad(spec, "expected counter:<name>:+N or counter:<name>:+N%")
        if is_timing(parts[1]):
            raise _bad(spec, f"{parts[1]!r} is a timing, never equal twice: gate time with time:median:+N%")
        return CounterCheck(name=parts[1], counters=(parts[1],), limit=_limit(spec, parts[2]), alias=False)
    if head in COUNTER_ALIASES:
        if len(parts) != 2:
            raise _bad(spec, f"expected {head}:+N or {head}:+N%")
        return CounterCheck(name=head, counters=COUNTER_ALIASES[head], limit=_limit(spec, parts[1]))
    known = ", ".join(["time:median", "time:mean", *COUNTER_ALIASES, "counter:<name>", "plan:changed"])
    raise _bad(spec, f"unknown metric {parts[0]!r} (known: {known})")


def parse_checks(specs: Iterable[str]) -> tuple[Check, ...]:
    """Several specs, in order, without duplicates."""
    out: list[Check] = []
    for s in specs:
        c = parse_check(s)
        if c not in out:
            out.append(c)
    return tuple(out)


def is_timing(name: str) -> bool:
    """True for a recorded number that is a time (server_ms, a plan's execution_ms): no exact counter check fits it."""
    return name in TIMING_COUNTERS or name.endswith("_ms")


def is_counter_name(name: str) -> bool:
    """True for a recorded name that `counter:<name>` can spell and compare exactly (a plain name, not a timing)."""
    return bool(_NAME.match(name)) and not is_timing(name)


@dataclass(frozen=True, slots=True)
class ResolvedChecks:
    """The checks to apply and the pyproject.toml they came from (None: --fail or the built-in defaults)."""

    checks: tuple[Check, ...]
    origin: Path | None = None


def config_specs(pyproject: Path = Path("pyproject.toml")) -> tuple[str, ...] | None:
    """The `[tool.perfkit] fail = [...]` list of a pyproject.toml, or None when the file, table or key is absent.

    An unknown key in the table, a `fail` that is not a list of strings and an empty `fail` are ThresholdErrors: each
    would otherwise leave CI gated by something else than what the file says (or by nothing).
    """
    tool = _perfkit_table(pyproject)
    if tool is None:
        return None
    unknown = sorted(k for k in tool if k not in PYPROJECT_KEYS)
    if unknown:
        word = "key" if len(unknown) == 1 else "keys"
        named = ", ".join(repr(k) for k in unknown)
        known = ", ".join(PYPROJECT_KEYS)
        raise ThresholdError(f"{pyproject}: unknown {word} {named} in [tool.perfkit] (known keys: {known})")
    if "fail" not in tool:
        return None
    return _fail_list(pyproject, tool["fail"])


def resolve_checks(specs: Sequence[str] = (), *, pyproject: Path = Path("pyproject.toml")) -> tuple[Check, ...]:
    """The checks to apply: explicit specs, else pyproject.toml's `[tool.perfkit] fail`, else DEFAULT_SPECS."""
    return resolve(specs, pyproject=pyproject).checks


def resolve(specs: Sequence[str] = (), *, pyproject: Path = Path("pyproject.toml")) -> ResolvedChecks:
    """`resolve_checks`, with where the checks came from (so that a later error can name the file)."""
    if specs:
        return ResolvedChecks(parse_checks(specs))
    configured = config_specs(pyproject)
    if configured is None:
        return ResolvedChecks(parse_checks(DEFAULT_SPECS))
    try:
        return ResolvedChecks(parse_checks(configured), origin=pyproject)
    except ThresholdError as exc:
        raise ThresholdError(f"{pyproject}: {exc}") from None


def _perfkit_table(pyproject: Path) -> dict[str, object] | None:
    """The `[tool.perfkit]` table of a pyproject.toml, or None when the file or the table is absent."""
    try:
        text = pyproject.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {pyproject}: {exc.strerror}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from None
    tool = doc.get("tool", {})
    if not isinstance(tool, dict) or "perfkit" not in tool:
        return None
    table = tool["perfkit"]
    if not isinstance(table, dict):
        raise ThresholdError(f"{pyproject}: tool.perfkit must be a table ([tool.perfkit] with fail = [...])")
    return table


def _fail_list(pyproject: Path, fail: object) -> tuple[str, ...]:
    """`[tool.perfkit] fail` checked: a non-empty list of strings."""
    if not isinstance(fail, list) or not all(isinstance(s, str) for s in fail):
        raise ThresholdError(f"{pyproject}: [tool.perfkit] fail must be a list of strings such as 'statements:+0'")
    if not fail:
        raise ThresholdError(
            f"{pyproject}: [tool.perfkit] fail is empty, so nothing would be gated; "
            "list checks such as 'statements:+0', or remove the key for the defaults"
        )
    return tuple(fail)


def _limit(spec: str, text: str, *, allow_ms: bool = False) -> Limit:
    m = _LIMIT.match(text.replace(" ", ""))
    if m is None:
        raise _bad(spec, f"limit {text!r} is not +N or +N%")
    unit = m.group("unit")
    amount = float(m.group("num"))
    if unit == "%":
        return Limit(amount=amount / 100, relative=True)
    if allow_ms and unit != "ms":
        raise _bad(spec, "a time limit needs a unit: +N% or +Nms")
    if not allow_ms and unit == "ms":
        raise _bad(spec, "a counter limit is +N or +N%, not milliseconds")
    return Limit(amount=amount, relative=False)


def _bad(spec: str, why: str) -> ThresholdError:
    return ThresholdError(f"bad threshold {spec!r}: {why}")


def _num(x: float) -> str:
    return f"{x:.6g}"
