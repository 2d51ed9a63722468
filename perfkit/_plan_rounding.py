"""How much PostgreSQL's rounding of per-loop figures matters: approximate totals, material errors, one warning.

PostgreSQL prints rows per loop rounded and times per loop to 0.001 ms, so over many loops a total is only known
within loops x half the last digit (PlanNode.rows_total_error, inclusive_ms_error, exclusive_ms_error). An error is
material when it is more than MATERIAL (10%) of the node's figure; for times also at least MATERIAL_OF_PLAN (1%) of the
plan's total, so that microseconds on a trivial node do not count.
"""

from __future__ import annotations

from collections.abc import Iterable

from perfkit._plan_records import PlanNode

MATERIAL = 0.10
MATERIAL_OF_PLAN = 0.01
#: Half the last digit PostgreSQL prints of a time (three decimals of a millisecond).
ROUNDING_MS = 0.0005


def material_rows(node: PlanNode) -> bool:
    """The row total's rounding error is more than 10% of it (of one row when none were counted)."""
    return node.rows_total_error > MATERIAL * max(node.rows_total, 1)


def material_time(node: PlanNode, total_ms: float) -> bool:
    """The exclusive time's rounding error is more than 10% of it and at least 1% of the plan's time."""
    return material_error(node.exclusive_ms, node.exclusive_ms_error, total_ms)


def material_error(ms: float, error: float, total_ms: float) -> bool:
    """A time's rounding error is more than 10% of it and at least 1% of the plan's time."""
    return error > MATERIAL * ms and error >= MATERIAL_OF_PLAN * total_ms and error > 0


def approx_ms(value: float, error: float, *, material: bool) -> str:
    """'1.250 ms' exact as printed, '≈1.250 ms' approximate, '≈1.250 ms ±0.500' when the error is material."""
    if error <= 0:
        return f"{value:.3f} ms"
    return f"≈{value:.3f} ms" + (f" ±{error:.3f}" if material else "")


def rounding_warning(nodes: Iterable[PlanNode], total_ms: float, *, timed: bool) -> str | None:
    """One warning for the plan when some node's total is uncertain by a material share; None otherwise.

    It counts those nodes and gives two examples: the row total and the time with the largest errors.
    """
    executed = [n for n in nodes if not n.never_executed]
    rows = [n for n in executed if material_rows(n)]
    times = [n for n in executed if timed and material_time(n, total_ms)]
    if not rows and not times:
        return None
    examples: list[str] = []
    if rows:
        node = max(rows, key=lambda n: n.rows_total_error)
        examples.append(f"{node.label}: rows ≈{node.rows_total:,} ±{node.rows_total_error:,.0f}")
    if times:
        node = max(times, key=lambda n: (n.exclusive_ms_error, n.exclusive_ms))
        examples.append(f"{node.label}: {approx_ms(node.exclusive_ms, node.exclusive_ms_error, material=True)}")
    count = len({id(n) for n in (*rows, *times)})
    return (
        "PostgreSQL prints rows and times per loop rounded (rows to whole rows, times to 0.001 ms): totals over loops"
        f" are approximate (≈), by more than 10% for {count} node{'s' if count > 1 else ''}, e.g. "
        + "; ".join(examples)
    )
