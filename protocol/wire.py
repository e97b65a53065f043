"""The wire vocabulary of protocol v1: paths, close codes, and the frames and bodies both ends send.

The wire contract (ARCHITECTURE.md) is a public interface, so each of its words is
spelled once, here, next to the models of ``protocol.messages``: the server routes
and the desktop requests use the same path constants, the server closes a socket
with a ``CloseCode`` the desktop switches on, and every frame and push body is built
from its model. A loss travels as ``LostWire`` and is read back into the shared
``protocol.merge.Lost``.

One frame is assembled by hand: ``changes_text`` wraps changes that are already JSON,
because the fan-out serialises each change once per publish (not per socket) and
cuts frames by measuring those texts. ``tests/unit/protocol/test_wire.py`` proves
the result is byte for byte the model's own JSON.

Frame texts keep the exact bytes each end sent before this module existed: ``hello``
and ``resync`` in ``json.dumps``' spacing, ``changes`` and ``status`` compact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import IntEnum
from typing import Any, Final, Literal, get_args

from protocol.merge import Lost
from protocol.messages import (
    Change,
    ChangesFrame,
    ErrorBody,
    ErrorDetail,
    HelloFrame,
    LostWire,
    Mutation,
    PushRequest,
    ResyncFrame,
    StatusFrame,
)

__all__ = [
    "API_PREFIX",
    "BRANCHES_PATH",
    "ENROLL_PATH",
    "PULL_PATH",
    "PUSH_ENVELOPE_BYTES",
    "PUSH_PATH",
    "RESYNC_TEXT",
    "SERVER_FRAME_TYPES",
    "SNAPSHOT_PATH",
    "SOCKET_PATH",
    "CloseCode",
    "change_text",
    "changes_text",
    "error_body",
    "hello_text",
    "lost_from_wire",
    "lost_wire",
    "mutation_body",
    "push_body",
    "records_path",
    "status_text",
]

# ---- paths -----------------------------------------------------------------------

API_PREFIX: Final = "/api/v1"
ENROLL_PATH: Final = f"{API_PREFIX}/enroll"
"""``POST``: trade an enrolment code for a device id and token."""
BRANCHES_PATH: Final = f"{API_PREFIX}/branches"
"""``GET``: the branch directory (extension). The answer has a strong ``ETag``; a request whose
``If-None-Match`` names it is answered ``304 Not Modified`` with no body. Clients that send no
``If-None-Match`` and servers that send no ``ETag`` (both older) work as before."""
PUSH_PATH: Final = f"{API_PREFIX}/sync/push"
"""``POST``: a batch of mutations, each answered on its own."""
PULL_PATH: Final = f"{API_PREFIX}/sync/pull"
"""``GET ?since=&limit=``: the changes after a cursor."""
SNAPSHOT_PATH: Final = f"{API_PREFIX}/sync/snapshot"
"""``GET``: every row at one change number, as one gzip stream (extension, ``protocol.snapshot``).
A server without it answers 404 and a new device pulls page by page from 0 as before."""
SOCKET_PATH: Final = f"{API_PREFIX}/sync/ws"
"""``WS``: committed changes as they happen."""


def records_path(collection: str) -> str:
    """The REST resource of one collection, e.g. ``/api/v1/clients``."""
    return f"{API_PREFIX}/{collection}"


# ---- errors --------------------------------------------------------------------


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """Every non-2xx answer: ``{"error": {"code", "message"}}``, with ``field`` when one is to blame."""
    detail = ErrorDetail(code=str(code), message=message, field=field)
    return ErrorBody(error=detail).model_dump(exclude_none=True)


# ---- WebSocket close codes -------------------------------------------------------


class CloseCode(IntEnum):
    """Every WebSocket close code the server ends a socket with (4000-4999 are ours)."""

    PROTOCOL_ERROR = 1002
    """The client speaks another protocol version and the server cannot answer the
    handshake with HTTP 426 ``update_required``: update the app."""
    POLICY_VIOLATION = 1008
    """The handshake was refused (no or unknown token, rate limited) where the server
    cannot answer it with an HTTP error, or the client sent a frame too large or too
    many frames (reason ``frame too large`` / ``too many frames``); the reason says why."""
    SERVICE_RESTART = 1012
    """This server process is stopping: reconnect (to it or another one)."""
    RESYNC = 4000
    """The socket fell behind and its backlog was dropped (after a ``resync`` frame):
    pull, then reconnect."""
    REVOKED = 4401
    """The device was revoked: stop syncing, the token is no good any more."""
    REPLACED = 4409
    """The device opened more sockets than the server keeps per device; this, its oldest,
    was closed (an engine holds one socket, so the oldest is most likely already dead).
    A client that still reads it reconnects like after any closed socket."""

    @property
    def reason(self) -> str:
        """The close reason the server sends with this code (unless it says more)."""
        return _CLOSE_REASONS[self]


_CLOSE_REASONS: Final[Mapping[CloseCode, str]] = {
    CloseCode.PROTOCOL_ERROR: "update_required",
    CloseCode.POLICY_VIOLATION: "refused",
    CloseCode.SERVICE_RESTART: "server restarting",
    CloseCode.RESYNC: "resync",
    CloseCode.REVOKED: "device revoked",
    CloseCode.REPLACED: "replaced by a newer socket of this device",
}


# ---- WebSocket frames ------------------------------------------------------------

SERVER_FRAME_TYPES: Final = frozenset(
    kind
    for model in (HelloFrame, ChangesFrame, ResyncFrame)
    for kind in get_args(model.model_fields["type"].annotation)
)
"""The ``type`` of every frame a server of this version sends."""


def _spaced(frame: HelloFrame | ResyncFrame | StatusFrame, **options: Any) -> str:
    """A frame as ``json.dumps`` writes it (``", "`` and ``": "``), as these frames always were."""
    return json.dumps(frame.model_dump(mode="json", **options))


def hello_text(server_hlc: str, head: int, epoch: str, server_wall_ms: int) -> str:
    """The first frame on every socket: the server's clocks, where the stream continues, the epoch."""
    frame = HelloFrame(
        type="hello", server_hlc=server_hlc, head=head, epoch=epoch, server_wall_ms=server_wall_ms
    )
    return _spaced(frame)


