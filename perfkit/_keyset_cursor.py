"""Keyset cursor tokens: versioned, url-safe base64 JSON with typed values, the spec fingerprint and an HMAC (C10).

A token is base64url(JSON {"v": 1, "spec": fingerprint, "key": {column: [type, value] | null}, "mac": hex}).
The MAC is HMAC-SHA256 over the canonical JSON of the other fields. Without a caller secret a fixed public key is
used: that still catches corrupted or hand-edited tokens, but only a secret stops a client forging one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from perfkit._keyset_spec import KeysetSpec
from perfkit.errors import InvalidCursor, KeysetSpecError

CURSOR_VERSION = 1
MAX_TOKEN_CHARS = 4096
_PUBLIC_KEY = b"perfkit-keyset-cursor-v1"
_FIELDS = frozenset({"v", "spec", "key", "mac"})


def _encode_value(value: Any) -> list[Any] | None:
    # Order matters: bool is an int, datetime is a date.
    if value is None:
        return None
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", value]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, dt.datetime):
        return ["tstz" if value.tzinfo is not None else "ts", value.isoformat(timespec="microseconds")]
    if isinstance(value, dt.date):
        return ["date", value.isoformat()]
    if isinstance(value, uuid.UUID):
        return ["uuid", str(value)]
    if isinstance(value, Decimal):
        return ["dec", str(value)]
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, bytes):
        return ["bytes", base64.urlsafe_b64encode(value).decode()]
    raise KeysetSpecError(f"a cursor cannot hold a value of type {type(value).__name__}")


def _aware(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("timestamp without time zone in a tstz field")
    return value


def _naive(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is not None:
        raise ValueError("timestamp with time zone in a ts field")
    return value


def _bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


def _float(text: str) -> float:
    return float(text)


_DECODERS: dict[str, tuple[type, Callable[[Any], Any]]] = {
    "bool": (bool, lambda v: v),
    "int": (int, lambda v: v),
    "str": (str, lambda v: v),
    "tstz": (str, _aware),
    "ts": (str, _naive),
    "date": (str, dt.date.fromisoformat),
    "uuid": (str, uuid.UUID),
    "dec": (str, Decimal),
    "float": (str, _float),
    "bytes": (str, _bytes),
}


def _decode_value(column: str, item: Any) -> Any:
    if item is None:
        return None
    if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
        raise InvalidCursor(f"cursor value for {column!r} is not a [type, value] pair")
    tag, raw = item
    if tag not in _DECODERS:
        raise InvalidCursor(f"cursor value for {column!r} has unknown type {tag!r}")
    json_type, decode = _DECODERS[tag]
    if type(raw) is not json_type:  # exact: JSON true must not pass as an int
        raise InvalidCursor(f"cursor value for {column!r} is not a valid {tag}")
    try:
        return decode(raw)
    except (ValueError, TypeError, InvalidOperation, binascii.Error):
        raise InvalidCursor(f"cursor value for {column!r} is not a valid {tag}") from None


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _mac(body: dict[str, Any], secret: str | bytes | None) -> str:
    key = _PUBLIC_KEY if secret is None else secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


def encode_cursor(spec: KeysetSpec, row_values: Sequence[Any], *, secret: str | bytes | None = None) -> str:
    """An opaque token for the position after a row whose key values (in spec order) are `row_values`."""
    values = tuple(row_values)
    if len(values) != len(spec.keys):
        raise KeysetSpecError(f"a cursor for {spec} needs {len(spec.keys)} values, got {len(values)}")
    for key, value in zip(spec.keys, values, strict=True):
        if value is None and not key.nullable:
            raise KeysetSpecError(f"sort key {key.column!r} is declared NOT NULL but the row holds NULL")
    body = {
        "v": CURSOR_VERSION,
        "spec": spec.fingerprint,
        "key": {k.column: _encode_value(v) for k, v in zip(spec.keys, values, strict=True)},
    }
    doc = {**body, "mac": _mac(body, secret)}
    return base64.urlsafe_b64encode(_canonical(doc)).rstrip(b"=").decode("ascii")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise InvalidCursor("cursor repeats a field")
    return doc


def _load(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise InvalidCursor("cursor is empty, too long or not a string")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidCursor("cursor is not valid base64url JSON") from None
    if not isinstance(doc, dict):
        raise InvalidCursor("cursor is not a JSON object")
    return doc


def decode_cursor(spec: KeysetSpec, token: str, *, secret: str | bytes | None = None) -> tuple[Any, ...]:
    """The key values in `token`, in spec order; anything wrong raises InvalidCursor (never a silent page 1)."""
    doc = _load(token)
    if doc.get("v") != CURSOR_VERSION or type(doc.get("v")) is not int:
        raise InvalidCursor(f"cursor version {doc.get('v')!r} is not supported (expected {CURSOR_VERSION})")
    if set(doc) != _FIELDS:
        raise InvalidCursor(f"cursor fields {sorted(doc)} are not {sorted(_FIELDS)}")
    body = {k: doc[k] for k in ("v", "spec", "key")}
    mac = doc["mac"]
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(body, secret)):
        raise InvalidCursor("cursor signature does not match: it was altered or signed with another secret")
    if doc["spec"] != spec.fingerprint:
        raise InvalidCursor(f"cursor was built for another sort spec, not {spec}")
    key = doc["key"]
    if not isinstance(key, dict):
        raise InvalidCursor("cursor key is not an object")
    missing = [k.column for k in spec.keys if k.column not in key]
    if missing:
        raise InvalidCursor(f"cursor lacks key column {missing[0]!r}")
    extra = sorted(set(key) - set(spec.column_names))
    if extra:
        raise InvalidCursor(f"cursor has unknown column {extra[0]!r}")
    values = tuple(_decode_value(k.column, key[k.column]) for k in spec.keys)
    for k, v in zip(spec.keys, values, strict=True):
        if v is None and not k.nullable:
            raise InvalidCursor(f"cursor holds NULL for NOT NULL key column {k.column!r}")
    return values
