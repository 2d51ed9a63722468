"""pytest plugin: the `perfkit_guard` fixture, a factory of N+1 / statement-budget guards for test code."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import psycopg
import pytest

from perfkit.guard import GuardReport, guard

GuardFactory = Callable[..., AbstractContextManager[GuardReport]]


@pytest.fixture
def perfkit_guard() -> GuardFactory:
    """`with perfkit_guard(conn, max_statements=3): ...` fails the test on an N+1 pattern or too many statements.

    Keyword arguments are those of `perfkit.guard.guard` (`max_statements`, `n_plus_one_threshold`).
    """

    def factory(conn: psycopg.Connection[Any], **kwargs: Any) -> AbstractContextManager[GuardReport]:
        return guard(conn, **kwargs)

    return factory
