"""Exceptions perfkit raises for conditions a user can act on (printed as one line by the CLI)."""

from __future__ import annotations


class PerfkitError(Exception):
    """Base class: the message is complete and safe to show to a user (never holds a password)."""


class ServerError(PerfkitError):
    """The embedded server cannot be found, started, stopped or reached."""


class ConnectionFailed(PerfkitError):
    """A DSN could not be connected to."""


class ConfigError(PerfkitError):
    """A bad option, profile or setting."""


class SchemaError(PerfkitError):
    """The database is not in a state perfkit may migrate, reset or seed."""


class SeedError(PerfkitError):
    """Seeding failed or the data is incomplete."""


class SettingError(ConfigError):
    """A `NAME=VALUE` setting for one statement is malformed, reserved, or refused by PostgreSQL."""


class PlanError(PerfkitError):
    """An EXPLAIN plan could not be read."""


class ResultsError(PerfkitError):
    """A results file is missing, corrupt or of an unknown format version."""


class InvalidCursor(PerfkitError):
    """A keyset pagination cursor token is malformed, tampered with or built for another sort."""


class CursorDidNotAdvance(PerfkitError):
    """A keyset walk returned the same page again: the cursor lost precision or the key is not unique."""


class ThresholdError(ConfigError):
    """A threshold (from --fail or pyproject.toml) does not parse or could never fire (a counter no file records)."""


class CompareError(PerfkitError):
    """Two runs cannot be compared: no benchmark in common, or different environments."""


class EnvironmentMismatch(CompareError):
    """The two runs were measured on different servers, settings or data."""


class KeysetSpecError(ConfigError):
    """A keyset sort spec is unusable: unknown table or column, or its last key is not unique (C09)."""


class IndexBuildError(PerfkitError):
    """An index could not be built (a failed CREATE INDEX CONCURRENTLY leaves an INVALID index: it is dropped)."""


class AdviseError(PerfkitError):
    """`perfkit advise` cannot work on this input: a syntax error, not a query, or a table it cannot see."""
