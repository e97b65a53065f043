"""The engine's status as one immutable snapshot, the only thing the UI needs to know.

A new snapshot is emitted whenever any field changes; consumers compare or replace,
never mutate, so handing one across threads is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["EngineState", "Halt", "StatusSnapshot"]


class EngineState(StrEnum):
    """What the status bar shows."""

    OFFLINE = "offline"
    """No connection to the server; local work continues and is queued."""
    SYNCING = "syncing"
    """Connected, with changes going up or coming down."""
    ONLINE = "online"
    """Connected and caught up both ways."""


class Halt(StrEnum):
    """Why the engine stopped trying until someone acts."""

    REVOKED = "revoked"
    """The server no longer knows this device's token: enrol again."""
    UPDATE_REQUIRED = "update_required"
    """The server needs a newer version of the app."""


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """Where the engine stands, at one moment."""

    state: EngineState = EngineState.OFFLINE
    pending: int = 0
    """Local changes waiting to reach the server."""
    rejected: int = 0
    """Local changes the server refused, kept for staff to see and fix."""
    conflicts: int = 0
    """Local values that lost to a later edit elsewhere."""
    cursor: int = 0
    """The server change number this device has applied up to."""
    last_sync: datetime | None = None
    """When this device was last caught up with the server (UTC)."""
    lag: int = 0
    """Changes the server is known to have that this device has not applied yet."""
    last_error: str | None = None
    """The latest problem since the last good sync, in words for people."""
    halted: Halt | None = None
    """Set when the engine gave up until someone acts."""
    directory_updates: int = 0
    """How many new branch directories this run stored; when it moves, re-read names and zones."""
