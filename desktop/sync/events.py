"""Everything that can happen to the sync engine: the closed set of inputs of its core.

The runner turns what it sees (a socket opened, an HTTP answer, a timer, a write in
the cache) into one of these frozen values and feeds it to ``SyncCore.handle``. Wire
input that is not a frame this version knows stays an explicit value
(``UnknownFrame``, ``InvalidFrame``) so the core can answer it, never a crash and
never a silent drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum

from protocol.messages import (
    ChangesFrame,
    DirectoryResponse,
    HelloFrame,
    MutationResult,
    PullResponse,
    ResyncFrame,
)

__all__ = [
    "ChangesApplied",
    "Counts",
    "DirectoryFailed",
    "DirectoryFetched",
    "DirectoryUnchanged",
    "EpochResetFinished",
    "Event",
    "Failure",
    "Frame",
    "FrameReceived",
    "InvalidFrame",
    "LocalChange",
    "Mode",
    "OutboxEmpty",
    "PullFailed",
    "PullSucceeded",
    "PushFailed",
    "PushRecorded",
    "PushSucceeded",
    "SocketClosed",
    "SocketOpened",
    "Start",
    "Stop",
    "Timer",
    "TimerFired",
    "Timing",
]


class Mode(Enum):
    """How long the engine runs."""

    CONTINUOUS = "continuous"
    """Keep a socket open and stay in sync until stopped (the app, ``branchsync run``)."""
    ONCE = "once"
    """Push everything, pull until caught up, then finish (``branchsync sync --once``)."""


class Failure(StrEnum):
    """Why a request or the socket did not work, as far as the engine must know.

    The adapters sort transport errors into these once, at the boundary.
    """

    NETWORK = "network"
    """No answer: refused, reset, timed out, socket closed, DNS."""
    RESTARTING = "restarting"
    """The server closed the socket saying it is restarting (close code 1012): it is
    usually back within seconds, so reconnect soon and often for a while."""
    SERVER = "server"
    """The server (or a proxy) answered 5xx: it is there but not well."""
    UNAUTHORIZED = "unauthorized"
    """401: the device token is unknown or revoked; enrol again."""
    UPDATE_REQUIRED = "update_required"
    """426: the server no longer speaks this app's protocol version."""
    RATE_LIMITED = "rate_limited"
    """429: retry after the delay the server gave."""
    OVERLOADED = "overloaded"
    """503 with ``Retry-After``: the server is busy (or its database is restarting); retry
    after the delay it gave, like a 429."""
    REFUSED = "refused"
    """Another 4xx: the server will refuse the same request again."""
    PROTOCOL = "protocol"
    """An answer that breaks the wire contract (the peer misbehaved)."""


class Timer(StrEnum):
    """The engine's named timers; starting one replaces a pending one of the same name."""

    RECONNECT = "reconnect"
    RETRY_PUSH = "retry_push"
    RETRY_PULL = "retry_pull"
    STATUS = "status"
    """The ``status`` frame's coalescing window ran out."""


@dataclass(frozen=True, slots=True)
class Counts:
    """The cache's queue sizes: what the status shows and what decides a push."""

    pending: int = 0
    rejected: int = 0
    conflicts: int = 0


@dataclass(frozen=True, slots=True)
class Timing:
    """Local wall-clock readings (ms) around a request, for the NTP-style clock offset."""

    sent_ms: int
    received_ms: int


@dataclass(frozen=True, slots=True)
class UnknownFrame:
    """A well-formed JSON object whose ``type`` this version does not know."""

    type: str


@dataclass(frozen=True, slots=True)
class InvalidFrame:
    """Text that is not a frame at all (not JSON, wrong shape); ``reason`` says what."""

    reason: str


Frame = HelloFrame | ChangesFrame | ResyncFrame | UnknownFrame | InvalidFrame


@dataclass(frozen=True, slots=True)
class Start:
    """Begin syncing from the state the cache holds."""

    mode: Mode
    cursor: int
    epoch: str | None
    counts: Counts
    epoch_reset: bool = False
    """A pull from 0 after an epoch change was interrupted: finish it first."""
    last_sync: datetime | None = None
    """When this installation last caught up, as the cache kept it (reported until the
    next catch-up, so a start offline does not say "never synced")."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Close everything and go idle (shutdown, or ``sync --once`` out of time)."""


