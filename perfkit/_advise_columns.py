"""Columns a query filters, joins and sorts on, per relation, read from its EXPLAIN (FORMAT JSON) plan strings."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from perfkit.plan import Plan

_LITERAL = re.compile(r"'(?:[^']|'')*'")
_COMPARISON = re.compile(
    r"(?:\b(\w+)\.)?\b(\w+)\)?(?:::\w+)?\s*(=|<>|!=|<=|>=|<|>|~~\*?|!~~\*?|IS NULL|IS NOT NULL)(\s*ANY)?", re.I
)
_REVERSED = re.compile(r"(=|<=|>=|<|>)\s*\(?(?:\b(\w+)\.)?\b(\w+)\b(?!\s*\()")
_SORT_ITEM = re.compile(r"^\s*\(?(?:(\w+)\.)?(\w+)\)?(?:::\w+)?(\s+DESC)?(?:\s+NULLS\s+(?:FIRST|LAST))?\s*$", re.I)
_PAIR = re.compile(
    r"\(?(?:\b(\w+)\.)?\b(\w+)\)?(?:::\w+)?\s*(?:=|<>|!=|<=|>=|<|>)\s*\(?(?:\b(\w+)\.)?\b(\w+)\b(?!\s*\()\)?(?:::\w+)?"
)
_RANGE_OPS = ("<", ">", "<=", ">=")
_CONDITIONS = ("Filter", "Index Cond", "Recheck Cond", "Join Filter")
_JOINS = ("Hash Cond", "Merge Cond")


@dataclass(slots=True)
class ColumnUse:
    """How one relation's columns are used: equality, range, pattern (LIKE) predicates, sort keys and joins."""

    relation: str
    equality: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    pattern: list[str] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    join: list[str] = field(default_factory=list)

    def _add(self, bucket: list[str], column: str) -> None:
        if column not in bucket:
            bucket.append(column)

    @property
    def empty(self) -> bool:
        return not (self.equality or self.range or self.sort or self.join or self.pattern)

    def to_dict(self) -> dict[str, Any]:
        return {
            "relation": self.relation,
            "equality": list(self.equality),
            "range": list(self.range),
            "pattern": list(self.pattern),
            "sort": [f"{c} DESC" if d else c for c, d in self.sort],
            "join": list(self.join),
        }


def table_columns(conn: psycopg.Connection[Any], relations: Iterable[str]) -> dict[str, set[str]]:
    """Column names of each relation visible in the current schema (other relations are left out)."""
    out: dict[str, set[str]] = {}
    for rel in dict.fromkeys(relations):
        rows = conn.execute(
            "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'm', 'p') "
            "AND a.attnum > 0 AND NOT a.attisdropped",
            (rel,),
        ).fetchall()
        if rows:
            out[rel] = {str(r[0]) for r in rows}
    return out


class _Resolver:
    """Maps `alias.column` or a bare column to its relation."""

    def __init__(self, aliases: Mapping[str, str], columns: Mapping[str, set[str]], default: str | None) -> None:
        self.aliases, self.columns, self.default = aliases, columns, default

    def __call__(self, qualifier: str | None, column: str) -> str | None:
        if qualifier is not None:
            rel = self.aliases.get(qualifier, qualifier)
            return rel if column in self.columns.get(rel, set()) else None
        if self.default is not None and column in self.columns.get(self.default, set()):
            return self.default
        owners = [r for r, cols in self.columns.items() if column in cols]
        return owners[0] if len(owners) == 1 else None


def column_uses(conn: psycopg.Connection[Any], plan: Plan) -> dict[str, ColumnUse]:
    """Per relation of the current schema: the columns in the plan's conditions, join conditions and sort keys."""
    nodes = list(plan.nodes())
    aliases = {n.alias or n.relation: n.relation for n in nodes if n.relation}
    columns = table_columns(conn, [r for r in aliases.values() if r])
    uses: dict[str, ColumnUse] = {rel: ColumnUse(rel) for rel in columns}
    for node in nodes:
        resolve = _Resolver(aliases, columns, node.relation)
        for key in _CONDITIONS:
            text = node.raw.get(key)
            if isinstance(text, str):
                _conditions(_LITERAL.sub("''", text), resolve, uses)
        for key in _JOINS:
            text = node.raw.get(key)
            if isinstance(text, str):
                for q, c in re.findall(r"(?:\b(\w+)\.)?\b(\w+)\b", _LITERAL.sub("", text)):
                    rel = resolve(q or None, c)
                    if rel in uses:
                        uses[rel]._add(uses[rel].join, c)
        sort_key = node.raw.get("Sort Key")
        if isinstance(sort_key, list | tuple):
            for item in sort_key:
                m = _SORT_ITEM.match(str(item))
                rel = resolve(m.group(1), m.group(2)) if m else None
                if m and rel in uses and all(c != m.group(2) for c, _ in uses[rel].sort):
                    uses[rel].sort.append((m.group(2), bool(m.group(3))))
    return {rel: u for rel, u in uses.items() if not u.empty}


def _join_pairs(text: str, resolve: _Resolver, uses: dict[str, ColumnUse]) -> str:
    """File `a.x = b.y` (columns of two relations, or two aliases of one) as join keys of both sides; return the text
    without them, so that the remaining comparisons are the predicates against values."""

    def pair(m: re.Match[str]) -> str:
        q1, c1, q2, c2 = m.group(1), m.group(2), m.group(3), m.group(4)
        r1, r2 = resolve(q1, c1), resolve(q2, c2)
        if r1 is None or r2 is None or (r1 == r2 and (q1 or r1) == (q2 or r2)):
            return m.group(0)
        for rel, column in ((r1, c1), (r2, c2)):
            if rel in uses:
                uses[rel]._add(uses[rel].join, column)
        return "''"

    return _PAIR.sub(pair, text)


def _conditions(text: str, resolve: _Resolver, uses: dict[str, ColumnUse]) -> None:
    text = _join_pairs(text, resolve, uses)
    for m in _COMPARISON.finditer(text):
        qualifier, column, op, any_ = m.group(1), m.group(2), m.group(3).upper(), m.group(4)
        rel = resolve(qualifier, column)
        if rel not in uses:
            continue
        u = uses[rel]
        if op == "=" or (op == "=" and any_) or op.startswith("IS"):
            u._add(u.equality, column)
        elif op in _RANGE_OPS:
            u._add(u.range, column)
        elif "~~" in op:
            u._add(u.pattern, column)
    for m in _REVERSED.finditer(text):  # `'value' = col` or `x < col`: the column on the right-hand side
        rel = resolve(m.group(2), m.group(3))
        if rel not in uses:
            continue
        u = uses[rel]
        if m.group(1) == "=":
            u._add(u.equality, m.group(3))
        elif m.group(3) not in u.equality:
            u._add(u.range, m.group(3))
