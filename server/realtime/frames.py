"""The WebSocket's wire frames, made and read with no I/O.

Server frames are built as text once per publish (never per socket). ``changes``
frames are cut to at most ``max_bytes`` so a 500-row push never exceeds a client's
message size limit; each piece still continues the stream (``from`` = previous
``to``), so a client applies them one by one exactly as it would one big frame.

Client frames are untrusted: anything that is not a well-formed ``status`` frame
becomes an ``Ignored`` value with the reason, counted and logged by the adapter,
never an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydantic import ValidationError

from protocol.messages import Change, StatusFrame
from protocol.wire import RESYNC_TEXT, CloseCode, change_text, changes_text, hello_text
from server.realtime.hub import CloseReason, Frame

__all__ = [
    "CLOSE_CODES",
    "DEFAULT_FRAME_BYTES",
    "RESYNC_TEXT",
    "Ignored",
    "changes_frames",
    "hello_text",
    "parse_client_frame",
]

DEFAULT_FRAME_BYTES = 512 * 1024
"""Largest ``changes`` frame we build (a lone change larger than this still goes, alone)."""

CLOSE_CODES: dict[CloseReason, tuple[int, str]] = {
    reason: (code, code.reason)
    for reason, code in (
        (CloseReason.RESYNC, CloseCode.RESYNC),
        (CloseReason.REVOKED, CloseCode.REVOKED),
        (CloseReason.SHUTDOWN, CloseCode.SERVICE_RESTART),
        (CloseReason.REPLACED, CloseCode.REPLACED),
    )
}
"""WebSocket close code and reason per ``CloseReason`` (``protocol.wire.CloseCode``)."""

_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1


def changes_frames(
    since: int, changes: Iterable[Change], max_bytes: int = DEFAULT_FRAME_BYTES, announced_at: float = 0.0
) -> Iterator[Frame]:
    """Cut changes (in ``seq`` order, all after ``since``) into contiguous frames."""
    start = since
    chunk: list[str] = []
    size = 0
    last = since
    for change in changes:
        text = change_text(change)
        if chunk and size + len(text) > max_bytes:
            yield _frame(start, last, chunk, announced_at)
            start, chunk, size = last, [], 0
        chunk.append(text)
        size += len(text) + 1
        last = change.seq
    if chunk:
        yield _frame(start, last, chunk, announced_at)


def _frame(from_seq: int, to_seq: int, changes: list[str], announced_at: float) -> Frame:
    return Frame(from_seq, to_seq, changes_text(from_seq, to_seq, changes), announced_at)


@dataclass(frozen=True, slots=True)
class Ignored:
    """A client frame the server does not understand, and why."""

    reason: str


def parse_client_frame(data: str | bytes) -> StatusFrame | Ignored:
    """Read one frame a client sent: a ``status`` frame, or why it is ignored."""
    if isinstance(data, bytes):
        return Ignored("binary frame")
    try:
        status = StatusFrame.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return Ignored(f"{where}: {first['msg']}" if where else str(first["msg"]))
    if not 0 <= status.cursor <= _INT64_MAX:
        return Ignored(f"cursor {status.cursor} out of range")
    if not 0 <= status.pending <= _INT32_MAX:
        return Ignored(f"pending {status.pending} out of range")
    if status.app_version is not None and len(status.app_version) > 50:
        return Ignored("app_version longer than 50 characters")
    return status
