"""Reusing a seed: only when untouched since it completed; bad input refused before the old seed is touched; one seed
at a time; profiles fall back to the default profile's values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner

import perfkit.seed
from perfkit._data_lock import DATA
from perfkit._profile import load_profile, parse_profile
from perfkit._seed_marks import REPORT_DELAY_S, Mark, changes, flush_stats, marks_from_json, own_writes
from perfkit._tables import _after
from perfkit.cli import cli
from perfkit.db import Target, connect
from perfkit.errors import ConfigError, SchemaError, SeedError
from perfkit.seed import current_seed, ensure_seeded, reuse_check, seed, seed_changes
from tests.fix_seed import SMALL_SCALE

ADD_POSTS = "INSERT INTO posts (author_id, title, content) SELECT id, 't', 'c' FROM users"


def _write(target: Target, statement: str, *, commit: bool = False) -> None:
    """Run a write in a session of its own, rolled back unless `commit`, as a user's psql or `explain
    --allow-writes` would; its statistics flushed as they are when such a session ends."""
    with connect(target) as conn:
        if commit:
            conn.execute(statement)
        else:
            with conn.transaction(force_rollback=True):
                conn.execute(statement)
        flush_stats(conn)


def test_a_seed_written_to_since_is_not_reused(empty_db: Target) -> None:
    first = seed(empty_db, scale=SMALL_SCALE, seed=42)
    with connect(empty_db) as conn:
        assert seed_changes(conn) == []
    assert ensure_seeded(empty_db, scale=SMALL_SCALE, seed=42).reused

    _write(empty_db, "UPDATE posts SET view_count = view_count + 1 WHERE status = 'draft'")  # rolled back
    with connect(empty_db) as conn:
        drafts = conn.execute("SELECT count(*) FROM posts WHERE status = 'draft'").fetchone()
        assert drafts is not None and drafts[0] > 0
        updated = f"posts: {drafts[0]:,} row updates, committed or rolled back"
        assert seed_changes(conn) == [updated]
        assert current_seed(conn) is not None  # still complete: it is reuse that refuses it
    out = CliRunner().invoke(cli, ["db", "status", "--dsn", empty_db.conninfo])
    assert f"written to since the seed (the next run or seed seeds again): {updated}" in out.output
    reasons: list[str] = []
    again = ensure_seeded(empty_db, scale=SMALL_SCALE, seed=42, why=reasons.append)
    assert not again.reused and again.fingerprint == first.fingerprint
    assert reasons == [f"the data changed since the seed ({updated})"]
    assert ensure_seeded(empty_db, scale=SMALL_SCALE, seed=42).reused  # the fresh seed is untouched

    _write(empty_db, "TRUNCATE comments", commit=True)
    _write(empty_db, "DELETE FROM tags WHERE false")  # no row touched: no change
    with connect(empty_db) as conn:
        assert seed_changes(conn) == ["comments: rewritten (TRUNCATE, VACUUM FULL or CLUSTER)"]
    out = CliRunner().invoke(cli, ["seed", "--dsn", empty_db.conninfo, "--scale", "0.01", "--reuse"])
    assert out.exit_code == 0, out.output
    assert "the data changed since the seed (comments: rewritten" in out.output and "seeded: scale 0.01" in out.output


def test_reuse_check_says_why(empty_db: Target) -> None:
    prof = load_profile("default")
    assert reuse_check(empty_db, SMALL_SCALE, 42, prof) == (None, "no seed yet")
    seed(empty_db, scale=SMALL_SCALE, seed=42)
    assert reuse_check(empty_db, SMALL_SCALE, 42, prof)[0] is not None
    assert reuse_check(empty_db, SMALL_SCALE, 7, prof) == (None, "the data is scale 0.01, seed 42, profile default")
    with connect(empty_db) as conn:
        conn.execute("UPDATE perfkit_seed SET marks = NULL")  # as a seed recorded by an older perfkit
    _, why = reuse_check(empty_db, SMALL_SCALE, 42, prof)
    assert why == "the data changed since the seed (the seed has no write marks (made by an older perfkit), so it" \
        " cannot be checked)"  # fmt: skip


def test_bad_input_is_refused_before_the_old_seed_is_touched(empty_db: Target, tmp_path: Path) -> None:
    seed(empty_db, scale=SMALL_SCALE, seed=42)
    no_posts = tmp_path / "noposts.toml"
    no_posts.write_text("[rows]\nposts = 0\n")
    for kwargs, message in [
        ({"seed": 2**63}, "seed must be an integer from 0 to 9223372036854775807"),
        ({"scale": 0.0005}, "scale 0.0005 is too small: the smallest is 0.001"),
        ({"profile": str(no_posts)}, "gives no posts at scale 0.01 but 3,000 comments"),
    ]:
        with pytest.raises(ConfigError, match=message) as err:
            seed(empty_db, **{"scale": SMALL_SCALE, **kwargs})  # type: ignore[arg-type]
        assert "\n" not in str(err.value)
        with connect(empty_db) as conn:
            assert current_seed(conn) is not None, kwargs
    runner = CliRunner()
    for args in (["--seed", str(2**63)], ["--scale", "0.0005"]):
        out = runner.invoke(cli, ["seed", "--dsn", empty_db.conninfo, *args])
        assert out.exit_code == 2, out.output
    out = runner.invoke(cli, ["run", "--dsn", empty_db.conninfo, "--seed", "99999999999999999999"])
    assert out.exit_code == 2 and "--seed" in out.output
    # refused once the server is asked (too many --jobs for its connections): no "...: seeding again" before it
    out = runner.invoke(cli, ["seed", "--dsn", empty_db.conninfo, "--scale", "0.02", "--jobs", "1000"])
    assert out.exit_code == 2 and out.output.startswith("error: --jobs 1000 needs"), out.output
    assert "seeding again" not in out.output
    with connect(empty_db) as conn:
        assert current_seed(conn) is not None


def test_one_seed_at_a_time(empty_db: Target) -> None:
    with psycopg.connect(empty_db.conninfo, autocommit=True, application_name="perfkit seed") as other:
        other.execute("SELECT pg_advisory_lock(%s)", (DATA,))  # as a seed in progress holds it
        with pytest.raises(SeedError, match=r"another seed of this database is running \(perfkit seed \(pid \d+\)\)"):
            seed(empty_db, scale=SMALL_SCALE)
    assert seed(empty_db, scale=SMALL_SCALE).total_rows > 0  # released when that session ends


def test_left_out_profile_keys_take_the_default_profiles_values() -> None:
    default = load_profile("default")
    empty = parse_profile({}, "empty")
    assert empty.digest == default.digest
    assert (empty.status_mix, empty.role_mix, empty.type_mix) == (
        default.status_mix,
        default.role_mix,
        default.type_mix,
    )
    assert empty.null_rates == default.null_rates and empty.rows == default.rows and empty.skew == default.skew
    some: dict[str, Any] = {"rows": {"posts": 500}, "posts": {"status_mix": {"published": 1.0}}}
    partial = parse_profile(some, "partial")
    assert partial.rows == {**default.rows, "posts": 500}
    assert partial.status_mix == {"published": 1.0, "draft": 0.0, "archived": 0.0}  # a mix is replaced whole
    assert partial.tags_per_post == default.tags_per_post and partial.role_mix == default.role_mix


def test_delays_past_the_end_of_the_range_do_not_pile_up_on_its_last_microsecond() -> None:
    rng = np.random.default_rng(1)
    end = 10**12
    base = np.linspace(end - 10**9, end - 1, 100_000).astype(np.int64)  # the last 1,000 s of the range
    later = _after(rng, base, 3_600e6, end)  # a mean delay of one hour: most would pass the end
    assert (later >= base).all() and (later < end).all()
    assert int((later == end - 1).sum()) <= 2
    assert len(np.unique(later)) > 99_000


def test_perfkits_own_undone_writes_keep_the_seed_reusable_and_others_still_count(empty_db: Target) -> None:
    seed(empty_db, scale=SMALL_SCALE, seed=42)
    with connect(empty_db) as conn:
        with own_writes(conn, ("posts",)) as own:  # as the index scenario's batches: rolled back, told, vacuumed
            with conn.transaction(force_rollback=True):
                n = conn.execute(
                    "INSERT INTO posts (author_id, title, content) SELECT id, 't', 'c' FROM users"
                ).rowcount
            own.add("posts", inserted=n)
            conn.execute("VACUUM (INDEX_CLEANUP ON, ANALYZE) posts")
        assert seed_changes(conn) == []
    _write(empty_db, "DELETE FROM posts WHERE status = 'archived'")
    with connect(empty_db) as conn:
        with own_writes(conn, ("posts",)) as own:
            with conn.transaction(force_rollback=True):
                n = conn.execute("UPDATE posts SET view_count = 0 WHERE status = 'published'").rowcount
            own.add("posts", updated=n)
        changed = seed_changes(conn)
    # the user's delete (and its cascade), not perfkit's update
    assert [c.split(": ")[0] for c in changed] == ["posts", "post_tags", "comments"]
    assert all(c.endswith(" row deletions, committed or rolled back") for c in changed), changed


def test_a_write_by_another_session_while_perfkit_writes_its_own_still_counts(empty_db: Target) -> None:
    """Only the rows perfkit says it wrote are excused: the whole window's counts used to be, so a user's update made
    while the index scenario ran its write batches was folded into the seed's marks and never seen."""
    seed(empty_db, scale=SMALL_SCALE, seed=42)
    with connect(empty_db) as conn:
        with own_writes(conn, ("posts",)) as own:
            with conn.transaction(force_rollback=True):
                n = conn.execute(
                    "INSERT INTO posts (author_id, title, content) SELECT id, 't', 'c' FROM users"
                ).rowcount
            own.add("posts", inserted=n)
            _write(empty_db, "UPDATE posts SET view_count = view_count + 1000 WHERE status = 'published'", commit=True)
            conn.execute("VACUUM (INDEX_CLEANUP ON, ANALYZE) posts")  # as the scenario: the map is all-visible again
        changed = seed_changes(conn)
    assert len(changed) == 1 and changed[0].startswith("posts: ") and " row updates, committed" in changed[0], changed


def test_a_write_whose_counts_have_not_arrived_shows_in_the_visibility_map(
    empty_db: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session still connected reports its row counts up to 10 s late (a user's psql, right after its UPDATE): the
    seed was reused, and a run's results carried the fingerprint of data it no longer was."""
    seed(empty_db, scale=SMALL_SCALE, seed=42)
    with connect(empty_db) as conn:
        stored = marks_from_json(conn.execute("SELECT marks FROM perfkit_seed").fetchone()[0])  # type: ignore[index]
    monkeypatch.setattr(perfkit.seed, "read_marks", lambda _conn, _tables: stored)  # the counts not yet reported
    with connect(empty_db) as user:
        user.execute("UPDATE users SET name = 'HACKED' WHERE id = (SELECT id FROM users ORDER BY id LIMIT 1)")
        info, why = reuse_check(empty_db, SMALL_SCALE, 42, load_profile("default"))
    assert info is None
    assert why.startswith("the data changed since the seed (users: ")
    assert why.endswith("pages written since the seed (visibility map), committed or rolled back)"), why
    with connect(empty_db) as conn:  # the map was read with pg_visibility, created for it and rolled back
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_visibility'").fetchone() == (0,)


def test_write_marks_are_described_as_row_writes_committed_or_rolled_back() -> None:
    """PostgreSQL counts rolled-back writes: a rolled-back DELETE is "row deletions", never "rows deleted"."""
    seeded = {"tags": Mark(1, 50, 0, 0), "posts": Mark(2, 10, 0, 0), "users": Mark(3, 5, 0, 0)}
    now = {"tags": Mark(1, 50, 0, 50), "posts": Mark(2, 13, 1, 0), "users": Mark(3, 5, 0, 0)}
    assert changes(seeded, now, ("tags", "posts", "users")) == [
        "tags: 50 row deletions, committed or rolled back",
        "posts: 3 row insertions, 1 row update, committed or rolled back",
    ]


def test_perfkit_seed_reuses_an_identical_seed_unless_fresh(empty_db: Target) -> None:
    """The issue's 'a completed seed of the same scale, seed and profile is reused, not redone', from the CLI."""
    runner = CliRunner()
    args = ["seed", "--dsn", empty_db.conninfo, "--scale", "0.01"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0 and "seeded: scale 0.01" in first.output, first.output
    again = runner.invoke(cli, args)
    assert again.exit_code == 0 and "reused: scale 0.01" in again.output, again.output
    fresh = runner.invoke(cli, [*args, "--fresh"])
    assert fresh.exit_code == 0 and "seeded: scale 0.01" in fresh.output, fresh.output
    other = runner.invoke(cli, ["seed", "--dsn", empty_db.conninfo, "--scale", "0.01", "--seed", "7"])
    assert other.exit_code == 0 and "seeded: scale 0.01, seed 7" in other.output, other.output


def test_the_check_waits_for_a_session_that_just_wrote(empty_db: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    """An idle session reports its row counts up to 10 s late (psql right after an UPDATE, then a VACUUM that reset
    the visibility map): the check waits for them, saying so; perfkit's own sessions and older idle ones are not
    waited for."""
    seed(empty_db, scale=SMALL_SCALE, seed=42)
    waits: list[float] = []
    monkeypatch.setattr("perfkit._seed_marks.time.sleep", waits.append)
    said: list[str] = []
    with connect(empty_db, application_name="perfkit run") as own:
        own.execute("SELECT 1")
        assert reuse_check(empty_db, SMALL_SCALE, 42, load_profile("default"), said.append)[0] is not None
    assert waits == [] and said == []
    with connect(empty_db, application_name="psql") as user:
        user.execute("SELECT 1")
        pid = user.info.backend_pid
        assert reuse_check(empty_db, SMALL_SCALE, 42, load_profile("default"), said.append)[0] is not None
    assert len(waits) == 1 and 9 < waits[0] <= REPORT_DELAY_S
    assert said == [
        f"waiting {waits[0]:.0f} s for the row counts of psql (pid {pid}): PostgreSQL reports them up to 10 s late"
    ]


def test_a_view_of_the_users_on_a_table_is_named_and_nothing_said_before(empty_db: Target) -> None:
    """A reseed failed on 'cannot drop table posts because other objects depend on it' after printing 'seeding
    again', without saying which object."""
    seed(empty_db, scale=SMALL_SCALE, seed=42)
    with connect(empty_db) as conn:
        conn.execute("CREATE VIEW my_view AS SELECT * FROM posts")
    reasons: list[str] = []
    with pytest.raises(SchemaError, match=r"\(view my_view depends on table posts\); drop those objects"):
        ensure_seeded(empty_db, scale=SMALL_SCALE, seed=43, why=reasons.append)
    assert reasons == []
    with connect(empty_db) as conn:
        assert current_seed(conn) is not None  # the old seed is intact (the reset is one transaction)
