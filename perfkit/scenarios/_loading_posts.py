"""Workload posts_author_tags: a page of published posts with their author (many-to-one) and tags (many-to-many)."""

from __future__ import annotations

from typing import Any

from perfkit.scenarios._loading_model import Conn, Loaded, Shape, Strategy, Workload, group, uid

NAME = "posts_author_tags"

PAGE = """
SELECT id, title, content, author_id FROM posts WHERE status = 'published'
ORDER BY published_at DESC, id DESC LIMIT %(n)s
"""
AUTHOR = "SELECT id, name, email FROM users WHERE id = %(author)s"
TAGS_OF_POST = """
SELECT t.id, t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = %(post)s ORDER BY t.name
"""
AUTHORS = "SELECT id, name, email FROM users WHERE id = ANY(%(authors)s)"
TAGS_OF_POSTS = """
SELECT pt.post_id, t.id, t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
WHERE pt.post_id = ANY(%(posts)s) ORDER BY pt.post_id, t.name
"""
JOIN = """
SELECT p.id, p.title, p.content, u.id, u.name, u.email, t.id, t.name
FROM (SELECT id, title, content, author_id, published_at FROM posts WHERE status = 'published'
      ORDER BY published_at DESC, id DESC LIMIT %(n)s) p
JOIN users u ON u.id = p.author_id
LEFT JOIN post_tags pt ON pt.post_id = p.id
LEFT JOIN tags t ON t.id = pt.tag_id
ORDER BY p.published_at DESC, p.id DESC, t.name
"""
JSON = """
SELECT coalesce(json_agg(json_build_object(
    'id', p.id, 'title', p.title, 'content', p.content,
    'author', json_build_object('id', u.id, 'name', u.name, 'email', u.email), 'tags', tg.docs
) ORDER BY p.published_at DESC, p.id DESC), '[]')
FROM (SELECT id, title, content, author_id, published_at FROM posts WHERE status = 'published'
      ORDER BY published_at DESC, id DESC LIMIT %(n)s) p
JOIN users u ON u.id = p.author_id
LEFT JOIN LATERAL (
    SELECT coalesce(json_agg(json_build_object('id', t.id, 'name', t.name) ORDER BY t.name), '[]') AS docs
    FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id
) tg ON true
"""


def _post(pid: Any, title: str, content: str, author: tuple[Any, ...], tags: list[Any]) -> tuple[Any, ...]:
    return (uid(pid), title, content, (uid(author[0]), author[1], author[2]), tuple((uid(t), n) for t, n in tags))


def n_plus_one(conn: Conn, n: int) -> Loaded:
    """The posts, then per post one query for its author and one for its tags (no identity map: every post asks)."""
    out = []
    for pid, title, content, author_id in conn.execute(PAGE, {"n": n}).fetchall():
        author = conn.execute(AUTHOR, {"author": author_id}).fetchone()
        tags = conn.execute(TAGS_OF_POST, {"post": pid}).fetchall()
        assert author is not None
        out.append(_post(pid, title, content, author, tags))
    return tuple(out)


def batched(conn: Conn, n: int) -> Loaded:
    """The posts, then their distinct authors and all their tags with `= ANY(...)`."""
    posts = conn.execute(PAGE, {"n": n}).fetchall()
    authors = {a[0]: a for a in conn.execute(AUTHORS, {"authors": list({p[3] for p in posts})}).fetchall()}
    tags = group(conn.execute(TAGS_OF_POSTS, {"posts": [p[0] for p in posts]}).fetchall())
    return tuple(_post(pid, title, content, authors[a], tags.get(pid, [])) for pid, title, content, a in posts)


def join(conn: Conn, n: int) -> Loaded:
    """One statement with plain JOINs: one row per (post, tag), post and author columns repeated on each."""
    posts: dict[Any, tuple[Any, Any, tuple[Any, ...], list[Any]]] = {}
    for pid, title, content, a_id, a_name, a_email, t_id, t_name in conn.execute(JOIN, {"n": n}).fetchall():
        entry = posts.setdefault(pid, (title, content, (a_id, a_name, a_email), []))
        if t_id is not None:
            entry[3].append((t_id, t_name))
    return tuple(_post(pid, title, content, author, tags) for pid, (title, content, author, tags) in posts.items())


def json(conn: Conn, n: int) -> Loaded:
    """One statement building the nested document (author object, tags array per post)."""
    row = conn.execute(JSON, {"n": n}).fetchone()
    docs: list[dict[str, Any]] = row[0] if row else []
    return tuple(
        _post(
            d["id"],
            d["title"],
            d["content"],
            (d["author"]["id"], d["author"]["name"], d["author"]["email"]),
            [(t["id"], t["name"]) for t in d["tags"]],
        )
        for d in docs
    )


def shape(loaded: Loaded) -> Shape:
    tags = [t for p in loaded for t in p[4]]
    return Shape(
        parents=len(loaded),
        children={"author": len(loaded), "tags": len(tags)},
        distinct={"author": len({p[3][0] for p in loaded}), "tags": len({t[0] for t in tags})},
    )


WORKLOAD = Workload(
    name=NAME,
    description="a page of published posts with their author and their tags (many-to-many via post_tags)",
    relations=("author", "tags"),
    strategies={
        "n_plus_one": Strategy(n_plus_one, (PAGE, AUTHOR, TAGS_OF_POST), n_plus_one.__doc__ or ""),
        "join": Strategy(join, (JOIN,), join.__doc__ or ""),
        "batched": Strategy(batched, (PAGE, AUTHORS, TAGS_OF_POSTS), batched.__doc__ or ""),
        "json": Strategy(json, (JSON,), json.__doc__ or ""),
    },
    shape=shape,
)
