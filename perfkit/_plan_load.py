"""Reading an EXPLAIN document (text, bytes, list or dict) into the top-level JSON object, with one-line errors."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from perfkit.errors import PlanError

_TEXT_PLAN = re.compile(
    r"\(cost=\d|\(actual time=|\(actual rows=|^\s*->\s|never executed|Planning Time:|Execution Time:"
    r"|^\s*(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan|Nested Loop|Hash Join|Merge Join|Sort|Limit"
    r"|Aggregate|HashAggregate|GroupAggregate|Gather|Result|Update|Insert|Delete)\b",
    re.MULTILINE,
)
_PSQL_FOOTER = re.compile(r"^\(\d+ rows?\)\s*$", re.MULTILINE)


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
        elif _TEXT_PLAN.search(stripped):
            raise PlanError("this is a text-format plan; perfkit reads EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output")
        else:
            raise PlanError(f"not a JSON plan: it starts with {stripped[:30]!r}")
    try:
        return json.loads(stripped)
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
    return dict(doc)


def check_node(node: object, path: str) -> dict[str, Any]:
    """A plan node as a dict, after checking the keys the model relies on."""
    if not isinstance(node, Mapping):
        raise PlanError(f"plan node at {path} is not a JSON object")
    node_type = node.get("Node Type")
    if not isinstance(node_type, str):
        raise PlanError(f"plan node at {path} has no 'Node Type'")
    for key, value in node.items():
        if (key.startswith(("Actual ", "Rows Removed")) or key.endswith(" Blocks") or key == "Plan Rows") and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise PlanError(f"plan node at {path} ({node_type}): {key!r} is not a number")
    plans = node.get("Plans", [])
    if not isinstance(plans, list):
        raise PlanError(f"plan node at {path} ({node_type}): 'Plans' is not a list")
    return dict(node)


def number(value: object) -> float | None:
    """A JSON number as float; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
