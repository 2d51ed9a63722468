"""Workload posts_comments_authors: posts that have comments, their comments and each comment's author (2 levels)."""

from __future__ import annotations

from typing import Any

from perfkit.scenarios._loading_model import Conn, Loaded, Shape, Strategy, Workload, group, uid

NAME = "posts_comments_authors"

PAGE = """
SELECT p.id, p.title, p.content FROM posts p
WHERE EXISTS (SELECT 1 FROM comments c WHERE c.post_id = p.id)
ORDER BY p.created_at DESC, p.id DESC LIMIT %(n)s
"""
COMMENTS_OF_POST = "SELECT id, body, author_id FROM comments WHERE post_id = %(post)s ORDER BY created_at, id"
AUTHOR = "SELECT id, name FROM users WHERE id = %(author)s"
COMMENTS_OF_POSTS = """
SELECT post_id, id, body, author_id FROM comments WHERE post_id = ANY(%(posts)s) ORDER BY post_id, created_at, id
"""
AUTHORS = "SELECT id, name FROM users WHERE id = ANY(%(authors)s)"
JOIN = """
SELECT p.id, p.title, p.content, c.id, c.body, u.id, u.name
FROM (SELECT p.id, p.title, p.content, p.created_at FROM posts p
      WHERE EXISTS (SELECT 1 FROM comments c WHERE c.post_id = p.id)
      ORDER BY p.created_at DESC, p.id DESC LIMIT %(n)s) p
JOIN comments c ON c.post_id = p.id
JOIN users u ON u.id = c.author_id
ORDER BY p.created_at DESC, p.id DESC, c.created_at, c.id
"""
JSON = """
SELECT coalesce(json_agg(json_build_object('id', p.id, 'title', p.title, 'content', p.content, 'comments', cm.docs)
                ORDER BY p.created_at DESC, p.id DESC), '[]')
FROM (SELECT p.id, p.title, p.content, p.created_at FROM posts p
      WHERE EXISTS (SELECT 1 FROM comments c WHERE c.post_id = p.id)
      ORDER BY p.created_at DESC, p.id DESC LIMIT %(n)s) p
LEFT JOIN LATERAL (
    SELECT coalesce(json_agg(json_build_object(
        'id', c.id, 'body', c.body, 'author', json_build_object('id', u.id, 'name', u.name)
    ) ORDER BY c.created_at, c.id), '[]') AS docs
    FROM comments c JOIN users u ON u.id = c.author_id WHERE c.post_id = p.id
) cm ON true
"""


def _post(pid: Any, title: str, content: str, comments: list[tuple[Any, str, tuple[Any, str]]]) -> tuple[Any, ...]:
    return (uid(pid), title, content, tuple((uid(c), body, (uid(a), name)) for c, body, (a, name) in comments))


def n_plus_one(conn: Conn, n: int) -> Loaded:
    """The posts, one query per post for its comments, then one query per comment for its author."""
    out = []
    for pid, title, content in conn.execute(PAGE, {"n": n}).fetchall():
        comments = []
        for cid, body, author_id in conn.execute(COMMENTS_OF_POST, {"post": pid}).fetchall():
            author = conn.execute(AUTHOR, {"author": author_id}).fetchone()
            assert author is not None
            comments.append((cid, body, (author[0], author[1])))
        out.append(_post(pid, title, content, comments))
    return tuple(out)


def batched(conn: Conn, n: int) -> Loaded:
    """The posts, all their comments with `post_id = ANY(...)`, then the comments' distinct authors likewise."""
    posts = conn.execute(PAGE, {"n": n}).fetchall()
    comments = group(conn.execute(COMMENTS_OF_POSTS, {"posts": [p[0] for p in posts]}).fetchall())
    wanted = list({c[2] for cs in comments.values() for c in cs})
    authors = {a: (a, name) for a, name in conn.execute(AUTHORS, {"authors": wanted}).fetchall()}
    return tuple(
        _post(pid, title, content, [(c, body, authors[a]) for c, body, a in comments.get(pid, [])])
        for pid, title, content in posts
    )


def join(conn: Conn, n: int) -> Loaded:
    """One statement with plain JOINs: one row per comment, the post's columns repeated on each."""
    posts: dict[Any, tuple[Any, Any, list[Any]]] = {}
    for pid, title, content, cid, body, a_id, a_name in conn.execute(JOIN, {"n": n}).fetchall():
        posts.setdefault(pid, (title, content, []))[2].append((cid, body, (a_id, a_name)))
    return tuple(_post(pid, title, content, comments) for pid, (title, content, comments) in posts.items())


def json(conn: Conn, n: int) -> Loaded:
    """One statement building the two-level document: posts, their comments, each comment's author."""
    row = conn.execute(JSON, {"n": n}).fetchone()
    docs: list[dict[str, Any]] = row[0] if row else []
    return tuple(
        _post(
            d["id"],
            d["title"],
            d["content"],
            [(c["id"], c["body"], (c["author"]["id"], c["author"]["name"])) for c in d["comments"]],
        )
        for d in docs
    )


def shape(loaded: Loaded) -> Shape:
    comments = [c for p in loaded for c in p[3]]
    return Shape(
        parents=len(loaded),
        children={"comments": len(comments), "comments.author": len(comments)},
        distinct={"comments": len(comments), "comments.author": len({c[2][0] for c in comments})},
    )


WORKLOAD = Workload(
    name=NAME,
    description="posts that have comments, with their comments and each comment's author (two levels)",
    relations=("comments", "comments.author"),
    strategies={
        "n_plus_one": Strategy(n_plus_one, (PAGE, COMMENTS_OF_POST, AUTHOR), n_plus_one.__doc__ or ""),
        "join": Strategy(join, (JOIN,), join.__doc__ or ""),
        "batched": Strategy(batched, (PAGE, COMMENTS_OF_POSTS, AUTHORS), batched.__doc__ or ""),
        "json": Strategy(json, (JSON,), json.__doc__ or ""),
    },
    shape=shape,
)
