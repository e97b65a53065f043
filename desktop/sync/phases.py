"""The sync core's states, and the tables that are the only way to move between them.

Theory of operation
-------------------

Like h11's ``_state.py``, this module holds no I/O and no decisions about *when*:
``SyncCore`` decides which signal an event stands for; the tables here say what each
signal does in each state. A signal a state has no entry for changes nothing: late
answers from an earlier connection, a timer that fires after its reason went away,
are normal, not errors.

The engine's state is four small machines side by side rather than one big one,
because they really are independent: a pull can be on its way while a push waits out
a 429, and an epoch reset can start while a batch is in flight.

* ``Phase``, the **connection**: idle → connecting → connected, → waiting (a
  reconnection timer) on any failure, → halted when only a person can help (revoked
  token, app too old); ``ONCE`` for a ``sync --once`` run that uses HTTP only.
  Pulls and pushes start only in ``WORKING_PHASES``.
* ``PullState``, the **way down**: nothing wanted, a pull wanted, waiting out a 429,
  one on its way (perhaps with another wanted after it, because a frame showed a gap
  while it was out), or one on its way that an epoch reset made meaningless (its
  answer is dropped and a pull from 0 follows).
* ``PushState``, the **way up**: ready (pushes when anything is queued), a batch on
  its way, its answer being recorded by the cache (the counts are not trusted until
  the cache's ``PushRecorded`` brings the new ones), both at once (a full answer left
  more queued: the next batch goes up while the cache records, one push in flight at
  a time so the server still sees the outbox's order), waiting out a 429, or blocked
  until the next connection (the server refuses the batch for good, or keeps refusing
  our clock).
* ``ResetState``, an **epoch reset** (the server was restored from a backup): none,
  pulling from 0 (pushes held, frames not applied, so the push-back of values newer
  than the backup goes first), or re-queueing (the cache is queueing that push-back;
  its ``EpochResetFinished`` brings the new counts).

Entering a connection phase has effects on the others (leaving a working phase drops
the pull that was only wanted; going idle forgets everything outstanding), which the
core applies by firing the matching signals (``PullSignal.LEAVE``, ``STOP``).
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

__all__ = [
    "PULLS_IN_FLIGHT",
    "PULL_TRANSITIONS",
    "PUSHES_IN_FLIGHT",
    "PUSH_BLOCKED",
    "PUSH_RECORDING",
    "PUSH_TRANSITIONS",
    "RESET_TRANSITIONS",
    "SOCKET_PHASES",
    "TRANSITIONS",
    "WORKING_PHASES",
    "Phase",
    "PullSignal",
    "PullState",
    "PushSignal",
    "PushState",
    "ResetSignal",
    "ResetState",
    "Signal",
    "step",
]

_State = TypeVar("_State", bound=Enum)
_Signal = TypeVar("_Signal", bound=Enum)


def step(table: dict[_State, dict[_Signal, _State]], state: _State, signal: _Signal) -> _State:
    """The state ``signal`` moves ``state`` to (``state`` itself when the table has no entry)."""
    return table[state].get(signal, state)


# ---- the connection -----------------------------------------------------------------


class Phase(Enum):
    """The connection phase."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    WAITING = "waiting"
    """Offline, with a reconnection timer running."""
    HALTED = "halted"
    """Offline until someone acts (revoked token, app too old)."""
    ONCE = "once"
    """A ``Mode.ONCE`` run: HTTP only, no socket."""


class Signal(Enum):
    """What moves the connection phase."""

    START = "start"
    START_ONCE = "start_once"
    OPENED = "opened"
    LOST = "lost"
    RESYNC = "resync"
    RETRY = "retry"
    HALT = "halt"
    DONE = "done"
    STOP = "stop"


TRANSITIONS: dict[Phase, dict[Signal, Phase]] = {
    Phase.IDLE: {Signal.START: Phase.CONNECTING, Signal.START_ONCE: Phase.ONCE},
    Phase.CONNECTING: {
        Signal.OPENED: Phase.CONNECTED,
        Signal.LOST: Phase.WAITING,
        Signal.HALT: Phase.HALTED,
        Signal.STOP: Phase.IDLE,
    },
    Phase.CONNECTED: {
        Signal.LOST: Phase.WAITING,
        Signal.RESYNC: Phase.CONNECTING,
        Signal.HALT: Phase.HALTED,
        Signal.STOP: Phase.IDLE,
    },
    Phase.WAITING: {Signal.RETRY: Phase.CONNECTING, Signal.HALT: Phase.HALTED, Signal.STOP: Phase.IDLE},
    Phase.HALTED: {Signal.STOP: Phase.IDLE},
    Phase.ONCE: {Signal.DONE: Phase.IDLE, Signal.STOP: Phase.IDLE},
}
"""phase -> signal -> next phase. The only place the phase changes (entries are not
looked up with ``step``: a signal the phase ignores must not run its entry actions)."""

