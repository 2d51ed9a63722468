"""The realism report: what a seed actually produced (skew, mixes, NULL rates, time order, distinct counts, sizes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from perfkit._profile import NULLABLE
from perfkit.schema import TABLES

#: Columns whose n_distinct (from pg_stats) the report shows.
KEY_COLUMNS = (
    ("users", "role"),
    ("users", "email"),
    ("posts", "author_id"),
    ("posts", "status"),
    ("posts", "created_at"),
    ("post_tags", "tag_id"),
    ("comments", "post_id"),
    ("notifications", "user_id"),
)


@dataclass(frozen=True, slots=True)
class AuthorSkew:
    """Posts per author over all users: share of posts written by the top 1% of users, max, median."""

    users: int
    authors: int
    top1_share: float
    max_posts: int
    median_posts: float


@dataclass(frozen=True, slots=True)
class TableSize:
    table_bytes: int
    index_bytes: int


@dataclass(frozen=True, slots=True)
class RealismReport:
    """What a seed produced, read back from the database."""

    rows: dict[str, int]
    posts_per_author: AuthorSkew
    status_mix: dict[str, float]
    null_rates: dict[str, float | None]
    n_distinct: dict[str, float]
    sizes: dict[str, TableSize]
    tag_top1_share: float
    tags_per_post: tuple[float, ...] = ()
    role_mix: dict[str, float] = field(default_factory=dict)
    type_mix: dict[str, float] = field(default_factory=dict)
    time_order: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for results' environment)."""
        return {
            "rows": dict(self.rows),
            "posts_per_author": {
                "users": self.posts_per_author.users,
                "authors": self.posts_per_author.authors,
                "top1_share": self.posts_per_author.top1_share,
                "max": self.posts_per_author.max_posts,
                "median": self.posts_per_author.median_posts,
            },
            "status_mix": dict(self.status_mix),
            "null_rates": dict(self.null_rates),
            "n_distinct": dict(self.n_distinct),
            "sizes": {t: {"table_bytes": s.table_bytes, "index_bytes": s.index_bytes} for t, s in self.sizes.items()},
            "tag_top1_share": self.tag_top1_share,
            "tags_per_post": list(self.tags_per_post),
            "role_mix": dict(self.role_mix),
            "type_mix": dict(self.type_mix),
            "time_order": dict(self.time_order),
        }


def _one(conn: psycopg.Connection[Any], query: sql.Composable | str, params: Any = None) -> Any:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]  # constant or composed SQL
    assert row is not None
    return row


_AUTHOR_SKEW = """
WITH per_user AS (
    SELECT u.id, count(p.id) AS n FROM users u LEFT JOIN posts p ON p.author_id = u.id GROUP BY u.id
), ranked AS (
    SELECT n, row_number() OVER (ORDER BY n DESC) AS r, count(*) OVER () AS users FROM per_user
)
SELECT coalesce(max(users), 0), count(*) FILTER (WHERE n > 0),
       coalesce(sum(n) FILTER (WHERE r <= greatest(1, ceil(users * 0.01))) / nullif(sum(n), 0), 0),
       coalesce(max(n), 0), coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY n), 0)
FROM ranked
"""

_TAG_SKEW = """
WITH per_tag AS (SELECT tag_id, count(*) AS n FROM post_tags GROUP BY tag_id),
     ranked AS (SELECT n, row_number() OVER (ORDER BY n DESC) AS r, (SELECT count(*) FROM tags) AS tags FROM per_tag)
SELECT coalesce(sum(n) FILTER (WHERE r <= greatest(1, ceil(tags * 0.01))) / nullif(sum(n), 0), 0) FROM ranked
"""


_TAGS_PER_POST = """
SELECT coalesce(n, 0) AS tags, count(*) FROM posts p
LEFT JOIN (SELECT post_id, count(*) AS n FROM post_tags GROUP BY post_id) t ON t.post_id = p.id
GROUP BY 1 ORDER BY 1
"""

#: Per table: the joins to what its rows refer to (each on a key, so no row is repeated). An id that is NULL or
#: missing joins nothing, and its checks count nothing.
_REFERS_TO = {
    "users": "users x",
    "posts": "posts x LEFT JOIN users u ON u.id = x.author_id",
    "comments": "comments x LEFT JOIN posts p ON p.id = x.post_id LEFT JOIN users u ON u.id = x.author_id",
    "post_tags": "post_tags x LEFT JOIN posts p ON p.id = x.post_id LEFT JOIN tags t ON t.id = x.tag_id",
    "notifications": (
        "notifications x LEFT JOIN users u ON u.id = x.user_id"
        " LEFT JOIN users a ON a.id = (x.payload->>'actor_id')::uuid"
        " LEFT JOIN posts p ON p.id = (x.payload->>'post_id')::uuid"
    ),
    "user_profiles": "user_profiles x LEFT JOIN users u ON u.id = x.user_id",
    "user_settings": "user_settings x LEFT JOIN users u ON u.id = x.user_id",
}

