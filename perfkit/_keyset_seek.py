"""Does a keyset page's plan seek to the cursor (an Index Cond) or only filter rows by it? Reads raw EXPLAIN JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from perfkit._keyset_spec import KeysetSpec
from perfkit.errors import PlanError

_INDEX_NODES = frozenset({"Index Scan", "Index Only Scan", "Bitmap Index Scan"})
_SIMPLE_IDENT = re.compile(r"[a-z_][a-z0-9_$]*")


@dataclass(frozen=True, slots=True)
class SeekCheck:
    """Where the cursor predicate on the leading sort key sits in a plan."""

    is_seek: bool
    node_type: str | None
    index_name: str | None
    index_cond: str | None
    filter: str | None
    reason: str


def _column_pattern(column: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    alts = [re.escape(quoted)]
    if _SIMPLE_IDENT.fullmatch(column):
        alts.append(re.escape(column))
    name = r"(?:[\w$]+\.|\"(?:[^\"]|\"\")+\"\.)?(?:" + "|".join(alts) + r")(?![\w$])"
    cmp = r"(?:<=|>=|<(?![>=])|>(?!=))"
    row = r"ROW\(\s*" + name + r"\s*,[^()]*\)\s*" + cmp
    plain = r"(?<![\w$.\"])" + name + r"\)?\s*" + cmp
    null = r"(?<![\w$.\"])" + name + r"\)?\s+IS\s+(?:NOT\s+)?NULL"
    return f"(?:{row}|{plain}|{null})"


def _equality_pattern(column: str) -> str:
    quoted = re.escape('"' + column.replace('"', '""') + '"')
    name = f"(?:{quoted}|{re.escape(column)})" if _SIMPLE_IDENT.fullmatch(column) else quoted
    return r"(?<![\w$.\"])(?:[\w$]+\.)?" + name + r"\)?\s*=\s"


def _index_columns(conn: psycopg.Connection[Any], spec: KeysetSpec, index: str) -> list[str]:
    name = (sql.Identifier(spec.schema, index) if spec.schema else sql.Identifier(index)).as_string(conn)
    row = (
        conn.cursor(row_factory=tuple_row)
        .execute(
            "SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_index i"
            " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
            " LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indexrelid = to_regclass(%s)",
            (name,),
        )
        .fetchone()
    )
    return [str(c) for c in row[0]] if row and row[0] else []


def _leads(columns: list[str], column: str, cond: str) -> bool:
    """Whether `column` is the index's first column not pinned by an equality in `cond` (so the scan seeks)."""
    for c in columns:
        if c == column:
            return True
        if not re.search(_equality_pattern(c), cond):
            return False
    return False


def _nodes(node: dict[str, Any], relation: str | None) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Every plan node with the relation it reads (a Bitmap Index Scan takes its Bitmap Heap Scan's)."""
    rel = node.get("Relation Name", relation if node.get("Node Type") == "Bitmap Index Scan" else None)
    yield node, rel
    for child in node.get("Plans", ()):
        if not isinstance(child, dict):
            raise PlanError("EXPLAIN JSON has a child plan that is not an object")
        yield from _nodes(child, rel if node.get("Node Type") == "Bitmap Heap Scan" else None)


def _root(plan_json: Any) -> dict[str, Any]:
    doc = plan_json
    if isinstance(doc, list):
        if len(doc) != 1:
            raise PlanError("EXPLAIN JSON should hold exactly one plan")
        doc = doc[0]
    if isinstance(doc, dict) and "Plan" in doc:
        doc = doc["Plan"]
    if not isinstance(doc, dict) or "Node Type" not in doc:
        raise PlanError("EXPLAIN JSON has no plan node")
    return doc


def check_seek(plan_json: Any, spec: KeysetSpec, conn: psycopg.Connection[Any] | None = None) -> SeekCheck:
    """Where the cursor condition on the spec's leading key appears: Index Cond (a seek) or only a Filter.

    Takes `EXPLAIN (FORMAT JSON)` output as loaded (a list, a {"Plan": ...} dict or a plan node). An Index Cond
    on a column that is not the index's leading one (after columns pinned by `=`) still scans the whole index;
    the plan alone does not show that, so pass `conn` to look the index's columns up and catch it.
    """
    pattern = re.compile(_column_pattern(spec.keys[0].column))
    filtered: tuple[dict[str, Any], str] | None = None
    for node, relation in _nodes(_root(plan_json), None):
        if relation != spec.table:
            continue
        cond = node.get("Index Cond")
        if node.get("Node Type") in _INDEX_NODES and isinstance(cond, str) and pattern.search(cond):
            index = node.get("Index Name")
            if conn is not None and isinstance(index, str):
                if not _leads(_index_columns(conn, spec, index), spec.keys[0].column, cond):
                    reason = f"{spec.keys[0].column} is not a leading column of {index}: the whole index is scanned"
                    return SeekCheck(False, node["Node Type"], index, cond, node.get("Filter"), reason)
            return SeekCheck(True, node["Node Type"], index, cond, node.get("Filter"), "index seek")
        for key in ("Filter", "Recheck Cond"):
            text = node.get(key)
            if filtered is None and isinstance(text, str) and pattern.search(text):
                filtered = node, text
    if filtered is not None:
        node, text = filtered
        return SeekCheck(
            False,
            node.get("Node Type"),
            node.get("Index Name"),
            node.get("Index Cond"),
            text,
            f"cursor predicate on {spec.keys[0].column} is only a Filter: rows are read and thrown away",
        )
    return SeekCheck(False, None, None, None, None, f"no cursor predicate on {spec.keys[0].column} in the plan")


def cursor_predicate_is_seek(plan_json: Any, spec: KeysetSpec, conn: psycopg.Connection[Any] | None = None) -> bool:
    """True when the cursor predicate is an Index Cond on the spec's table (the index seeks to the cursor)."""
    return check_seek(plan_json, spec, conn).is_seek
