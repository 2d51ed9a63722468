"""Formatting numbers and frames for people: units, rounding, thousands separators."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from perfkit.results import Environment


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fmt_ms(x: Any) -> str:
    """A duration in milliseconds with three significant figures: '0.123 ms', '12.3 ms', '1,234 ms'."""
    if _missing(x):
        return "–"
    v = float(x)
    if abs(v) < 0.00005:
        return "0 ms"
    if abs(v) >= 1000:
        return f"{v:,.0f} ms"
    digits = min(4, max(0, 2 - math.floor(math.log10(abs(v)))))
    return f"{v:.{digits}f} ms"


def fmt_spread(x: Any) -> str:
    """A spread figure (CI bound, quartile, deviation) in ms; 'n/a' where it cannot be computed (one sample)."""
    return "n/a" if _missing(x) else fmt_ms(x)


def fmt_count(x: Any) -> str:
    """A count with thousands separators ('1,001'); fractions keep one decimal."""
    if _missing(x):
        return "–"
    v = round(float(x), 1)
    if v == 0:
        return "0"
    return f"{v:,.0f}" if v == round(v) else f"{v:,.1f}"


def fmt_bytes(x: Any) -> str:
    """A size in binary units, switching unit at 1000 so no value shows four digits: '8.0 KiB', '0.98 MiB'."""
    if _missing(x):
        return "–"
    v = float(x)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(v) < 1000 or unit == "GiB":
            if unit == "B":
                return f"{v:,.0f} {unit}"
            return f"{v:.2f} {unit}" if abs(v) < 1 else f"{v:,.1f} {unit}"
        v /= 1024
    raise AssertionError("unreachable")


def fmt_pct(x: Any) -> str:
    """A signed percentage: '+12.3 %', '-4.0 %'."""
    if _missing(x):
        return "–"
    return f"{float(x):+.1f} %"


def fmt_ratio(x: Any) -> str:
    """A speed-up factor: '0.52×', '3.4×', '120×'."""
    if _missing(x):
        return "–"
    v = float(x)
    if v >= 100:
        return f"{v:,.0f}×"
    if v >= 10:
        return f"{v:.1f}×"
    return f"{v:.2f}×"


def fmt_sig(x: Any, digits: int = 2) -> str:
    """A small ratio with `digits` significant figures in fixed notation ('0.0013', '0.52', '2.0'); noise below 1e-9
    is 0."""
    if _missing(x):
        return "–"
    v = float(x)
    if abs(v) < 1e-9:
        return "0"
    if abs(v) >= 10**digits:
        return f"{v:,.0f}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(v))))
    return f"{v:.{decimals}f}"


def fmt_fixed(x: Any) -> str:
    """A float in fixed notation: float noise (|x| < 1e-9) is 0, small values keep 3 significant figures."""
    if _missing(x):
        return "–"
    v = float(x)
    if abs(v) < 1e-9:
        return "0"
    if abs(v) >= 100:
        return fmt_count(v)
    return fmt_sig(v, 3)


def fmt_r2(x: Any) -> str:
    """A coefficient of determination, unitless, three decimals."""
    return "–" if _missing(x) else f"{float(x):.3f}"


def fmt_slope(x: Any) -> str:
    """A growth rate in ms per 1,000 rows of depth."""
    if _missing(x):
        return "–"
    return f"{fmt_ms(x)} / 1k rows"


def fmt_plain(x: Any) -> str:
    if _missing(x):
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return fmt_count(x) if x == round(x) else fmt_fixed(x)
    if isinstance(x, list | tuple):
        return ", ".join(str(v) for v in x) or "–"
    return str(x)


# Column name -> (label for people, formatter). Columns not listed keep their name and use fmt_plain,
# except by suffix: *_ms, *_bytes, *_pct, *_per_1k_ms.
_COLUMNS: Mapping[str, tuple[str, Callable[[Any], str]]] = {
    "median_ms": ("median", fmt_ms),
    "ci_low_ms": ("95% CI low", fmt_spread),
    "ci_high_ms": ("95% CI high", fmt_spread),
    "q1_ms": ("q1", fmt_spread),
    "q3_ms": ("q3", fmt_spread),
    "stdev_ms": ("stdev", fmt_spread),
    "speedup": ("speed-up vs none", fmt_ratio),
    "ratio": ("ratio", fmt_ratio),
    "slope_ms_per_1k": ("time slope", fmt_slope),
    "slope_buffers_per_1k": ("buffers slope (per 1k rows)", fmt_fixed),
    "slope_rows_read_per_1k": ("rows read slope (per 1k rows)", fmt_fixed),
    "r2_ms": ("r² (time fit)", fmt_r2),
    "rows_per_logical_row": ("rows sent / logical rows", fmt_sig),
    "bytes_vs_batched": ("bytes vs batched", lambda x: "–" if _missing(x) else f"{float(x):.2f}×"),
    "change_pct": ("median change", fmt_pct),
    "drift_change_pct": ("change vs drift", fmt_pct),
    "overhead_pct": ("write overhead", fmt_pct),
    "statements": ("statements", fmt_count),
    "round_trips": ("round trips", fmt_count),
    "rows": ("rows", fmt_count),
    "bytes": ("bytes transferred", fmt_bytes),
    "buffers": ("buffers (8 KiB pages)", fmt_count),
    "n": ("N", fmt_count),
    "depth": ("depth (rows)", fmt_count),
    "page_size": ("page size", fmt_count),
    "size_bytes": ("size", fmt_bytes),
    "rtt_ms": ("added round-trip time", fmt_ms),
    "samples": ("samples", fmt_count),
}


def _for_column(col: str) -> tuple[str, Callable[[Any], str]]:
    if col in _COLUMNS:
        return _COLUMNS[col]
    if col.startswith("rtt_") and col.endswith("_ms"):
        return f"at +{col[4:-3]} ms per round trip", fmt_ms
    label = col.replace("_", " ")
    if col.endswith("_ms"):
        return label[:-3], fmt_ms
    if col.endswith("_bytes"):
        return label[:-6], fmt_bytes
    if col.endswith("_pct"):
        return label[:-4] + " %", fmt_pct
    if col.endswith(("_blocks", "_count")) or col.startswith("rows_"):
        return label, fmt_count
    return label, fmt_plain


def format_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a report frame with every cell as a string for people (units, rounding) and readable headers."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        label, fmt = _for_column(str(col))
        out[label] = [fmt(v) for v in df[col]]
    return out.reset_index(drop=True)


def machine_line(machine: Mapping[str, str | int | None]) -> str:
    """The machine in a few words: 'Linux 6.1 x86_64, 2 CPUs, 23.5 GiB RAM' (unknown keys as key=value)."""
    known = ("hostname", "system", "machine", "processor", "cpu_count", "memory_bytes")
    parts = [" ".join(str(machine[k]) for k in ("system", "machine") if machine.get(k))]
    if machine.get("cpu_count"):
        parts.append(f"{machine['cpu_count']} CPUs")
    mem = machine.get("memory_bytes")
    if isinstance(mem, int) and mem > 0:
        parts.append(f"{fmt_bytes(mem)} RAM")
    parts += [f"{k}={v}" for k, v in machine.items() if k not in known]
    return ", ".join(p for p in parts if p)


def realism_line(realism: Mapping[str, Any] | None) -> str:
    """The seed's realism report in one line: rows, author skew, status mix, rows dated before what they refer to."""
    if not realism:
        return "–"
    parts = []
    rows = realism.get("rows") or {}
    if rows:
        parts.append(f"{sum(rows.values()):,} rows")
    ppa = realism.get("posts_per_author") or {}
    if "top1_share" in ppa:
        parts.append(f"top 1% of authors write {ppa['top1_share']:.0%} of posts")
    mix = realism.get("status_mix") or {}
    if mix:
        shares = sorted(mix.items(), key=lambda kv: (-kv[1], kv[0]))  # one order, however the report was stored
        parts.append("status " + ", ".join(f"{k} {v:.0%}" for k, v in shares))
    order = realism.get("time_order")
    if order is not None:
        wrong = sum(order.values())
        parts.append(f"{wrong:,} rows dated before what they refer to" if wrong else "time order sound")
    return "; ".join(parts) or "–"


