"""Session fixture: one database seeded at scale 0.01 (seed 42, default profile), shared read-only by seed tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from perfkit.db import Target
from perfkit.seed import SeedInfo, seed
from tests.fix_server import _drop_db, _make_db

SMALL_SCALE = 0.01


@pytest.fixture(scope="session")
def seeded(admin_conninfo: str) -> Iterator[tuple[Target, SeedInfo]]:
    """A database seeded at scale 0.01; tests must not modify it."""
    name = f"pk_seeded_{uuid.uuid4().hex[:8]}"
    target = _make_db(admin_conninfo, name)
    try:
        yield target, seed(target, scale=SMALL_SCALE, seed=42)
    finally:
        _drop_db(admin_conninfo, name)
