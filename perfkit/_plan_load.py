"""Reading an EXPLAIN document (text, bytes, list or dict) into the top-level JSON object, with one-line errors."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from perfkit.errors import PlanError

# "Execution Time:" starts a line of a text plan too: only YAML has the keys "Plan:" and "Node Type:".
_YAML_PLAN = re.compile(r"^\s*-?\s*(Plan|Node Type):", re.MULTILINE)
_XML_PLAN = re.compile(r"^\s*<(\?xml|explain\b)")
_FORMAT_JSON = "perfkit reads EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output: save the plan with FORMAT JSON"
MAX_DEPTH = 400  # nodes nested deeper than any real plan (the tree is read and drawn recursively)
_TEXT_PLAN = re.compile(
    r"\(cost=\d|\(actual time=|\(actual rows=|^\s*->\s|never executed|Planning Time:|Execution Time:"
    r"|^\s*(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan|Nested Loop|Hash Join|Merge Join|Sort|Limit"
    r"|Aggregate|HashAggregate|GroupAggregate|Gather|Result|Update|Insert|Delete)\b",
    re.MULTILINE,
)
_PSQL_FOOTER = re.compile(r"^\(\d+ rows?\)\s*$", re.MULTILINE)
# No real plan comes near this: 1e15 ms is 31,000 years, 1e15 blocks 8 EiB. Beyond it a figure is corrupt (1e308).
MAX_FIGURE = 1e15
_TOP_TIMES = ("Planning Time", "Execution Time")
_MEASURED = frozenset(
    {"Workers Launched", "Time", "Calls", "Sort Space Used", "Disk Usage", "Peak Memory Usage", "Hash Batches"}
    | {"HashAgg Batches"}
)


def _constant(name: str) -> float:
    raise PlanError(f"the plan holds {name}, not a number: it is not EXPLAIN output (or was edited)")


def _measured(key: str) -> bool:
    """A key whose value PostgreSQL measured: times, rows, loops, blocks, counts (not costs or estimates)."""
    prefixed = key.startswith(("Actual ", "Rows Removed")) or key.endswith((" Blocks", " Time", " Fetches"))
    return prefixed or key in _MEASURED


def check_figure(key: str, value: object, where: str, *, measured: bool | None = None) -> None:
    """A number of the plan must be finite; a measured one (see _measured) also between 0 and MAX_FIGURE.

    Raises PlanError (one line) otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise PlanError(f"{where}: {key!r} is {value}, not a finite number")
    if (_measured(key) if measured is None else measured) and not 0 <= value <= MAX_FIGURE:
        raise PlanError(f"{where}: {key!r} is {value:g}, not a measured figure (0 to {MAX_FIGURE:g})")


def _strip_psql_frame(text: str) -> str:
    """psql's aligned output of a JSON plan: drop the header, the dashes, the row count and the "+" continuations."""
    lines = [line for line in text.splitlines() if line.strip() not in ("QUERY PLAN",)]
    lines = [line for line in lines if not re.fullmatch(r"\s*-{3,}\s*", line)]
    text = "\n".join(re.sub(r"\s*\+\s*$", "", line) for line in lines)
    return _PSQL_FOOTER.sub("", text).strip()


