"""Keyset sort specs: sort keys, the unique-tiebreaker rule (C09) and the fingerprint cursors carry."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import sql

from perfkit.errors import KeysetSpecError

_KEY_RE = re.compile(r"^\s*(\S+?)(?:\s+(ASC|DESC))?(?:\s+NULLS\s+(FIRST|LAST))?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SortKey:
    """One ORDER BY column. `nulls_first=None` means PostgreSQL's default (NULLs first only when descending)."""

    column: str
    descending: bool = False
    nulls_first: bool | None = None
    nullable: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise KeysetSpecError(f"a sort key needs a column name, got {self.column!r}")

    @classmethod
    def parse(cls, text: str, *, nullable: bool = False) -> SortKey:
        """`"created_at DESC NULLS LAST"` -> SortKey; a bare name sorts ascending."""
        m = _KEY_RE.match(text)
        if not m:
            raise KeysetSpecError(f"cannot read sort key {text!r} (expected 'column [ASC|DESC] [NULLS FIRST|LAST]')")
        direction, nulls = (m.group(2) or "ASC").upper(), m.group(3)
        nulls_first = None if nulls is None else nulls.upper() == "FIRST"
        return cls(m.group(1), direction == "DESC", nulls_first, nullable)

    @property
    def nulls_come_first(self) -> bool:
        """Whether NULLs sort before every value under this key (what ORDER BY does)."""
        return self.descending if self.nulls_first is None else self.nulls_first

    def __str__(self) -> str:
        text = f"{self.column} {'DESC' if self.descending else 'ASC'}"
        if self.nulls_first is not None and self.nulls_first != self.descending:
            text += " NULLS FIRST" if self.nulls_first else " NULLS LAST"
        return text


@dataclass(frozen=True, slots=True)
class KeysetSpec:
    """A table and its sort keys. Build it with `KeysetSpec.create`, which enforces a unique last key (C09).

    Constructing it directly trusts the caller that the keys are unique (useful to show what goes wrong when they
    are not). `columns=None` selects every column; otherwise the key columns are added to the select list.
    """

    table: str
    keys: tuple[SortKey, ...]
    schema: str | None = None
    columns: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        keys = tuple(self.keys)
        if not keys or not all(isinstance(k, SortKey) for k in keys):
            raise KeysetSpecError("a keyset spec needs at least one SortKey")
        names = [k.column for k in keys]
        if len(set(names)) != len(names):
            raise KeysetSpecError(f"a sort key column appears twice in ({', '.join(names)})")
        object.__setattr__(self, "keys", keys)
        if self.columns is not None:
            cols = tuple(self.columns)
            object.__setattr__(self, "columns", cols + tuple(n for n in names if n not in cols))

    @classmethod
    def create(
        cls,
        table: str,
        keys: Sequence[SortKey | str],
        *,
        conn: psycopg.Connection[Any] | None = None,
        unique: str | Sequence[str] | None = None,
        strict: bool = False,
        schema: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> KeysetSpec:
        """A spec whose keys end in a unique column set: the tiebreaker is appended, or refused when `strict`.

        With `conn`, the catalog says which columns are NOT NULL (so `nullable` is set from the table, whatever
        the keys say), which unique indexes exist, and what the primary key is. `unique` names the tiebreaker
        column(s) explicitly (needed when there is no `conn`). The tiebreaker takes the last key's direction so
        one btree in a single direction can serve the whole ORDER BY.
        """
        sort_keys = [SortKey.parse(k) if isinstance(k, str) else k for k in keys]
        if not sort_keys:
            raise KeysetSpecError("a keyset spec needs at least one sort key")
        explicit = (unique,) if isinstance(unique, str) else tuple(unique or ())
        unique_sets: list[frozenset[str]] = [frozenset(explicit)] if explicit else []
        tiebreaker: tuple[str, ...] = explicit
        notnull: dict[str, bool] = {}
        if conn is not None:
            from perfkit._keyset_catalog import table_info

            info = table_info(conn, table, schema)
            missing = [k.column for k in sort_keys if k.column not in info.notnull]
            missing += [c for c in explicit if c not in info.notnull]
            if missing:
                raise KeysetSpecError(f"table {info.name} has no column {missing[0]!r}")
            notnull = info.notnull
            sort_keys = [replace(k, nullable=not notnull[k.column]) for k in sort_keys]
            unique_sets += info.unique_sets
            tiebreaker = tiebreaker or info.primary_key
        elif not explicit:
            raise KeysetSpecError("cannot tell whether the sort keys are unique: pass conn= or unique=")
        present = {k.column for k in sort_keys}
        if not any(s <= present for s in unique_sets):
            described = ", ".join(str(k) for k in sort_keys)
            if strict:
                hint = f"; add {', '.join(tiebreaker)} as a tiebreaker" if tiebreaker else ""
                raise KeysetSpecError(f"sort keys ({described}) are not unique, so pages would skip rows{hint}")
            if not tiebreaker:
                raise KeysetSpecError(f"sort keys ({described}) are not unique and {table} has no primary key")
            last = sort_keys[-1]
            sort_keys += [
                SortKey(c, last.descending, nullable=not notnull.get(c, True) if notnull else False)
                for c in tiebreaker
                if c not in present
            ]
        return cls(table, tuple(sort_keys), schema, tuple(columns) if columns is not None else None)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(k.column for k in self.keys)

    @property
    def relation(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.table) if self.schema else sql.Identifier(self.table)

    @property
    def fingerprint(self) -> str:
        """A short hash of table, key columns, directions and NULL placement: cursors carry it (C10)."""
        doc = [self.schema, self.table, [[k.column, k.descending, k.nulls_come_first] for k in self.keys]]
        digest = hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()
        return digest[:16]

    def __str__(self) -> str:
        name = f"{self.schema}.{self.table}" if self.schema else self.table
        return f"{name} ORDER BY {', '.join(str(k) for k in self.keys)}"
