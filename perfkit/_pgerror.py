"""PostgreSQL errors as one line: the server's primary message, its position in the user's SQL, its hint."""

from __future__ import annotations

import psycopg


def one_line(exc: psycopg.Error, prefix_len: int = 0) -> str:
    """The server's primary message; the error position counted in the user's SQL (without a prefix perfkit added)."""
    diag = exc.diag
    text = str(exc).strip()
    message = diag.message_primary or (text.splitlines()[0] if text else type(exc).__name__)
    position = ""
    if diag.statement_position and diag.statement_position.isdigit():
        at = int(diag.statement_position) - prefix_len
        position = f" (at character {at})" if at > 0 else ""
    return f"{message}{position}"


def with_hint(exc: psycopg.Error) -> str:
    """The server's primary message and its hint, on one line."""
    hint = exc.diag.message_hint
    return one_line(exc) + (f" ({hint})" if hint else "")


__all__ = ["one_line", "with_hint"]