def environment_items(env: Environment) -> list[tuple[str, str]]:
    """The environment as (label, value) pairs, in reading order."""
    machine = machine_line(env.machine) or "–"
    if env.machine.get("hostname"):
        machine = f"{env.machine['hostname']}: {machine}"
    settings = ", ".join(f"{k}={v}" for k, v in sorted(env.server_settings.items())) or "–"
    return [
        ("PostgreSQL", env.server_version + (" (embedded)" if env.embedded else "")),
        ("server settings", settings),
        ("scale", fmt_plain(env.scale)),
        ("seed", fmt_plain(env.seed)),
        ("profile", fmt_plain(env.profile)),
        ("data fingerprint", fmt_plain(env.data_fingerprint)),
        ("data", realism_line(env.realism)),
        ("machine", machine),
        ("Python", env.python_version),
        ("perfkit", env.perfkit_version + (f" (git {env.git_commit[:10]})" if env.git_commit else "")),
        ("timing protocol", env.timing_protocol),
        ("started", env.started_at),
    ]


def environment_line(env: Environment) -> str:
    """The environment in one line, for figure footers."""
    keys = ("shared_buffers", "work_mem", "jit")
    settings = " ".join(f"{k}={env.server_settings[k]}" for k in keys if k in env.server_settings)
    m = env.machine
    system = str(m.get("system") or "").split(" ")[0]
    machine = " ".join(p for p in (system, str(m.get("machine") or "")) if p)
    if m.get("cpu_count"):
        machine += f", {m['cpu_count']} CPUs"
    parts = [
        f"PostgreSQL {env.server_version.split(' ')[0]}",
        f"scale {fmt_plain(env.scale)}, seed {fmt_plain(env.seed)}",
        settings,
        machine,
        env.started_at[:10],
    ]
    return " · ".join(p for p in parts if p)
