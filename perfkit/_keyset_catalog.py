"""Catalog look-ups for keyset specs: NOT NULL columns, unique column sets and the primary key of a table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from perfkit.errors import KeysetSpecError

_COLUMNS = """
SELECT attname, attnotnull FROM pg_attribute
WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped
"""

# Unique, valid, non-partial indexes on plain columns; a unique set only counts when all its columns are NOT NULL
# (two NULLs are not equal, so a nullable unique column does not make the order total).
_UNIQUE = """
SELECT i.indisprimary, array_agg(a.attname ORDER BY k.ord), bool_and(a.attnotnull)
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
GROUP BY i.indexrelid, i.indisprimary
"""


@dataclass(frozen=True, slots=True)
class TableInfo:
    """What a keyset spec needs to know about a table."""

    name: str
    notnull: dict[str, bool]
    unique_sets: tuple[frozenset[str], ...]
    primary_key: tuple[str, ...]


def table_info(conn: psycopg.Connection[Any], table: str, schema: str | None = None) -> TableInfo:
    """Columns (NOT NULL or not), NOT NULL unique column sets and the primary key of `schema.table`."""
    ident = sql.Identifier(schema, table) if schema else sql.Identifier(table)
    name = ident.as_string(conn)
    cur = conn.cursor(row_factory=tuple_row)  # whatever row factory the caller's connection uses
    row = cur.execute("SELECT to_regclass(%s)::oid", (name,)).fetchone()
    if row is None or row[0] is None:
        raise KeysetSpecError(f"table {name} does not exist")
    oid = row[0]
    notnull = {str(n): bool(nn) for n, nn in cur.execute(_COLUMNS, (oid,)).fetchall()}
    unique_sets: list[frozenset[str]] = []
    primary: tuple[str, ...] = ()
    for is_primary, cols, all_notnull in cur.execute(_UNIQUE, (oid,)).fetchall():
        if is_primary:
            primary = tuple(cols)
        if all_notnull:
            unique_sets.append(frozenset(cols))
    return TableInfo(name, notnull, tuple(unique_sets), primary)
