"""Rows read straight from the pages of an SQLite file, without SQLite: the last resort of salvage.

When the first page is overwritten SQLite cannot find a single table, yet the outbox's
rows are still on their own pages. ``scan`` walks every page of the file (and of its
``-wal``, whose frames hold pages too), decodes the cells of each table leaf page
(record format of https://sqlite.org/fileformat2.html, overflow chains followed while
they stay inside the file) and yields ``(rowid, values)``. A page or cell that does not
decode is skipped: a scan of garbage yields nothing, never an exception. It can also
yield rows SQLite had already deleted (a freed page keeps its bytes), so callers check
each row's shape and must tolerate old rows (the outbox's replays are idempotent).
Pure: bytes in, rows out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from desktop.cache.file_check import HEADER, page_size_of

__all__ = ["DEFAULT_PAGE_SIZE", "Cell", "scan", "scan_wal"]

DEFAULT_PAGE_SIZE = 4096
"""SQLite's default page size, tried when the header that names the real one is gone."""

_TABLE_LEAF = 0x0D
_WAL_MAGIC = (0x377F0682, 0x377F0683)

Cell = tuple[int, list[Any]]
"""A row: its rowid and its column values (None, int, float, str or bytes)."""


class _Bad(Exception):
    """A page or cell that does not decode."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        if at + i >= len(data):
            raise _Bad
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + i + 1
    raise _Bad  # pragma: no cover - the loop always returns


_INT_SIZES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def _record(payload: bytes) -> list[Any]:
    header_size, at = _varint(payload, 0)
    if header_size > len(payload) or header_size < 1:
        raise _Bad
    types: list[int] = []
    while at < header_size:
        serial, at = _varint(payload, at)
        types.append(serial)
    body = header_size
    values: list[Any] = []
    for serial in types:
        if serial == 0:
            values.append(None)
        elif serial in _INT_SIZES:
            width = _INT_SIZES[serial]
            values.append(int.from_bytes(payload[body : body + width], "big", signed=True))
            body += width
        elif serial == 7:
            values.append(struct.unpack(">d", payload[body : body + 8])[0])
            body += 8
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial >= 12:
            width = (serial - 12) // 2
            raw = payload[body : body + width]
            values.append(raw.decode("utf-8") if serial % 2 else raw)
            body += width
        else:
            raise _Bad
        if body > len(payload):
            raise _Bad
    return values


class _Pages:
    """Pages of one file by number (1-based), for following overflow chains."""

    def __init__(self, data: bytes, page_size: int) -> None:
        self.data = data
        self.size = page_size

    def __len__(self) -> int:
        return len(self.data) // self.size

    def page(self, number: int) -> bytes:
        if not 1 <= number <= len(self):
            raise _Bad
        return self.data[(number - 1) * self.size : number * self.size]


def _payload(page: bytes, at: int, total: int, pages: _Pages | None) -> bytes:
    usable = len(page)
    most = usable - 35
    if total <= most:
        return page[at : at + total]
    least = ((usable - 12) * 32 // 255) - 23
    local = least + (total - least) % (usable - 4)
    if local > most:
        local = least
    parts = [page[at : at + local]]
    got = local
    overflow = int.from_bytes(page[at + local : at + local + 4], "big")
    seen: set[int] = set()
    while got < total:
        if pages is None or overflow in seen:
            raise _Bad
        seen.add(overflow)
        chunk = pages.page(overflow)
        overflow = int.from_bytes(chunk[:4], "big")
        piece = chunk[4 : 4 + min(usable - 4, total - got)]
        parts.append(piece)
        got += len(piece)
    return b"".join(parts)


def _leaf_cells(page: bytes, header_at: int, pages: _Pages | None) -> Iterator[Cell]:
    if page[header_at] != _TABLE_LEAF:
        return
    count = int.from_bytes(page[header_at + 3 : header_at + 5], "big")
    pointers = header_at + 8
    for i in range(min(count, (len(page) - pointers) // 2)):
        try:
            at = int.from_bytes(page[pointers + 2 * i : pointers + 2 * i + 2], "big")
            if not pointers <= at < len(page):
                continue
            total, at = _varint(page, at)
            rowid, at = _varint(page, at)
            yield rowid, _record(_payload(page, at, total, pages))
        except (_Bad, UnicodeDecodeError, struct.error, IndexError):
            continue


def scan(data: bytes) -> Iterator[Cell]:
    """Every row of every table leaf page of a main database file's bytes."""
    page_size = page_size_of(data[:100]) if data.startswith(HEADER) else None
    pages = _Pages(data, page_size or DEFAULT_PAGE_SIZE)
    for number in range(1, len(pages) + 1):
        page = pages.page(number)
        yield from _leaf_cells(page, 100 if number == 1 else 0, pages)


def scan_wal(data: bytes) -> Iterator[Cell]:
    """Every row of every table leaf page in the frames of a ``-wal`` file's bytes."""
    if len(data) < 32 or int.from_bytes(data[:4], "big") not in _WAL_MAGIC:
        return
    page_size = int.from_bytes(data[8:12], "big")
    if page_size < 512 or page_size & (page_size - 1):
        return
    frame = 24 + page_size
    for start in range(32, len(data) - frame + 1, frame):
        number = int.from_bytes(data[start : start + 4], "big")
        page = data[start + 24 : start + frame]
        yield from _leaf_cells(page, 100 if number == 1 else 0, None)
