"""A naive seeder for comparison: one Faker call per value, rows inserted with `executemany`, indexes in place.

It fills all eight tables in the same proportions as perfkit's profile (a sample scale), so that its cost per row
can be set against perfkit's on the same mix of rows: a post (three Faker paragraphs) costs far more than a post_tags
pair, and comparing rows per second over different mixes would flatter one side.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from faker import Faker

from perfkit._gen import counts
from perfkit._profile import load_profile

ROLES = ["user", "moderator", "admin"]
STATUSES = ["draft", "published", "archived"]
TYPES = ["comment", "like", "follow", "system"]


def _insert(
    cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: list[tuple[Any, ...]], returning: bool = False
) -> list[Any]:
    """executemany INSERT; with `returning`, the new ids in order."""
    marks = ", ".join(["%s"] * len(columns))
    query = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})" + (" RETURNING id" if returning else "")
    cur.executemany(query, rows, returning=returning)  # type: ignore[arg-type]  # built from constants
    ids: list[Any] = []
    if returning:
        while True:
            row = cur.fetchone()
            if row is not None:
                ids.append(row[0])
            if not cur.nextset():
                break
    return ids


def naive_seed(conn: psycopg.Connection[Any], scale: float) -> dict[str, tuple[float, int]]:
    """Seed every table at `scale` the naive way; returns (seconds, rows) per table, Faker and INSERT both timed."""
    n = counts(scale, load_profile("default"))
    fake = Faker("en_US")
    fake.seed_instance(42)
    times: dict[str, tuple[float, int]] = {}

    def timed(table: str, make: Callable[[], list[tuple[Any, ...]]], columns: Sequence[str], ret: bool = False) -> Any:
        started = time.perf_counter()
        rows = make()
        with conn.cursor() as cur:
            ids = _insert(cur, table, columns, rows, ret)
        times[table] = (time.perf_counter() - started, len(rows))
        return ids

    def date() -> Any:
        return fake.date_time_between("-3y", tzinfo=None)

    with conn.transaction():
        users = timed(
            "users",
            lambda: [
                (fake.unique.email(), fake.sha256(), fake.name(), fake.random_element(ROLES), fake.boolean(), date(),
                 date(), date())
                for _ in range(n["users"])
            ],
            ("email", "password_hash", "name", "role", "email_verified", "last_login_at", "created_at", "updated_at"),
            True,
        )  # fmt: skip
        timed(
            "user_profiles",
            lambda: [
                (u, fake.paragraph(), fake.image_url(), fake.phone_number()[:20], fake.date_of_birth(),
                 fake.timezone()[:50],
                 (fake.street_address()[:100], fake.city()[:50], fake.state()[:50], fake.country()[:50],
                  fake.postcode()[:20]),
                 date(), date())
                for u in users
            ],
            ("user_id", "bio", "avatar_url", "phone_number", "date_of_birth", "timezone", "address", "created_at",
             "updated_at"),
        )  # fmt: skip
        posts = timed(
            "posts",
            lambda: [
                (fake.random_element(users), fake.sentence(), "\n\n".join(fake.paragraphs(3)),
                 fake.random_element(STATUSES), date(), fake.random_int(0, 10_000), date(), date())
                for _ in range(n["posts"])
            ],
            ("author_id", "title", "content", "status", "published_at", "view_count", "created_at", "updated_at"),
            True,
        )  # fmt: skip
        tags = timed(
            "tags",
            lambda: [(f"{fake.unique.word()}", fake.sentence(), date()) for _ in range(n["tags"])],
            ("name", "description", "created_at"),
            True,
        )
        timed(
            "post_tags",
            lambda: [
                (p, t, date())
                for p in posts
                for t in fake.random_elements(tags, length=fake.random_int(0, min(5, len(tags))), unique=True)
            ],
            ("post_id", "tag_id", "created_at"),
        )
        timed(
            "user_settings",
            lambda: [
                (u, json.dumps({"language": fake.language_code(), "items_per_page": fake.random_element([10, 20, 50])}),
                 json.dumps({"theme": fake.random_element(["light", "dark"]), "accent": fake.color_name()}),
                 json.dumps({"email": fake.boolean(), "push": fake.boolean()}), date(), date())
                for u in users
            ],
            ("user_id", "preferences", "theme_config", "notification_settings", "created_at", "updated_at"),
        )  # fmt: skip
        timed(
            "comments",
            lambda: [
                (fake.random_element(posts), fake.random_element(users), fake.sentence(), date(), date())
                for _ in range(n["comments"])
            ],
            ("post_id", "author_id", "body", "created_at", "updated_at"),
        )
        timed(
            "notifications",
            lambda: [
                (fake.random_element(users), fake.random_element(TYPES),
                 json.dumps({"actor_id": str(fake.random_element(users)), "post_id": str(fake.random_element(posts))}),
                 date(), date())
                for _ in range(n["notifications"])
            ],
            ("user_id", "type", "payload", "read_at", "created_at"),
        )  # fmt: skip
    return times


def naive_seconds_for(rows: dict[str, int], sample: dict[str, tuple[float, int]]) -> float:
    """How long the naive seeder would take for `rows` (per table), at the per-row cost it showed on its sample."""
    return sum(count * sample[t][0] / sample[t][1] for t, count in rows.items() if count and sample[t][1])
