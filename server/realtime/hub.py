"""Who gets which frame: this process's socket subscriptions, with no I/O at all.

The listener publishes each ``changes`` frame once; the hub appends the same text to
every subscription's bounded queue and pokes its ``wake`` callback. Publishing never
waits for a socket: a subscription whose queue is full is closed with
``CloseReason.RESYNC`` (its backlog dropped), so one slow reader costs the others
nothing and the server's memory stays bounded.

A socket's sender asks its subscription ``next_action()`` and carries it out: send
this text, wait to be woken, or close for this reason. The asyncio adapter
(``server.api.routes.ws``) owns the sockets, the events and every timeout.
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "WAIT",
    "Action",
    "Close",
    "CloseReason",
    "FanoutStats",
    "Frame",
    "Hub",
    "Send",
    "Subscription",
    "Wait",
]


class CloseReason(StrEnum):
    """Why the server ends a socket."""

    RESYNC = "resync"
    """The socket fell ``queue_frames`` frames behind: it must pull, then reconnect."""
    REVOKED = "revoked"
    """The device's token was revoked."""
    SHUTDOWN = "shutdown"
    """This server process is stopping."""
    REPLACED = "replaced"
    """The device opened a socket over its limit; this was its oldest."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One ``changes`` frame, serialised once for every socket."""

    from_seq: int
    to_seq: int
    text: str
    announced_at: float = 0.0
    """When the commit that made it was announced (monotonic s), to time the fan-out."""


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``frame.text`` on the socket."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do until the ``wake`` callback fires."""


@dataclass(frozen=True, slots=True)
class Close:
    """End the socket for ``reason`` (after a ``resync`` frame when the reason is RESYNC)."""

    reason: CloseReason


Action = Send | Wait | Close
WAIT = Wait()


@dataclass(slots=True)
class FanoutStats:
    """Counters of this process's fan-out, for monitoring."""

    frames_published: int = 0
    resyncs: int = 0
    revoked_closes: int = 0
    status_frames: int = 0
    ignored_client_frames: int = 0
    policy_closes: int = 0
    """Sockets closed 1008 for a frame too large or a device sending too fast."""
    replaced_closes: int = 0
    """Sockets closed because their device opened more than ``sockets_per_device``."""


class Subscription:
    """One socket's place in the stream: a bounded queue of frames still to send.

    ``start`` is the hub's head when the socket subscribed: the ``from`` of the
    first frame it will get, which the ``hello`` frame announces as ``head``.
    """

    __slots__ = ("_limit", "_queue", "_wake", "close_reason", "device_id", "serial", "start")

    def __init__(
        self, device_id: uuid.UUID, start: int, limit: int, wake: Callable[[], None], serial: int = 0
    ) -> None:
        self.device_id = device_id
        self.start = start
        self.serial = serial
        """Order of subscription in its hub: the smallest is the oldest."""
        self.close_reason: CloseReason | None = None
        self._limit = limit
        self._queue: deque[Frame] = deque()
        self._wake = wake

    @property
    def backlog(self) -> int:
        """Frames queued and not yet handed to the sender."""
        return len(self._queue)

    def next_action(self) -> Action:
        """What the sender must do now."""
        if self.close_reason is not None:
            return Close(self.close_reason)
        if self._queue:
            return Send(self._queue.popleft())
        return WAIT

    def _offer(self, frame: Frame) -> bool:
        """Queue ``frame``; False (and nothing queued) when the queue is full."""
        if len(self._queue) >= self._limit:
            return False
        self._queue.append(frame)
        self._wake()
        return True

    def _close(self, reason: CloseReason) -> None:
        """Drop the backlog and tell the sender to close; the first reason sticks."""
        if self.close_reason is None:
            self.close_reason = reason
            self._queue.clear()
            self._wake()


class Hub:
    """Every open socket of this process and the stream position they share.

    Args:
        queue_frames: frames one socket may fall behind before it is resynced.
        head: change number the stream continues from (the newest already sent).
        sockets_per_device: sockets one device may hold here; a newer one closes its
            oldest (None: no limit).
    """

    def __init__(self, queue_frames: int, head: int = 0, sockets_per_device: int | None = None) -> None:
        if queue_frames < 1:
            raise ValueError("queue_frames must be at least 1")
        if sockets_per_device is not None and sockets_per_device < 1:
            raise ValueError("sockets_per_device must be at least 1")
        self.queue_frames = queue_frames
        self.head = head
        self.sockets_per_device = sockets_per_device
        self._serials = itertools.count()
        self.stats = FanoutStats()
        self._subscriptions: set[Subscription] = set()
        self._revoked: set[uuid.UUID] = set()

    def __len__(self) -> int:
        return len(self._subscriptions)

    @property
    def device_ids(self) -> set[uuid.UUID]:
        """Devices holding at least one open socket here."""
        return {sub.device_id for sub in self._subscriptions}

    def subscribe(self, device_id: uuid.UUID, wake: Callable[[], None]) -> Subscription:
        """Add a socket; it gets every frame published from now on.

        A device revoked while it was being authenticated gets a subscription that
        is already closed with ``REVOKED``. A device at its ``sockets_per_device`` has
        its oldest sockets closed with ``REPLACED``: a socket whose peer vanished without
        a close (a PC switched off, a NAT that forgot it) stays open until pings time it
        out, and an engine that reconnects meanwhile must not be refused for it.
        """
        sub = Subscription(device_id, self.head, self.queue_frames, wake, next(self._serials))
        if device_id in self._revoked:
            sub.close_reason = CloseReason.REVOKED
            return sub
        if self.sockets_per_device is not None:
            mine = sorted(
                (s for s in self._subscriptions if s.device_id == device_id), key=lambda s: s.serial
            )
            for oldest in mine[: max(0, len(mine) - self.sockets_per_device + 1)]:
                self._end(oldest, CloseReason.REPLACED)
                self.stats.replaced_closes += 1
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a socket that has ended (idempotent)."""
        self._subscriptions.discard(sub)

    def publish(self, frame: Frame) -> list[Subscription]:
        """Queue ``frame`` for every socket; return those resynced because they were full.

        Raises:
            ValueError: the frame does not continue the stream (``from`` != head):
                a bug in the caller, since sockets rely on frames being contiguous.
        """
        if frame.from_seq != self.head or frame.to_seq <= frame.from_seq:
            raise ValueError(
                f"frame {frame.from_seq}..{frame.to_seq} does not continue the stream at {self.head}"
            )
        self.head = frame.to_seq
        self.stats.frames_published += 1
        overflowed = [sub for sub in self._subscriptions if not sub._offer(frame)]
        for sub in overflowed:
            self._end(sub, CloseReason.RESYNC)
        self.stats.resyncs += len(overflowed)
        return overflowed

    def revoke(self, device_id: uuid.UUID) -> list[Subscription]:
        """Close every socket of a revoked device, and refuse its future ones."""
        self._revoked.add(device_id)
        closing = [sub for sub in self._subscriptions if sub.device_id == device_id]
        for sub in closing:
            self._end(sub, CloseReason.REVOKED)
        self.stats.revoked_closes += len(closing)
        return closing

    def close_all(self) -> None:
        """Close every socket: this process is stopping."""
        for sub in list(self._subscriptions):
            self._end(sub, CloseReason.SHUTDOWN)

    def _end(self, sub: Subscription, reason: CloseReason) -> None:
        self._subscriptions.discard(sub)
        sub._close(reason)
