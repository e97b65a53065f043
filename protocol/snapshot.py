"""The bulk snapshot a new installation loads instead of pulling page by page.

``GET /api/v1/sync/snapshot`` (``protocol.wire.SNAPSHOT_PATH``) answers one gzip stream
(``Content-Type: application/gzip``; the body itself is the gzip file, not a
``Content-Encoding``) of text lines::

    {"format": "branchsync-snapshot", "version": 1, "seq": 812, "epoch": "…",
     "server_hlc": "…", "top_hlc": "…", "collections": {"clients": ["id", …], …}}
    <one line per row of the first collection>
    \\.
    <one line per row of the next collection>
    \\.
    {"rows": {"clients": 700, "appointments": 300}}

The header says which change number the snapshot holds every row as of (``seq``: a
pull from it misses nothing), the server history it belongs to (``epoch``), the
server's clock as the answer started (``server_hlc``) and the greatest clock any row
carries (``top_hlc``, None on an empty database), and for each collection, in stream
order, the columns of its rows. A row line is PostgreSQL's ``COPY`` text form: fields
separated by tabs, ``\\N`` for NULL, backslash escapes for a backslash, tab, newline
and the other control characters, so a line never holds a raw newline and ``\\.``
never is a row. Each value is already in the form the desktop cache stores: ids and
uuids in canonical text, date-times as ``protocol.validate`` writes them, tags and
``clocks`` as JSON, ``deleted`` as ``0`` or ``1``. The trailer counts the rows of
each section, so a cut stream is told from a complete one (the gzip trailer's
checksum covers the bytes).

Tombstones (deleted rows) are included, field values and all, so a snapshot builds
exactly the cache that pulling every change from 0 would. ``bases`` are not: the
cache keeps none, they only tell a conflict from an ordinary edit against local
values, and an empty cache has none.

``SnapshotEncoder`` writes the stream (the server), ``SnapshotDecoder`` reads it
incrementally (the engine); neither does any I/O.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from protocol.collections import Collection
from protocol.errors import ProtocolError

__all__ = [
    "NULL_MARKER",
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_MEDIA_TYPE",
    "SNAPSHOT_VERSION",
    "SnapshotDecoder",
    "SnapshotEncoder",
    "SnapshotError",
    "SnapshotHeader",
    "SnapshotRows",
    "decode_field",
    "snapshot_columns",
]

SNAPSHOT_FORMAT: Final = "branchsync-snapshot"
SNAPSHOT_VERSION: Final = 1
"""Bumped only for a change an older reader would misread; it then declines the snapshot."""
SNAPSHOT_MEDIA_TYPE: Final = "application/gzip"

SECTION_END: Final = "\\."
NULL_MARKER: Final = "\\N"
"""NULL in ``COPY`` text."""
_NULL: Final = NULL_MARKER
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))", re.DOTALL)
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


class SnapshotError(ProtocolError):
    """The snapshot stream is not one this version can read whole (cut, corrupt or newer)."""


def snapshot_columns(collection: Collection) -> tuple[str, ...]:
    """The columns a collection's rows carry, in order: ``id``, each field, ``clocks``, ``deleted``."""
    return ("id", *collection.field_names, "clocks", "deleted")


@dataclass(frozen=True, slots=True)
class SnapshotHeader:
    """The first line: what the rows are a snapshot of."""

    seq: int
    epoch: str
    server_hlc: str
    top_hlc: str | None
    collections: Mapping[str, tuple[str, ...]]
    """Collection -> its columns, in the order the sections follow."""

    def line(self) -> bytes:
        body = {
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "seq": self.seq,
            "epoch": self.epoch,
            "server_hlc": self.server_hlc,
            "top_hlc": self.top_hlc,
            "collections": {name: list(columns) for name, columns in self.collections.items()},
        }
        return json.dumps(body, separators=(",", ":")).encode() + b"\n"

    @classmethod
    def parse(cls, line: bytes) -> SnapshotHeader:
        body = _json_object(line, "header")
        if body.get("format") != SNAPSHOT_FORMAT or body.get("version") != SNAPSHOT_VERSION:
            raise SnapshotError(f"not a version {SNAPSHOT_VERSION} snapshot: {line[:80]!r}")
        try:
            seq, epoch, server_hlc, top_hlc = body["seq"], body["epoch"], body["server_hlc"], body["top_hlc"]
            collections = {str(k): tuple(str(c) for c in v) for k, v in body["collections"].items()}
        except (KeyError, AttributeError, TypeError) as exc:
            raise SnapshotError(f"the snapshot header lacks {exc}") from exc
        if not (isinstance(seq, int) and seq >= 0 and isinstance(epoch, str) and isinstance(server_hlc, str)):
            raise SnapshotError("the snapshot header's seq, epoch or server_hlc is malformed")
        if top_hlc is not None and not isinstance(top_hlc, str):
            raise SnapshotError("the snapshot header's top_hlc is malformed")
        return cls(seq, epoch, server_hlc, top_hlc, collections)


@dataclass(frozen=True, slots=True)
class SnapshotRows:
    """Some rows of one collection, each a sequence of its header's columns.

    ``null`` is what stands for NULL in ``rows``: None, or ``NULL_MARKER`` when no
    field of these rows needed unescaping, so none can hold that text as a value and
    the consumer may map it to NULL itself (in SQL: ``NULLIF(?, '\\N')``), which
    spares a Python step per field of a million rows.
    """

    collection: str
    rows: list[list[str]] | list[tuple[str | None, ...]]
    null: str | None = None


SnapshotPiece = SnapshotHeader | SnapshotRows


