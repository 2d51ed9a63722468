"""The seeded tables' shape as the catalog has it (columns, constraints, indexes, triggers, types)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

_SHAPE = """
SELECT 'column', c.relname || '.' || a.attname,
       format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
       || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relname = ANY(%(tables)s) AND c.relnamespace = current_schema()::regnamespace
  AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', c.relname || '.' || k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
WHERE c.relname = ANY(%(tables)s) AND c.relnamespace = current_schema()::regnamespace
UNION ALL
SELECT 'index', i.relname, pg_get_indexdef(i.oid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
WHERE c.relname = ANY(%(tables)s) AND c.relnamespace = current_schema()::regnamespace
UNION ALL
SELECT 'trigger', c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relname = ANY(%(tables)s) AND c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT 'type', t.typname, string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
WHERE t.typnamespace = current_schema()::regnamespace
  AND t.oid IN (SELECT a.atttypid FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                WHERE c.relname = ANY(%(tables)s) AND c.relnamespace = current_schema()::regnamespace)
GROUP BY t.typname
UNION ALL
SELECT 'type', t.typname, string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
WHERE t.typtype = 'c' AND t.typnamespace = current_schema()::regnamespace
  AND t.oid IN (SELECT a2.atttypid FROM pg_attribute a2 JOIN pg_class c ON c.oid = a2.attrelid
                WHERE c.relname = ANY(%(tables)s) AND c.relnamespace = current_schema()::regnamespace)
GROUP BY t.typname
ORDER BY 1, 2
"""


def read_shape(conn: psycopg.Connection[Any], tables: Sequence[str]) -> dict[str, str]:
    """'kind name' -> definition for every column, constraint, index and user trigger of `tables`, and the labels of
    the enum types and the attributes of the composite types their columns use (a renamed label or attribute changes
    every row that holds it, and no row count sees it)."""
    rows = conn.execute(_SHAPE, {"tables": list(tables)}).fetchall()
    return {f"{kind} {name}": str(definition) for kind, name, definition in rows}


def shape_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What differs, one phrase per item: 'index my_idx added', 'constraint comments.x_fkey dropped', ..."""
    out = [f"{key} dropped" for key in sorted(before.keys() - after.keys())]
    out += [f"{key} added" for key in sorted(after.keys() - before.keys())]
    out += [f"{key} changed" for key in sorted(before.keys() & after.keys()) if before[key] != after[key]]
    return out


__all__ = ["read_shape", "shape_changes"]
