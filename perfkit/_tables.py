"""Per-table batch generators: each turns (world, batch number) into binary COPY rows, vectorised with numpy."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from perfkit._binary import Batch, Piece, Rows, objects, rows_of, uuid_text
from perfkit._gen import (
    BATCH,
    DAY_US,
    HOUR_US,
    Pools,
    batch_range,
    before_end,
    choose,
    distinct_picks,
    null_mask,
    pick_before,
    skewed,
)
from perfkit._world import ADDRESS_OIDS, DIGESTS, FONTS, LANGS, PER_PAGE, World, make_world


def _after(rng: np.random.Generator, base: np.ndarray[Any, Any], mean_us: float, end_us: int) -> np.ndarray[Any, Any]:
    """`base` plus an exponential delay, before `end_us` (`before_end`)."""
    later = base + rng.exponential(mean_us, len(base)).astype(np.int64)
    return before_end(base, later, lambda over: rng.random(int(over.sum())), end_us)


def _digits(values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, np.dtype[np.object_]], np.ndarray[Any, Any]]:
    """Decimal text of integers as a concat piece (bytes objects and their lengths)."""
    text = np.asarray(values).astype("S20")
    return objects(text.tolist()), np.char.str_len(text).astype(np.int64)


def _ids(w: World, rows: Rows, table: str, index: np.ndarray[Any, Any]) -> None:
    rows.uuid(*w.streams.uuid_words(table, index))


def users(w: World, b: int) -> Batch:
    lo, hi = batch_range(w.n["users"], b)
    size, r, p = hi - lo, w.streams.rng, w.pools
    idx = np.arange(lo, hi)
    fi = r("users", "first_name", b).integers(0, len(p.first), size)
    la = r("users", "last_name", b).integers(0, len(p.last), size)
    dom = r("users", "email_domain", b).integers(0, len(p.domains), size)
    created = w.created("users", idx)
    updated = _after(r("users", "updated_at", b), created, 60 * DAY_US, w.end_us)
    login_rng = r("users", "last_login_at", b)
    login = created + (login_rng.random(size) * (w.end_us - created)).astype(np.int64)
    rows = Rows(size, 9)
    _ids(w, rows, "users", idx)
    # C21: row number in the local part, so n rows always give n distinct e-mails (no Faker unique proxy).
    rows.concat([p.first_ascii.at(fi), b".", p.last_ascii.at(la), b".", _digits(idx + 1), b"@", p.domains.at(dom)])
    rows.pooled(p.hashes, r("users", "password_hash", b).integers(0, len(p.hashes), size))
    rows.concat([p.first.at(fi), b" ", p.last.at(la)])
    rows.pooled(w.labels["role"], choose(r("users", "role", b), w.profile.role_mix, size))
    rows.boolean(r("users", "email_verified", b).random(size) < w.profile.email_verified)
    rows.timestamp(login, null_mask(login_rng, size, w.profile.null_rate("users", "last_login_at")))
    rows.timestamp(created)
    rows.timestamp(updated)
    return Batch(size, rows.data())


def _address(p: Pools, rad: np.random.Generator, size: int) -> list[Piece]:
    """The pieces of a binary composite: field count, then (type OID, length, bytes) per attribute."""
    pieces: list[Piece] = [struct.pack("!i", len(ADDRESS_OIDS))]
    for oid, pool in zip(ADDRESS_OIDS, (p.streets, p.cities, p.states, p.countries, p.postcodes), strict=True):
        pick = rad.integers(0, len(pool), size)
        pieces += [struct.pack("!I", oid), (pool.field[pick], pool.size[pick] + 4)]
    return pieces


def user_profiles(w: World, b: int) -> Batch:
    lo, hi = batch_range(w.n["users"], b)
    size, r, p, t = hi - lo, w.streams.rng, w.pools, "user_profiles"
    idx = np.arange(lo, hi)
    nulls = w.profile.null_rates[t]
    rb = r(t, "bio", b)
    bio: list[Piece] = [p.sentences.at(rb.integers(0, len(p.sentences), size)), b" "]
    bio.append(p.sentences.at(rb.integers(0, len(p.sentences), size)))
    ra = r(t, "avatar_url", b)
    avatar: list[Piece] = [b"https://avatars.example.com/", _digits(ra.integers(10**9, 10**10, size)), b".png"]
    rd = r(t, "date_of_birth", b)
    # 18 to 74 years old at sign-up, whatever the profile's date range (fixed 1950-2005 births came after sign-ups
    # in a range set in the past)
    signed_up = w.created("users", idx) // DAY_US
    born = signed_up - 18 * 365 - rd.integers(0, 56 * 365, size)
    rad = r(t, "address", b)
    address = _address(p, rad, size)
    created = _after(r(t, "created_at", b), w.created("users", idx), HOUR_US, w.end_us)
    updated = _after(r(t, "updated_at", b), created, 90 * DAY_US, w.end_us)
    rp = r(t, "phone_number", b)
    phone = rp.integers(0, len(p.phones), size)
    rows = Rows(size, 10)
    _ids(w, rows, t, idx)
    _ids(w, rows, "users", idx)
    rows.concat(bio, null_mask(rb, size, nulls["bio"]))
    rows.concat(avatar, null_mask(ra, size, nulls["avatar_url"]))
    rows.pooled(p.phones, phone, null_mask(rp, size, nulls["phone_number"]))
    rows.date(born, null_mask(rd, size, nulls["date_of_birth"]))
    rows.pooled(p.timezones, r(t, "timezone", b).integers(0, len(p.timezones), size))
    rows.concat(address, null_mask(rad, size, nulls["address"]))
    rows.timestamp(created)
    rows.timestamp(updated)
    return Batch(size, rows.data())


def posts(w: World, b: int) -> Batch:
    lo, hi = batch_range(w.n["posts"], b)
    size, r, p, t = hi - lo, w.streams.rng, w.pools, "posts"
    created = w.created(t, np.arange(lo, hi))
    # The author's account exists before the post: drawn with the skew among the users who had signed up by then.
    authors = pick_before(r(t, "author_id", b), w.cumulative["authors"], w.users_by(created))
    title = r(t, "title", b).integers(0, len(p.sentences), size)
    rc = r(t, "content", b)
    npar = len(p.paragraphs)
    first, second = rc.integers(0, npar, size), rc.integers(0, npar, size)
    third = rc.random(size) < 0.5
    extra = np.zeros(size, dtype=np.int64)
    extra[third] = rc.integers(0, npar, int(third.sum()))
    tail_raw, tail_size = p.paragraphs.at(extra)
    tail_raw[~third] = b""
    tail_size = np.where(third, tail_size, 0)
    sep = objects([b""] * size)
    sep[third] = b"\n\n"
    # Status and published_at from each post's own hashed draws: comments and notifications look them up.
    status = w.post_status(np.arange(lo, hi))
    labels = list(w.profile.status_mix)
    published = w.post_published(np.arange(lo, hi), created)
    median = max(w.profile.view_count_median, 1.0)
    views = np.minimum(r(t, "view_count", b).lognormal(np.log(median), 1.5, size), 2**31 - 1).astype(np.int64)
    is_published = status == labels.index("published")
    views[status == labels.index("draft")] = 0
    updated = _after(r(t, "updated_at", b), np.where(is_published, published, created), 20 * DAY_US, w.end_us)
    rows = Rows(size, 9)
    _ids(w, rows, t, np.arange(lo, hi))
    _ids(w, rows, "users", authors)
    rows.pooled(p.sentences, title)
    rows.concat([p.paragraphs.at(first), b"\n\n", p.paragraphs.at(second), (sep, third * 2), (tail_raw, tail_size)])
    rows.pooled(w.labels["status"], status)
    rows.timestamp(published, ~is_published)
    rows.int4(views)
    rows.timestamp(created)
    rows.timestamp(updated)
    return Batch(size, rows.data())


def tags(w: World, b: int) -> Batch:
    lo, hi = batch_range(w.n["tags"], b)
    r, p, t = w.streams.rng, w.pools, "tags"
    idx = np.arange(lo, hi)
    words = len(p.words)
    # C21: a suffix once the word pool is used up keeps names unique at any scale.
    suffix = [b"" if i < words else f"-{i // words}".encode() for i in idx.tolist()]
    rd = r(t, "description", b)
    desc = rd.integers(0, len(p.sentences), hi - lo)
    created = w.created(t, idx)
    rows = Rows(hi - lo, 4)
    _ids(w, rows, t, idx)
    rows.concat([p.words.at(idx % words), (objects(suffix), np.array([len(s) for s in suffix], dtype=np.int64))])
    rows.pooled(p.sentences, desc, null_mask(rd, hi - lo, w.profile.null_rate(t, "description")))
    rows.timestamp(created)
    return Batch(hi - lo, rows.data())


def post_tags(w: World, b: int) -> Batch:
    """Tags of the posts of posts-batch b: as many distinct tags per post as the profile's `tags_per_post` draws
    (popular tags much more often), each pair tagged after both the post and the tag were created."""
    lo, hi = batch_range(w.n["posts"], b)
    size, r, t = hi - lo, w.streams.rng, "post_tags"
    cdf = np.cumsum(w.profile.tags_per_post)
    cdf[-1] = 1.0
    wanted = np.searchsorted(cdf, r(t, "count", b).random(size), side="right").clip(0, w.n["tags"])
    picks = distinct_picks(r(t, "tag_id", b), w.tag_cdf, wanted, len(cdf))
    post_row, slot = np.nonzero(picks >= 0)
    post_idx = lo + post_row
    tag_idx = picks[post_row, slot]
    base = np.maximum(w.created("posts", post_idx), w.created("tags", tag_idx))
    created = _after(r(t, "created_at", b), base, HOUR_US, w.end_us)
    rows = Rows(len(post_row), 4)
    _ids(w, rows, t, post_idx * 8 + slot)
    _ids(w, rows, "posts", post_idx)
    _ids(w, rows, "tags", tag_idx)
    rows.timestamp(created)
    return Batch(len(post_row), rows.data())


def user_settings(w: World, b: int) -> Batch:
    lo, hi = batch_range(w.n["users"], b)
    size, r, t, p = hi - lo, w.streams.rng, "user_settings", w.pools
    idx = np.arange(lo, hi)
    # Each document is an index into the world's pool of every possible document (same order as make_world).
    rp = r(t, "preferences", b)
    lang = np.minimum(rp.geometric(0.5, size) - 1, len(LANGS) - 1)
    per_page = rp.integers(0, len(PER_PAGE), size)
    newsletter = rp.random(size) < 0.3
    beta = rp.random(size) < 0.02
    prefs = ((lang * len(PER_PAGE) + per_page) * 2 + newsletter) * 2 + beta
    rt = r(t, "theme_config", b)
    dark = rt.random(size) < 0.35
    accent = rt.integers(0, len(p.colors), size)
    font = rt.integers(0, len(FONTS), size)
    theme = (dark * len(p.colors) + accent) * len(FONTS) + font
    theme_null = null_mask(rt, size, w.profile.null_rate(t, "theme_config"))
    rn = r(t, "notification_settings", b)
    email = rn.random(size) < 0.7
    push = rn.random(size) < 0.5
    notes = (email * 2 + push) * len(DIGESTS) + rn.integers(0, len(DIGESTS), size)
    created = _after(r(t, "created_at", b), w.created("users", idx), HOUR_US, w.end_us)
    updated = _after(r(t, "updated_at", b), created, 120 * DAY_US, w.end_us)
    rows = Rows(size, 7)
    _ids(w, rows, t, idx)
    _ids(w, rows, "users", idx)
    rows.pooled(w.json["preferences"], prefs)
    rows.pooled(w.json["theme_config"], theme, theme_null)
    rows.pooled(w.json["notification_settings"], notes)
    rows.timestamp(created)
    rows.timestamp(updated)
    return Batch(size, rows.data())


#: Rounds of drawing again before a draw that keeps landing on drafts moves to the next post that is not one.
_REDRAWS = 8


def _shown_posts(
    w: World, draw: Callable[[int], np.ndarray[Any, Any]], size: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """`size` posts from `draw`, none of them a draft, and their statuses: draws on drafts are drawn again (which
    keeps the skew among the posts readers see); the few still on drafts after that move to the next post that is
    not one."""
    post = draw(size)
    status = w.post_status(post)
    draft = list(w.profile.status_mix).index("draft")
    bad = status == draft
    for _ in range(_REDRAWS):
        if not bad.any():
            return post, status
        post[bad] = draw(int(bad.sum()))
        status[bad] = w.post_status(post[bad])
        bad = status == draft
    while bad.any():  # ends: make_world refused a world whose posts are all drafts
        post[bad] = (post[bad] + 1) % w.n["posts"]
        status[bad] = w.post_status(post[bad])
        bad = status == draft
    return post, status


def comments(w: World, b: int) -> Batch:
    lo, hi = batch_range(w.n["comments"], b)
    size, r, p, t, s = hi - lo, w.streams.rng, w.pools, "comments", w.profile.skew
    # Readers comment on posts they can see: a draw that lands on a draft is drawn again (see _shown_posts).
    rp = r(t, "post_id", b)
    post, status = _shown_posts(
        w, lambda k: skewed(rp, w.n["posts"], k, s["comments_per_post"], w.perms["hot_posts"]), size
    )
    author = skewed(r(t, "author_id", b), w.n["users"], size, s["comments_per_author"], w.perms["commenters"])
    rb = r(t, "body", b)
    first = rb.integers(0, len(p.sentences), size)
    longer = rb.random(size) < 0.4
    second = np.zeros(size, dtype=np.int64)
    second[longer] = rb.integers(0, len(p.sentences), int(longer.sum()))
    tail_raw, tail_size = p.sentences.at(second)
    tail_raw[~longer] = b""
    sep = objects([b""] * size)
    sep[longer] = b" "
    # A comment follows its post's publication and its author's sign-up, after a delay (not a sort key, so not
    # forced distinct).
    base = np.maximum(w.post_shown(post, status)[0], w.created("users", author))
    created = _after(r(t, "created_at", b), base, 2 * DAY_US, w.end_us)
    ru = r(t, "updated_at", b)
    edited = ru.random(size) < 0.1
    updated = np.where(edited, _after(ru, created, DAY_US, w.end_us), created)
    rows = Rows(size, 6)
    _ids(w, rows, t, np.arange(lo, hi))
    _ids(w, rows, "posts", post)
    _ids(w, rows, "users", author)
    rows.concat([p.sentences.at(first), (sep, longer * 1), (tail_raw, np.where(longer, tail_size, 0))])
    rows.timestamp(created)
    rows.timestamp(updated)
    return Batch(size, rows.data())


def _const(text: bytes, size: int) -> np.ndarray[Any, Any]:
    return np.broadcast_to(np.frombuffer(text, np.uint8), (size, len(text)))


def _payloads(
    w: World,
    kind: np.ndarray[Any, Any],
    user: np.ndarray[Any, Any],
    rp: np.random.Generator,
    created: np.ndarray[Any, Any],
    post_index: np.ndarray[Any, Any],
) -> np.ndarray[Any, Any]:
    """The jsonb payload of each notification, by type: actor and post ids, the actor only, or a message; the actor
    (never the recipient) existed before the notification, the post was shown before it."""
    size = len(kind)
    # The actor is another user (one who existed by then): draw among the others, skipping the recipient.
    known = w.users_by(created)
    others = rp.integers(0, np.maximum(known - 1, 1))
    actor = uuid_text(*w.streams.uuid_words("users", np.where((known > 1) & (others >= user), others + 1, others)))
    post = uuid_text(*w.streams.uuid_words("posts", post_index))
    message = rp.integers(0, len(w.pools.sentences), size)
    labels = list(w.profile.type_mix)
    out = np.empty(size, dtype=object)
    system, follow = kind == labels.index("system"), kind == labels.index("follow")
    both = ~(system | follow)
    shapes: tuple[tuple[np.ndarray[Any, Any], list[Any]], ...] = (
        (both, [b'\x01{"actor_id": "', actor, b'", "post_id": "', post, b'"}']),
        (follow, [b'\x01{"actor_id": "', actor, b'"}']),
    )
    for mask, parts in shapes:
        n = int(mask.sum())
        body = [_const(x, n) if isinstance(x, bytes) else x[mask] for x in parts]
        width = sum(x.shape[1] for x in body)
        out[mask] = rows_of(np.hstack([_const(struct.pack("!i", width), n), *body]))
    out[system] = w.json["message"].field[message[system]]
    return out


def _posts_shown_by(
    w: World, rng: np.random.Generator, times: np.ndarray[Any, Any], need: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Per time where `need`, a post created and shown before it (uniform among those created by then, drawn again
    on drafts and on posts published later), and whether one was found."""
    known = w.posts_by(times)
    post = rng.integers(0, known.clip(1, None))
    found = np.zeros(len(times), dtype=bool)
    todo = (known > 0) & need
    for _ in range(_REDRAWS):
        since, shown = w.post_shown(post[todo])
        found[todo] = shown & (since < times[todo])
        todo &= ~found
        if not todo.any():
            break
        post[todo] = rng.integers(0, known[todo])
    return post, found


