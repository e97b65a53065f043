"""The adapters' pure parts: error translation, frame parsing, URLs."""

from __future__ import annotations

import json

import pytest

from desktop.sync.enrollment import normalise_server_url
from desktop.sync.errors import (
    EnrollmentRefused,
    RateLimited,
    Refused,
    ServerBusy,
    ServerFailed,
    Unauthorized,
    UpdateRequired,
    error_for_status,
)
from desktop.sync.events import Failure, InvalidFrame, UnknownFrame
from desktop.sync.frames import continues, following, join_changes, parse_frame, status_text
from desktop.sync.ws_client import socket_url
from protocol.messages import ChangesFrame, HelloFrame, ResyncFrame
from tests.unit.sync.wire import changes_frame, hlc


def _body(code: str, message: str = "why") -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


@pytest.mark.parametrize(
    ("status", "body", "kind", "failure"),
    [
        (401, _body("unauthorized"), Unauthorized, Failure.UNAUTHORIZED),
        (426, _body("update_required"), UpdateRequired, Failure.UPDATE_REQUIRED),
        (429, _body("rate_limited"), RateLimited, Failure.RATE_LIMITED),
        (403, _body("enroll_code_used"), EnrollmentRefused, Failure.REFUSED),
        (413, _body("too_large"), Refused, Failure.REFUSED),
        (422, _body("invalid_body"), Refused, Failure.REFUSED),
        (502, b"<html>Bad Gateway</html>", ServerFailed, Failure.SERVER),
        (503, _body("overloaded"), ServerBusy, Failure.OVERLOADED),
        (503, b"<html>Service Unavailable</html>", ServerBusy, Failure.OVERLOADED),
        (500, _body("internal"), ServerFailed, Failure.SERVER),
    ],
)
def test_every_refusal_becomes_the_exception_and_failure_the_engine_acts_on(
    status: int, body: bytes, kind: type[Exception], failure: Failure
) -> None:
    error = error_for_status(status, body, "2")
    assert type(error) is kind
    assert error.failure is failure


def test_a_503_says_when_to_come_back_and_without_a_delay_is_a_plain_failure() -> None:
    busy = error_for_status(503, _body("overloaded", "every database connection is busy"), "1")
    assert isinstance(busy, ServerBusy) and busy.retry_after == 1.0
    assert "every database connection is busy" in str(busy)
    assert type(error_for_status(503, b"Service Unavailable", None)) is ServerFailed
    assert type(error_for_status(503, b"", "Wed, 21 Oct 2015 07:28:00 GMT")) is ServerFailed


def test_a_refusal_keeps_the_servers_code_and_words() -> None:
    error = error_for_status(403, _body("enroll_code_expired", "ask IT for a new one"))
    assert isinstance(error, EnrollmentRefused)
    assert (error.status, error.code, str(error)) == (403, "enroll_code_expired", "ask IT for a new one")


def test_a_proxys_answer_without_the_contract_body_still_says_something() -> None:
    error = error_for_status(404, b"Not Found\n")
    assert isinstance(error, Refused) and (error.code, str(error)) == ("http_404", "Not Found")
    assert str(error_for_status(418, b"")) == "HTTP 418"


@pytest.mark.parametrize(
    ("header", "seconds"), [("3", 3.0), ("0.5", 0.5), (None, None), ("Wed, 21 Oct", None)]
)
def test_retry_after_is_read_in_seconds(header: str | None, seconds: float | None) -> None:
    error = error_for_status(429, _body("rate_limited"), header)
    assert isinstance(error, RateLimited) and error.retry_after == seconds


