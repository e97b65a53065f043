"""The snapshot stream's codec: what the server writes, the engine reads back whole or refuses."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from protocol.collections import CLIENTS
from protocol.snapshot import (
    NULL_MARKER,
    SnapshotDecoder,
    SnapshotEncoder,
    SnapshotError,
    SnapshotHeader,
    SnapshotRows,
    decode_field,
    snapshot_columns,
)

HEADER = SnapshotHeader(
    seq=42,
    epoch="epoch-1",
    server_hlc="001767346200000-000000-server.a",
    top_hlc="001767346100000-000003-dev",
    collections={"clients": ("id", "name", "clocks"), "appointments": ("id", "notes")},
)


def _stream(sections: list[bytes], header: SnapshotHeader = HEADER) -> bytes:
    encoder = SnapshotEncoder(header)
    out = encoder.start()
    for data in sections:
        out += encoder.rows(data) + encoder.end_section()
    return out + encoder.finish()


def _read(stream: bytes, step: int | None = None) -> tuple[SnapshotHeader, list[SnapshotRows]]:
    decoder = SnapshotDecoder()
    step = step or len(stream)
    pieces = [piece for at in range(0, len(stream), step) for piece in decoder.feed(stream[at : at + step])]
    header = decoder.finish()
    assert decoder.header == header == pieces[0]
    rows = [piece for piece in pieces[1:] if isinstance(piece, SnapshotRows)]
    assert len(rows) == len(pieces) - 1
    return header, rows


def test_columns_are_the_id_each_field_the_clocks_and_the_flag() -> None:
    assert snapshot_columns(CLIENTS) == ("id", *CLIENTS.field_names, "clocks", "deleted")


@pytest.mark.parametrize("step", [None, 1, 7])
def test_a_stream_reads_back_as_written_however_it_is_cut(step: int | None) -> None:
    clients = b'a\tAda\t{"name": "x"}\nb\t\\N\t{}\n'
    appointments = b"c\tline\\none \\\\ tab\\t\\x41\\101\\q\n"
    header, rows = _read(_stream([clients, appointments]), step)
    assert header == HEADER
    plain = [r for r in rows if r.collection == "clients"]
    expected = [["a", "Ada", '{"name": "x"}'], ["b", NULL_MARKER, "{}"]]
    assert [row for piece in plain for row in piece.rows] == expected
    assert all(piece.null == NULL_MARKER for piece in plain)
    escaped = [r for r in rows if r.collection == "appointments"]
    assert [row for piece in escaped for row in piece.rows] == [("c", "line\none \\ tab\tAAq")]
    assert all(piece.null is None for piece in escaped)


def test_an_empty_database_is_a_header_empty_sections_and_a_trailer() -> None:
    header, rows = _read(_stream([b"", b""], SnapshotHeader(0, "e", "h", None, HEADER.collections)))
    assert header.seq == 0 and header.top_hlc is None
    assert rows == []


def test_fields_decode_as_copy_text() -> None:
    assert decode_field("\\N") is None
    assert decode_field("plain") == "plain"
    assert decode_field("a\\tb\\nc\\rd\\be\\ff\\vg\\\\h") == "a\tb\nc\rd\be\ff\vg\\h"
    assert decode_field("\\x4a\\112\\Z") == "JJZ"


def test_a_cut_stream_is_refused_at_the_end() -> None:
    stream = _stream([b"a\tAda\t{}\n", b""])
    for cut in (len(stream) // 2, len(stream) - 4):
        decoder = SnapshotDecoder()
        decoder.feed(stream[:cut])
        with pytest.raises(SnapshotError, match="ended before"):
            decoder.finish()


def _raw(text: bytes) -> bytes:
    return gzip.compress(text)


GOOD_HEADER = HEADER.line()


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"not gzip at all", "not a valid gzip"),
        (_raw(GOOD_HEADER) + b"trailing", "after the end"),
        (_raw(b"\xff\xfe\n"), "not UTF-8"),
        (_raw(b"[1]\n"), "not a JSON object"),
        (_raw(b"{nope\n"), "not JSON"),
        (_raw(b'{"format": "other", "version": 1}\n'), "not a version 1"),
        (_raw(GOOD_HEADER.replace(b'"seq":42', b'"sequence":42')), "lacks"),
        (_raw(GOOD_HEADER.replace(b'"seq":42', b'"seq":-1')), "malformed"),
        (_raw(GOOD_HEADER.replace(b'"top_hlc":"', b'"top_hlc":7,"x":"')), "top_hlc is malformed"),
        (_raw(GOOD_HEADER + b"a\tonly two\n"), "3 fields"),
        (_raw(GOOD_HEADER + b"a\\t\tb\n"), "3 fields"),
        (_raw(GOOD_HEADER + b"\\.\n\\.\n" + json.dumps({"rows": {"clients": 1}}).encode() + b"\n"), "add up"),
        (_raw(GOOD_HEADER + b'\\.\n\\.\n{"rows": {"clients": 0, "appointments": 0}}\nmore\n'), "after the"),
    ],
)
def test_a_corrupt_stream_is_refused_as_soon_as_it_shows(stream: bytes, message: str) -> None:
    with pytest.raises(SnapshotError, match=message):
        SnapshotDecoder().feed(stream)


def test_lines_after_the_trailer_in_a_later_chunk_are_refused() -> None:
    deflate = zlib.compressobj(1, zlib.DEFLATED, 31)
    whole = GOOD_HEADER + b'\\.\n\\.\n{"rows": {"clients": 0, "appointments": 0}}\n'
    decoder = SnapshotDecoder()
    assert decoder.feed(deflate.compress(whole) + deflate.flush(zlib.Z_SYNC_FLUSH)) == [HEADER]
    with pytest.raises(SnapshotError, match="after the"):
        decoder.feed(deflate.compress(b"late\n") + deflate.flush())