SOCKET_PHASES = (Phase.CONNECTING, Phase.CONNECTED)
WORKING_PHASES = (Phase.CONNECTED, Phase.ONCE)
"""Where pulls and pushes may start."""


# ---- the way down -------------------------------------------------------------------


class PullState(Enum):
    """Where pulling stands."""

    IDLE = "idle"
    """Nothing wanted: as far as we know, caught up."""
    WANTED = "wanted"
    """A pull should start as soon as the phase and the outbox allow."""
    WAITING = "waiting"
    """A pull is wanted after the server's 429 delay (``Timer.RETRY_PULL``)."""
    IN_FLIGHT = "in_flight"
    """A pull is on its way."""
    IN_FLIGHT_AGAIN = "in_flight_again"
    """A pull is on its way, and another is wanted after it (something newer was heard of)."""
    STALE = "stale"
    """A pull asked before an epoch reset is on its way: its answer means nothing now."""


class PullSignal(Enum):
    """What moves the pull state."""

    WANT = "want"
    """Something says the server has more (hello, a gap in frames, a frame we cannot read)."""
    SEND = "send"
    """The core asked for a page (``Pull``)."""
    LANDED = "landed"
    """A page arrived (before the core reads it)."""
    FAILED = "failed"
    """The pull got no usable answer: want it again."""
    RATE_LIMITED = "rate_limited"
    """The server said 429: wait before asking again."""
    TIMER = "timer"
    """``Timer.RETRY_PULL`` fired."""
    RESET = "reset"
    """An epoch reset began: the cursor went back to 0."""
    LEAVE = "leave"
    """The connection left a working phase: a pull only wanted waits for the next hello."""
    STOP = "stop"
    """The engine went idle: forget everything."""


_PULL_IN_FLIGHT = {
    PullSignal.WANT: PullState.IN_FLIGHT_AGAIN,
    PullSignal.LANDED: PullState.IDLE,
    PullSignal.FAILED: PullState.WANTED,
    PullSignal.RESET: PullState.STALE,
    PullSignal.STOP: PullState.IDLE,
}

PULL_TRANSITIONS: dict[PullState, dict[PullSignal, PullState]] = {
    PullState.IDLE: {
        PullSignal.WANT: PullState.WANTED,
        PullSignal.FAILED: PullState.WANTED,
        PullSignal.RESET: PullState.WANTED,
    },
    PullState.WANTED: {
        PullSignal.SEND: PullState.IN_FLIGHT,
        PullSignal.RATE_LIMITED: PullState.WAITING,
        PullSignal.LEAVE: PullState.IDLE,
        PullSignal.STOP: PullState.IDLE,
    },
    PullState.WAITING: {PullSignal.TIMER: PullState.WANTED, PullSignal.STOP: PullState.IDLE},
    PullState.IN_FLIGHT: _PULL_IN_FLIGHT,
    PullState.IN_FLIGHT_AGAIN: {
        **_PULL_IN_FLIGHT,
        PullSignal.WANT: PullState.IN_FLIGHT_AGAIN,
        PullSignal.LANDED: PullState.WANTED,
        PullSignal.LEAVE: PullState.IN_FLIGHT,
    },
    PullState.STALE: {
        PullSignal.LANDED: PullState.WANTED,
        PullSignal.FAILED: PullState.WANTED,
        PullSignal.STOP: PullState.IDLE,
    },
}
"""pull state -> signal -> next pull state; a missing entry leaves the state as it is."""

PULLS_IN_FLIGHT = (PullState.IN_FLIGHT, PullState.IN_FLIGHT_AGAIN, PullState.STALE)


# ---- the way up ---------------------------------------------------------------------


class PushState(Enum):
    """Where pushing stands."""

    READY = "ready"
    """Nothing on its way: push as soon as anything is queued."""
    IN_FLIGHT = "in_flight"
    """A batch is on its way."""
    RECORDING = "recording"
    """The answer is being recorded by the cache; ``PushRecorded`` brings the new counts."""
    RECORDING_IN_FLIGHT = "recording_in_flight"
    """As ``RECORDING``, and the next batch is already on its way (the server has the one
    being recorded, so order holds): ``PushRecorded`` leaves just that batch in flight."""
    RECORDING_THEN_BLOCKED = "recording_then_blocked"
    """As ``RECORDING``, but the server keeps refusing our clock: blocked once recorded."""
    WAITING = "waiting"
    """The server said 429: push again after ``Timer.RETRY_PUSH``."""
    BLOCKED = "blocked"
    """The server will refuse the same batch again: no pushing until the next connection."""


