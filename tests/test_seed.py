"""Seeding: row counts, determinism, skew, distinct timestamps (C09), unique values (C21), COPY types (C23), resume."""

from __future__ import annotations

import filecmp
import json
import multiprocessing
import os
import signal
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner

from perfkit import _disk as disk
from perfkit import freshness, schema
from perfkit._binary import PG_EPOCH_US, Pool, Rows, decode, uuid_bytes, uuid_text
from perfkit._disk import REFERENCE_COPY_BYTES, check_disk, estimate_bytes
from perfkit._gen import build_pools, counts, distinct_picks, top1_ceiling, top1_floor
from perfkit._load import copy_rows, deferred, verify
from perfkit._profile import load_profile
from perfkit._tables import GENERATORS, make_world
from perfkit.cli import cli
from perfkit.db import Target, connect
from perfkit.errors import ConfigError, SchemaError, SeedError
from perfkit.realism import TIME_ORDER, realism_report
from perfkit.seed import (
    _FREE_SLOTS,
    SeedInfo,
    _check_types,
    connections_for,
    copy_bytes,
    current_seed,
    ensure_seeded,
    seed,
    seed_state,
)
from tests.fix_seed import SMALL_SCALE

ROOT = Path(__file__).resolve().parent.parent


def test_row_counts_at_small_scale(seeded: tuple[Target, SeedInfo]) -> None:
    target, info = seeded
    expected = counts(SMALL_SCALE, load_profile("default"))
    with connect(target) as conn:
        for table in schema.TABLES:
            got = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert got == (info.rows[table],), table
            if table != "post_tags":  # post_tags depends on the draws: 0-5 tags per post
                assert info.rows[table] == expected[table], table
    assert info.rows == {
        "users": 100, "user_profiles": 100, "posts": 1000, "tags": 5, "post_tags": info.rows["post_tags"],
        "user_settings": 100, "comments": 3000, "notifications": 2000,
    }  # fmt: skip
    assert 1000 <= info.rows["post_tags"] <= 3000


def test_same_seed_same_fingerprint_other_seed_differs(seeded: tuple[Target, SeedInfo], empty_db: Target) -> None:
    _, reference = seeded
    again = seed(empty_db, scale=SMALL_SCALE, seed=42, jobs=2)  # parallel load: same data
    assert again.fingerprint == reference.fingerprint and again.rows == reference.rows
    other = seed(empty_db, scale=SMALL_SCALE, seed=43)
    assert other.fingerprint != reference.fingerprint