def test_known_frames_parse_to_the_wire_models() -> None:
    assert isinstance(parse_frame('{"type":"hello","server_hlc":"x","head":3,"epoch":"e"}'), HelloFrame)
    assert isinstance(parse_frame('{"type":"resync"}'), ResyncFrame)
    frame = parse_frame('{"type":"changes","from":3,"to":4,"changes":[],"extra":"ignored"}')
    assert isinstance(frame, ChangesFrame) and (frame.from_, frame.to) == (3, 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type":"gossip","x":1}', UnknownFrame("gossip")),
        ("not json at all", InvalidFrame("not JSON")),
        (b"\xff\xfe", InvalidFrame("not JSON")),
        ("[1, 2]", InvalidFrame("Input should be an object")),
    ],
)
def test_frames_this_version_cannot_use_become_explicit_values(text: str | bytes, expected: object) -> None:
    assert parse_frame(text) == expected


def test_a_known_frame_with_a_broken_shape_is_invalid_and_says_where() -> None:
    frame = parse_frame('{"type":"changes","from":"three","to":4,"changes":[]}')
    assert isinstance(frame, InvalidFrame) and "from" in frame.reason


def test_the_status_frame_is_what_the_server_expects() -> None:
    assert json.loads(status_text(12, 3)) == {"type": "status", "cursor": 12, "pending": 3}


@pytest.mark.parametrize(
    ("server", "socket"),
    [
        ("https://sync.example.com", "wss://sync.example.com/api/v1/sync/ws"),
        ("http://127.0.0.1:8000/", "ws://127.0.0.1:8000/api/v1/sync/ws"),
        ("https://example.com/branchsync", "wss://example.com/branchsync/api/v1/sync/ws"),
    ],
)
def test_the_socket_url_follows_the_server_url(server: str, socket: str) -> None:
    assert socket_url(server) == socket


def test_a_server_url_is_checked_and_tidied() -> None:
    assert normalise_server_url("  https://sync.example.com/ ") == "https://sync.example.com"
    for bad in ("sync.example.com", "ftp://x", "https://"):
        with pytest.raises(ValueError, match="server URL"):
            normalise_server_url(bad)
    with pytest.raises(ValueError, match="http"):
        socket_url("sync.example.com")


def test_frames_that_continue_one_another_join_into_one_in_order() -> None:
    joined = join_changes([changes_frame(4, 6), changes_frame(6, 7), changes_frame(7, 10)])
    assert (joined.from_, joined.to) == (4, 10)
    assert [change.seq for change in joined.changes] == [5, 6, 7, 8, 9, 10]
    assert joined.to_wire()["from"] == 4  # still a wire frame, aliases and all


def test_a_single_frame_is_its_own_join_and_a_gap_is_refused() -> None:
    only = changes_frame(0, 3)
    assert join_changes([only]) is only
    assert continues(changes_frame(3, 4), only)
    assert not continues(changes_frame(4, 5), only)  # change 4 is missing
    assert not continues(HelloFrame(type="hello", server_hlc=hlc(), head=3, epoch="e"), only)
    with pytest.raises(ValueError, match="continue"):
        join_changes([only, changes_frame(4, 5)])


@pytest.mark.parametrize(
    ("heard", "cursor", "expected"),
    [
        ([(2, 3), (3, 5)], 2, (3, 4, 5)),  # carries on from the cursor
        ([(0, 1), (1, 4), (4, 5)], 2, (3, 4, 5)),  # covered frames skipped, an overlap trimmed
        ([(2, 4), (3, 6)], 2, (3, 4, 5, 6)),  # frames overlapping one another: each change once
        ([(2, 3), (4, 5)], 2, (3,)),  # stops at the gap (change 4 was never heard)
        ([(3, 4)], 2, None),  # starts past the cursor
        ([(0, 2)], 2, None),  # nothing new
        ([], 2, None),
    ],
)
def test_following_takes_what_carries_on_from_the_cursor(
    heard: list[tuple[int, int]], cursor: int, expected: tuple[int, ...] | None
) -> None:
    tail = following([changes_frame(first, last) for first, last in heard], cursor)
    if expected is None:
        assert tail is None
    else:
        assert tail is not None
        assert (tail.from_, tail.to) == (cursor, expected[-1])
        assert tuple(change.seq for change in tail.changes) == expected
