"""SQL for keyset pages: ORDER BY, and the cursor predicate as a row comparison or an index-friendly OR form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql

from perfkit._keyset_spec import KeysetSpec, SortKey
from perfkit.errors import KeysetSpecError

Predicate = tuple[sql.Composable, list[Any]]


def order_by(spec: KeysetSpec) -> sql.Composed:
    """`a DESC, b ASC NULLS FIRST, ...`; NULLS is spelled out only where it differs from PostgreSQL's default."""
    parts = []
    for k in spec.keys:
        text = " DESC" if k.descending else " ASC"
        if k.nulls_first is not None and k.nulls_first != k.descending:
            text += " NULLS FIRST" if k.nulls_first else " NULLS LAST"
        parts.append(sql.Composed([sql.Identifier(k.column), sql.SQL(text)]))
    return sql.SQL(", ").join(parts)


def select_list(spec: KeysetSpec) -> sql.Composable:
    return sql.SQL("*") if spec.columns is None else sql.SQL(", ").join(map(sql.Identifier, spec.columns))


def uses_row_comparison(spec: KeysetSpec) -> bool:
    """True when one row comparison `(a, b) < (x, y)` is exact: every key NOT NULL and in one direction."""
    first = spec.keys[0].descending
    return all(not k.nullable and k.descending == first for k in spec.keys)


def _cols(keys: Sequence[SortKey]) -> sql.Composable:
    ids = [sql.Identifier(k.column) for k in keys]
    return ids[0] if len(ids) == 1 else sql.SQL("({})").format(sql.SQL(", ").join(ids))


def _marks(n: int) -> sql.Composable:
    return sql.SQL("%s") if n == 1 else sql.SQL("({})").format(sql.SQL(", ").join([sql.SQL("%s")] * n))


def _row_compare(keys: Sequence[SortKey], values: Sequence[Any], op: str) -> Predicate:
    return sql.SQL("{} {} {}").format(_cols(keys), sql.SQL(op), _marks(len(keys))), list(values)


def _after(key: SortKey, value: Any) -> Predicate | None:
    """Rows strictly after `value` under this key alone; None when nothing can come after (NULL placed last)."""
    col = sql.Identifier(key.column)
    if value is None:
        return (sql.SQL("{} IS NOT NULL").format(col), []) if key.nulls_come_first else None
    cmp = sql.SQL("{} {} %s").format(col, sql.SQL("<" if key.descending else ">"))
    if key.nullable and not key.nulls_come_first:
        return sql.SQL("({} OR {} IS NULL)").format(cmp, col), [value]
    return cmp, [value]


def _equal(key: SortKey, value: Any) -> Predicate:
    col = sql.Identifier(key.column)
    if value is None:
        return sql.SQL("{} IS NULL").format(col), []
    return sql.SQL("{} = %s").format(col), [value]


def _bound(keys: Sequence[SortKey], values: Sequence[Any]) -> Predicate | None:
    """A redundant condition on the leading key(s) that a btree can seek with; None when none exists.

    The longest leading run of NOT NULL keys in the first key's direction gives `(a, b) >= (x, y)` (or `<=`).
    A nullable first key still gives `a >= x` when its NULLs come before x, or `a IS NULL` when the cursor
    sits in the NULL group placed last.
    """
    lead = keys[0]
    run = 0
    while run < len(keys) and not keys[run].nullable and keys[run].descending == lead.descending:
        run += 1
    op = "<=" if lead.descending else ">="
    if run:
        return _row_compare(keys[:run], values[:run], op)
    if values[0] is None:
        return None if lead.nulls_come_first else (sql.SQL("{} IS NULL").format(sql.Identifier(lead.column)), [])
    if lead.nulls_come_first:
        return _row_compare(keys[:1], values[:1], op)
    return None


def _expanded(keys: Sequence[SortKey], values: Sequence[Any]) -> Predicate:
    """OR over i of (keys before i equal AND key i after): exact for any directions and NULL placements."""
    terms: list[sql.Composable] = []
    params: list[Any] = []
    for i, key in enumerate(keys):
        after = _after(key, values[i])
        if after is None:
            continue
        conds = [_equal(k, v) for k, v in zip(keys[:i], values[:i], strict=True)] + [after]
        terms.append(sql.SQL(" AND ").join(c for c, _ in conds))
        for _, p in conds:
            params += p
    if not terms:
        return sql.SQL("FALSE"), []
    if len(terms) == 1:
        return terms[0], params
    return sql.SQL("({})").format(sql.SQL(" OR ").join(sql.SQL("({})").format(t) for t in terms)), params


def cursor_predicate(spec: KeysetSpec, values: Sequence[Any]) -> Predicate:
    """The WHERE condition for rows strictly after the cursor `values` in the spec's order."""
    keys = spec.keys
    if len(values) != len(keys):
        raise KeysetSpecError(f"cursor for {spec} needs {len(keys)} values, got {len(values)}")
    for k, v in zip(keys, values, strict=True):
        if v is None and not k.nullable:
            raise KeysetSpecError(f"cursor value for NOT NULL key {k.column!r} is NULL")
    if uses_row_comparison(spec):
        return _row_compare(keys, values, "<" if keys[0].descending else ">")
    exact, exact_params = _expanded(keys, values)
    bound = _bound(keys, values)
    if bound is None:
        return exact, exact_params
    return sql.SQL("{} AND {}").format(bound[0], exact), bound[1] + exact_params
