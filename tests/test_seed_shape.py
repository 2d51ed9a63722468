"""A reused seed must have the schema it was seeded with: constraints, indexes, columns and triggers are compared."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from perfkit._profile import load_profile
from perfkit._seed_marks import Mark, changes
from perfkit.cli import cli
from perfkit.db import Target, connect
from perfkit.schema import TABLES
from perfkit.seed import NO_SHAPE, ensure_seeded, reuse_check, schema_changes, seed
from tests.fix_seed import SMALL_SCALE

CHANGES = [
    (
        "ALTER TABLE user_settings DROP CONSTRAINT user_settings_pkey",  # its index goes with it
        "constraint user_settings.user_settings_pkey dropped; index user_settings_pkey dropped",
    ),
    ("ALTER TABLE comments DROP CONSTRAINT comments_post_id_fkey", "constraint comments.comments_post_id_fkey dropped"),
    ("CREATE INDEX my_extra ON posts (view_count)", "index my_extra added"),
    ("ALTER TABLE users ADD COLUMN junk int", "column users.junk added"),
    ("ALTER TABLE posts ALTER COLUMN view_count SET DEFAULT 7", "column posts.view_count changed"),
    ("ALTER TYPE post_status RENAME VALUE 'archived' TO 'gone'", "type post_status changed"),  # no row was written
    ("ALTER TYPE address RENAME ATTRIBUTE city TO town", "type address changed"),
    (
        "CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;"
        " CREATE TRIGGER t_noop BEFORE UPDATE ON tags FOR EACH ROW EXECUTE FUNCTION noop()",
        "trigger tags.t_noop added",
    ),
]


@pytest.mark.parametrize(("ddl", "phrase"), CHANGES, ids=[p for _, p in CHANGES])
def test_a_seed_whose_schema_changed_is_not_reused(empty_db: Target, ddl: str, phrase: str) -> None:
    """Each of these left `--reuse` saying 'untouched' (only a dropped index was noticed): an extra index changes
    plans, a dropped foreign key the planner's join estimates."""
    first = seed(empty_db, scale=SMALL_SCALE, seed=42)
    with connect(empty_db) as conn:
        assert schema_changes(conn) == []
        conn.execute(ddl)
        assert "; ".join(schema_changes(conn)) == phrase
    info, why = reuse_check(empty_db, SMALL_SCALE, 42, load_profile("default"))
    assert info is None and why == f"the schema changed since the seed ({phrase})"
    out = CliRunner().invoke(cli, ["db", "status", "--dsn", empty_db.conninfo])
    assert phrase in out.output
    reasons: list[str] = []
    again = ensure_seeded(empty_db, scale=SMALL_SCALE, seed=42, why=reasons.append)
    assert not again.reused and again.fingerprint == first.fingerprint and reasons == [why]
    with connect(empty_db) as conn:
        assert schema_changes(conn) == []  # the reseed restored the schema
    # and said what of the user's it removed or reverted (an index of theirs was dropped without a word)
    said = [n for n in again.notes if n.startswith("the seed rebuilt")]
    kind, _, change = phrase.rpartition(" ")
    if change == "added":
        assert said == [f"the seed rebuilt perfkit's schema and dropped what it does not define: {kind}"]
    elif change == "changed":
        assert said == [f"the seed rebuilt perfkit's schema and put back its own definition of {kind}"]
    else:
        assert said == []  # what perfkit defines and the user dropped is simply back


def test_a_statistics_reset_is_one_phrase() -> None:
    """pg_stat_reset() resets every table's counters at once: one phrase, not the same one per table."""
    before = {t: Mark(100 + i, 50, 0, 0) for i, t in enumerate(TABLES)}
    after = {t: Mark(100 + i, 0, 0, 0) for i, t in enumerate(TABLES)}
    assert changes(before, after, TABLES) == [
        "the server's statistics were reset, so writes to every table cannot be checked"
    ]
    after["tags"] = Mark(before["tags"].filenode, 50, 2, 0)
    assert changes(before, after, TABLES)[-1].endswith(
        f"writes to {', '.join(t for t in TABLES if t != 'tags')} cannot be checked"
    )


def test_a_seed_without_a_recorded_shape_says_so_plainly(empty_db: Target) -> None:
    """A seed made before the shape was recorded is reseeded with that reason, not 'the schema changed (...)'."""
    seed(empty_db, scale=SMALL_SCALE, seed=42)
    with connect(empty_db) as conn:
        conn.execute("UPDATE perfkit_seed SET shape = NULL")
    info, why = reuse_check(empty_db, SMALL_SCALE, 42, load_profile("default"))
    assert info is None and why == NO_SHAPE
