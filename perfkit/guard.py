"""An N+1 and statement-budget guard for a block of a user's psycopg code (also a pytest fixture)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from perfkit.counter import Fingerprint, StatementCounter
from perfkit.errors import ConfigError, PerfkitError

__all__ = ["GuardFailure", "GuardReport", "NPlusOneDetected", "StatementBudgetExceeded", "guard"]

# Statements that continue or wrap another one: paging a server-side cursor is not N+1.
_NOT_REPEATS = re.compile(r"^(fetch|move|close|begin|commit|rollback|savepoint|release|start transaction)\b")
_SHOWN_SQL_CHARS = 300


class GuardFailure(PerfkitError, AssertionError):
    """A guarded block broke its statement budget or ran an N+1 pattern (an AssertionError, for tests)."""


class NPlusOneDetected(GuardFailure):
    """The same normalised statement ran in at least `n_plus_one_threshold` separate round trips."""


class StatementBudgetExceeded(GuardFailure):
    """The block executed more statements than `max_statements`."""


class GuardReport:
    """What a guarded block executed; complete once the block has exited."""

    def __init__(self, counter: StatementCounter, max_statements: int | None, threshold: int) -> None:
        self.counter = counter
        self.max_statements = max_statements
        self.n_plus_one_threshold = threshold

    @property
    def statements(self) -> int:
        return self.counter.statements

    @property
    def round_trips(self) -> int:
        return self.counter.round_trips

    @property
    def fingerprints(self) -> dict[str, int]:
        return self.counter.fingerprints

    @property
    def repeated(self) -> list[Fingerprint]:
        """Fingerprints sent in at least `n_plus_one_threshold` round trips, most repeated first.

        Round trips, not executions: `executemany` sends its batch in one pipeline and is not N+1; the same query
        issued once per parent in a loop is. FETCH/MOVE/CLOSE on a server-side cursor and transaction control are
        never counted as repeats.
        """
        found = [
            fp
            for fp in self.counter.details
            if fp.round_trips >= self.n_plus_one_threshold and not _NOT_REPEATS.match(fp.sql)
        ]
        return sorted(found, key=lambda fp: -fp.round_trips)

    @property
    def over_budget(self) -> bool:
        return self.max_statements is not None and self.statements > self.max_statements

    def message(self) -> str:
        """A summary line, then the repeated statements (or, over budget, the most executed ones) with examples."""
        repeated = self.repeated
        where = f"{self.statements} statements in {self.round_trips} round trips"
        budget = f" (budget {self.max_statements})" if self.over_budget else ""
        if repeated:
            head = (
                f"N+1 detected: {len(repeated)} statement{'s' if len(repeated) > 1 else ''} repeated "
                f"(threshold {self.n_plus_one_threshold}) among {where}{budget}"
            )
            shown = repeated
        else:
            head = f"statement budget exceeded: {where}, budget {self.max_statements}"
            shown = self.counter.details[:5]
        lines = [head]
        for fp in shown:
            lines.append(f"  {fp.count}x  {fp.sql[:_SHOWN_SQL_CHARS]}")
            example = " ".join(fp.example.split())[:_SHOWN_SQL_CHARS]
            params = f"  params: {fp.example_params}" if fp.example_params else ""
            lines.append(f"      e.g. {example}{params}")
        return "\n".join(lines)

    def check(self) -> None:
        """Raise NPlusOneDetected (checked first) or StatementBudgetExceeded."""
        if self.repeated:
            raise NPlusOneDetected(self.message())
        if self.over_budget:
            raise StatementBudgetExceeded(self.message())


@contextmanager
def guard(
    conn: psycopg.Connection[Any], *, max_statements: int | None = None, n_plus_one_threshold: int = 2
) -> Iterator[GuardReport]:
    """Count what the block executes on `conn` and fail on exit if it ran an N+1 pattern or too many statements.

    The block is one unit of work: a normalised statement (see `perfkit.counter.normalize_sql`) sent in
    `n_plus_one_threshold` or more separate round trips is an N+1 pattern, even when other loads in the block were
    batched. Statements are counted as the connection sees them (`StatementCounter`), not as an ORM's load events,
    so ORMs built on psycopg 3 are guarded too. If the block raises, its exception propagates unchecked.
    """
    if n_plus_one_threshold < 2:
        raise ConfigError(f"n_plus_one_threshold must be >= 2, got {n_plus_one_threshold}")
    if max_statements is not None and max_statements < 0:
        raise ConfigError(f"max_statements must be >= 0, got {max_statements}")
    with StatementCounter(conn) as counter:
        report = GuardReport(counter, max_statements, n_plus_one_threshold)
        yield report
    report.check()
