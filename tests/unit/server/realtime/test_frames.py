"""Building server frames and reading client frames, without a socket."""

from __future__ import annotations

import itertools
import json
import uuid

import pytest

from protocol.messages import Change, ChangesFrame, HelloFrame, StatusFrame, parse_server_frame
from server.realtime.frames import (
    RESYNC_TEXT,
    Ignored,
    changes_frames,
    hello_text,
    parse_client_frame,
)


def change(seq: int, notes: str = "") -> Change:
    return Change(
        seq=seq,
        collection="clients",
        row_id=uuid.uuid4(),
        fields={"name": f"Client {seq}", "notes": notes},
        clocks={"name": f"{seq:015d}-000000-dev"},
        deleted=False,
    )


def test_hello_and_resync_parse_as_the_protocol_says() -> None:
    hlc = "000000000000001-000000-server.x"
    hello = parse_server_frame(hello_text(hlc, 42, "ep", 7))
    assert hello == HelloFrame(type="hello", server_hlc=hlc, head=42, epoch="ep", server_wall_ms=7)
    assert parse_server_frame(RESYNC_TEXT).type == "resync"


def test_small_changes_make_one_frame_that_round_trips() -> None:
    changes = [change(4), change(7), change(9)]
    (frame,) = changes_frames(3, changes)
    assert (frame.from_seq, frame.to_seq) == (3, 9)
    parsed = parse_server_frame(frame.text)
    assert isinstance(parsed, ChangesFrame)
    assert (parsed.from_, parsed.to) == (3, 9)
    assert parsed.changes == changes


def test_large_changes_are_cut_into_contiguous_frames_under_the_budget() -> None:
    changes = [change(seq, notes="x" * 1000) for seq in range(1, 51)]
    frames = list(changes_frames(0, changes, max_bytes=4096))
    assert len(frames) > 10
    assert all(len(f.text) <= 4096 + 200 for f in frames)
    assert frames[0].from_seq == 0 and frames[-1].to_seq == 50
    assert all(a.to_seq == b.from_seq for a, b in itertools.pairwise(frames))
    delivered = [c for f in frames for c in json.loads(f.text)["changes"]]
    assert [c["seq"] for c in delivered] == list(range(1, 51))


def test_a_change_larger_than_the_budget_still_goes_alone() -> None:
    frames = list(changes_frames(0, [change(1), change(2, notes="y" * 5000), change(3)], max_bytes=1000))
    assert [(f.from_seq, f.to_seq) for f in frames] == [(0, 1), (1, 2), (2, 3)]


def test_no_changes_make_no_frame() -> None:
    assert list(changes_frames(5, [])) == []


def test_a_status_frame_is_read() -> None:
    status = parse_client_frame('{"type": "status", "cursor": 12, "pending": 3}')
    assert status == StatusFrame(type="status", cursor=12, pending=3)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("not json at all", "JSON"),
        (b"\x00\x01", "binary"),
        ("[1, 2]", "object"),
        ('{"type": "hello"}', "type"),
        ('{"type": "status", "cursor": "x", "pending": 0}', "cursor"),
        ('{"type": "status", "cursor": 1}', "pending"),
        ('{"type": "status", "cursor": 1, "pending": 0, "extra": 1}', "extra"),
        ('{"type": "status", "cursor": -1, "pending": 0}', "cursor -1 out of range"),
        ('{"type": "status", "cursor": 1, "pending": 99999999999}', "pending 99999999999 out of range"),
        ('{"type": "status", "cursor": 1, "pending": 0, "app_version": "' + "v" * 60 + '"}', "app_version"),
    ],
)
def test_garbage_client_frames_are_ignored_with_a_reason(data: str | bytes, reason: str) -> None:
    result = parse_client_frame(data)
    assert isinstance(result, Ignored)
    assert reason.lower() in result.reason.lower()
