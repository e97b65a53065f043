"""Everything the sync engine's core can ask for: the closed set of its outputs.

The core never does I/O; it returns these frozen values and the runner carries them
out in order, against the socket, the HTTP client, the timers and the cache. Three
cache writes are answered with the cache's outcome, new counts included, once every
action of the same batch has been carried out: ``ApplyChanges`` with
``ChangesApplied``, ``RecordPushResults`` with ``PushRecorded``, ``FinishEpochReset``
with ``EpochResetFinished``. The core waits for the last two before it pushes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from desktop.sync.events import Timer
from desktop.sync.status import StatusSnapshot
from protocol.messages import Change, DirectoryResponse, MutationResult

__all__ = [
    "Action",
    "ApplyChanges",
    "CloseSocket",
    "EmitStatus",
    "FetchDirectory",
    "Finish",
    "FinishEpochReset",
    "OpenSocket",
    "Outcome",
    "Pull",
    "PushBatch",
    "RecordPushResults",
    "ResetEpoch",
    "RestampPending",
    "SendStatus",
    "SetClockOffset",
    "StartTimer",
    "StoreDirectory",
]


class Outcome(StrEnum):
    """How a ``Mode.ONCE`` run ended."""

    SYNCED = "synced"
    """Everything pushed (or set aside as rejected) and pulled up to the server's head."""
    UNREACHABLE = "unreachable"
    """The server could not be reached (or answered 5xx); the outbox stays queued."""
    REVOKED = "revoked"
    """The server does not know this device's token (revoked): enrol again."""
    UPDATE_REQUIRED = "update_required"
    """The server needs a newer app."""
    FAILED = "failed"
    """The server refused requests it will keep refusing (see the status's ``last_error``)."""


@dataclass(frozen=True, slots=True)
class OpenSocket:
    """Connect the WebSocket; answer with ``SocketOpened`` or ``SocketClosed``."""


@dataclass(frozen=True, slots=True)
class CloseSocket:
    """Close the WebSocket; no further events come from it."""


@dataclass(frozen=True, slots=True)
class SendStatus:
    """Tell the server where this device is (a ``status`` frame, for monitoring)."""

    cursor: int
    pending: int


@dataclass(frozen=True, slots=True)
class Pull:
    """Fetch the changes after ``since``; answer with ``PullSucceeded`` or ``PullFailed``."""

    since: int


@dataclass(frozen=True, slots=True)
class ApplyChanges:
    """Merge ``changes`` into the cache and move the cursor to ``cursor``, in one transaction.

    ``epoch`` is the server history they belong to; the cache refuses them if its
    cursor belongs to another one.
    """

    changes: tuple[Change, ...]
    cursor: int
    epoch: str | None


@dataclass(frozen=True, slots=True)
class PushBatch:
    """Send the oldest ``limit`` outbox mutations, in order (fewer if over the byte limit).

    Answer with ``PushSucceeded``, ``PushFailed`` or ``OutboxEmpty``.
    """

    limit: int
    behind_answer: bool = False
    """Start after the batch whose answer the ``RecordPushResults`` that follows records:
    the server has that batch, so the next one may go up while the cache records it."""


@dataclass(frozen=True, slots=True)
class RecordPushResults:
    """Apply the answer to the batch just pushed.

    Answered mutations leave the outbox, rejected ones go to ``rejected`` (the queue
    flows on), ``clock_skew`` ones stay queued for ``RestampPending``; the cache's
    clock absorbs ``server_hlc``.
    """

    results: tuple[MutationResult, ...]
    server_hlc: str


@dataclass(frozen=True, slots=True)
class SetClockOffset:
    """Persist the measured server-minus-local clock offset the HLC's wall input uses.

    The cache's clock also absorbs ``server_hlc``, so later local stamps sort after it.
    """

    offset_ms: int
    server_hlc: str
    uncertainty_ms: int = 0
    """How far the true offset may be from ``offset_ms`` (half the best sample's round trip)."""


@dataclass(frozen=True, slots=True)
class RestampPending:
    """After ``clock_skew``: persist the new offset, re-stamp mutations dated in the future."""

    offset_ms: int
    server_hlc: str
    uncertainty_ms: int = 0


@dataclass(frozen=True, slots=True)
class ResetEpoch:
    """The server's history changed (restored backup): adopt ``epoch``, cursor back to 0."""

    epoch: str


@dataclass(frozen=True, slots=True)
class FinishEpochReset:
    """The pull from 0 is done: queue every local write newer than the server's, first."""


@dataclass(frozen=True, slots=True)
class FetchDirectory:
    """Ask for the branch directory (with ``If-None-Match`` when the cache knows its tag); answer
    with ``DirectoryFetched``, ``DirectoryUnchanged`` or ``DirectoryFailed``.

    Nothing waits for it: pushes and pulls go on whatever the answer.
    """


@dataclass(frozen=True, slots=True)
class StoreDirectory:
    """Replace the cache's branch directory with ``directory`` (names, time zones) and its tag."""

    directory: DirectoryResponse
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Fire ``TimerFired(timer)`` after ``delay`` seconds, replacing a pending one."""

    timer: Timer
    delay: float


@dataclass(frozen=True, slots=True)
class EmitStatus:
    """Hand the new status snapshot to whoever shows it."""

    status: StatusSnapshot


@dataclass(frozen=True, slots=True)
class Finish:
    """A ``Mode.ONCE`` run is over."""

    outcome: Outcome


Action = (
    OpenSocket
    | CloseSocket
    | SendStatus
    | Pull
    | ApplyChanges
    | PushBatch
    | RecordPushResults
    | SetClockOffset
    | RestampPending
    | ResetEpoch
    | FinishEpochReset
    | FetchDirectory
    | StoreDirectory
    | StartTimer
    | EmitStatus
    | Finish
)