def _loads(text: str) -> Any:
    stripped = text.strip()
    if not stripped:
        raise PlanError("the plan is empty")
    if stripped[0] not in "[{":
        cleaned = _strip_psql_frame(stripped)
        if cleaned[:1] in ("[", "{"):
            stripped = cleaned
        elif _XML_PLAN.match(stripped):
            raise PlanError(f"this is an XML-format plan; {_FORMAT_JSON}")
        elif _YAML_PLAN.search(stripped):
            raise PlanError(f"this is a YAML-format plan; {_FORMAT_JSON}")
        elif _TEXT_PLAN.search(stripped):
            raise PlanError(f"this is a text-format plan; {_FORMAT_JSON}")
        else:
            raise PlanError(f"not a JSON plan: it starts with {stripped[:30]!r}")
    try:
        return json.loads(stripped, parse_constant=_constant)
    except RecursionError:
        raise PlanError(f"the plan is nested more than {MAX_DEPTH} levels deep: more than perfkit reads") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(stripped.rstrip()) - 1 or "Unterminated string" in exc.msg:
            raise PlanError(
                f"truncated plan JSON: the document ends early (line {exc.lineno}, column {exc.colno})"
            ) from None
        raise PlanError(f"malformed plan JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None


def load_document(doc: object) -> dict[str, Any]:
    """The top-level object of an EXPLAIN FORMAT JSON result (the one holding "Plan")."""
    if isinstance(doc, bytes | bytearray):
        try:
            doc = bytes(doc).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PlanError("the plan is not UTF-8 text") from None
    if isinstance(doc, str):
        doc = _loads(doc)
    if isinstance(doc, Sequence) and not isinstance(doc, str):
        if len(doc) != 1:
            raise PlanError(f"expected a list holding one plan, got a list of {len(doc)} items")
        doc = doc[0]
    if not isinstance(doc, Mapping):
        raise PlanError(f"expected a JSON object with a 'Plan' key, got {type(doc).__name__}")
    if "Plan" not in doc:
        if "Node Type" in doc:  # a bare plan node
            return {"Plan": dict(doc)}
        raise PlanError("the JSON object has no 'Plan' key: is this EXPLAIN (FORMAT JSON) output?")
    _check_top(doc)
    _check_depth(doc["Plan"])
    return dict(doc)


def _check_depth(root: object) -> None:
    """Refuse a tree nested deeper than MAX_DEPTH levels (walked without recursion)."""
    stack: list[tuple[object, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise PlanError(f"the plan is nested more than {MAX_DEPTH} levels deep: more than perfkit reads")
        plans = node.get("Plans") if isinstance(node, Mapping) else None
        if isinstance(plans, list):
            stack.extend((child, depth + 1) for child in plans)


def _check_top(doc: Mapping[str, Any]) -> None:
    """Planning / Execution Time, the triggers' times and calls, the JIT timings: finite, measured figures."""
    for key in _TOP_TIMES:
        check_figure(key, doc.get(key), "the plan")
    triggers = doc.get("Triggers")
    for item in triggers if isinstance(triggers, list) else []:
        for key, value in item.items() if isinstance(item, Mapping) else ():
            check_figure(key, value, "a trigger")
    jit = doc.get("JIT")
    timing = jit.get("Timing") if isinstance(jit, Mapping) else None
    for key, value in timing.items() if isinstance(timing, Mapping) else ():
        for part, figure in value.items() if isinstance(value, Mapping) else [(key, value)]:
            check_figure(part, figure, "JIT timing", measured=True)


def check_node(node: object, path: str) -> dict[str, Any]:
    """A plan node as a dict, after checking the keys the model relies on."""
    if not isinstance(node, Mapping):
        raise PlanError(f"plan node at {path} is not a JSON object")
    node_type = node.get("Node Type")
    if not isinstance(node_type, str):
        raise PlanError(f"plan node at {path} has no 'Node Type'")
    where = f"plan node at {path} ({node_type})"
    for key, value in node.items():
        if (key.startswith(("Actual ", "Rows Removed")) or key.endswith(" Blocks") or key == "Plan Rows") and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise PlanError(f"{where}: {key!r} is not a number")
        check_figure(key, value, where)
        if key == "Plan Rows" and value < 0:
            raise PlanError(f"{where}: 'Plan Rows' is {value:g}, not a row estimate")
        for entry in value if isinstance(value, list) and key != "Plans" else []:  # per-worker figures (children
            # are checked on their own, under their own path)
            for sub, figure in entry.items() if isinstance(entry, Mapping) else ():
                check_figure(sub, figure, f"{where}, {key}")
    plans = node.get("Plans", [])
    if not isinstance(plans, list):
        raise PlanError(f"plan node at {path} ({node_type}): 'Plans' is not a list")
    return dict(node)


def number(value: object) -> float | None:
    """A JSON number as float; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
