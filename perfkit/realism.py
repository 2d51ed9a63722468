"""The realism report: what a seed actually produced (skew, status mix, NULL rates, distinct counts, sizes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

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
    null_rates: dict[str, float]
    n_distinct: dict[str, float]
    sizes: dict[str, TableSize]
    tag_top1_share: float

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


def realism_report(conn: psycopg.Connection[Any]) -> RealismReport:
    """Read the realism figures of the seeded data (run after ANALYZE for n_distinct)."""
    rows = {t: int(_one(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t)))[0]) for t in TABLES}
    users, authors, share, max_posts, median = _one(conn, _AUTHOR_SKEW)
    total_posts = max(rows["posts"], 1)
    mix = {
        str(status): n / total_posts
        for status, n in conn.execute("SELECT status::text, count(*) FROM posts GROUP BY 1 ORDER BY 1").fetchall()
    }
    nulls: dict[str, float] = {}
    for table, columns in NULLABLE.items():
        for column in columns:
            query = sql.SQL("SELECT count(*) FILTER (WHERE {} IS NULL), count(*) FROM {}").format(
                sql.Identifier(column), sql.Identifier(table)
            )
            n_null, n = _one(conn, query)
            nulls[f"{table}.{column}"] = n_null / n if n else 0.0
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
        status_mix=mix,
        null_rates=nulls,
        n_distinct=n_distinct,
        sizes=sizes,
        tag_top1_share=float(_one(conn, _TAG_SKEW)[0]),
    )


__all__ = ["AuthorSkew", "RealismReport", "TableSize", "realism_report"]
