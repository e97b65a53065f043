"""Edges of the sync core that the main transcripts do not reach, or that only the property
tests reach by chance: a socket opening after ``Stop``, a late failure from a lost
connection, a hello in the middle of one, answers that cannot be timed, and a ``--once``
run whose clock the server keeps refusing.

Written as transcripts (``wire.drive``: the exact actions per event, status emissions aside)
so they pin behaviour the same way through a restructuring of the core, and so the coverage
gate (scripts/coverage-gate) does not depend on what hypothesis happens to draw.
"""

from __future__ import annotations

import pytest

from desktop.sync.actions import (
    ApplyChanges,
    CloseSocket,
    FetchDirectory,
    Finish,
    OpenSocket,
    Outcome,
    Pull,
    PushBatch,
    RecordPushResults,
    ResetEpoch,
    RestampPending,
    SendStatus,
    SetClockOffset,
    StartTimer,
)
from desktop.sync.events import (
    Failure,
    FrameReceived,
    Mode,
    PullSucceeded,
    PushFailed,
    PushRecorded,
    PushSucceeded,
    SocketClosed,
    SocketOpened,
    Stop,
    Timer,
    TimerFired,
    Timing,
)
from tests.unit.sync.wire import (
    EPOCH,
    OFFSET,
    TIMING,
    UNCERTAINTY,
    Step,
    change,
    counts,
    drive,
    hello,
    hlc,
    new_core,
    page,
    result,
    start,
)

BATCH = PushBatch(500)
CLOCK_JUMPED = Timing(sent_ms=1_100, received_ms=1_000)
"""The local clock went back while the request was out: the answer tells no offset."""
SKEW = (result(1, "rejected", "clock_skew"),)
MEASURED = SetClockOffset(OFFSET, hlc(), UNCERTAINTY)
STALLED = Timing(sent_ms=1_000, received_ms=9_000)
QUICK = Timing(sent_ms=1_000, received_ms=1_020)
RESTAMPED = [RecordPushResults(SKEW, hlc()), RestampPending(OFFSET, hlc(), UNCERTAINTY)]


def applied(seqs: list[int], cursor: int) -> ApplyChanges:
    return ApplyChanges(tuple(change(s) for s in seqs), cursor, EPOCH)


MID_HELLO = "a hello in the middle of a connection: pull up to its head, or start over in a new epoch"

EDGES: dict[str, list[Step]] = {
    "a socket that opens after Stop is ignored": [
        (start(), [OpenSocket()]),
        (Stop(), [CloseSocket()]),
        (SocketOpened(hello(head=5), TIMING), []),
    ],
    "a push that fails late, from a connection already lost, is sent again on the new one": [
        (start(pending=1), [OpenSocket()]),
        (SocketOpened(hello(), TIMING), [MEASURED, FetchDirectory(), BATCH, SendStatus(0, 1)]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 0.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketOpened(hello(), TIMING), [MEASURED, SendStatus(0, 1)]),  # the push is still out
        (PushFailed(Failure.NETWORK, "connection reset"), [BATCH]),  # no reconnect: this link is fine
    ],
    "a stalled hello is measured, then a quicker answer of the same connection corrects it": [
        (start(), [OpenSocket()]),
        # an 8 s stall on the way back: the hello alone says 50 ms, give or take 4 s (the truth is 4000)
        (SocketOpened(hello(), STALLED), [SetClockOffset(50, hlc(), 4_000), FetchDirectory(), Pull(0)]),
        # 100 ms round trip: the offset moves only to the edge of 4000 ± 50
        (
            PullSucceeded(page([], 0), TIMING),
            [SetClockOffset(OFFSET - UNCERTAINTY, hlc(), UNCERTAINTY), SendStatus(0, 0)],
        ),
        (FrameReceived(hello(head=1)), [Pull(0)]),
        (PullSucceeded(page([1], 1), STALLED), [applied([1], 1), SendStatus(1, 0)]),  # worse: kept
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 0.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        # a new connection starts its filter afresh; 3950 already lies in this sample's interval
        (
            SocketOpened(hello(head=1), TIMING),
            [SetClockOffset(OFFSET - UNCERTAINTY, hlc(), UNCERTAINTY), Pull(1)],
        ),
        # quicker still (3960 ± 10): 3950 stays, the smaller uncertainty is stored
        (
            PullSucceeded(page([], 1).model_copy(update={"server_hlc": hlc(1_010 + 3_960)}), QUICK),
            [SetClockOffset(OFFSET - UNCERTAINTY, hlc(1_010 + 3_960), 10), SendStatus(1, 0)],
        ),
    ],
    MID_HELLO: [
        (start(), [OpenSocket()]),
        (SocketOpened(hello(), TIMING), [MEASURED, FetchDirectory(), Pull(0)]),
        (PullSucceeded(page([], 0), TIMING), [SendStatus(0, 0)]),
        (FrameReceived(hello(head=2)), [Pull(0)]),
        (PullSucceeded(page([1, 2], 2), TIMING), [applied([1, 2], 2), SendStatus(2, 0)]),
        (FrameReceived(hello(head=2, epoch="epoch-2")), [ResetEpoch("epoch-2"), Pull(0)]),
    ],
    "once: an answer that cannot be timed is not measured, the next one is": [
        (start(Mode.ONCE, pending=1), [BATCH]),
        (PushSucceeded((result(1),), hlc(), CLOCK_JUMPED), [RecordPushResults((result(1),), hlc())]),
        (PushRecorded(counts(0)), [Pull(0)]),
        (PullSucceeded(page([], 0), TIMING), [MEASURED, Finish(Outcome.SYNCED)]),
    ],
    "once: clock_skew that never ends fails the run, the edit still queued": [
        (start(Mode.ONCE, pending=1), [BATCH]),
        (PushSucceeded(SKEW, hlc(), TIMING), RESTAMPED),
        (PushRecorded(counts(1)), [BATCH]),
        (PushSucceeded(SKEW, hlc(), TIMING), RESTAMPED),
        (PushRecorded(counts(1)), [BATCH]),
        (PushSucceeded(SKEW, hlc(), TIMING), [RecordPushResults(SKEW, hlc()), Finish(Outcome.FAILED)]),
        (PushRecorded(counts(1)), []),
    ],
    "clock_skew in an answer that cannot be timed stops pushing: a re-stamp needs an offset": [
        (start(pending=1), [OpenSocket()]),
        (SocketOpened(hello(), TIMING), [MEASURED, FetchDirectory(), BATCH, SendStatus(0, 1)]),
        (PushSucceeded(SKEW, hlc(), CLOCK_JUMPED), [RecordPushResults(SKEW, hlc()), Pull(0)]),
        (PushRecorded(counts(1)), []),
        (PullSucceeded(page([], 0), TIMING), []),
    ],
}


@pytest.mark.parametrize("steps", EDGES.values(), ids=list(EDGES))
def test_edge(steps: list[Step]) -> None:
    drive(new_core(), steps)


def test_a_refused_clock_is_reported_in_words() -> None:
    core = new_core()
    drive(core, EDGES["once: clock_skew that never ends fails the run, the edit still queued"])
    assert core.status.pending == 1
    assert "date and time" in str(core.status.last_error)


def test_the_cursor_is_where_the_last_applied_change_left_it() -> None:
    core = new_core()
    drive(core, EDGES[MID_HELLO][:-1])
    assert core.cursor == 2
    core.handle(FrameReceived(hello(head=2, epoch="epoch-2")))
    assert core.cursor == 0  # a new epoch: our position in the old history means nothing
