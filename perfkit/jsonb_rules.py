"""JSONB predicates and the indexes that can serve them (C14): GIN operator classes, expression indexes, findings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg

from perfkit.plan import Plan

JSONB_OPS = ("@>", "?", "?|", "?&", "@?", "@@")
JSONB_PATH_OPS = ("@>", "@?", "@@")
OPCLASS_OPERATORS: dict[str, tuple[str, ...]] = {"jsonb_ops": JSONB_OPS, "jsonb_path_ops": JSONB_PATH_OPS}
"""Operators each GIN operator class for jsonb serves (PostgreSQL docs, "Built-in GIN operator classes")."""
BTREE_COMPARISONS = ("=", "<", ">", "<=", ">=")
NOT_SUPPORTED = "index present, operator not supported"

_Q = r"'((?:[^']|'')*)'(?:::text)?"
_LIT = r"'(?:[^']|'')*'(?:::text)?"
_LHS = rf"(?:\w+\.)?(?P<col>\w+)\s*(?P<path>(?:\s*->\s*{_LIT})*)"
_VALUE = r"'(?P<value>(?:[^']|'')*)'"
_OP_RE = re.compile(rf"{_LHS}\s*\)?\s*(?P<op>@>|@\?|@@|\?\||\?&|\?)\s*{_VALUE}")
_TEXT_RE = re.compile(
    rf"{_LHS}\s*\)?\s*->>\s*'(?P<key>(?:[^']|'')*)'(?:::text)?\s*\)\s*(?P<op><=|>=|<>|!=|=|<|>|~~\*|~~|!~~)\s*(?:{_VALUE})?"
)
_KEY_RE = re.compile(_Q)


@dataclass(frozen=True, slots=True)
class JsonbPredicate:
    """One JSONB predicate as the plan shows it: column, the `->` path before the operator, the operator."""

    column: str
    path: tuple[str, ...]
    operator: str
    value: str | None
    text_key: str | None = None  # for `col ->> 'key' <op> ...`: the key extracted as text

    @property
    def text(self) -> str:
        """The predicate without casts: `prefs ? 'beta_ui'`, `prefs ->> 'theme' = 'dark'`."""
        lhs = self.target[1:-1] if self.target.startswith("(") else self.target
        rhs = "" if self.value is None else " '" + self.value.replace("'", "''") + "'"
        return f"{lhs} {self.operator}{rhs}"

    @property
    def target(self) -> str:
        """The expression the operator applies to: `prefs`, `(prefs -> 'flags')` or `(prefs ->> 'theme')`."""
        expr = self.column + "".join(f" -> '{k}'" for k in self.path)
        if self.text_key is not None:
            return f"({expr} ->> '{self.text_key}')"
        return f"({expr})" if self.path else expr

    def serving_indexes(self) -> list[str]:
        """The index definitions that can serve this predicate, best first."""
        if self.text_key is not None:
            if self.operator in BTREE_COMPARISONS:
                return [f"btree ({self.target})"]
            return [f"gin ({self.target} gin_trgm_ops)"] if self.operator.startswith("~~") else []
        out: list[str] = []
        if self.operator in JSONB_PATH_OPS:
            out.append(f"gin ({self.target} jsonb_path_ops)")
        if self.operator in JSONB_OPS:
            out.append(f"gin ({self.target} jsonb_ops)")
        return out


def _unquote(s: str) -> str:
    return s.replace("''", "'")


def parse_predicates(condition: str) -> list[JsonbPredicate]:
    """The JSONB predicates in a plan condition (Filter, Index Cond, Recheck Cond)."""
    out: list[JsonbPredicate] = []
    for regex in (_TEXT_RE, _OP_RE):
        for m in regex.finditer(condition):
            path = tuple(_unquote(k) for k in _KEY_RE.findall(m.group("path") or ""))
            value = None if m.group("value") is None else _unquote(m.group("value"))
            key = _unquote(m.group("key")) if "key" in regex.groupindex else None
            out.append(JsonbPredicate(m.group("col"), path, m.group("op"), value, text_key=key))
    return out


@dataclass(frozen=True, slots=True)
class ExistingIndex:
    """An index of the relation: its access method, first key (as pg_get_indexdef shows it) and operator class."""

    name: str
    method: str
    key: str
    opclass: str


def _norm(expr: str) -> str:
    return re.sub(r"[\s()]|::text", "", expr)


def can_serve(index: ExistingIndex, pred: JsonbPredicate) -> bool:
    """Whether this index's method, key and operator class can serve the predicate."""
    if _norm(index.key) != _norm(pred.target):
        return False
    if index.method == "gin":
        return pred.operator in OPCLASS_OPERATORS.get(index.opclass, ())
    if index.method == "btree":
        return pred.text_key is not None and pred.operator in BTREE_COMPARISONS
    return False


def relevant(index: ExistingIndex, pred: JsonbPredicate) -> bool:
    """An index on the predicate's column or on an expression of it (the one a reader expects to be used)."""
    key = _norm(index.key)
    return key == pred.column or key.startswith(pred.column + "-")


def existing_indexes(conn: psycopg.Connection[Any], relation: str) -> list[ExistingIndex]:
    """Valid indexes of `relation` (current schema) with their first key and operator class."""
    rows = conn.execute(
        """
        SELECT c.relname, am.amname, pg_get_indexdef(x.indexrelid, 1, true), oc.opcname
        FROM pg_index x
        JOIN pg_class c ON c.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_am am ON am.oid = c.relam
        JOIN pg_opclass oc ON oc.oid = x.indclass[0]
        WHERE t.relname = %s AND t.relnamespace = current_schema()::regnamespace AND x.indisvalid
        ORDER BY 1
        """,
        (relation,),
    ).fetchall()
    return [ExistingIndex(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


@dataclass(frozen=True, slots=True)
class JsonbFinding:
    """A JSONB predicate no index served: which indexes were there, and what would serve it."""

    relation: str
    predicate: str
    node_type: str
    present: tuple[str, ...]
    suggestion: tuple[str, ...]

    @property
    def index_present(self) -> bool:
        return bool(self.present)

    @property
    def message(self) -> str:
        fix = " or ".join(self.suggestion) or "no index type serves it"
        if self.present:
            return f"{NOT_SUPPORTED}: {self.predicate} on {self.relation} ({', '.join(self.present)}); needs {fix}"
        return f"no index serves {self.predicate} on {self.relation}; needs {fix}"


def _describe(ix: ExistingIndex) -> str:
    ops = OPCLASS_OPERATORS.get(ix.opclass)
    served = f" serves {' '.join(ops)}" if ops else ""
    return f"{ix.name}: {ix.method} ({ix.key}) {ix.opclass}{served}"


def diagnose(conn: psycopg.Connection[Any], plan: Plan) -> list[JsonbFinding]:
    """JSONB predicates left in a scan's Filter (so no index applied them), with the indexes present and a fix."""
    out: list[JsonbFinding] = []
    for node in plan.nodes():
        flt = node.raw.get("Filter")
        if not node.relation or not isinstance(flt, str):
            continue
        preds = parse_predicates(flt)
        if not preds:
            continue
        existing = existing_indexes(conn, node.relation)
        for p in preds:
            if any(can_serve(ix, p) for ix in existing):
                continue  # a serving index exists; the planner preferred not to use it (cost), not a mismatch
            present = tuple(_describe(ix) for ix in existing if relevant(ix, p))
            out.append(JsonbFinding(node.relation, p.text, node.node_type, present, tuple(p.serving_indexes())))
    return out