def decode_field(text: str) -> str | None:
    """One ``COPY`` text field: ``\\N`` is NULL, backslash escapes are undone."""
    if text == _NULL:
        return None
    if "\\" not in text:
        return text
    return _ESCAPE.sub(_unescape, text)


def _unescape(match: re.Match[str]) -> str:
    octal, hexa, char = match.groups()
    if octal is not None:
        return chr(int(octal, 8))
    if hexa is not None:
        return chr(int(hexa, 16))
    return _SIMPLE.get(char, char)


def _decode_row(line: str) -> tuple[str | None, ...]:
    return tuple(decode_field(field) for field in line.split("\t"))


def _json_object(line: bytes, what: str) -> dict[str, Any]:
    try:
        body = json.loads(line)
    except ValueError as exc:
        raise SnapshotError(f"the snapshot {what} is not JSON: {line[:80]!r}") from exc
    if not isinstance(body, dict):
        raise SnapshotError(f"the snapshot {what} is not a JSON object")
    return body


class SnapshotEncoder:
    """Writes the gzip stream: the header, each section's ``COPY`` text rows, the trailer.

    Args:
        level: the gzip level; 1 because the server's CPU, not the network, is what a
            snapshot waits for.
    """

    def __init__(self, header: SnapshotHeader, *, level: int = 1) -> None:
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, 31)
        self._sections = list(header.collections)
        self._counts = dict.fromkeys(self._sections, 0)
        self._current = 0
        self._first = header.line()

    def start(self) -> bytes:
        """The compressed header (send it first, so the reader can time its round trip)."""
        return self._deflate.compress(self._first) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def rows(self, data: bytes) -> bytes:
        """``COPY`` text rows of the current section (whole lines, as PostgreSQL sends them)."""
        self._counts[self._sections[self._current]] += data.count(b"\n")
        return self._deflate.compress(data)

    def end_section(self) -> bytes:
        """Close the current section (it may be empty) and open the next."""
        self._current += 1
        return self._deflate.compress(SECTION_END.encode() + b"\n")

    def finish(self) -> bytes:
        """The trailer and the end of the gzip stream."""
        trailer = json.dumps({"rows": self._counts}, separators=(",", ":")).encode() + b"\n"
        return self._deflate.compress(trailer) + self._deflate.flush()


class SnapshotDecoder:
    """Reads the gzip stream incrementally: ``feed`` bytes as they arrive, then ``finish``.

    Raises ``SnapshotError`` as soon as the stream stops making sense, and from
    ``finish`` when it ended early, so a consumer never takes a partial snapshot
    for a whole one.
    """

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(31)
        self._tail = b""
        self._header: SnapshotHeader | None = None
        self._sections: Sequence[str] = ()
        self._section = 0
        self._counts: dict[str, int] = {}
        self._done = False

    @property
    def header(self) -> SnapshotHeader | None:
        return self._header

    def feed(self, data: bytes) -> list[SnapshotPiece]:
        """The pieces completed by ``data`` (the header once, then rows in batches)."""
        try:
            data = self._tail + self._inflate.decompress(data)
        except zlib.error as exc:
            raise SnapshotError(f"the snapshot is not a valid gzip stream: {exc}") from exc
        if self._inflate.unused_data:
            raise SnapshotError("bytes after the end of the snapshot's gzip stream")
        cut = data.rfind(b"\n") + 1
        self._tail = data[cut:]
        try:
            lines = data[:cut].decode().split("\n")
        except UnicodeDecodeError as exc:
            raise SnapshotError("the snapshot is not UTF-8 text") from exc
        lines.pop()  # after the last newline
        pieces: list[SnapshotPiece] = []
        at = 0
        while at < len(lines):
            if self._done:
                raise SnapshotError("lines after the snapshot's trailer")
            if self._header is None:
                self._header = SnapshotHeader.parse(lines[at].encode())
                self._sections = list(self._header.collections)
                pieces.append(self._header)
                at += 1
            elif self._section == len(self._sections):
                self._finish_trailer(lines[at].encode())
                at += 1
            else:
                try:
                    end = lines.index(SECTION_END, at)
                except ValueError:
                    end = len(lines)
                if end > at:
                    pieces.append(self._rows(lines[at:end]))
                if end < len(lines):
                    self._section += 1
                at = end + 1
        return pieces

    def _rows(self, lines: list[str]) -> SnapshotRows:
        """A block of row lines of the current section, unescaped only if any needs it."""
        assert self._header is not None
        name = self._sections[self._section]
        width = len(self._header.collections[name])
        self._counts[name] = self._counts.get(name, 0) + len(lines)
        plain = "\\" not in "\n".join(lines).replace(_NULL, "")
        if plain:
            rows: list[list[str]] | list[tuple[str | None, ...]] = [line.split("\t") for line in lines]
        else:
            rows = [_decode_row(line) for line in lines]
        if any(len(row) != width for row in rows):
            raise SnapshotError(f"a {name} row does not have the header's {width} fields")
        return SnapshotRows(name, rows, NULL_MARKER if plain else None)

    def _finish_trailer(self, line: bytes) -> None:
        body = _json_object(line, "trailer")
        expected = body.get("rows")
        got = {name: self._counts.get(name, 0) for name in self._sections}
        if expected != got:
            raise SnapshotError(f"the snapshot's rows do not add up: the trailer says {expected}, got {got}")
        self._done = True

    def finish(self) -> SnapshotHeader:
        """Check the stream ended whole; returns its header.

        Raises:
            SnapshotError: it was cut short (no trailer, or the gzip stream unfinished).
        """
        if not (self._done and self._inflate.eof and not self._tail) or self._header is None:
            raise SnapshotError("the snapshot stream ended before its trailer")
        return self._header