#: Rows dated before what they refer to (a comment older than its post, a post older than its author's account...)
#: or referring to what readers cannot see (comments on drafts): per check, the (table, condition) pairs whose
#: rows it counts. A sound seed has none of them.
TIME_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "posts before their author": (("posts", "x.created_at < u.created_at"),),
    "posts published before created": (("posts", "x.published_at < x.created_at"),),
    "comments before their post": (("comments", "x.created_at < p.created_at"),),
    "comments before their post was published": (("comments", "x.created_at < p.published_at"),),
    "comments on drafts": (("comments", "p.status = 'draft'"),),
    "comments before their author": (("comments", "x.created_at < u.created_at"),),
    "post_tags before their post": (("post_tags", "x.created_at < p.created_at"),),
    "post_tags before their tag": (("post_tags", "x.created_at < t.created_at"),),
    "notifications before their user": (("notifications", "x.created_at < u.created_at"),),
    "notifications before their actor": (("notifications", "x.created_at < a.created_at"),),
    "notifications before their post": (("notifications", "x.created_at < p.created_at"),),
    "notifications before their post was published": (("notifications", "x.created_at < p.published_at"),),
    "notifications on drafts": (("notifications", "p.status = 'draft'"),),
    "profiles before their user": (("user_profiles", "x.created_at < u.created_at"),),
    "settings before their user": (("user_settings", "x.created_at < u.created_at"),),
    "rows updated before created": tuple(
        (t, "x.updated_at < x.created_at") for t in ("users", "user_profiles", "posts", "user_settings", "comments")
    ),
}


def _mix(conn: psycopg.Connection[Any], table: str, column: str) -> dict[str, float]:
    query = sql.SQL("SELECT {c}::text, count(*)::float8 / sum(count(*)) OVER () FROM {t} GROUP BY 1 ORDER BY 1").format(
        c=sql.Identifier(column), t=sql.Identifier(table)
    )
    return {str(k): float(v) for k, v in conn.execute(query).fetchall()}


def _time_order(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Count every check's rows with one scan per table (its joins built once for all of its checks)."""
    by_table: dict[str, list[str]] = {}
    for pairs in TIME_ORDER.values():
        for table, condition in pairs:
            if condition not in by_table.setdefault(table, []):
                by_table[table].append(condition)
    counts: dict[tuple[str, str], int] = {}
    for table, conditions in by_table.items():
        filters = ", ".join(f"count(*) FILTER (WHERE {c})" for c in conditions)
        got = _one(conn, f"SELECT {filters} FROM {_REFERS_TO[table]}")
        counts.update({(table, c): int(n) for c, n in zip(conditions, got, strict=True)})
    return {name: sum(counts[pair] for pair in pairs) for name, pairs in TIME_ORDER.items()}


def realism_report(conn: psycopg.Connection[Any]) -> RealismReport:
    """Read the realism figures of the seeded data (run after ANALYZE for n_distinct)."""
    rows = {t: int(_one(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t)))[0]) for t in TABLES}
    users, authors, share, max_posts, median = _one(conn, _AUTHOR_SKEW)
    total_posts = max(rows["posts"], 1)
    per_post = dict(conn.execute(_TAGS_PER_POST).fetchall())
    tags_per_post = tuple(int(per_post.get(i, 0)) / total_posts for i in range(max(per_post, default=0) + 1))
    nulls: dict[str, float | None] = {}
    for table, columns in NULLABLE.items():  # one scan per table
        counts = sql.SQL(", ").join(
            sql.SQL("count(*) FILTER (WHERE {} IS NULL)").format(sql.Identifier(c)) for c in columns
        )
        got = _one(conn, sql.SQL("SELECT count(*), {} FROM {}").format(counts, sql.Identifier(table)))
        for column, n_null in zip(columns, got[1:], strict=True):
            nulls[f"{table}.{column}"] = n_null / got[0] if got[0] else None  # no rows: no rate
    stats = {
        f"{t}.{c}": float(d)
        for t, c, d in conn.execute(
            "SELECT tablename, attname, n_distinct FROM pg_stats WHERE schemaname = current_schema()"
            " AND (tablename, attname) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
            ([t for t, _ in KEY_COLUMNS], [c for _, c in KEY_COLUMNS]),
        ).fetchall()
    }
    # pg_stats gives a negative n_distinct as a fraction of the rows: turn it into a count.
    n_distinct = {}
    for t, c in KEY_COLUMNS:
        key = f"{t}.{c}"
        if key in stats:
            value = stats[key]
            n_distinct[key] = round(-value * rows[t]) if value < 0 else value
    sizes = {
        t: TableSize(*map(int, _one(conn, "SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass)", (t, t))))
        for t in TABLES
    }
    return RealismReport(
        rows=rows,
        posts_per_author=AuthorSkew(int(users), int(authors), float(share), int(max_posts), float(median)),
        status_mix=_mix(conn, "posts", "status"),
        null_rates=nulls,
        n_distinct=n_distinct,
        sizes=sizes,
        tag_top1_share=float(_one(conn, _TAG_SKEW)[0]),
        tags_per_post=tags_per_post,
        role_mix=_mix(conn, "users", "role"),
        type_mix=_mix(conn, "notifications", "type"),
        time_order=_time_order(conn),
    )


def seed_realism(conn: psycopg.Connection[Any], measured: RealismReport | None = None) -> dict[str, Any] | None:
    """The realism report of the complete seed in the database as a dict, measured once (or given) and then kept
    with the seed record (a run reads it back instead of scanning every table again); None when no complete seed is
    recorded."""
    if _one(conn, "SELECT to_regclass('perfkit_seed') IS NULL")[0]:
        return None
    row = conn.execute("SELECT state, realism FROM perfkit_seed").fetchone()
    if row is None or row[0] != "complete":
        return None
    if row[1] is not None and measured is None:
        return dict(row[1])
    report = (measured or realism_report(conn)).to_dict()
    with conn.transaction():
        conn.execute("UPDATE perfkit_seed SET realism = %s", (Jsonb(report),))
    return report


__all__ = ["TIME_ORDER", "AuthorSkew", "RealismReport", "TableSize", "realism_report", "seed_realism"]
