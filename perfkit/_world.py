"""The generators' world: sizes, time range, random streams, Faker pools and pre-encoded labels and JSON documents."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfkit._binary import Pool
from perfkit._gen import (
    HOUR_US,
    Pools,
    Streams,
    before_end,
    build_pools,
    counts,
    epoch_us,
    hashed_unit,
    pick,
    skew_weights,
    slot_times,
)
from perfkit._profile import Profile
from perfkit.errors import ConfigError

#: Type OIDs of the composite `address` attributes (all varchar); the loader checks them against the catalog.
ADDRESS_OIDS = (1043, 1043, 1043, 1043, 1043)
LANGS = ("en", "ja", "de", "fr", "es", "pt")
PER_PAGE = (10, 20, 50, 100)
FONTS = (12, 14, 16, 18)
DIGESTS = ("daily", "weekly", "never")
#: Mean delay between a post's creation and its publication.
PUBLISH_DELAY_US = 12 * HOUR_US


def _json_pool(docs: list[dict[str, Any]]) -> Pool:
    return Pool.of([json.dumps(d) for d in docs], prefix=b"\x01")  # jsonb's binary form: version 1, then the text


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
    labels: dict[str, Pool] = field(default_factory=dict)
    json: dict[str, Pool] = field(default_factory=dict)
    user_times: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    cumulative: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)

    @property
    def span_us(self) -> int:
        return self.end_us - self.start_us

    def created(self, table: str, index: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """created_at of rows `index` of `table` (users, posts, tags, notifications): distinct, in row order."""
        if table == "users":
            times: np.ndarray[Any, Any] = self.user_times[index]
            return times
        return slot_times(self.seed, table, self.start_us, self.span_us, self.n[table], index)

    def users_by(self, times: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """How many users exist at each time (at least 1: the first account opens at the start of the range)."""
        return np.searchsorted(self.user_times, times, side="right").clip(1, None)

    def post_status(self, index: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Status of posts `index` (indices into the profile's status_mix), from each post's own hashed draw: the
        comments and notifications that refer to a post know its status without generating its batch."""
        return pick(self.profile.status_mix, hashed_unit(self.seed, "posts", "status", index))

    def post_published(
        self, index: np.ndarray[Any, Any], created: np.ndarray[Any, Any] | None = None
    ) -> np.ndarray[Any, np.dtype[np.int64]]:
        """When posts `index` were (or would have been) published: an exponential delay after created_at (computed
        unless given), before the range's end (`before_end`), from each post's own hashed draws."""
        base = self.created("posts", index) if created is None else created
        delay = -PUBLISH_DELAY_US * np.log1p(-hashed_unit(self.seed, "posts", "published_at", index))
        late = hashed_unit(self.seed, "posts", "published_at_late", index)
        return before_end(base, base + delay.astype(np.int64), lambda over: late[over], self.end_us)

    def post_visible(self, index: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Whether readers can see posts `index` (any status but draft): one hashed draw per post."""
        visible: np.ndarray[Any, np.dtype[np.bool_]] = self.post_status(index) != self._draft
        return visible

    @property
    def _draft(self) -> int:
        return list(self.profile.status_mix).index("draft")

    def post_shown(
        self, index: np.ndarray[Any, Any], status: np.ndarray[Any, Any] | None = None
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Since when readers could see posts `index`, and whether they can: published posts since published_at,
        archived ones (published once; the schema keeps no date) since created_at, drafts never. `status`: the
        posts' post_status, when the caller has it."""
        status = self.post_status(index) if status is None else status
        labels = list(self.profile.status_mix)
        created = self.created("posts", index)
        since = np.where(status == labels.index("published"), self.post_published(index, created), created)
        return since, status != labels.index("draft")

    def posts_by(self, times: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """How many posts surely exist at each time: every post whose slot ended before it (slots are wider than 1 µs;
        one slot of margin)."""
        width = self.span_us / max(self.n["posts"], 1)
        whole = np.floor((np.asarray(times) - self.start_us) / width).astype(np.int64) - 1
        return whole.clip(0, self.n["posts"])


def make_world(scale: float, seed: int, profile: Profile) -> World:
    n = counts(scale, profile)
    streams = Streams(seed)
    pools = build_pools(profile.locale, seed)
    world = World(seed, profile, n, streams, pools, epoch_us(profile.start), epoch_us(profile.end))
    for name, size in (("authors", n["users"]), ("commenters", n["users"]), ("recipients", n["users"])):
        world.perms[name] = streams.permutation(name, size)
    world.user_times = slot_times(seed, "users", world.start_us, world.span_us, n["users"], np.arange(n["users"]))
    world.user_times[0] = world.start_us  # so that every later row has a user who already exists
    for name, key in (("authors", "posts_per_author"), ("recipients", "notifications_per_user")):
        world.cumulative[name] = skew_weights(n["users"], profile.skew[key], world.perms[name])
    world.perms["hot_posts"] = streams.permutation("hot_posts", max(1, n["posts"]))
    weights = 1.0 / np.arange(1, n["tags"] + 1, dtype=np.float64) ** profile.skew["tag_popularity"]
    world.tag_cdf = np.cumsum(weights / weights.sum())
    world.labels = {
        "role": Pool.of(list(profile.role_mix)),
        "status": Pool.of(list(profile.status_mix)),
        "type": Pool.of(list(profile.type_mix)),
    }
    # Every JSON document the settings can take, in index order (see _settings): encoded once per seed.
    world.json = {
        "preferences": _json_pool(
            [
                {"language": lang, "items_per_page": pp, "newsletter": nl} | ({"beta_ui": True} if beta else {})
                for lang in LANGS
                for pp in PER_PAGE
                for nl in (False, True)
                for beta in (False, True)
            ]
        ),
        "theme_config": _json_pool(
            [
                {"theme": theme, "accent": accent, "font_size": font}
                for theme in ("light", "dark")
                for accent in pools.colors.text.tolist()
                for font in FONTS
            ]
        ),
        "notification_settings": _json_pool(
            [{"email": e, "push": p, "digest": d} for e in (False, True) for p in (False, True) for d in DIGESTS]
        ),
        "message": _json_pool([{"message": s} for s in pools.sentences.text.tolist()]),
    }
    if n["comments"] and n["posts"] and not _any_shown(world):
        raise ConfigError(
            f"all {n['posts']:,} posts of profile {profile.name} at this scale are drafts, and readers cannot comment"
            " on drafts: give posts.status_mix a larger share of published or archived posts, or raise the scale"
        )
    return world


def _any_shown(world: World) -> bool:
    """Whether any post is not a draft (looked for in chunks: the first one nearly always has one)."""
    for lo in range(0, world.n["posts"], 100_000):
        if world.post_visible(np.arange(lo, min(lo + 100_000, world.n["posts"]))).any():
            return True
    return False
