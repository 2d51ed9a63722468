"""The index-strategy catalogue: the guide's queries, their parameter cases drawn from the data, and index sets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from perfkit.indexing import PREFIX, IndexDef, col, expr
from perfkit.results import Scalar

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class IndexSet:
    """A named set of indexes built together for one query (possibly on several tables)."""

    name: str
    indexes: tuple[IndexDef, ...] = ()
    extensions: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return "; ".join(ix.text for ix in self.indexes) or "no secondary index"


@dataclass(frozen=True, slots=True)
class Case:
    """One parameter case: how it is labelled in results, and the values bound to the query."""

    label: Mapping[str, Scalar]
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CatalogQuery:
    """A query of the catalogue: the tables it reads, its SQL, how to draw its cases, and the sets to compare.

    `default_sets` / `default_cases` pick what a default (not `full`) run measures; None leaves the query out.
    """

    name: str
    tables: tuple[str, ...]
    sql: str
    index_sets: tuple[IndexSet, ...]
    cases: Callable[[Conn], list[Case]]
    default_sets: tuple[str, ...] | None = None
    default_cases: int = 1


def _one(conn: Conn, query: str, params: Mapping[str, Any] | None = None) -> Any:
    row = conn.execute(query, params).fetchone()
    if row is None or row[0] is None:
        raise AssertionError(f"the catalogue needs seeded data; nothing for: {query}")
    return row[0]


def _ix(table: str, suffix: str, *keys: Any, **kw: Any) -> IndexDef:
    return IndexDef(f"{PREFIX}{table}_{suffix}", table, tuple(keys), **kw)


NONE = IndexSet("none")

# -- parameter cases drawn from the seeded data (deterministic: ties broken by id) ----------------------


def _popular_author(conn: Conn) -> Any:
    return _one(conn, "SELECT author_id FROM posts GROUP BY author_id ORDER BY count(*) DESC, author_id LIMIT 1")


def _rare_author(conn: Conn) -> Any:
    return _one(conn, "SELECT author_id FROM posts GROUP BY author_id ORDER BY count(*), author_id LIMIT 1")


def _author_cases(conn: Conn) -> list[Case]:
    popular, rare = _popular_author(conn), _rare_author(conn)
    return [
        Case({"author": "popular", "status": "archived"}, {"author": popular, "status": "archived"}),
        Case({"author": "rare", "status": "published"}, {"author": rare, "status": "published"}),
        Case({"author": "popular", "status": "published"}, {"author": popular, "status": "published"}),
    ]


def _status_cases(_conn: Conn) -> list[Case]:
    return [
        Case({"status": "published"}, {"status": "published"}),
        Case({"status": "archived"}, {"status": "archived"}),
    ]


def _middle_email(conn: Conn) -> str:
    return str(_one(conn, "SELECT email FROM users ORDER BY email LIMIT 1 OFFSET (SELECT count(*) / 2 FROM users)"))


def _email_case(conn: Conn) -> list[Case]:
    return [Case({"user": "one"}, {"email": _middle_email(conn)})]


def _email_ci_case(conn: Conn) -> list[Case]:
    return [Case({"user": "one, upper case"}, {"email": _middle_email(conn).upper()})]


def _tag_cases(conn: Conn) -> list[Case]:
    by_use = "SELECT tag_id FROM post_tags GROUP BY tag_id ORDER BY count(*) {}, tag_id LIMIT 1"
    popular = _one(conn, by_use.format("DESC"))
    rare = _one(conn, by_use.format("ASC"))
    return [Case({"tag": "popular"}, {"tag": popular}), Case({"tag": "rare"}, {"tag": rare})]


def _post_case(conn: Conn) -> list[Case]:
    post = _one(conn, "SELECT post_id FROM post_tags GROUP BY post_id ORDER BY count(*) DESC, post_id LIMIT 1")
    return [Case({"post": "most tags"}, {"post": post})]


def _prefs_cases(_conn: Conn) -> list[Case]:
    return [
        Case({"doc": '{"beta_ui": true}'}, {"doc": Jsonb({"beta_ui": True})}),
        Case({"doc": '{"language": "ja"}'}, {"doc": Jsonb({"language": "ja"})}),
    ]


def _no_params(_conn: Conn) -> list[Case]:
    return [Case({}, {})]


def _search_case(conn: Conn) -> list[Case]:
    # a fragment of the rarest last name: a substring search that matches few users
    last = _one(
        conn,
        "SELECT split_part(name, ' ', 2) FROM users GROUP BY 1 HAVING length(split_part(name, ' ', 2)) >= 5 "
        "ORDER BY count(*), 1 LIMIT 1",
    )
    term = str(last)[1:5].lower()
    return [Case({"term": term}, {"pattern": f"%{term}%"})]


def _week_case(conn: Conn) -> list[Case]:
    mid = _one(conn, "SELECT min(created_at) + (max(created_at) - min(created_at)) / 2 FROM posts")
    return [Case({"range": "one week"}, {"since": mid, "until": mid + timedelta(days=7)})]


def _year_case(conn: Conn) -> list[Case]:
    # the guide says NOW() - 1 year; the seeded data ends at a fixed date, so the year is counted back from there
    end = _one(conn, "SELECT max(created_at) FROM users")
    return [Case({"since": "last year of data"}, {"since": end - timedelta(days=365)})]


# -- the catalogue -------------------------------------------------------------------------------------

CATALOGUE: tuple[CatalogQuery, ...] = (
    CatalogQuery(
        "user_by_email",
        ("users",),
        "SELECT id, name, role FROM users WHERE email = %(email)s",
        (
            NONE,
            IndexSet("single", (_ix("users", "email", col("email")),)),
            IndexSet("covering", (_ix("users", "email_cov", col("email"), include=("id", "name", "role")),)),
        ),
        _email_case,
    ),
    CatalogQuery(
        "user_by_email_ci",
        ("users",),
        "SELECT id, name FROM users WHERE lower(email) = lower(%(email)s)",
        (
            NONE,
            IndexSet("single", (_ix("users", "email", col("email")),)),
            IndexSet("expression", (_ix("users", "lower_email", expr("lower(email)")),)),
        ),
        _email_ci_case,
        default_sets=("none", "single", "expression"),
    ),
    CatalogQuery(
        "posts_by_author_status",
        ("posts",),
        "SELECT id, title, created_at FROM posts WHERE author_id = %(author)s AND status = %(status)s",
        (
            NONE,
            IndexSet("single", (_ix("posts", "author", col("author_id")),)),
            IndexSet("composite", (_ix("posts", "author_status", col("author_id"), col("status")),)),
            IndexSet("composite_rev", (_ix("posts", "status_author", col("status"), col("author_id")),)),
            IndexSet("partial", (_ix("posts", "author_pub", col("author_id"), where="status = 'published'"),)),
            IndexSet(
                "covering",
                (
                    _ix(
                        "posts",
                        "author_status_cov",
                        col("author_id"),
                        col("status"),
                        include=("id", "title", "created_at"),
                    ),
                ),
            ),
        ),
        _author_cases,
        default_sets=("none", "single", "composite", "partial"),
        default_cases=2,
    ),
    CatalogQuery(
        "published_feed",
        ("posts",),
        "SELECT id, title, published_at FROM posts WHERE status = 'published' ORDER BY published_at DESC LIMIT 20",
        (
            NONE,
            IndexSet("single", (_ix("posts", "published", col("published_at")),)),
            IndexSet("partial", (_ix("posts", "published_pub", col("published_at"), where="status = 'published'"),)),
            IndexSet("composite", (_ix("posts", "status_published", col("status"), col("published_at", desc=True)),)),
        ),
        _no_params,
        default_sets=("none", "single", "partial", "composite"),
    ),
    CatalogQuery(
        "posts_by_status_created",
        ("posts",),
        "SELECT id, title, created_at FROM posts WHERE status = %(status)s ORDER BY created_at DESC LIMIT 20",
        (
            NONE,
            IndexSet("single", (_ix("posts", "status", col("status")),)),
            IndexSet("composite", (_ix("posts", "status_created", col("status"), col("created_at", desc=True)),)),
            IndexSet("composite_rev", (_ix("posts", "created_status", col("created_at", desc=True), col("status")),)),
        ),
        _status_cases,
    ),
    CatalogQuery(
        "tags_of_post",
        ("post_tags", "tags"),
        "SELECT t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = %(post)s ORDER BY t.name",
        (
            NONE,
            IndexSet("single", (_ix("post_tags", "post", col("post_id")),)),
            IndexSet("composite", (_ix("post_tags", "post_tag", col("post_id"), col("tag_id")),)),
        ),
        _post_case,
    ),
    CatalogQuery(
        "posts_of_tag",
        ("post_tags",),
        "SELECT post_id FROM post_tags WHERE tag_id = %(tag)s",
        (
            NONE,
            IndexSet("single", (_ix("post_tags", "tag", col("tag_id")),)),
            IndexSet("composite", (_ix("post_tags", "tag_post", col("tag_id"), col("post_id")),)),
        ),
        _tag_cases,
    ),
    CatalogQuery(
        "prefs_contains",
        ("user_settings",),
        "SELECT user_id FROM user_settings WHERE preferences @> %(doc)s",
        (
            NONE,
            IndexSet("gin_ops", (_ix("user_settings", "prefs_ops", col("preferences"), method="gin"),)),
            IndexSet(
                "gin_path",
                (_ix("user_settings", "prefs_path", col("preferences", opclass="jsonb_path_ops"), method="gin"),),
            ),
        ),
        _prefs_cases,
        default_sets=("none", "gin_ops", "gin_path"),
        default_cases=2,
    ),
    CatalogQuery(
        "prefs_has_key",
        ("user_settings",),
        "SELECT user_id FROM user_settings WHERE preferences ? 'beta_ui'",
        (
            NONE,
            IndexSet("gin_ops", (_ix("user_settings", "prefs_ops", col("preferences"), method="gin"),)),
            IndexSet(
                "gin_path",
                (_ix("user_settings", "prefs_path", col("preferences", opclass="jsonb_path_ops"), method="gin"),),
            ),
        ),
        _no_params,
        default_sets=("none", "gin_ops", "gin_path"),
    ),
    CatalogQuery(
        "notify_email",
        ("user_settings",),
        "SELECT user_id FROM user_settings WHERE notification_settings -> 'email' @> 'false'::jsonb",
        (
            NONE,
            IndexSet(
                "gin_expr",
                (_ix("user_settings", "notify_email", expr("notification_settings -> 'email'"), method="gin"),),
            ),
            IndexSet(
                "gin_expr_path",
                (
                    _ix(
                        "user_settings",
                        "notify_email_path",
                        expr("notification_settings -> 'email'", opclass="jsonb_path_ops"),
                        method="gin",
                    ),
                ),
            ),
        ),
        _no_params,
    ),
    CatalogQuery(
        "user_search",
        ("users",),
        "SELECT id, name, email FROM users WHERE name ILIKE %(pattern)s OR email ILIKE %(pattern)s",
        (
            NONE,
            IndexSet("single", (_ix("users", "name", col("name")), _ix("users", "email", col("email")))),
            IndexSet(
                "trigram",
                (
                    _ix("users", "name_trgm", col("name", opclass="gin_trgm_ops"), method="gin"),
                    _ix("users", "email_trgm", col("email", opclass="gin_trgm_ops"), method="gin"),
                ),
                extensions=("pg_trgm",),
            ),
        ),
        _search_case,
        default_sets=("none", "single", "trigram"),
    ),
    CatalogQuery(
        "posts_in_range",
        ("posts",),
        "SELECT count(*) FROM posts WHERE created_at >= %(since)s AND created_at < %(until)s",
        (
            NONE,
            IndexSet("btree", (_ix("posts", "created", col("created_at")),)),
            IndexSet("brin", (_ix("posts", "created_brin", col("created_at"), method="brin"),)),
        ),
        _week_case,
        default_sets=("none", "btree", "brin"),
    ),
    CatalogQuery(
        "analytics_by_role",
        ("users", "posts"),
        """SELECT u.role, COUNT(*)::int AS user_count,
       AVG(EXTRACT(year FROM age(u.created_at)))::float AS avg_account_age,
       COUNT(p.id)::int AS total_posts
FROM users u LEFT JOIN posts p ON u.id = p.author_id
WHERE u.created_at >= %(since)s
GROUP BY u.role ORDER BY user_count DESC""",
        (
            NONE,
            IndexSet("users_created", (_ix("users", "created", col("created_at")),)),
            IndexSet("posts_author", (_ix("posts", "author", col("author_id")),)),
            IndexSet("both", (_ix("users", "created", col("created_at")), _ix("posts", "author", col("author_id")))),
        ),
        _year_case,
    ),
)

BY_NAME: dict[str, CatalogQuery] = {q.name: q for q in CATALOGUE}


def selection(full: bool) -> list[tuple[CatalogQuery, tuple[IndexSet, ...], int]]:
    """(query, index sets, number of cases) to run: everything when `full`, else the representative subset."""
    out: list[tuple[CatalogQuery, tuple[IndexSet, ...], int]] = []
    for q in CATALOGUE:
        if full:
            out.append((q, q.index_sets, 99))
        elif q.default_sets is not None:
            sets = tuple(s for s in q.index_sets if s.name in q.default_sets)
            out.append((q, sets, q.default_cases))
    return out
