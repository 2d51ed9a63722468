"""JSON-ready figures of a plan: floats without binary noise, never Infinity or NaN."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from perfkit.errors import PlanError

# Ratios (actual / planned rows and how far off): three significant digits are all they mean.
_FACTORS = frozenset({"estimate_factor", "magnitude"})


def rounded(value: Any, key: str = "") -> Any:
    """Floats without binary noise: `*_ms` to 3 decimals (always a float), factors to 3 significant digits,
    percentages to 2 decimals, anything else to 3 decimals; ints, strings and None unchanged."""
    if isinstance(value, Mapping):
        return {k: rounded(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, key) for v in value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if not math.isfinite(value):  # parse_plan refuses such plans; never let Infinity / NaN reach JSON output
        raise PlanError(f"{key or 'a figure'} is {value}: the plan's figures are not finite")
    if key.endswith("_ms"):
        return round(float(value), 3)
    if not isinstance(value, float):
        return value
    if key in _FACTORS:
        return float(f"{value:.3g}")
    return round(value, 2 if key == "percent" else 3)
