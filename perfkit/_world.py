"""The generators' world: sizes, time range, random streams, Faker pools and pre-encoded labels and JSON documents."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfkit._binary import Pool
from perfkit._gen import Pools, Streams, build_pools, counts, epoch_us
from perfkit._profile import Profile

#: Type OIDs of the composite `address` attributes (all varchar); the loader checks them against the catalog.
ADDRESS_OIDS = (1043, 1043, 1043, 1043, 1043)
LANGS = ("en", "ja", "de", "fr", "es", "pt")
PER_PAGE = (10, 20, 50, 100)
FONTS = (12, 14, 16, 18)
DIGESTS = ("daily", "weekly", "never")


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

    @property
    def span_us(self) -> int:
        return self.end_us - self.start_us


def make_world(scale: float, seed: int, profile: Profile) -> World:
    n = counts(scale, profile)
    streams = Streams(seed)
    pools = build_pools(profile.locale, seed)
    world = World(seed, profile, n, streams, pools, epoch_us(profile.start), epoch_us(profile.end))
    for name, size in (("authors", n["users"]), ("commenters", n["users"]), ("recipients", n["users"])):
        world.perms[name] = streams.permutation(name, size)
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
    return world