def notifications(w: World, b: int) -> Batch:
    lo, hi = batch_range(w.n["notifications"], b)
    size, r, t = hi - lo, w.streams.rng, "notifications"
    created = w.created(t, np.arange(lo, hi))
    user = pick_before(r(t, "user_id", b), w.cumulative["recipients"], w.users_by(created))
    kind = choose(r(t, "type", b), w.profile.type_mix, size)
    labels = list(w.profile.type_mix)
    # A comment or like is on a post readers could see by then (not a draft, published before): drawn again among
    # the posts created by then; where none is found (as before the first post) the notification becomes a follow.
    about_post = ~np.isin(kind, [labels.index("system"), labels.index("follow")])
    post, found = _posts_shown_by(w, r(t, "post_id", b), created, about_post)
    kind[about_post & ~found] = labels.index("follow")
    # While the recipient is the only user, nobody else can act: those are system notifications.
    kind[w.users_by(created) == 1] = labels.index("system")
    payload = _payloads(w, kind, user, r(t, "payload", b), created, post)
    rr = r(t, "read_at", b)
    read = _after(rr, created, 3 * DAY_US, w.end_us)
    rows = Rows(size, 6)
    _ids(w, rows, t, np.arange(lo, hi))
    _ids(w, rows, "users", user)
    rows.pooled(w.labels["type"], kind)
    rows.column(payload)
    rows.timestamp(read, null_mask(rr, size, w.profile.null_rate(t, "read_at")))
    rows.timestamp(created)
    return Batch(size, rows.data())


