"""Schema migrations: up, down, reset, status, the guide's indexes, and refusal of a foreign database."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from perfkit import _data_lock as data_lock
from perfkit import schema
from perfkit.cli import cli
from perfkit.db import Target, connect
from perfkit.errors import SchemaError

CONTRACT_INDEXES = {
    "idx_users_email",
    "idx_users_role",
    "idx_posts_author_id",
    "idx_posts_status",
    "idx_posts_published_at",
    "idx_post_tags_post_id",
    "idx_post_tags_tag_id",
    "idx_posts_author_status",
    "idx_posts_status_created",
    "idx_user_settings_preferences",
    "idx_notification_email",
    "idx_posts_created_id",
    "idx_comments_post_id",
    "idx_comments_author_id",
    "idx_notifications_user_created",
}
ALL_IDS = [
    "0001_types",
    "0002_tables",
    "0003_indexes",
    "0004_seed_state",
    "0005_seed_realism",
    "0006_seed_marks",
    "0007_seed_shape",
]


def _tables(conn: psycopg.Connection[Any]) -> set[str]:
    return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_migrate_creates_the_guide_schema(conn: psycopg.Connection[Any]) -> None:
    assert schema.migrate(conn) == ALL_IDS
    assert _tables(conn) == {*schema.TABLES, "perfkit_migrations", "perfkit_seed"}
    enums = dict(
        conn.execute(
            "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text FROM pg_type t"
            " JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY 1"
        ).fetchall()
    )
    assert enums == {
        "user_role": "{user,moderator,admin}",
        "post_status": "{draft,published,archived}",
        "notification_type": "{comment,like,follow,system}",
    }
    assert conn.execute(
        "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = "
        "'user_profiles'::regclass AND attname = 'address'"
    ).fetchone() == ("address",)
    indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    assert CONTRACT_INDEXES <= indexes
    assert {i.name for i in schema.secondary_indexes()} == CONTRACT_INDEXES
    partial = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_posts_published_at'").fetchone()
    assert partial is not None and "WHERE (status = 'published'::post_status)" in partial[0]
    gin = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_notification_email'").fetchone()
    assert gin is not None and "USING gin (((notification_settings -> 'email'::text)))" in gin[0]
    # every foreign key cascades on delete; every id defaults to gen_random_uuid()
    fks = conn.execute("SELECT confdeltype, count(*) FROM pg_constraint WHERE contype = 'f' GROUP BY 1").fetchall()
    assert fks == [("c", 8)]
    defaults = conn.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'id'"
        " AND data_type = 'uuid' AND column_default = 'gen_random_uuid()'"
    ).fetchone()
    assert defaults == (len(schema.TABLES),)
    timestamps = conn.execute(
        "SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema = 'public'"
        " AND table_name = ANY(%s) AND column_name LIKE '%%\\_at'",
        (list(schema.TABLES),),
    ).fetchall()
    assert timestamps == [("timestamp with time zone",)]


def test_migrate_twice_applies_nothing_and_status_tracks(conn: psycopg.Connection[Any]) -> None:
    st = schema.status(conn)
    assert not st.initialised and st.pending == tuple(ALL_IDS) and not st.up_to_date
    schema.migrate(conn)
    assert schema.migrate(conn) == []
    st = schema.status(conn)
    assert st.up_to_date and st.applied == tuple(ALL_IDS) and st.foreign_tables == ()


def test_down_then_reset(conn: psycopg.Connection[Any]) -> None:
    schema.migrate(conn)
    conn.execute("INSERT INTO tags (name) VALUES ('x')")
    assert schema.downgrade(conn) == list(reversed(ALL_IDS))
    assert _tables(conn) == {"perfkit_migrations"}
    assert conn.execute("SELECT count(*) FROM pg_type WHERE typname = 'post_status'").fetchone() == (0,)
    schema.migrate(conn)
    conn.execute("INSERT INTO tags (name) VALUES ('x')")
    assert schema.reset(conn) == ALL_IDS
    assert conn.execute("SELECT count(*) FROM tags").fetchone() == (0,)
    conn.execute("DROP INDEX idx_posts_status")
    assert schema.status(conn).missing_indexes == ("idx_posts_status",)


def test_foreign_database_is_refused_unless_forced(conn: psycopg.Connection[Any]) -> None:
    conn.execute("CREATE TABLE invoices (id int)")
    for action in (schema.migrate, schema.reset):
        with pytest.raises(SchemaError, match=r"not created by perfkit \(invoices\).*--force") as err:
            action(conn)
        assert "\n" not in str(err.value)
    assert _tables(conn) == {"invoices"}
    assert schema.migrate(conn, force=True) == ALL_IDS
    assert schema.status(conn).foreign_tables == ("invoices",)
    assert schema.migrate(conn) == []  # the marker now says the database is perfkit's


def test_cli_db_commands(empty_db: Target) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["db", "status", "--dsn", empty_db.conninfo])
    assert out.exit_code == 0 and "initialised: no" in out.output
    out = runner.invoke(cli, ["db", "migrate", "--dsn", empty_db.conninfo])
    assert out.exit_code == 0 and "applied: 0001_types" in out.output
    out = runner.invoke(cli, ["db", "reset", "--dsn", empty_db.conninfo])
    assert out.exit_code == 0 and "schema recreated" in out.output
    out = runner.invoke(cli, ["db", "status", "--dsn", empty_db.conninfo])
    assert "pending: -" in out.output and "seed: none" in out.output
    # an index dropped by hand: status lists it, migrate builds it again (it said "schema up to date")
    with connect(empty_db) as conn:
        conn.execute("DROP INDEX idx_posts_created_id")
    out = runner.invoke(cli, ["db", "status", "--dsn", empty_db.conninfo])
    assert "missing indexes: idx_posts_created_id" in out.output
    out = runner.invoke(cli, ["db", "migrate", "--dsn", empty_db.conninfo])
    assert out.exit_code == 0 and out.output == "rebuilt missing index(es): idx_posts_created_id\n", out.output
    with connect(empty_db) as conn:
        assert schema.status(conn).missing_indexes == ()
    out = runner.invoke(cli, ["db", "migrate", "--dsn", empty_db.conninfo])
    assert out.output == "schema up to date\n"


def test_status_ignores_extension_relations_and_flags_invalid_indexes(conn: psycopg.Connection[Any]) -> None:
    schema.migrate(conn)
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    conn.execute("INSERT INTO tags (name) VALUES ('a'), ('a2')")
    conn.execute("CREATE TABLE dup (v int)")
    conn.execute("INSERT INTO dup VALUES (1), (1)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY dup_v ON dup (v)")
    st = schema.status(conn)
    assert st.foreign_tables == ("dup",)  # not pg_stat_statements' views
    assert st.invalid_indexes == ("dup_v",)


def test_forced_reset_of_a_database_without_perfkit_objects(conn: psycopg.Connection[Any]) -> None:
    # With --force and no marker, every down migration runs: each must tolerate the objects being absent.
    assert schema.reset(conn, force=True) == ALL_IDS
    conn.execute("CREATE TABLE invoices (id int)")
    conn.execute(f"DROP TABLE {schema.MARKER_TABLE}, perfkit_seed")
    assert schema.reset(conn, force=True) == ALL_IDS
    assert "perfkit_seed" in _tables(conn)


def test_every_down_migration_runs_on_an_empty_schema(conn: psycopg.Connection[Any]) -> None:
    for mig in schema.migrations():
        conn.execute(mig.down.encode())
    assert _tables(conn) == set()


@pytest.mark.parametrize("table", ["comments", "perfkit_seed"])  # perfkit_seed: waited 30 s, then failed
def test_reset_refuses_to_wait_for_another_sessions_lock(
    conn: psycopg.Connection[Any], empty_db: Target, table: str
) -> None:
    """A session idle in a transaction that read a table blocks DROP TABLE forever: the reset says who holds the
    lock instead of hanging, and leaves the schema as it was (it used to undo migrations one by one, then wait)."""
    schema.migrate(conn)
    conn.execute("INSERT INTO tags (name) VALUES ('kept')")
    with connect(empty_db, application_name="someone's psql") as other:
        other.execute("BEGIN")
        other.execute(f"SELECT count(*) FROM {table}")
        pid = other.info.backend_pid
        with pytest.raises(
            SchemaError, match=rf"pid {pid} \(someone's psql, idle in transaction for .*holding {table}"
        ):
            schema.reset(conn)
        other.execute("ROLLBACK")
    assert schema.status(conn).pending == () and conn.execute("SELECT name FROM tags").fetchall() == [("kept",)]
    assert schema.reset(conn) == ALL_IDS


def test_a_failed_reset_leaves_the_schema_as_it_was(
    conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reset is one transaction: an error in the middle (here: in the last up migration) undoes the downs."""
    schema.migrate(conn)
    conn.execute("INSERT INTO tags (name) VALUES ('kept')")
    real = schema._run

    def failing(c: psycopg.Connection[Any], mig: schema.Migration, direction: str) -> None:
        if direction == "up" and mig.id == ALL_IDS[-1]:
            raise SchemaError("boom")
        real(c, mig, direction)

    monkeypatch.setattr(schema, "_run", failing)
    with pytest.raises(SchemaError, match="boom"):
        schema.reset(conn)
    assert schema.status(conn).pending == () and conn.execute("SELECT name FROM tags").fetchall() == [("kept",)]


def test_missing_indexes_are_not_rebuilt_under_a_seed(conn: psycopg.Connection[Any], empty_db: Target) -> None:
    """A seed drops the indexes while it loads: `db migrate` must not build them under it."""
    schema.migrate(conn)
    conn.execute("DROP INDEX idx_posts_status")
    with connect(empty_db, application_name="perfkit seed") as seeding:
        data_lock.take_exclusive(seeding, "seed again", SchemaError)
        with pytest.raises(SchemaError, match=r"another seed of this database is running \(perfkit seed"):
            schema.restore_indexes(conn)
    assert schema.status(conn).missing_indexes == ("idx_posts_status",)
    assert schema.restore_indexes(conn) == ["idx_posts_status"]
