"""Fixtures for loading tests: a session connection to the read-only seeded database (scale 0.01)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from perfkit.db import Target, connect
from perfkit.seed import SeedInfo


@pytest.fixture(scope="session")
def seeded_conn(seeded: tuple[Target, SeedInfo]) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the seeded database; tests must only read."""
    c = connect(seeded[0], application_name="perfkit-loading-tests")
    try:
        yield c
    finally:
        c.close()
