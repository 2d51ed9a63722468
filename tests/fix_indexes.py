"""Session fixture: the C14 `settings_big` table (20,000 rows, the case's selectivity ratios) in its own database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from perfkit.db import Target, connect
from tests.fix_server import _drop_db, _make_db

SETTINGS_ROWS = 20_000  # the SQL below generates this many (C14 uses 200,000; the ratios are the same)

SETTINGS_BIG = """
CREATE TABLE settings_big (user_id uuid, prefs jsonb);
INSERT INTO settings_big
SELECT gen_random_uuid(),
       jsonb_build_object('theme', CASE WHEN g % 10 = 0 THEN 'dark' ELSE 'light' END,
                          'flags', CASE WHEN g % 100 = 0 THEN '{"beta": true}'::jsonb ELSE '{}'::jsonb END)
       || CASE WHEN g % 50 = 0 THEN '{"beta_ui": true}'::jsonb ELSE '{}'::jsonb END
FROM generate_series(1, 20000) g;
ANALYZE settings_big;
"""


@pytest.fixture(scope="session")
def settings_big(admin_conninfo: str) -> Iterator[Target]:
    """A database holding C14's settings_big (no index); tests build indexes only in rolled-back transactions."""
    name = f"pk_c14_{uuid.uuid4().hex[:8]}"
    target = _make_db(admin_conninfo, name)
    try:
        with connect(target) as c:
            for stmt in SETTINGS_BIG.split(";\n"):
                if stmt.strip():
                    c.execute(stmt)
        yield target
    finally:
        _drop_db(admin_conninfo, name)


@pytest.fixture(scope="session")
def shop(admin_conninfo: str) -> Iterator[Target]:
    """Two tables no catalogue query touches: 60,000 orders of 2,000 customers (tests change nothing for good)."""
    name = f"pk_shop_{uuid.uuid4().hex[:8]}"
    target = _make_db(admin_conninfo, name)
    with connect(target) as conn:
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, country text)")
        conn.execute(
            "CREATE TABLE orders (id int PRIMARY KEY, customer int, status text, amount int, created_at timestamptz)"
        )
        conn.execute(
            "INSERT INTO customers SELECT g, (ARRAY['NZ','DE','JP','US'])[1 + g % 4] FROM generate_series(1, 2000) g"
        )
        conn.execute(
            "INSERT INTO orders SELECT g, g % 2000, (ARRAY['open','paid','paid','shipped'])[1 + g % 4], g % 1000, "
            "timestamptz '2024-01-01' + g * interval '1 minute' FROM generate_series(1, 60000) g"
        )
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.execute("ANALYZE customers")
        conn.execute("ANALYZE orders")
    try:
        yield target
    finally:
        _drop_db(admin_conninfo, name)
