"""The runner's inbox: frames that queued up behind a cache write come out as one."""

from __future__ import annotations

import asyncio

from desktop.sync.events import Event, FrameReceived, Stop, Timer, TimerFired
from desktop.sync.inbox import Inbox
from protocol.messages import ChangesFrame
from tests.unit.sync.wire import changes_frame, hello


def _drain(inbox: Inbox, count: int) -> list[object]:
    async def take() -> list[object]:
        return [await inbox.get() for _ in range(count)]

    return asyncio.run(take())


def _span(item: object) -> tuple[int, int]:
    assert isinstance(item, FrameReceived) and isinstance(item.frame, ChangesFrame)
    return item.frame.from_, item.frame.to


def test_queued_frames_that_continue_one_another_come_out_as_one() -> None:
    inbox = Inbox(max_changes=100)
    for first, last in [(0, 2), (2, 3), (3, 7)]:
        inbox.put_nowait(FrameReceived(changes_frame(first, last)))
    (joined,) = _drain(inbox, 1)
    assert _span(joined) == (0, 7)
    assert isinstance(joined, FrameReceived) and isinstance(joined.frame, ChangesFrame)
    assert [change.seq for change in joined.frame.changes] == list(range(1, 8))


def test_joining_stops_at_anything_else_and_keeps_the_order() -> None:
    inbox = Inbox(max_changes=100)
    tick = TimerFired(Timer.STATUS)
    items: list[Event] = [
        FrameReceived(changes_frame(0, 1)),
        FrameReceived(changes_frame(1, 2)),
        tick,  # not a frame: handled in its turn
        FrameReceived(changes_frame(2, 3)),
        FrameReceived(changes_frame(5, 6)),  # a gap: the core pulls for it, so it stays apart
        FrameReceived(hello(head=6)),
        Stop(),
    ]
    for item in items:
        inbox.put_nowait(item)
    out = _drain(inbox, 6)
    assert _span(out[0]) == (0, 2)
    assert out[1] is tick
    assert _span(out[2]) == (2, 3)
    assert _span(out[3]) == (5, 6)
    assert out[4] == items[5]
    assert out[5] == items[6]


def test_a_join_stops_at_the_limit_and_a_lone_frame_is_passed_as_it_is() -> None:
    inbox = Inbox(max_changes=3)
    lone = FrameReceived(changes_frame(0, 2))
    for item in [lone, FrameReceived(changes_frame(2, 4)), FrameReceived(changes_frame(4, 5))]:
        inbox.put_nowait(item)
    first, second = _drain(inbox, 2)
    assert _span(first) == (0, 4)  # 2 + 2 changes reached the limit of 3
    assert _span(second) == (4, 5)
    inbox.put_nowait(lone)
    (again,) = _drain(inbox, 1)
    assert again is lone
