"""One writer of the seeded data at a time, and no writer under a run: seeds, resets and runs refuse each other."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

import perfkit.runner
import perfkit.seed
from perfkit import schema
from perfkit._data_lock import DATA, RUN
from perfkit.cli import cli
from perfkit.db import Target, connect
from perfkit.errors import SchemaError, SeedError
from perfkit.runner import run
from perfkit.seed import seed
from tests.fix_run import quick_config
from tests.fix_seed import SMALL_SCALE


@pytest.fixture
def run_in_progress(empty_db: Target) -> Iterator[None]:
    """Another session holding what a run holds while it benchmarks."""
    with psycopg.connect(empty_db.conninfo, autocommit=True, application_name="perfkit run") as other:
        other.execute("SELECT pg_advisory_lock(%s), pg_advisory_lock_shared(%s)", (RUN, DATA))
        yield


def test_a_seed_is_refused_while_a_run_reads_the_data(empty_db: Target, run_in_progress: None) -> None:
    with pytest.raises(SeedError, match=r"perfkit run \(pid \d+\) is using this database's data; wait"):
        seed(empty_db, scale=SMALL_SCALE)


def test_a_second_run_is_refused_at_once(empty_db: Target, run_in_progress: None, tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"another run is benchmarking this database \(perfkit run \(pid \d+\)\)"):
        run(quick_config(tmp_path, scenarios=("pagination",)), target=empty_db)
    with connect(empty_db) as conn:  # refused before anything: not even the schema
        assert not schema.status(conn).initialised


def test_a_reset_is_refused_during_a_seed(empty_db: Target) -> None:
    """Between the seed's statements too: the reset used to slip into the gaps and break the seed."""
    seed(empty_db, scale=SMALL_SCALE)
    with psycopg.connect(empty_db.conninfo, autocommit=True, application_name="perfkit seed") as other:
        other.execute("SELECT pg_advisory_lock(%s)", (DATA,))
        with connect(empty_db) as conn, pytest.raises(SchemaError, match="another seed of this database is running"):
            schema.reset(conn)
    with connect(empty_db) as conn:
        schema.reset(conn)  # free again; and a reset within a seed (which holds the lock itself) still works
        assert conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone() == (0,)
    assert seed(empty_db, scale=SMALL_SCALE).total_rows > 0


def test_a_run_fails_when_the_data_was_replaced_after_its_seed(
    empty_db: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = perfkit.runner.ensure_seeded

    def then_replaced(*args: Any, **kwargs: Any) -> perfkit.seed.SeedInfo:
        return dataclasses.replace(real(*args, **kwargs), fingerprint="0" * 32)  # another seed came in between

    monkeypatch.setattr(perfkit.runner, "ensure_seeded", then_replaced)
    with pytest.raises(SeedError, match="replaced the data just after it was seeded"):
        run(quick_config(tmp_path, scenarios=("pagination",)), target=empty_db)
    assert not (tmp_path / "results.json").exists()


def test_a_seed_whose_record_vanished_does_not_report_success(
    empty_db: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = perfkit.seed.read_shape

    def reset_under_it(conn: psycopg.Connection[Any], tables: Any) -> Any:
        shape = real(conn, tables)
        # the shape read after the load (the seed recorded), not the ones around the schema reset
        if conn.execute("SELECT to_regclass('perfkit_seed')").fetchone() != (None,) and conn.execute(
            "SELECT EXISTS (SELECT FROM perfkit_seed)"
        ).fetchone() == (True,):
            conn.execute("DELETE FROM perfkit_seed")  # what a reset between the seed's statements did
        return shape

    monkeypatch.setattr(perfkit.seed, "read_shape", reset_under_it)
    with pytest.raises(SeedError, match="record vanished"):
        seed(empty_db, scale=SMALL_SCALE)


def test_a_live_holder_is_refused_at_once_and_a_seed_in_progress_is_not_called_interrupted(
    empty_db: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seed started in the last seconds of another waited out a grace period, then seeded again 'because the
    previous seed did not finish' (it had not finished: it was running)."""
    seed(empty_db, scale=SMALL_SCALE)
    with connect(empty_db) as conn:
        conn.execute("UPDATE perfkit_seed SET state = 'loading'")  # as while a seed loads

    def no_waiting(_s: float) -> None:
        raise AssertionError("waited for a lock a live session holds")

    with psycopg.connect(empty_db.conninfo, autocommit=True, application_name="perfkit seed") as other:
        other.execute("SELECT pg_advisory_lock(%s)", (DATA,))
        monkeypatch.setattr("perfkit._data_lock.time.sleep", no_waiting)
        with pytest.raises(SeedError, match=r"another seed of this database is running \(perfkit seed \(pid"):
            perfkit.seed.ensure_seeded(empty_db, scale=SMALL_SCALE)
        with connect(empty_db) as conn, pytest.raises(SchemaError, match="another seed of this database is running"):
            schema.reset(conn)
        # db status says so too (it said 'incomplete (interrupted or in progress); the next seed redoes it')
        status = CliRunner().invoke(cli, ["db", "status", "--dsn", empty_db.conninfo])
        pid = other.info.backend_pid
        assert f"seed: in progress (perfkit seed, pid {pid}); another seed or run is refused" in status.output
    status = CliRunner().invoke(cli, ["db", "status", "--dsn", empty_db.conninfo])
    assert "seed: incomplete (interrupted); the next seed or run redoes it" in status.output
