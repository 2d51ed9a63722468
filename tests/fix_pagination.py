"""Fixtures for pagination tests: a second connection to the test database, for writes between pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from perfkit.db import Target, connect


@pytest.fixture
def writer(empty_db: Target) -> Iterator[psycopg.Connection[Any]]:
    """Another autocommit connection to the same database as `conn` (the concurrent writer)."""
    c = connect(empty_db, application_name="perfkit-writer")
    try:
        yield c
    finally:
        c.close()
