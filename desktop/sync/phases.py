"""The sync engine's connection phases and the one table that moves between them.

Like h11's ``_state.py``: every phase change the core makes is an entry of
``TRANSITIONS``; a signal a phase has no entry for changes nothing (late answers from
an earlier connection are normal, not errors). The core performs entry and exit
actions (open the socket, start the reconnection timer); the table says only where.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["SOCKET_PHASES", "TRANSITIONS", "WORKING_PHASES", "Phase", "Signal"]


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
"""phase -> signal -> next phase. The only place the phase changes."""

SOCKET_PHASES = (Phase.CONNECTING, Phase.CONNECTED)
WORKING_PHASES = (Phase.CONNECTED, Phase.ONCE)
"""Where pulls and pushes may start."""
