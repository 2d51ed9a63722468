"""Per-table batch generators: each turns (world, batch number) into column lists, vectorised with numpy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfkit._gen import (
    BATCH,
    Pools,
    Streams,
    batch_range,
    build_pools,
    choose,
    counts,
    epoch_us,
    skewed,
    slot_times,
    to_datetimes,
    with_nulls,
)
from perfkit._profile import Profile

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
Columns = list[list[Any]]


@dataclass(slots=True)
class World:
    """Everything a generator needs: sizes, the time range, streams, pools and the skew permutations."""

    seed: int
    profile: Profile
    n: dict[str, int]
    streams: Streams
    pools: Pools
    start_us: int
    end_us: int
    perms: dict[str, tuple[int, int]] = field(default_factory=dict)
    tag_cdf: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(1))

    @property
    def span_us(self) -> int:
        return self.end_us - self.start_us


def make_world(scale: float, seed: int, profile: Profile) -> World:
    n = counts(scale, profile)
    streams = Streams(seed)
    world = World(
        seed, profile, n, streams, build_pools(profile.locale, seed), epoch_us(profile.start), epoch_us(profile.end)
    )
    for name, size in (("authors", n["users"]), ("commenters", n["users"]), ("recipients", n["users"])):
        world.perms[name] = streams.permutation(name, size)
    world.perms["hot_posts"] = streams.permutation("hot_posts", max(1, n["posts"]))
    weights = 1.0 / np.arange(1, n["tags"] + 1, dtype=np.float64) ** profile.skew["tag_popularity"]
    world.tag_cdf = np.cumsum(weights / weights.sum())
    return world


def _after(rng: np.random.Generator, base: np.ndarray[Any, Any], mean_us: float, end_us: int) -> np.ndarray[Any, Any]:
    """`base` plus an exponential delay, kept before `end_us` (and never before `base`)."""
    later: np.ndarray[Any, Any] = np.minimum(base + rng.exponential(mean_us, len(base)).astype(np.int64), end_us - 1)
    result: np.ndarray[Any, Any] = np.maximum(base, later)
    return result


def _post_times(w: World, b: int) -> np.ndarray[Any, Any]:
    lo, hi = batch_range(w.n["posts"], b)
    return slot_times(w.streams.rng("posts", "created_at", b), w.start_us, w.span_us, w.n["posts"], lo, hi)


def users(w: World, b: int) -> Columns:
    lo, hi = batch_range(w.n["users"], b)
    size, r, p = hi - lo, w.streams.rng, w.pools
    idx = np.arange(lo, hi)
    fi = r("users", "first_name", b).integers(0, len(p.first), size)
    la = r("users", "last_name", b).integers(0, len(p.last), size)
    dom = r("users", "email_domain", b).integers(0, len(p.domains), size)
    # C21: row number in the local part, so n rows always give n distinct e-mails (no Faker unique proxy).
    email = (
        p.first_ascii[fi] + "." + p.last_ascii[la] + "." + (idx + 1).astype(str).astype(object) + "@" + p.domains[dom]
    )
    created = slot_times(r("users", "created_at", b), w.start_us, w.span_us, w.n["users"], lo, hi)
    updated = _after(r("users", "updated_at", b), created, 60 * DAY_US, w.end_us)
    login_rng = r("users", "last_login_at", b)
    login = created + (login_rng.random(size) * (w.end_us - created)).astype(np.int64)
    return [
        w.streams.uuids("users", idx),
        email.tolist(),
        p.hashes[r("users", "password_hash", b).integers(0, len(p.hashes), size)].tolist(),
        (p.first[fi] + " " + p.last[la]).tolist(),
        choose(r("users", "role", b), w.profile.role_mix, size).tolist(),
        (r("users", "email_verified", b).random(size) < w.profile.email_verified).tolist(),
        with_nulls(to_datetimes(login), login_rng, w.profile.null_rate("users", "last_login_at")),
        to_datetimes(created),
        to_datetimes(updated),
    ]


def user_profiles(w: World, b: int) -> Columns:
    lo, hi = batch_range(w.n["users"], b)
    size, r, p, t = hi - lo, w.streams.rng, w.pools, "user_profiles"
    idx = np.arange(lo, hi)
    nulls = w.profile.null_rates[t]
    rb = r(t, "bio", b)
    bio = (
        p.sentences[rb.integers(0, len(p.sentences), size)] + " " + p.sentences[rb.integers(0, len(p.sentences), size)]
    )
    ra = r(t, "avatar_url", b)
    avatar = "https://avatars.example.com/" + ra.integers(10**9, 10**10, size).astype(str).astype(object) + ".png"
    rd = r(t, "date_of_birth", b)
    born = (np.datetime64("1950-01-01") + rd.integers(0, 56 * 365, size).astype("timedelta64[D]")).astype(object)
    rad = r(t, "address", b)
    parts = [rad.integers(0, len(pool), size) for pool in (p.streets, p.cities, p.states, p.countries, p.postcodes)]
    address = list(
        zip(
            p.streets[parts[0]].tolist(),
            p.cities[parts[1]].tolist(),
            p.states[parts[2]].tolist(),
            p.countries[parts[3]].tolist(),
            p.postcodes[parts[4]].tolist(),
            strict=True,
        )
    )
    user_created = slot_times(r("users", "created_at", b), w.start_us, w.span_us, w.n["users"], lo, hi)
    created = _after(r(t, "created_at", b), user_created, HOUR_US, w.end_us)
    updated = _after(r(t, "updated_at", b), created, 90 * DAY_US, w.end_us)
    rp = r(t, "phone_number", b)
    return [
        w.streams.uuids(t, idx),
        w.streams.uuids("users", idx),
        with_nulls(bio.tolist(), rb, nulls["bio"]),
        with_nulls(avatar.tolist(), ra, nulls["avatar_url"]),
        with_nulls(p.phones[rp.integers(0, len(p.phones), size)].tolist(), rp, nulls["phone_number"]),
        with_nulls(list(born), rd, nulls["date_of_birth"]),
        p.timezones[r(t, "timezone", b).integers(0, len(p.timezones), size)].tolist(),
        with_nulls(address, rad, nulls["address"]),
        to_datetimes(created),
        to_datetimes(updated),
    ]


def posts(w: World, b: int) -> Columns:
    lo, hi = batch_range(w.n["posts"], b)
    size, r, p, t = hi - lo, w.streams.rng, w.pools, "posts"
    authors = skewed(r(t, "author_id", b), w.n["users"], size, w.profile.skew["posts_per_author"], w.perms["authors"])
    rt = r(t, "title", b)
    title = p.sentences[rt.integers(0, len(p.sentences), size)]
    rc = r(t, "content", b)
    npar = len(p.paragraphs)
    content = p.paragraphs[rc.integers(0, npar, size)] + "\n\n" + p.paragraphs[rc.integers(0, npar, size)]
    third = rc.random(size) < 0.5
    content[third] = content[third] + "\n\n" + p.paragraphs[rc.integers(0, npar, int(third.sum()))]
    status = choose(r(t, "status", b), w.profile.status_mix, size)
    created = _post_times(w, b)
    published = _after(r(t, "published_at", b), created, 12 * HOUR_US, w.end_us)
    median = max(w.profile.view_count_median, 1.0)
    views = np.minimum(r(t, "view_count", b).lognormal(np.log(median), 1.5, size), 2**31 - 1).astype(np.int64)
    is_published = status == "published"
    views[status == "draft"] = 0
    updated = _after(r(t, "updated_at", b), np.where(is_published, published, created), 20 * DAY_US, w.end_us)
    pub_list = to_datetimes(published)
    return [
        w.streams.uuids(t, np.arange(lo, hi)),
        w.streams.uuids("users", authors),
        title.tolist(),
        content.tolist(),
        status.tolist(),
        [v if ok else None for v, ok in zip(pub_list, is_published.tolist(), strict=True)],
        views.tolist(),
        to_datetimes(created),
        to_datetimes(updated),
    ]


def tags(w: World, b: int) -> Columns:
    lo, hi = batch_range(w.n["tags"], b)
    r, p, t = w.streams.rng, w.pools, "tags"
    idx = np.arange(lo, hi)
    base = p.words[idx % len(p.words)]
    # C21: a suffix once the word pool is used up keeps names unique at any scale.
    suffix = np.where(idx < len(p.words), "", "-" + (idx // len(p.words)).astype(str)).astype(object)
    rd = r(t, "description", b)
    desc = p.sentences[rd.integers(0, len(p.sentences), hi - lo)]
    created = slot_times(r(t, "created_at", b), w.start_us, w.span_us, w.n["tags"], lo, hi)
    return [
        w.streams.uuids(t, idx),
        (base + suffix).tolist(),
        with_nulls(desc.tolist(), rd, w.profile.null_rate(t, "description")),
        to_datetimes(created),
    ]


def post_tags(w: World, b: int) -> Columns:
    """Tags of the posts of posts-batch b: 0-5 per post, popular tags much more often, no duplicate pair."""
    lo, hi = batch_range(w.n["posts"], b)
    size, r, t = hi - lo, w.streams.rng, "post_tags"
    cdf = np.cumsum(w.profile.tags_per_post)
    cdf[-1] = 1.0
    wanted = np.searchsorted(cdf, r(t, "count", b).random(size), side="right")
    picks = np.searchsorted(w.tag_cdf, r(t, "tag_id", b).random((size, 6)), side="right").clip(0, w.n["tags"] - 1)
    picks = np.where(np.arange(6) < wanted[:, None], picks, -1)
    picks.sort(axis=1)
    keep = (picks >= 0) & np.concatenate([np.ones((size, 1), bool), picks[:, 1:] != picks[:, :-1]], axis=1)
    post_row, slot = np.nonzero(keep)
    post_idx = lo + post_row
    created = _post_times(w, b)[post_row]
    created = _after(r(t, "created_at", b), created, HOUR_US, w.end_us)
    return [
        w.streams.uuids(t, post_idx * 8 + slot),
        w.streams.uuids("posts", post_idx),
        w.streams.uuids("tags", picks[post_row, slot]),
        to_datetimes(created),
    ]


def _settings_dicts(w: World, b: int, size: int) -> tuple[list[Any], list[Any], list[Any]]:
    r, t, p = w.streams.rng, "user_settings", w.pools
    rp = r(t, "preferences", b)
    langs = np.array(["en", "ja", "de", "fr", "es", "pt"], dtype=object)[
        np.minimum(rp.geometric(0.5, size) - 1, 5)
    ].tolist()
    per_page = rp.choice(np.array([10, 20, 50, 100]), size).tolist()
    newsletter = (rp.random(size) < 0.3).tolist()
    beta = (rp.random(size) < 0.02).tolist()
    prefs: list[Any] = []
    for lang, pp, nl, bt in zip(langs, per_page, newsletter, beta, strict=True):
        d: dict[str, Any] = {"language": lang, "items_per_page": pp, "newsletter": nl}
        if bt:
            d["beta_ui"] = True
        prefs.append(d)
    rt = r(t, "theme_config", b)
    dark = (rt.random(size) < 0.35).tolist()
    accent = p.colors[rt.integers(0, len(p.colors), size)].tolist()
    font = rt.choice(np.array([12, 14, 16, 18]), size).tolist()
    themes: list[Any] = [
        {"theme": "dark" if d else "light", "accent": a, "font_size": f}
        for d, a, f in zip(dark, accent, font, strict=True)
    ]
    rn = r(t, "notification_settings", b)
    email = (rn.random(size) < 0.7).tolist()
    push = (rn.random(size) < 0.5).tolist()
    digest = np.array(["daily", "weekly", "never"], dtype=object)[rn.integers(0, 3, size)].tolist()
    notes: list[Any] = [{"email": e, "push": pu, "digest": dg} for e, pu, dg in zip(email, push, digest, strict=True)]
    return prefs, with_nulls(themes, rt, w.profile.null_rate(t, "theme_config")), notes


def user_settings(w: World, b: int) -> Columns:
    lo, hi = batch_range(w.n["users"], b)
    r, t = w.streams.rng, "user_settings"
    idx = np.arange(lo, hi)
    prefs, themes, notes = _settings_dicts(w, b, hi - lo)
    user_created = slot_times(r("users", "created_at", b), w.start_us, w.span_us, w.n["users"], lo, hi)
    created = _after(r(t, "created_at", b), user_created, HOUR_US, w.end_us)
    updated = _after(r(t, "updated_at", b), created, 120 * DAY_US, w.end_us)
    return [
        w.streams.uuids(t, idx),
        w.streams.uuids("users", idx),
        prefs,
        themes,
        notes,
        to_datetimes(created),
        to_datetimes(updated),
    ]


def comments(w: World, b: int) -> Columns:
    lo, hi = batch_range(w.n["comments"], b)
    size, r, p, t, s = hi - lo, w.streams.rng, w.pools, "comments", w.profile.skew
    post = skewed(r(t, "post_id", b), w.n["posts"], size, s["comments_per_post"], w.perms["hot_posts"])
    author = skewed(r(t, "author_id", b), w.n["users"], size, s["comments_per_author"], w.perms["commenters"])
    rb = r(t, "body", b)
    body = p.sentences[rb.integers(0, len(p.sentences), size)]
    longer = rb.random(size) < 0.4
    body[longer] = body[longer] + " " + p.sentences[rb.integers(0, len(p.sentences), int(longer.sum()))]
    # Comments follow their post: the post's slot start plus a delay (not a sort key, so not forced distinct).
    post_time = w.start_us + (post * (w.span_us / max(w.n["posts"], 1))).astype(np.int64)
    created = _after(r(t, "created_at", b), post_time, 2 * DAY_US, w.end_us)
    ru = r(t, "updated_at", b)
    edited = ru.random(size) < 0.1
    updated = np.where(edited, _after(ru, created, DAY_US, w.end_us), created)
    return [
        w.streams.uuids(t, np.arange(lo, hi)),
        w.streams.uuids("posts", post),
        w.streams.uuids("users", author),
        body.tolist(),
        to_datetimes(created),
        to_datetimes(updated),
    ]


def notifications(w: World, b: int) -> Columns:
    lo, hi = batch_range(w.n["notifications"], b)
    size, r, p, t = hi - lo, w.streams.rng, w.pools, "notifications"
    user = skewed(
        r(t, "user_id", b), w.n["users"], size, w.profile.skew["notifications_per_user"], w.perms["recipients"]
    )
    kind = choose(r(t, "type", b), w.profile.type_mix, size).tolist()
    rp = r(t, "payload", b)
    actors = [str(u) for u in w.streams.uuids("users", rp.integers(0, w.n["users"], size))]
    post_ids = [str(u) for u in w.streams.uuids("posts", rp.integers(0, max(w.n["posts"], 1), size))]
    messages = p.sentences[rp.integers(0, len(p.sentences), size)].tolist()
    payload: list[Any] = []
    for k, actor, post, msg in zip(kind, actors, post_ids, messages, strict=True):
        if k == "system":
            payload.append({"message": msg})
        elif k == "follow":
            payload.append({"actor_id": actor})
        else:
            payload.append({"actor_id": actor, "post_id": post})
    created = slot_times(r(t, "created_at", b), w.start_us, w.span_us, w.n["notifications"], lo, hi)
    rr = r(t, "read_at", b)
    read = _after(rr, created, 3 * DAY_US, w.end_us)
    return [
        w.streams.uuids(t, np.arange(lo, hi)),
        w.streams.uuids("users", user),
        kind,
        payload,
        with_nulls(to_datetimes(read), rr, w.profile.null_rate(t, "read_at")),
        to_datetimes(created),
    ]


@dataclass(frozen=True, slots=True)
class TableGen:
    """How a table is generated: its columns (COPY order), batch count source and the batch function."""

    columns: tuple[str, ...]
    driver: str  # the count whose batches drive this table
    make: Callable[[World, int], Columns]


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

__all__ = ["BATCH", "GENERATORS", "TableGen", "World", "make_world"]
