"""Binary COPY rows built whole with numpy: fixed-width fields as byte matrices, text from pre-encoded pools."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The binary COPY file header (signature, flags, extension length) and trailer.
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
TRAILER = b"\xff\xff"
NULL = struct.pack("!i", -1)
#: 2000-01-01 (PostgreSQL's epoch for timestamps and dates) in µs and days since 1970-01-01.
PG_EPOCH_US = 946_684_800_000_000
PG_EPOCH_DAYS = 10_957
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DASH = ord("-")

Bytes2D = np.ndarray[Any, np.dtype[np.uint8]]
Objects = np.ndarray[Any, np.dtype[np.object_]]
Ints = np.ndarray[Any, np.dtype[np.int64]]


def objects(values: Sequence[Any]) -> Objects:
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return arr


@dataclass(frozen=True, slots=True)
class Pool:
    """Text values encoded once as UTF-8: raw bytes, their lengths, and the field form (int32 length + bytes)."""

    text: Objects
    raw: Objects
    size: Ints
    field: Objects

    @classmethod
    def of(cls, values: Sequence[str], prefix: bytes = b"") -> Pool:
        """A pool of `values`; `prefix` goes before each one's bytes (b"\\x01", jsonb's version, for JSON texts)."""
        raw = [prefix + v.encode() for v in values]
        return cls(
            objects(list(values)),
            objects(raw),
            np.array([len(r) for r in raw], dtype=np.int64),
            objects([struct.pack("!i", len(r)) + r for r in raw]),
        )

    def __len__(self) -> int:
        return len(self.raw)

    def head(self, n: int) -> Pool:
        """The first `n` values only."""
        return Pool(self.text[:n], self.raw[:n], self.size[:n], self.field[:n])

    def at(self, index: np.ndarray[Any, Any]) -> tuple[Objects, Ints]:
        """A piece for `Rows.concat`: the raw bytes of the entries at `index` and their lengths."""
        return self.raw[index], self.size[index]


def _be(values: np.ndarray[Any, Any], dtype: str) -> Bytes2D:
    """Big-endian bytes of each value, one row per value."""
    arr = np.ascontiguousarray(np.asarray(values).astype(dtype))
    return arr.view(np.uint8).reshape(len(arr), arr.dtype.itemsize)  # not -1: a batch may have no rows


def prefixed(values: np.ndarray[Any, Any], dtype: str) -> Bytes2D:
    """Fixed-width fields: int32 length then the big-endian value."""
    body = _be(values, dtype)
    head = np.broadcast_to(np.frombuffer(struct.pack("!i", body.shape[1]), np.uint8), (len(body), 4))
    return np.hstack([head, body])


def uuid_bytes(hi: np.ndarray[Any, Any], lo: np.ndarray[Any, Any]) -> Bytes2D:
    """The 16 bytes of each UUID (two uint64 halves, big-endian)."""
    return np.hstack([_be(hi, ">u8"), _be(lo, ">u8")])


def uuid_text(hi: np.ndarray[Any, Any], lo: np.ndarray[Any, Any]) -> Bytes2D:
    """The canonical 36-character text of each UUID, as ASCII bytes."""
    raw = uuid_bytes(hi, lo)
    hexed = np.empty((len(raw), 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[raw >> 4]
    hexed[:, 1::2] = _HEX[raw & 15]
    out = np.full((len(raw), 36), _DASH, dtype=np.uint8)
    for src, dst in ((0, 0), (8, 9), (12, 14), (16, 19), (20, 24)):
        width = (8, 4, 4, 4, 12)[(0, 8, 12, 16, 20).index(src)]
        out[:, dst : dst + width] = hexed[:, src : src + width]
    return out


def rows_of(matrix: Bytes2D) -> Objects:
    """One bytes object per row of a byte matrix (numpy's void view keeps trailing zero bytes)."""
    flat = np.ascontiguousarray(matrix)
    return objects(flat.view(f"V{flat.shape[1]}").ravel().tolist())


@dataclass(frozen=True, slots=True)
class Batch:
    """Generated rows in the binary COPY format (no header or trailer)."""

    rows: int
    data: bytes


# A piece of a variable-length field: constant bytes, pool entries (raw or field form), or per-row bytes.
Piece = bytes | tuple[Objects, Ints] | Bytes2D


class Rows:
    """A batch of `n` binary COPY rows, built column by column; `data()` joins them in one pass."""

    def __init__(self, n: int, fields: int) -> None:
        self.n = n
        self._parts: list[np.ndarray[Any, Any]] = [np.broadcast_to(_be(np.array([fields]), ">i2")[0], (n, 2))]

    def fixed(self, matrix: Bytes2D, null: np.ndarray[Any, Any] | None = None) -> None:
        """Fixed-width fields (length included); rows where `null` is true are NULL."""
        if null is None or not null.any():
            self._parts.append(matrix)
            return
        col = rows_of(matrix)
        col[null] = NULL
        self._parts.append(col)

    def uuid(self, hi: np.ndarray[Any, Any], lo: np.ndarray[Any, Any]) -> None:
        self.fixed(
            np.hstack([np.broadcast_to(np.frombuffer(b"\0\0\0\x10", np.uint8), (len(hi), 4)), uuid_bytes(hi, lo)])
        )

    def int4(self, values: np.ndarray[Any, Any]) -> None:
        self.fixed(prefixed(values, ">i4"))

    def boolean(self, values: np.ndarray[Any, Any]) -> None:
        self.fixed(prefixed(values, ">u1"))

    def timestamp(self, us: np.ndarray[Any, Any], null: np.ndarray[Any, Any] | None = None) -> None:
        """timestamptz from µs since 1970 (UTC)."""
        self.fixed(prefixed(np.asarray(us, dtype=np.int64) - PG_EPOCH_US, ">i8"), null)

    def date(self, days: np.ndarray[Any, Any], null: np.ndarray[Any, Any] | None = None) -> None:
        """date from days since 1970."""
        self.fixed(prefixed(np.asarray(days, dtype=np.int64) - PG_EPOCH_DAYS, ">i4"), null)

    def column(self, fields: Objects) -> None:
        """Complete fields (length included), one bytes object per row."""
        self._parts.append(fields)

    def pooled(self, pool: Pool, index: np.ndarray[Any, Any], null: np.ndarray[Any, Any] | None = None) -> None:
        """A text (or enum label) field taken whole from a pool."""
        col = pool.field[index]
        if null is not None:
            col[null] = NULL
        self._parts.append(col)

    def concat(self, pieces: Sequence[Piece], null: np.ndarray[Any, Any] | None = None) -> None:
        """A variable-length field made of pieces; its length is computed per row."""
        size = np.zeros(self.n, dtype=np.int64)
        cols: list[np.ndarray[Any, Any]] = []
        for piece in pieces:
            if isinstance(piece, bytes):
                size += len(piece)
                cols.append(np.broadcast_to(np.frombuffer(piece, np.uint8), (self.n, len(piece))))
            elif isinstance(piece, tuple):
                col, lengths = piece
                size += lengths
                cols.append(col)
            else:
                size += piece.shape[1]
                cols.append(piece)
        head = _be(size, ">i4")
        if null is not None and null.any():
            head = head.copy()
            head[null] = np.frombuffer(NULL, np.uint8)
            cols = [_blank(c, null) for c in cols]
        self._parts.append(head)
        self._parts.extend(cols)

    def data(self) -> bytes:
        """The rows' bytes: adjacent fixed-width parts are merged, then every part is interleaved row by row."""
        merged: list[np.ndarray[Any, Any]] = []
        run: list[np.ndarray[Any, Any]] = []
        for part in self._parts:
            if part.dtype == np.uint8:
                run.append(part)
                continue
            if run:
                merged.append(rows_of(np.hstack(run)))
                run = []
            merged.append(part)
        if run:
            merged.append(rows_of(np.hstack(run)))
        table = np.empty((self.n, len(merged)), dtype=object)
        for j, col in enumerate(merged):
            table[:, j] = col
        return b"".join(table.ravel().tolist())


def _blank(col: np.ndarray[Any, Any], null: np.ndarray[Any, Any]) -> Objects:
    out: Objects = rows_of(col) if col.dtype == np.uint8 else col.copy()
    out[null] = b""
    return out


def decode(data: bytes) -> list[tuple[bytes | None, ...]]:
    """Split binary COPY rows (no header or trailer) into their raw fields: for tests and debugging."""
    rows: list[tuple[bytes | None, ...]] = []
    pos = 0
    while pos < len(data):
        (count,) = struct.unpack_from("!h", data, pos)
        pos += 2
        fields: list[bytes | None] = []
        for _ in range(count):
            (size,) = struct.unpack_from("!i", data, pos)
            pos += 4
            if size < 0:
                fields.append(None)
                continue
            fields.append(data[pos : pos + size])
            pos += size
        rows.append(tuple(fields))
    return rows