class PushSignal(Enum):
    """What moves the push state."""

    SEND = "send"
    """The core asked for a batch (``PushBatch``)."""
    ANSWERED = "answered"
    """The server answered the batch; the core asked the cache to record it."""
    GIVE_UP = "give_up"
    """The answer refused our clock once too often."""
    RECORDED = "recorded"
    """The cache recorded the answer (``PushRecorded``)."""
    FAILED = "failed"
    """The batch got no usable answer, or there was nothing to send."""
    RATE_LIMITED = "rate_limited"
    """The server said 429."""
    REFUSED = "refused"
    """The server refused the batch (a 4xx it will repeat)."""
    TIMER = "timer"
    """``Timer.RETRY_PUSH`` fired."""
    OPENED = "opened"
    """A new connection: worth trying what was refused on the last one."""
    STOP = "stop"
    """The engine went idle: forget everything."""


PUSH_TRANSITIONS: dict[PushState, dict[PushSignal, PushState]] = {
    PushState.READY: {
        PushSignal.SEND: PushState.IN_FLIGHT,
        PushSignal.ANSWERED: PushState.RECORDING,
        PushSignal.RATE_LIMITED: PushState.WAITING,
        PushSignal.REFUSED: PushState.BLOCKED,
    },
    PushState.IN_FLIGHT: {
        PushSignal.ANSWERED: PushState.RECORDING,
        PushSignal.FAILED: PushState.READY,
        PushSignal.STOP: PushState.READY,
    },
    PushState.RECORDING: {
        PushSignal.SEND: PushState.RECORDING_IN_FLIGHT,
        PushSignal.GIVE_UP: PushState.RECORDING_THEN_BLOCKED,
        PushSignal.RECORDED: PushState.READY,
        PushSignal.REFUSED: PushState.RECORDING_THEN_BLOCKED,
        PushSignal.STOP: PushState.READY,
    },
    PushState.RECORDING_IN_FLIGHT: {
        PushSignal.RECORDED: PushState.IN_FLIGHT,
        PushSignal.STOP: PushState.READY,
    },
    PushState.RECORDING_THEN_BLOCKED: {
        PushSignal.RECORDED: PushState.BLOCKED,
        PushSignal.OPENED: PushState.RECORDING,
        PushSignal.STOP: PushState.READY,
    },
    PushState.WAITING: {
        PushSignal.ANSWERED: PushState.RECORDING,
        PushSignal.TIMER: PushState.READY,
        PushSignal.REFUSED: PushState.BLOCKED,
        PushSignal.STOP: PushState.READY,
    },
    PushState.BLOCKED: {
        PushSignal.ANSWERED: PushState.RECORDING_THEN_BLOCKED,
        PushSignal.OPENED: PushState.READY,
        PushSignal.STOP: PushState.READY,
    },
}
"""push state -> signal -> next push state; a missing entry leaves the state as it is."""

PUSH_BLOCKED = (PushState.BLOCKED, PushState.RECORDING_THEN_BLOCKED)
PUSH_RECORDING = (PushState.RECORDING, PushState.RECORDING_IN_FLIGHT, PushState.RECORDING_THEN_BLOCKED)
PUSHES_IN_FLIGHT = (PushState.IN_FLIGHT, PushState.RECORDING_IN_FLIGHT)


# ---- an epoch reset -----------------------------------------------------------------


class ResetState(Enum):
    """Where an epoch reset stands."""

    NONE = "none"
    PULLING = "pulling"
    """Pulling everything from 0; pushes held, frames not applied."""
    REQUEUEING = "requeueing"
    """Caught up; the cache queues the push-back (``EpochResetFinished`` brings the counts)."""


class ResetSignal(Enum):
    """What moves the epoch reset."""

    NEW_EPOCH = "new_epoch"
    """The server's history is not the one our cursor belongs to."""
    CAUGHT_UP = "caught_up"
    """The pull from 0 reached the server's head."""
    REQUEUED = "requeued"
    """The cache queued the push-back (``EpochResetFinished``)."""


RESET_TRANSITIONS: dict[ResetState, dict[ResetSignal, ResetState]] = {
    ResetState.NONE: {ResetSignal.NEW_EPOCH: ResetState.PULLING},
    ResetState.PULLING: {ResetSignal.CAUGHT_UP: ResetState.REQUEUEING},
    ResetState.REQUEUEING: {ResetSignal.REQUEUED: ResetState.NONE, ResetSignal.NEW_EPOCH: ResetState.PULLING},
}
"""reset state -> signal -> next reset state; a missing entry leaves the state as it is."""
