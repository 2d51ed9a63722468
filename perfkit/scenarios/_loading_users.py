"""Workload users_latest_posts: a page of users with their profile and latest 5 published posts (top-N per group).

The page is the earliest members, by sign-up (oldest first), the ones with posts: a post goes to a user who had
signed up by then, so the first accounts could be drawn for every post and most write more than 5. Not the newest
members: they have not published yet (at scales 0.01 to 1 the newest 100 had no post), and the top-N strategies would
compare empty pages.
"""

from __future__ import annotations

from typing import Any

from perfkit.scenarios._loading_model import Conn, Loaded, Shape, Strategy, Workload, group, uid

NAME = "users_latest_posts"
TAKE = 5

PAGE = "SELECT id, name, email FROM users ORDER BY created_at, id LIMIT %(n)s"
_PAGE_SUB = "SELECT id, name, email, created_at FROM users ORDER BY created_at, id LIMIT %(n)s"
PROFILE_OF_USER = "SELECT id, bio FROM user_profiles WHERE user_id = %(user)s"
POSTS_OF_USER = """
SELECT id, title FROM posts WHERE author_id = %(user)s AND status = 'published'
ORDER BY published_at DESC, id DESC LIMIT %(take)s
"""
PROFILES_OF_USERS = "SELECT user_id, id, bio FROM user_profiles WHERE user_id = ANY(%(users)s)"
POSTS_OF_USERS = """
SELECT author_id, id, title FROM (
    SELECT author_id, id, title, published_at,
           row_number() OVER (PARTITION BY author_id ORDER BY published_at DESC, id DESC) AS rn
    FROM posts WHERE author_id = ANY(%(users)s) AND status = 'published'
) ranked WHERE rn <= %(take)s
ORDER BY author_id, published_at DESC, id DESC
"""
JOIN = f"""
SELECT u.id, u.name, u.email, pr.id, pr.bio, p.id, p.title
FROM ({_PAGE_SUB}) u
LEFT JOIN user_profiles pr ON pr.user_id = u.id
LEFT JOIN posts p ON p.author_id = u.id AND p.status = 'published'
ORDER BY u.created_at, u.id, p.published_at DESC, p.id DESC
"""
WINDOW = f"""
WITH page AS ({_PAGE_SUB}),
ranked AS (
    SELECT p.author_id, p.id, p.title, p.published_at,
           row_number() OVER (PARTITION BY p.author_id ORDER BY p.published_at DESC, p.id DESC) AS rn
    FROM posts p WHERE p.author_id IN (SELECT id FROM page) AND p.status = 'published'
)
SELECT u.id, u.name, u.email, pr.id, pr.bio, r.id, r.title
FROM page u
LEFT JOIN user_profiles pr ON pr.user_id = u.id
LEFT JOIN ranked r ON r.author_id = u.id AND r.rn <= %(take)s
ORDER BY u.created_at, u.id, r.published_at DESC, r.id DESC
"""
LATERAL = f"""
SELECT u.id, u.name, u.email, pr.id, pr.bio, p.id, p.title
FROM ({_PAGE_SUB}) u
LEFT JOIN user_profiles pr ON pr.user_id = u.id
LEFT JOIN LATERAL (
    SELECT id, title, published_at FROM posts
    WHERE author_id = u.id AND status = 'published'
    ORDER BY published_at DESC, id DESC LIMIT %(take)s
) p ON true
ORDER BY u.created_at, u.id, p.published_at DESC, p.id DESC
"""
JSON = f"""
SELECT coalesce(json_agg(json_build_object(
    'id', u.id, 'name', u.name, 'email', u.email, 'profile', pr.doc, 'posts', ps.docs
) ORDER BY u.created_at, u.id), '[]')
FROM ({_PAGE_SUB}) u
LEFT JOIN LATERAL (
    SELECT json_build_object('id', id, 'bio', bio) AS doc FROM user_profiles WHERE user_id = u.id
) pr ON true
LEFT JOIN LATERAL (
    SELECT coalesce(json_agg(json_build_object('id', p.id, 'title', p.title)
                    ORDER BY p.published_at DESC, p.id DESC), '[]') AS docs
    FROM (SELECT id, title, published_at FROM posts WHERE author_id = u.id AND status = 'published'
          ORDER BY published_at DESC, id DESC LIMIT %(take)s) p
) ps ON true
"""