@dataclass(frozen=True, slots=True)
class LocalChange:
    """The cache's watcher saw a change (a save in the UI, another process, or the
    engine's own writes): its counts, read since. Nothing waits for one."""

    counts: Counts


@dataclass(frozen=True, slots=True)
class ChangesApplied:
    """The cache carried out ``ApplyChanges``; ``counts`` are what that transaction left."""

    counts: Counts
    changed_rows: int = 0
    conflicts: int = 0
    """Values of mine newly recorded as lost to a race."""


@dataclass(frozen=True, slots=True)
class PushRecorded:
    """The cache carried out ``RecordPushResults``; ``counts`` are what that transaction left.

    Until it arrives the core pushes nothing more: the counts it holds are older than the answer.
    """

    counts: Counts
    done: int = 0
    rejected: int = 0
    conflicts: int = 0
    clock_skew: int = 0


@dataclass(frozen=True, slots=True)
class EpochResetFinished:
    """The cache carried out ``FinishEpochReset``; ``queued`` push-back mutations, then ``counts``."""

    counts: Counts
    queued: int = 0


@dataclass(frozen=True, slots=True)
class SocketOpened:
    """The socket is up and the server's ``hello`` arrived."""

    hello: HelloFrame
    timing: Timing
    """From the start of the connection attempt to the ``hello``."""


@dataclass(frozen=True, slots=True)
class SocketClosed:
    """The socket failed to open or went down (not after a ``CloseSocket``)."""

    reason: Failure
    detail: str = ""
    """The adapter's one line on what happened (empty: the failure's general words)."""


@dataclass(frozen=True, slots=True)
class FrameReceived:
    """One frame on the open socket, after the ``hello``."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class PushSucceeded:
    """The server answered a ``PushBatch``: one result per mutation sent."""

    results: tuple[MutationResult, ...]
    server_hlc: str
    timing: Timing
    complete: bool = True
    """Every mutation sent has its result (else the rest stay queued, and the next batch
    must start with them rather than after them)."""
    server_wall_ms: int | None = None
    """The server's own clock in the answer (None from older servers)."""


@dataclass(frozen=True, slots=True)
class PushFailed:
    """A ``PushBatch`` got no usable answer; the batch stays queued."""

    failure: Failure
    detail: str = ""
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class OutboxEmpty:
    """A ``PushBatch`` found nothing to send (coalesced or sent by another process)."""


@dataclass(frozen=True, slots=True)
class PullSucceeded:
    """One page of changes after the ``since`` of the last ``Pull``."""

    response: PullResponse
    timing: Timing


@dataclass(frozen=True, slots=True)
class PullFailed:
    """A ``Pull`` got no usable answer."""

    failure: Failure
    detail: str = ""
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class DirectoryFetched:
    """The answer to ``FetchDirectory``: the server's list of branches and devices."""

    directory: DirectoryResponse
    etag: str | None = None
    """The server's ``ETag`` of it (None from a server older than conditional fetches)."""


@dataclass(frozen=True, slots=True)
class DirectoryUnchanged:
    """The answer to ``FetchDirectory``: 304, the stored directory is still the server's."""


@dataclass(frozen=True, slots=True)
class DirectoryFailed:
    """``FetchDirectory`` got no usable answer (an older server answers 404: ``REFUSED``)."""

    failure: Failure
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer started by ``StartTimer`` ran out."""

    timer: Timer


Event = (
    Start
    | Stop
    | LocalChange
    | ChangesApplied
    | PushRecorded
    | EpochResetFinished
    | SocketOpened
    | SocketClosed
    | FrameReceived
    | PushSucceeded
    | PushFailed
    | OutboxEmpty
    | PullSucceeded
    | PullFailed
    | DirectoryFetched
    | DirectoryUnchanged
    | DirectoryFailed
    | TimerFired
)