@dataclass(frozen=True, slots=True)
class TableGen:
    """How a table is generated: its columns (COPY order), batch count source and the batch function."""

    columns: tuple[str, ...]
    driver: str  # the count whose batches drive this table
    make: Callable[[World, int], Batch]


GENERATORS: dict[str, TableGen] = {
    "users": TableGen(
        ("id", "email", "password_hash", "name", "role", "email_verified", "last_login_at", "created_at", "updated_at"),
        "users",
        users,
    ),
    "user_profiles": TableGen(
        (
            "id",
            "user_id",
            "bio",
            "avatar_url",
            "phone_number",
            "date_of_birth",
            "timezone",
            "address",
            "created_at",
            "updated_at",
        ),
        "users",
        user_profiles,
    ),
    "posts": TableGen(
        ("id", "author_id", "title", "content", "status", "published_at", "view_count", "created_at", "updated_at"),
        "posts",
        posts,
    ),
    "tags": TableGen(("id", "name", "description", "created_at"), "tags", tags),
    "post_tags": TableGen(("id", "post_id", "tag_id", "created_at"), "posts", post_tags),
    "user_settings": TableGen(
        ("id", "user_id", "preferences", "theme_config", "notification_settings", "created_at", "updated_at"),
        "users",
        user_settings,
    ),
    "comments": TableGen(("id", "post_id", "author_id", "body", "created_at", "updated_at"), "comments", comments),
    "notifications": TableGen(
        ("id", "user_id", "type", "payload", "read_at", "created_at"), "notifications", notifications
    ),
}

