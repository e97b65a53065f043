"""The runner's event queue, which hands ``changes`` frames that queued up over as one.

Frames queue up while a cache write runs. Applied together they cost one transaction
instead of one each (``frames.join_changes``), so an engine that falls behind a busy
company catches up instead of falling further behind. Joining stops at the first event
that is not a frame continuing the last one, at ``max_changes``, or when the queue is
empty: nothing is reordered and nothing waits for more to arrive.
"""

from __future__ import annotations

import asyncio

from desktop.sync.events import Event, FrameReceived
from desktop.sync.frames import continues, join_changes
from protocol.messages import ChangesFrame

__all__ = ["Inbox"]


class Inbox:
    """Events (and failures of the runner's tasks) in the order they were put."""

    def __init__(self, max_changes: int) -> None:
        self._queue: asyncio.Queue[Event | Exception] = asyncio.Queue()
        self._held: Event | Exception | None = None
        self._max_changes = max_changes

    def put_nowait(self, item: Event | Exception) -> None:
        self._queue.put_nowait(item)

    async def get(self) -> Event | Exception:
        """The next item; ``changes`` frames already queued right behind it come joined."""
        if self._held is not None:
            item, self._held = self._held, None
        else:
            item = await self._queue.get()
        if not (isinstance(item, FrameReceived) and isinstance(item.frame, ChangesFrame)):
            return item
        frames = [item.frame]
        count = len(item.frame.changes)
        while count < self._max_changes and not self._queue.empty():
            following = self._queue.get_nowait()
            if not (isinstance(following, FrameReceived) and continues(following.frame, frames[-1])):
                self._held = following
                break
            frames.append(following.frame)
            count += len(following.frame.changes)
        return item if len(frames) == 1 else FrameReceived(join_changes(frames))