def _user(uid_: Any, name: str, email: str, profile: tuple[Any, ...] | None, posts: list[Any]) -> tuple[Any, ...]:
    prof = None if profile is None else (uid(profile[0]), profile[1])
    return (uid(uid_), name, email, prof, tuple((uid(p), t) for p, t in posts))


def n_plus_one(conn: Conn, n: int) -> Loaded:
    """The users, then per user one query for its profile and one for its posts."""
    out = []
    for u, name, email in conn.execute(PAGE, {"n": n}).fetchall():
        profile = conn.execute(PROFILE_OF_USER, {"user": u}).fetchone()
        posts = conn.execute(POSTS_OF_USER, {"user": u, "take": TAKE}).fetchall()
        out.append(_user(u, name, email, profile, posts))
    return tuple(out)


def batched(conn: Conn, n: int) -> Loaded:
    """The users, then all profiles and all top-5 posts with `= ANY(...)` (the posts ranked by a window)."""
    users = conn.execute(PAGE, {"n": n}).fetchall()
    ids = [u[0] for u in users]
    profiles = group(conn.execute(PROFILES_OF_USERS, {"users": ids}).fetchall())
    posts = group(conn.execute(POSTS_OF_USERS, {"users": ids, "take": TAKE}).fetchall())
    return tuple(_user(u, name, email, _first(profiles.get(u)), posts.get(u, [])) for u, name, email in users)


def _first(rows: list[tuple[Any, ...]] | None) -> tuple[Any, ...] | None:
    return rows[0] if rows else None


def _from_rows(rows: list[tuple[Any, ...]], keep: int | None) -> Loaded:
    users: dict[Any, tuple[Any, Any, Any, list[Any]]] = {}
    for u, name, email, prof_id, bio, pid, title in rows:
        entry = users.setdefault(u, (name, email, None if prof_id is None else (prof_id, bio), []))
        if pid is not None and (keep is None or len(entry[3]) < keep):
            entry[3].append((pid, title))
    return tuple(_user(u, name, email, prof, posts) for u, (name, email, prof, posts) in users.items())


def join(conn: Conn, n: int) -> Loaded:
    """One statement with plain JOINs: every published post of each user comes back; the client keeps 5."""
    return _from_rows(conn.execute(JOIN, {"n": n}).fetchall(), TAKE)


def window(conn: Conn, n: int) -> Loaded:
    """One statement: posts of the page's users ranked with row_number(), rank <= 5 joined back."""
    return _from_rows(conn.execute(WINDOW, {"n": n, "take": TAKE}).fetchall(), None)


def lateral(conn: Conn, n: int) -> Loaded:
    """One statement: LEFT JOIN LATERAL (... ORDER BY ... LIMIT 5) per user, an index scan each."""
    return _from_rows(conn.execute(LATERAL, {"n": n, "take": TAKE}).fetchall(), None)


def json(conn: Conn, n: int) -> Loaded:
    """One statement building the nested document with LATERAL subqueries and json_agg."""
    row = conn.execute(JSON, {"n": n, "take": TAKE}).fetchone()
    docs: list[dict[str, Any]] = row[0] if row else []
    return tuple(
        _user(
            d["id"],
            d["name"],
            d["email"],
            None if d["profile"] is None else (d["profile"]["id"], d["profile"]["bio"]),
            [(p["id"], p["title"]) for p in d["posts"]],
        )
        for d in docs
    )


def shape(loaded: Loaded) -> Shape:
    posts = [p for u in loaded for p in u[4]]
    profiles = sum(1 for u in loaded if u[3] is not None)
    return Shape(
        parents=len(loaded),
        children={"profile": profiles, "posts": len(posts)},
        distinct={"profile": profiles, "posts": len({p[0] for p in posts})},
    )


WORKLOAD = Workload(
    name=NAME,
    description="a page of the earliest members with their profile and latest 5 published posts",
    relations=("profile", "posts"),
    strategies={
        "n_plus_one": Strategy(n_plus_one, (PAGE, PROFILE_OF_USER, POSTS_OF_USER), n_plus_one.__doc__ or ""),
        "join": Strategy(join, (JOIN,), join.__doc__ or ""),
        "batched": Strategy(batched, (PAGE, PROFILES_OF_USERS, POSTS_OF_USERS), batched.__doc__ or ""),
        "json": Strategy(json, (JSON,), json.__doc__ or ""),
        "window": Strategy(window, (WINDOW,), window.__doc__ or ""),
        "lateral": Strategy(lateral, (LATERAL,), lateral.__doc__ or ""),
    },
    shape=shape,
)
