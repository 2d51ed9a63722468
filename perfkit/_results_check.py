"""Structural checks of a results document: every field's presence and JSON type, with messages naming the field."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from perfkit.errors import ResultsError

# A check takes a value and says what it should have been, or None when it is fine.
Check = Callable[[Any], str | None]


def json_type(value: Any) -> str:
    """The JSON name of a value's type, as a user reading the file sees it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__  # pragma: no cover - json.loads makes nothing else


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _kind(test: Callable[[Any], bool], name: str) -> Check:
    return lambda v: None if test(v) else name


def _number(v: Any) -> str | None:
    """A JSON number; NaN and Infinity (which Python's json reads, and perfkit never writes) are not numbers here."""
    if not _is_number(v):
        return "a number"
    return None if math.isfinite(v) else "a finite number"


def _non_negative(v: Any) -> str | None:
    problem = _number(v)
    return problem if problem is not None or v >= 0 else "a number >= 0"


STRING = _kind(lambda v: isinstance(v, str), "a string")
NUMBER: Check = _number
NON_NEGATIVE: Check = _non_negative
INTEGER = _kind(lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")
BOOLEAN = _kind(lambda v: isinstance(v, bool), "a boolean")
OBJECT = _kind(lambda v: isinstance(v, Mapping), "an object")
LIST = _kind(lambda v: isinstance(v, list), "a list")
SCALAR = _kind(
    lambda v: v is None or isinstance(v, str | int) or (isinstance(v, float) and math.isfinite(v)),
    "a string, number, boolean or null",
)


def _whole(v: Any) -> str | None:
    """A count: a whole number (written as 3.0 by another tool, `check_counters` reads it as 3)."""
    problem = _number(v)
    if problem is None and not (float(v).is_integer() and v >= 0):
        problem = "a whole number >= 0 (a count)"
    return problem


WHOLE: Check = _whole

#: Counters that count things (statements, rows, blocks of a single execution, runs): never a fraction. Means per
#: execution (server_ms, the loading scenario's pg_stat_statements buffers), ratios (row_explosion, estimate_error)
#: and sizes in KiB (peak_kib) may have fractions, and so may counters this version does not know.
COUNTS = frozenset(
    {
        "statements",
        "expected_statements",
        "round_trips",
        "parents",
        "rows",
        "logical_rows",
        "rows_read",
        "rows_returned",
        "rows_removed",
        "heap_fetches",
        "bytes",
        "batches",
        "memory_batches",
        "duplicates",
        "total",
        "warmup_runs",
        "cache_warm",
    }
)
_COUNT_PREFIXES = ("children_", "distinct_")


def is_count(name: str) -> bool:
    """Whether a counter counts things (a whole number), by its name."""
    return name in COUNTS or name.startswith(_COUNT_PREFIXES)


def check_counters(counters: Mapping[str, Any], where: str) -> dict[str, float]:
    """Counters checked (counts whole, the rest finite numbers) and kept as perfkit keeps them: counts as integers
    (3.0 read as 3), integers as written, other numbers as floats."""
    out: dict[str, float] = {}
    for name, value in counters.items():
        check_value(value, WHOLE if is_count(name) else NUMBER, f"{where}.{name}")
        out[name] = int(value) if is_count(name) or isinstance(value, int) else float(value)
    return out


def nullable(check: Check) -> Check:
    """`check`, or null."""

    def run(v: Any) -> str | None:
        problem = check(v)
        return None if v is None or problem is None else f"{problem} or null"

    return run


def _shown(value: Any) -> str:
    """The type of a wrong value, with the value itself when it is a short scalar: "a string ('3.0')"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")  # as the JSON spells it
    kind = json_type(value)
    if isinstance(value, str | int | float) and not isinstance(value, bool) and len(repr(value)) <= 40:
        return f"{kind} ({value!r})"
    return kind


def check_value(value: Any, check: Check, where: str) -> None:
    """Raise ResultsError naming `where` when `value` fails `check`."""
    expected = check(value)
    if expected is not None:
        raise ResultsError(f"field {where} must be {expected}, not {_shown(value)}")


def check_object(obj: Any, where: str) -> Mapping[str, Any]:
    """`obj` as an object, or ResultsError naming `where`."""
    check_value(obj, OBJECT, where)
    checked: Mapping[str, Any] = obj
    return checked


def check_fields(
    obj: Any, where: str, required: Mapping[str, Check], optional: Mapping[str, Check] | None = None
) -> Mapping[str, Any]:
    """Check an object's required and optional fields (other fields are ignored); the object itself returned."""
    checked = check_object(obj, where or "the document")
    for key, check in required.items():
        name = f"{where}.{key}" if where else key
        if key not in checked:
            raise ResultsError(f"missing field {name}")
        check_value(checked[key], check, name)
    for key, check in (optional or {}).items():
        if key in checked:
            check_value(checked[key], check, f"{where}.{key}" if where else key)
    return checked


def check_items(items: Any, where: str, check: Check) -> None:
    """Every element of a list, or every value of an object, passes `check` (the first that fails is named)."""
    if isinstance(items, Mapping):
        for key, value in items.items():
            check_value(value, check, f"{where}.{key}")
    else:
        check_value(items, LIST, where)
        for i, value in enumerate(items):
            check_value(value, check, f"{where}[{i}]")