RESYNC_TEXT: Final = _spaced(ResyncFrame(type="resync"))
"""The last frame of a socket that fell behind (then it is closed with ``CloseCode.RESYNC``)."""


def change_text(change: Change) -> str:
    """One change as it goes inside a ``changes`` frame (compact JSON)."""
    return change.model_dump_json()


def changes_text(from_seq: int, to_seq: int, change_texts: Iterable[str]) -> str:
    """The ``changes`` frame around changes already made into ``change_text``.

    Fan-out hot path: each change is serialised once per publish, and the frame is
    cut by the size of those texts. Equal, byte for byte, to ``ChangesFrame``'s own
    ``model_dump_json(by_alias=True)`` (a property test holds it there).
    """
    head = f'{{"type":"changes","from":{from_seq},"to":{to_seq},"changes":['
    return head + ",".join(change_texts) + "]}"


def status_text(cursor: int, pending: int, app_version: str | None = None) -> str:
    """The ``status`` frame a client sends: where this device is (``app_version`` left out when None)."""
    frame = StatusFrame(type="status", cursor=cursor, pending=pending, app_version=app_version)
    return frame.model_dump_json(exclude_none=True)


# ---- push ------------------------------------------------------------------------


def mutation_body(mutation: Mutation) -> dict[str, Any]:
    """One mutation as a push body carries it: ids as text, ``base`` left out when unknown."""
    return mutation.model_dump(mode="json", exclude_none=True)


def push_body(mutations: Iterable[Mutation]) -> dict[str, Any]:
    """The ``POST /api/v1/sync/push`` body for ``mutations`` (in outbox order).

    The caller keeps to ``MAX_MUTATIONS_PER_PUSH``: the server answers a longer batch
    with 413 ``too_large``, which is its check to make, not this function's.
    """
    request = PushRequest.model_construct(mutations=list(mutations))
    return request.model_dump(mode="json", exclude_none=True)


PUSH_ENVELOPE_BYTES: Final = len(json.dumps(push_body([]), separators=(",", ":")))
"""Bytes of a compact push body around its mutations (``{"mutations":[]}``)."""


# ---- losses ----------------------------------------------------------------------


def lost_wire(lost: Lost) -> LostWire:
    """A value that lost the merge, as a push answer carries it (``Lost.loser`` stays home).

    Built without pydantic's checks: ``lost`` comes from ``protocol.merge`` (server hot path).
    """
    return LostWire.model_construct(**lost.to_wire())


def lost_from_wire(wire: LostWire, loser: Literal["current", "incoming"] = "incoming") -> Lost:
    """The shared ``Lost`` for a loss a push answer reported.

    Args:
        wire: one entry of ``MutationResult.lost``.
        loser: which side of the receiver's merge held the losing value; for a push
            answer that is the pushed value, ``incoming``.
    """
    return Lost(
        field=wire.field,
        losing_value=wire.losing_value,
        losing_hlc=wire.losing_hlc,
        winning_value=wire.winning_value,
        winning_hlc=wire.winning_hlc,
        winner_device=wire.winner_device,
        loser=loser,
    )
