"""The guide's paginated queries as keyset specs: the post feed, one author's published posts, the admin user list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from perfkit.errors import ConfigError
from perfkit.keyset import KeysetSpec, offset_query, page_query, row_key

PROLIFIC_AUTHOR = """
SELECT author_id FROM posts WHERE status = 'published'
GROUP BY author_id ORDER BY count(*) DESC, author_id LIMIT 1
"""


@dataclass(frozen=True, slots=True)
class AdminFilter:
    """The optional filters of the guide's findWithPagination: a substring of name or email, and a role."""

    name: str = "admin_users"
    search: str | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class PageQuery:
    """One paginated query: its name in results, its keyset spec and its filter (None: the whole table)."""

    name: str
    spec: KeysetSpec
    where: sql.Composable | None
    where_params: tuple[Any, ...]
    description: str

    def page(self, conn: psycopg.Connection[Any], cursor: Sequence[Any] | None, size: int) -> tuple[str, list[Any]]:
        """The keyset page after `cursor` (the first page when None), as SQL text and parameters."""
        query, params = page_query(self.spec, cursor, size, where=self.where, where_params=self.where_params)
        return query.as_string(conn), params

    def offset(self, conn: psycopg.Connection[Any], depth: int, size: int) -> tuple[str, list[Any]]:
        """The OFFSET page that skips `depth` rows, as SQL text and parameters."""
        query, params = offset_query(self.spec, depth, size, where=self.where, where_params=self.where_params)
        return query.as_string(conn), params

    def count(self, conn: psycopg.Connection[Any]) -> tuple[str, list[Any]]:
        """The COUNT(*) total a page-numbered UI shows next to the page."""
        where = sql.SQL("") if self.where is None else sql.SQL(" WHERE ") + self.where
        query = sql.SQL("SELECT count(*) FROM {}{}").format(self.spec.relation, where)
        return query.as_string(conn), list(self.where_params)

    def total(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(*self.count(conn)).fetchone()
        return int(row[0]) if row else 0

    def key_at(self, conn: psycopg.Connection[Any], position: int) -> tuple[Any, ...] | None:
        """The sort key of the row at `position` (0-based) in the query's order: the cursor a reader holds there."""
        query, params = offset_query(self.spec, position, 1, where=self.where, where_params=self.where_params)
        with conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(query, params).fetchone()
        return None if row is None else row_key(self.spec, row)


def posts_feed(conn: psycopg.Connection[Any]) -> PageQuery:
    """The feed, newest first: ORDER BY created_at DESC with id DESC appended as the tiebreaker (C09)."""
    spec = KeysetSpec.create("posts", ["created_at DESC"], conn=conn, columns=["id", "author_id", "title"])
    return PageQuery("posts_feed", spec, None, (), "all posts, newest first")


def author_posts(conn: psycopg.Connection[Any], author_id: Any | None = None) -> PageQuery:
    """One author's published posts, newest first (the most prolific author unless one is given)."""
    if author_id is None:
        row = conn.execute(PROLIFIC_AUTHOR).fetchone()
        if row is None:
            raise ConfigError("no published posts to paginate: seed the database first")
        author_id = row[0]
    spec = KeysetSpec.create("posts", ["created_at DESC"], conn=conn, columns=["id", "title", "published_at"])
    where = sql.SQL("author_id = %s AND status = 'published'")
    return PageQuery("author_posts", spec, where, (author_id,), f"published posts of author {author_id}")


def admin_users(conn: psycopg.Connection[Any], flt: AdminFilter = AdminFilter()) -> PageQuery:
    """The admin user list (findWithPagination): optional ILIKE search on name or email and role, newest first."""
    spec = KeysetSpec.create("users", ["created_at DESC"], conn=conn, columns=["id", "email", "name", "role"])
    parts: list[sql.Composable] = []
    params: list[Any] = []
    if flt.search is not None:
        parts.append(sql.SQL("(name ILIKE %s OR email ILIKE %s)"))
        pattern = "%" + flt.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [pattern, pattern]
    if flt.role is not None:
        parts.append(sql.SQL("role = %s"))
        params.append(flt.role)
    where = sql.SQL(" AND ").join(parts) if parts else None
    what = ", ".join(f"{k}={v!r}" for k, v in (("search", flt.search), ("role", flt.role)) if v is not None)
    return PageQuery(flt.name, spec, where, tuple(params), f"users {what or 'unfiltered'}")


def guide_queries(conn: psycopg.Connection[Any], admin_filters: Sequence[AdminFilter]) -> list[PageQuery]:
    """The feed, the most prolific author's published posts and the admin list under each filter."""
    return [posts_feed(conn), author_posts(conn), *(admin_users(conn, f) for f in admin_filters)]