#: The binary form each generator writes, per column, as `copy_types` names it (enum -> text, timestamptz ->
#: timestamp): checked against the catalog before a load (C23), so a schema change fails with a clear message.
WIRE_TYPES: dict[str, tuple[str, ...]] = {
    "users": ("uuid", "text", "text", "text", "text", "bool", "timestamp", "timestamp", "timestamp"),
    "user_profiles": (
        "uuid", "uuid", "text", "text", "text", "date", "text", "address", "timestamp", "timestamp",
    ),
    "posts": ("uuid", "uuid", "text", "text", "text", "timestamp", "int4", "timestamp", "timestamp"),
    "tags": ("uuid", "text", "text", "timestamp"),
    "post_tags": ("uuid", "uuid", "uuid", "timestamp"),
    "user_settings": ("uuid", "uuid", "jsonb", "jsonb", "jsonb", "timestamp", "timestamp"),
    "comments": ("uuid", "uuid", "uuid", "text", "timestamp", "timestamp"),
    "notifications": ("uuid", "uuid", "text", "jsonb", "timestamp", "timestamp"),
}  # fmt: skip

__all__ = ["ADDRESS_OIDS", "BATCH", "GENERATORS", "WIRE_TYPES", "Batch", "TableGen", "World", "make_world"]