def test_adding_skew_concentrates_posts(seeded: tuple[Target, SeedInfo], empty_db: Target) -> None:
    target, _ = seeded
    with connect(target) as conn:
        skewed = realism_report(conn).posts_per_author
    seed(empty_db, scale=SMALL_SCALE, seed=42, profile="uniform")
    with connect(empty_db) as conn:
        flat = realism_report(conn).posts_per_author
    # default: k = 4 -> the top 1% (1 of 100 users) writes about 0.01 ** 0.25 = 32% of posts; uniform: as even as
    # sign-up order allows (the first user can be drawn from the start: about 6%)
    assert 0.2 < skewed.top1_share < 0.45
    assert flat.top1_share < 0.09
    assert skewed.top1_share > 3 * flat.top1_share
    assert skewed.max_posts > 3 * flat.max_posts
    assert abs(flat.top1_share - top1_floor(flat.users)) < 0.03  # the floor the report prints beside the profile
    out = CliRunner().invoke(cli, ["seed", "--dsn", empty_db.conninfo, "--scale", str(SMALL_SCALE), "--profile",
                                   "uniform", "--reuse", "--report"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert f"(profile k = 1: 1%; sign-up order alone gives at least {top1_floor(flat.users):.1%})" in out.output


def test_a_skew_past_what_sign_up_order_allows_is_reported_as_such(empty_db: Target, tmp_path: Path) -> None:
    """k = 100 asks the top 1% for 95% of the posts; with 100 users the top user signed up too late for that, and the
    report printed '29.3% (profile k = 100: 95%)' as if the profile had been followed."""
    profile = tmp_path / "k100.toml"
    profile.write_text("[skew]\nposts_per_author = 100\n")
    out = CliRunner().invoke(cli, ["seed", "--dsn", empty_db.conninfo, "--scale", str(SMALL_SCALE), "--profile",
                                   str(profile), "--report"])  # fmt: skip
    assert out.exit_code == 0, out.output
    with connect(empty_db) as conn:
        got = realism_report(conn).posts_per_author
    ceiling = top1_ceiling(got.users, 42)
    assert abs(got.top1_share - ceiling) < 0.03  # as far as it can go
    assert f"(profile k = 100: 95%; with 100 users sign-up order allows at most {ceiling:.1%})" in out.output


def test_timestamps_distinct_emails_unique_json_objects(seeded: tuple[Target, SeedInfo]) -> None:
    target, _ = seeded
    with connect(target) as conn:
        assert conn.execute("SELECT count(DISTINCT created_at), count(*) FROM posts").fetchone() == (1000, 1000)
        assert conn.execute("SELECT count(DISTINCT created_at) FROM notifications").fetchone() == (2000,)
        assert conn.execute("SELECT count(DISTINCT email) FROM users").fetchone() == (100,)
        span = conn.execute("SELECT max(created_at) - min(created_at) > interval '2 years' FROM posts").fetchone()
        assert span == (True,)
        for table, column in [("user_settings", "preferences"), ("user_settings", "notification_settings"),
                              ("notifications", "payload")]:  # fmt: skip
            kinds = conn.execute(f"SELECT DISTINCT jsonb_typeof({column}) FROM {table}").fetchall()
            assert kinds == [("object",)], (table, column)
        # published_at only for published posts; NULLs where the profile says
        bad = conn.execute(
            "SELECT count(*) FROM posts WHERE (status = 'published') <> (published_at IS NOT NULL)"
        ).fetchone()
        assert bad == (0,)
        assert conn.execute("SELECT count(*) FILTER (WHERE last_login_at IS NULL) FROM users").fetchone() != (0,)


def test_c21_unique_values_beyond_the_faker_pools() -> None:
    world = make_world(0.01, 42, load_profile("default"))
    pools = world.pools
    # two first names, two last names, one domain: 4 local parts for 100 users; tags beyond the word pool
    world.pools = replace(pools, first_ascii=pools.first_ascii.head(2), last_ascii=pools.last_ascii.head(2),
                          first=pools.first.head(2), last=pools.last.head(2), domains=pools.domains.head(1),
                          words=pools.words.head(3))  # fmt: skip
    world.n["tags"] = 50
    emails = [row[1] for row in decode(GENERATORS["users"].make(world, 0).data)]
    assert len(emails) == 100 and len(set(emails)) == 100
    assert len({e.rsplit(b".", 2)[0] for e in emails if e}) <= 4
    names = [row[1] for row in decode(GENERATORS["tags"].make(world, 0).data)]
    assert len(names) == 50 and len(set(names)) == 50 and sum(n.endswith(b"-1") for n in names if n) == 3


def test_c23_loader_stores_objects_and_verify_catches_strings(conn: psycopg.Connection[Any]) -> None:
    schema.migrate(conn)
    conn.execute("CREATE TABLE copy_target (id uuid, n integer, status post_status, prefs jsonb)")
    u = uuid.UUID("8f0c2a5e-3b1d-4c7e-9a26-5d4b1e0f7a31")
    # R1/R4/R6 of C23: a small int, a bare dict and an enum column all load once the types come from the catalog
    copy_rows(conn, "copy_target", ["id", "n", "status", "prefs"], [[[u], [100], ["published"], [{"theme": "dark"}]]])
    row = conn.execute("SELECT id, n, status::text, jsonb_typeof(prefs), prefs FROM copy_target").fetchone()
    assert row == (u, 100, "published", "object", {"theme": "dark"})
    # R8: a pre-serialised string goes in silently as a JSON string; the loader's verification refuses it
    for stmt in deferred(conn).drops:  # as during a seed: no keys, so user_settings loads alone
        conn.execute(stmt)
    copy_rows(conn, "user_settings", ["user_id", "preferences"], [[[u], [json.dumps({"theme": "dark"})]]])
    assert conn.execute("SELECT jsonb_typeof(preferences) FROM user_settings").fetchone() == ("string",)
    with pytest.raises(SeedError, match=r"user_settings.preferences: 1 values are not JSON objects"):
        verify(conn, {"user_settings": 1})


def test_interrupted_seed_is_detected_and_redone(seeded: tuple[Target, SeedInfo], empty_db: Target) -> None:
    _, reference = seeded

    def interrupt(table: str, done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt

    for jobs in (1, 2):  # in this process, and with worker processes (terminated)
        with pytest.raises(KeyboardInterrupt):
            seed(empty_db, scale=SMALL_SCALE, seed=42, jobs=jobs, progress=interrupt)
        with connect(empty_db) as conn:
            assert seed_state(conn) == "loading" and current_seed(conn) is None
    redone = ensure_seeded(empty_db, scale=SMALL_SCALE, seed=42)
    assert not redone.reused and redone.fingerprint == reference.fingerprint
    reused = ensure_seeded(empty_db, scale=SMALL_SCALE, seed=42)
    assert reused.reused and reused.fingerprint == reference.fingerprint
    assert not ensure_seeded(empty_db, scale=SMALL_SCALE, seed=7).reused  # other arguments: seeded again


def test_a_dead_worker_fails_the_seed_instead_of_hanging(empty_db: Target) -> None:
    """A worker killed mid-load (as the out-of-memory killer would) ends the seed with an error, not a wait
    forever; no worker is left behind and the seed stays incomplete."""
    killed: list[int] = []

    def kill_a_worker(table: str, done: int, total: int) -> None:
        if done > 0 and not killed:
            victim = multiprocessing.active_children()[0]
            killed.append(victim.pid or 0)
            os.kill(victim.pid or 0, signal.SIGKILL)

    with pytest.raises(SeedError, match="a seed worker process died"):
        seed(empty_db, scale=SMALL_SCALE, seed=42, jobs=2, progress=kill_a_worker)
    assert killed and not multiprocessing.active_children()
    with connect(empty_db) as conn:
        assert seed_state(conn) == "loading" and current_seed(conn) is None


def test_seed_refuses_a_foreign_database(empty_db: Target) -> None:
    with connect(empty_db) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(SchemaError, match="--force"):
        seed(empty_db, scale=SMALL_SCALE)
    out = CliRunner().invoke(cli, ["seed", "--dsn", empty_db.conninfo, "--scale", "0.01"])
    assert out.exit_code == 1 and out.output.count("\n") == 1 and "--force" in out.output


def test_bad_arguments_and_profiles(tmp_path: Path, empty_db: Target) -> None:
    for kwargs, message in [
        ({"scale": 0}, "scale must be a positive number"),
        ({"scale": -1.5}, "scale must be a positive number"),
        ({"scale": 1, "jobs": 0}, "jobs must be at least 1"),
        ({"scale": 1e308}, "scale 1e\\+308 is too large"),  # the row counts overflowed to inf: a traceback
        ({"scale": 1e8}, "would put 3e\\+13 rows in one table"),
        ({"scale": 1, "profile": "nope"}, "unknown profile 'nope'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            seed(empty_db, **kwargs)
    cases = {
        "locale = 'en_US'\ncolour = 1\n": "unknown key colour",
        "[null_rates.users]\nlast_login_at = -0.1\n": "must not be negative",
        "[null_rates.users]\nlast_login_at = 1.5\n": "at most 1",
        "[skew]\nposts_per_autor = 2\n": "unknown key skew.posts_per_autor",
        "[skew]\ntag_popularity = 1e300\n": "skew.tag_popularity must be from 0 \\(uniform\\) to 100",  # overflowed
        "[skew]\nposts_per_author = 1e300\n": "skew.posts_per_author must be from 1 \\(1 = uniform\\) to 100",
        "locale = ''\n": "locale must be a Faker locale such as 'en_US', not ''",  # was en_US without a word
        # refused when the profile is read, not once a seed had said it would load again
        "locale = 'xx_XX'\n": "unknown Faker locale 'xx_XX' \\(see faker.config.AVAILABLE_LOCALES\\)",
        "locale = 'en_UX'\n": "unknown Faker locale 'en_UX' \\(did you mean 'en_US'\\?",
        "[posts]\nstatus_mix = { published = 1, deleted = 1 }\n": "unknown label status_mix.deleted",
        "[posts]\nstatus_mix = { published = 0.9, draft = 0.9, archived = 0.9 }\n": "shares sum to 2.7, not 1",
        "[posts]\ntags_per_post = [0.5, 0.6]\n": "tags_per_post probabilities sum to 1.1, not 1",
        "rows = [\n": "not valid TOML",
        # non-finite numbers passed every rule (nan < 0 is false) and seeded wrong data or crashed
        "[posts]\nstatus_mix = { published = nan, draft = 0.2, archived = 0.1 }\n": "must be a finite number, not nan",
        "[null_rates.users]\nlast_login_at = nan\n": "null_rates.users.last_login_at must be a finite number",
        "[skew]\ntag_popularity = nan\n": "skew.tag_popularity must be a finite number",
        "[skew]\nposts_per_author = inf\n": "skew.posts_per_author must be a finite number, not inf",
        "[rows]\nusers = inf\n": "rows.users must be a finite number",
        "[posts]\ntags_per_post = [0.5, nan]\n": r"tags_per_post\[1\] must be a finite number",
        "[rows]\nusers = 10000.5\n": "rows.users is a row count and must be a whole number, not 10000.5",
        "[posts]\nview_count_median = 0\n": "view_count_median must be between 1 and 1,000,000",
        "[posts]\nview_count_median = 1e12\n": "view_count_median must be between 1 and 1,000,000",
        "[posts]\ntags_per_post = []\n": "must list 1 to 6 probabilities",
        "[dates]\nstart = 'yesterday'\n": "must be a TOML date",
    }
    with pytest.raises(ConfigError, match=r"^profile \S+ is a folder: give a \.toml file$"):
        load_profile(str(tmp_path))  # was "profile file not found"
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + b"locale = 'de_DE'\n")  # as some editors save UTF-8
    assert load_profile(str(bom)).locale == "de_DE"
    for text, message in cases.items():
        path = tmp_path / "bad.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=message) as err:
            load_profile(str(path))
        assert "\n" not in str(err.value)
    runner = CliRunner()
    for args, message in [(["--scale", "0"], "must be a positive number"), (["--scale", "x"], "is not a number"),
                          (["--jobs", "0"], "--jobs")]:  # fmt: skip
        out = runner.invoke(cli, ["seed", "--dsn", empty_db.conninfo, *args])
        assert out.exit_code == 2 and message in out.output


def test_a_batch_with_no_rows_loads(empty_db: Target, tmp_path: Path) -> None:
    """A batch can draw no rows (no tags for any post of the last posts batch, or none at all): it loads as empty,
    instead of a crash after the old seed was dropped."""
    path = tmp_path / "untagged.toml"
    path.write_text("[posts]\ntags_per_post = [1.0]\n")
    info = seed(empty_db, scale=SMALL_SCALE, seed=42, profile=str(path))
    assert info.rows["post_tags"] == 0 and info.rows["posts"] > 0
    with connect(empty_db) as conn:
        assert conn.execute("SELECT state FROM perfkit_seed").fetchone() == ("complete",)
        assert realism_report(conn).tags_per_post == (1.0,)


def test_shipped_profiles_match_seeds_folder() -> None:
    shipped = sorted(p.name for p in (ROOT / "perfkit" / "profiles").glob("*.toml"))
    assert shipped == sorted(p.name for p in (ROOT / "seeds").glob("*.toml")) == ["default.toml", "uniform.toml"]
    for name in shipped:
        assert filecmp.cmp(ROOT / "perfkit" / "profiles" / name, ROOT / "seeds" / name, shallow=False)


def test_realism_report_and_cli(seeded: tuple[Target, SeedInfo]) -> None:
    target, info = seeded
    with connect(target) as conn:
        rep = realism_report(conn)
    assert rep.rows == info.rows
    assert abs(rep.status_mix["published"] - 0.7) < 0.05 and abs(rep.status_mix["draft"] - 0.2) < 0.05
    assert abs(rep.null_rates["user_profiles.phone_number"] - 0.5) < 0.15
    assert rep.n_distinct["posts.created_at"] == 1000 and rep.n_distinct["posts.status"] == 3
    assert rep.sizes["posts"].table_bytes > 0 and rep.sizes["posts"].index_bytes > 0
    assert json.loads(json.dumps(rep.to_dict()))["posts_per_author"]["top1_share"] == rep.posts_per_author.top1_share
    out = CliRunner().invoke(cli, ["seed", "--dsn", target.conninfo, "--scale", "0.01", "--reuse", "--report"])
    assert out.exit_code == 0, out.output
    assert "reused: scale 0.01, seed 42" in out.output and "posts per author" in out.output
    assert "published " in out.output and "(profile 70%)" in out.output
    assert "time order: every row is dated after what it refers to, none is on a draft" in out.output


def test_rows_are_dated_after_what_they_refer_to(seeded: tuple[Target, SeedInfo]) -> None:
    """A post is not older than its author's account, a comment than its post or author, and so on (all checks)."""
    target, _ = seeded
    with connect(target) as conn:
        rep = realism_report(conn)
        assert set(rep.time_order) == set(TIME_ORDER) and not any(rep.time_order.values()), rep.time_order
        with conn.transaction(force_rollback=True):  # the check sees a violation (rolled back: the data is shared)
            conn.execute(
                "UPDATE comments SET created_at = p.created_at - interval '1 second' FROM posts p"
                " WHERE p.id = comments.post_id AND comments.id = (SELECT id FROM comments ORDER BY id LIMIT 1)"
            )
            assert realism_report(conn).time_order["comments before their post"] == 1
            conn.execute(
                "UPDATE posts SET status = 'draft', published_at = NULL"
                " WHERE id = (SELECT post_id FROM comments ORDER BY id LIMIT 1)"
            )
            assert realism_report(conn).time_order["comments on drafts"] >= 1


def test_time_order_counts_each_check_as_its_own_query_would(seeded: tuple[Target, SeedInfo]) -> None:
    """One scan per table counts every check as a query of its own would, on data with violations of every kind."""
    from perfkit.realism import _REFERS_TO

    target, _ = seeded
    with connect(target) as conn, conn.transaction(force_rollback=True):  # the data is shared
        for table in ("posts", "comments", "post_tags", "notifications", "user_profiles", "user_settings"):
            conn.execute(
                f"UPDATE {table} SET created_at = created_at - interval '30 years'"
                f" WHERE ctid IN (SELECT ctid FROM {table} ORDER BY created_at LIMIT 3)"
            )
        conn.execute(
            "UPDATE users SET updated_at = created_at - interval '1 day' WHERE ctid IN (SELECT ctid FROM users LIMIT 2)"
        )
        conn.execute(
            "UPDATE posts SET status = 'draft', published_at = NULL WHERE id IN (SELECT post_id FROM comments LIMIT 4)"
        )
        conn.execute(
            "UPDATE posts SET published_at = created_at - interval '1 hour' WHERE ctid IN"
            " (SELECT ctid FROM posts WHERE status = 'published' LIMIT 5)"
        )
        got = realism_report(conn).time_order
        alone = {
            name: sum(
                int(conn.execute(f"SELECT count(*) FROM {_REFERS_TO[t]} WHERE {cond}").fetchone()[0])  # type: ignore[index]
                for t, cond in pairs
            )
            for name, pairs in TIME_ORDER.items()
        }
    assert got == alone
    assert sum(1 for n in got.values() if n) >= 10, got  # most checks saw violations


def test_comments_and_notifications_are_on_posts_readers_could_see(seeded: tuple[Target, SeedInfo]) -> None:
    """No comment on a draft or before its post was published; comment/like notifications likewise. Drafts are
    still commented on nowhere although hot posts draw most comments (the draws on drafts are drawn again)."""
    target, _ = seeded
    with connect(target) as conn:
        order = realism_report(conn).time_order
        for check in ("comments on drafts", "comments before their post was published", "notifications on drafts"):
            assert order[check] == 0, check
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE p.status = 'published'), count(*) FILTER (WHERE p.status = 'archived'),"
            " count(DISTINCT p.id) FROM comments c JOIN posts p ON p.id = c.post_id"
        ).fetchone()
    assert row is not None and row[0] > 0 and row[1] > 0  # archived posts keep the comments they got


@pytest.mark.parametrize(
    ("locale", "country", "region"),
    [("en_GB", "United Kingdom", "Aberdeenshire"), ("ja_JP", "Japan", "京都府"), ("ru_RU", "Russia", None)],
)
def test_locales_without_states_or_latin_names_work(locale: str, country: str, region: str | None) -> None:
    """en_GB has counties, ja_JP prefectures, not states (build_pools failed with AttributeError 'state'); names in
    other scripts are transliterated for e-mail addresses (they all became 'user.user.N'); addresses are in the
    locale's country, as their regions and postcodes are."""
    pools = build_pools(locale, 42)
    assert pools.countries.text.tolist() == [country]
    assert region is None or region in pools.states.text.tolist()
    names = pools.first_ascii.text.tolist() + pools.last_ascii.text.tolist()
    assert all(n.isascii() and n.isalnum() for n in names) and names.count("user") < len(names) / 100


def test_a_profile_file_is_one_profile_however_its_path_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """./x.toml, x.toml and its absolute path name one profile (each used to reseed); a file in ./seeds is named by
    its stem, as `--profile <stem>` finds it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "mine.toml").write_text("[posts]\nview_count_median = 50\n")
    (tmp_path / "other.toml").write_text("")
    assert {load_profile(p).name for p in ("mine", "seeds/mine.toml", "./seeds/mine.toml")} == {"mine"}
    assert {load_profile(p).name for p in ("other.toml", "./other.toml", str(tmp_path / "other.toml"))} == {
        str((tmp_path / "other.toml").resolve())
    }
    assert load_profile("default").name == "default"


def test_a_world_of_drafts_is_refused_when_it_has_comments() -> None:
    """Comments need a post that is not a draft: a profile whose posts are all drafts is refused before loading."""
    prof = replace(load_profile("default"), status_mix={"published": 0.0, "draft": 1.0, "archived": 0.0})
    with pytest.raises(ConfigError, match="are drafts, and readers cannot comment on drafts"):
        make_world(0.01, 42, prof)


def test_tags_per_post_follow_the_profile(seeded: tuple[Target, SeedInfo]) -> None:
    """Duplicate tag picks are redrawn, so each post gets as many distinct tags as drawn and the shares are the
    profile's (they were under-honoured when duplicates were dropped: 6% of posts with 5 tags for 10% asked)."""
    prof = load_profile("default")
    world = make_world(1, 42, prof)  # 500 tags with Zipf popularity: duplicates are frequent among 5 picks
    wanted = np.repeat(np.arange(6), 2000)
    picks = distinct_picks(np.random.default_rng(7), world.tag_cdf, wanted, 6)
    real = picks >= 0
    assert (real.sum(axis=1) == wanted).all()
    ordered = np.where(real, picks, 10**9)
    assert (np.diff(ordered, axis=1)[:, :4][real[:, 1:5]] > 0).all()  # distinct: strictly increasing
    target, _ = seeded
    with connect(target) as conn:
        got = realism_report(conn).tags_per_post
    assert np.allclose(got, prof.tags_per_post, atol=0.035), got
    # a popularity so concentrated that redraws keep returning the top tag (tag_popularity = 10): the duplicates left
    # were dropped, and 4 or 5 tags per post became 0% where the profile asked for 15% and 10%
    for exponent in (10.0, 100.0):
        weights = 1.0 / np.arange(1, 501, dtype=np.float64) ** exponent
        cdf = np.cumsum(weights / weights.sum())
        picks = distinct_picks(np.random.default_rng(7), cdf, wanted, 6)
        real = picks >= 0
        assert (real.sum(axis=1) == wanted).all()
        assert all(len(set(row[row >= 0])) == n for row, n in zip(picks, wanted, strict=True))
    assert (picks[wanted >= 2][:, :2] == [0, 1]).all()  # the two most popular, as their weights say


def test_generators_keep_other_columns_when_a_column_changes() -> None:
    world = make_world(0.01, 42, load_profile("default"))
    before = GENERATORS["posts"].make(world, 0)
    world.streams.seed = world.streams.seed  # same streams: identical output
    assert GENERATORS["posts"].make(world, 0) == before
    # each column draws from its own stream: the titles do not depend on the status column's stream
    status_rng = world.streams.rng("posts", "status", 0)
    title_rng = world.streams.rng("posts", "title", 0)
    assert not np.array_equal(status_rng.random(5), title_rng.random(5))


def test_binary_rows_round_trip() -> None:
    hi = np.array([0x0123456789ABCDEF, 1], dtype=np.uint64)
    lo = np.array([0xFEDCBA9876543210, 2], dtype=np.uint64)
    assert [bytes(r).decode() for r in uuid_text(hi, lo)] == [
        str(uuid.UUID(int=(0x0123456789ABCDEF << 64) | 0xFEDCBA9876543210)),
        str(uuid.UUID(int=(1 << 64) | 2)),
    ]
    pool = Pool.of(["é", "ab"])
    rows = Rows(2, 4)
    rows.uuid(hi, lo)
    rows.concat([pool.at(np.array([0, 1])), b"-", pool.at(np.array([1, 1]))], null=np.array([False, True]))
    rows.int4(np.array([7, -1]))
    rows.timestamp(np.array([PG_EPOCH_US + 5, 0]), null=np.array([True, False]))
    got = decode(rows.data())
    assert got[0] == (uuid_bytes(hi, lo)[0].tobytes(), "é-ab".encode(), b"\0\0\0\x07", None)
    assert got[1] == (
        uuid_bytes(hi, lo)[1].tobytes(),
        None,
        b"\xff\xff\xff\xff",
        (-PG_EPOCH_US).to_bytes(8, "big", signed=True),
    )


def test_more_jobs_than_the_server_has_connections_for_is_refused(empty_db: Target) -> None:
    """--jobs 100 failed deep in the load with 'FATAL: sorry, too many clients'; it is refused up front instead,
    saying how many the server has room for, before the existing data is touched."""
    with connect(empty_db) as conn:
        most = int(conn.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
    with pytest.raises(ConfigError, match=rf"--jobs {most + 5} needs {most + 13} connections \(its own and one per"):
        seed(empty_db, scale=SMALL_SCALE, jobs=most + 5)
    with connect(empty_db) as conn:
        assert seed_state(conn) is None
        free = int(conn.execute(_FREE_SLOTS).fetchone()[0])  # type: ignore[index]
    # room for the seed's own connections but not for its workers as well: it began, then failed after the old data
    # was dropped ('FATAL: sorry, too many clients already' from a worker)
    jobs = free - 4
    with pytest.raises(ConfigError, match=rf"--jobs {jobs} needs {jobs + 8} connections .* use --jobs {free - 7} or"):
        seed(empty_db, scale=SMALL_SCALE, jobs=jobs)
    assert connections_for(1) == 1 and connections_for(2) == 4 and connections_for(20) == 28


def test_seed_that_would_not_fit_the_disk_is_refused(empty_db: Target) -> None:
    with connect(empty_db) as conn:
        free = check_disk(conn, empty_db, 1)
        assert free is not None and free > 0  # the test server is local: its data directory is checked
        with pytest.raises(SeedError, match=r"^not enough disk space: this seed needs about 1,000\.0 PB, "):
            check_disk(conn, empty_db, 10**18)
    out = CliRunner().invoke(cli, ["seed", "--dsn", empty_db.conninfo, "--scale", "1000000"])
    assert out.exit_code == 1 and out.output.count("\n") == 1, out.output
    assert "not enough disk space: this seed needs about" in out.output
    with connect(empty_db) as conn:
        assert seed_state(conn) is None  # refused before anything was created or loaded
    assert estimate_bytes(counts(10, load_profile("default"))) > 2 * 10**9
    assert (disk._gb(519e6), disk._gb(2.5e9)) == ("519 MB", "2.5 GB")  # '0.5 GB needed, 0.5 GB free' told nothing


def test_the_disk_estimate_follows_the_profiles_row_sizes(
    empty_db: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ru_RU profile's rows are longer (two bytes a Cyrillic letter): its seed passed the check made with the default
    profile's sizes, then filled the disk after the old data was dropped."""
    default = copy_bytes(make_world(1, 42, load_profile("default")))
    for table, size in REFERENCE_COPY_BYTES.items():  # the reference is what the generators make today
        assert abs(default[table] - size) < 0.03 * size, (table, default[table], size)
    path = tmp_path / "ru.toml"
    path.write_text('locale = "ru_RU"\n')
    russian = load_profile(str(path))
    n = counts(SMALL_SCALE, russian)
    longer = estimate_bytes(n, copy_bytes(make_world(SMALL_SCALE, 42, russian)))
    assert longer > 1.3 * estimate_bytes(n)
    # room for the default profile's estimate, not for the Russian one: refused before anything is touched
    monkeypatch.setattr(disk, "_free", lambda _path: (estimate_bytes(n) + longer) // 2)
    with pytest.raises(SeedError, match=r"^not enough disk space: this seed needs about"):
        seed(empty_db, scale=SMALL_SCALE, profile=str(path))
    with connect(empty_db) as conn:
        assert seed_state(conn) is None


def test_c23_generators_match_the_catalog_types(conn: psycopg.Connection[Any]) -> None:
    schema.migrate(conn)
    _check_types(conn)  # the migrated schema is what the generators write
    conn.execute("ALTER TABLE posts ALTER COLUMN view_count TYPE bigint")
    with pytest.raises(SeedError, match=r"^posts.view_count is int8, the generator writes int4 "):
        _check_types(conn)


def test_nobody_is_notified_of_their_own_actions(seeded: tuple[Target, SeedInfo]) -> None:
    target, _ = seeded
    with connect(target) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE payload->>'actor_id' = user_id::text), count(payload->>'actor_id')"
            " FROM notifications"
        ).fetchone()
    assert row is not None and row[1] > 1000 and row[0] == 0


@pytest.mark.parametrize("jobs", [1, 2])
def test_statistics_are_fresh_after_a_seed(empty_db: Target, jobs: int) -> None:
    # The load's row counts must reach the statistics before ANALYZE resets them: counted after, they made every
    # table look "changed since ANALYZE" and the first run after a seed analysed them all again.
    seed(empty_db, scale=SMALL_SCALE, seed=42, jobs=jobs)
    with connect(empty_db) as conn:
        checks = [freshness.check(conn, table) for table in schema.TABLES]
    assert [(c.table, c.modified_since_analyze) for c in checks] == [(t, 0) for t in schema.TABLES]
    assert not any(c.stale for c in checks)


def test_a_date_range_too_short_for_distinct_timestamps_is_refused(empty_db: Target, tmp_path: Path) -> None:
    """500 microseconds cannot hold 1,000 posts at distinct times: the seed repeated timestamps (which keyset
    walks depend on) without a word."""
    path = tmp_path / "instant.toml"
    path.write_text("[dates]\nstart = 2022-01-01T00:00:00\nend = 2022-01-01T00:00:00.000500\n")
    with pytest.raises(ConfigError, match=r"dates span 500 microseconds, fewer than the 2,000 notifications at scale"):
        seed(empty_db, scale=SMALL_SCALE, profile=str(path))
    path.write_text("[dates]\nstart = 2022-01-01T00:00:00\nend = 2022-01-01T00:00:00.002000\n")  # exactly enough
    info = seed(empty_db, scale=SMALL_SCALE, profile=str(path))
    with connect(empty_db) as conn:
        for table in ("users", "posts", "tags", "notifications"):
            row = conn.execute(f"SELECT count(DISTINCT created_at) FROM {table}").fetchone()
            assert row == (info.rows[table],), table


def test_the_realism_report_has_no_null_rate_for_an_empty_table(empty_db: Target, tmp_path: Path) -> None:
    """It printed 'notifications.read_at 0.0% (profile 40%)' for a table with no rows."""
    path = tmp_path / "quiet.toml"
    path.write_text("[rows]\nnotifications = 0\n")
    out = CliRunner().invoke(
        cli, ["seed", "--dsn", empty_db.conninfo, "--scale", str(SMALL_SCALE), "--profile", str(path), "--report"]
    )
    assert out.exit_code == 0, out.output
    assert "notifications.read_at n/a (no rows) (profile 40%)" in " ".join(out.output.split())
    with connect(empty_db) as conn:
        assert realism_report(conn).null_rates["notifications.read_at"] is None
    assert "notification types: comment n/a (no rows) (profile 45%), like n/a (no rows)" in " ".join(out.output.split())


def test_the_realism_report_shows_what_the_profile_asks_for_and_the_data_lacks(empty_db: Target) -> None:
    """At scale 0.001 (10 users, one tag) there is no admin and no post with 2 to 5 tags: those lines were left out,
    so the mismatch never showed."""
    out = CliRunner().invoke(cli, ["seed", "--dsn", empty_db.conninfo, "--scale", "0.001", "--report"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "admin 0.0% (profile 1%)" in text
    assert "2 0.0% (profile 25%), 3 0.0% (profile 20%), 4 0.0% (profile 15%), 5 0.0% (profile 10%)" in text


def test_members_are_born_years_before_they_sign_up(empty_db: Target, tmp_path: Path) -> None:
    """Birth dates were fixed in 1950-2005: a profile dated in the past had members born after they signed up."""
    path = tmp_path / "old.toml"
    path.write_text("[dates]\nstart = 1900-01-01\nend = 1903-01-01\n")
    seed(empty_db, scale=SMALL_SCALE, profile=str(path))
    with connect(empty_db) as conn:
        row = conn.execute(
            "SELECT count(*), min(u.created_at::date - p.date_of_birth), max(u.created_at::date - p.date_of_birth)"
            " FROM user_profiles p JOIN users u ON u.id = p.user_id WHERE p.date_of_birth IS NOT NULL"
        ).fetchone()
    assert row is not None and row[0] > 50
    assert row[1] >= 18 * 365 and row[2] <= 74 * 365, row  # days old at sign-up
