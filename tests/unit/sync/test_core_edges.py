"""Edges of the sync core the main transcripts do not reach: a socket opening after ``Stop``,
answers that cannot be timed, and a ``--once`` run whose clock the server keeps refusing.

Written as transcripts (``wire.drive``: the exact actions per event, status emissions aside)
so they pin behaviour the same way through a restructuring of the core.
"""

from __future__ import annotations

import pytest

from desktop.sync.actions import (
    CloseSocket,
    FetchDirectory,
    Finish,
    OpenSocket,
    Outcome,
    Pull,
    PushBatch,
    RecordPushResults,
    RestampPending,
    SendStatus,
    SetClockOffset,
)
from desktop.sync.events import (
    LocalChange,
    Mode,
    PullSucceeded,
    PushSucceeded,
    SocketOpened,
    Stop,
    Timing,
)
from tests.unit.sync.wire import (
    OFFSET,
    TIMING,
    Step,
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

EDGES: dict[str, list[Step]] = {
    "a socket that opens after Stop is ignored": [
        (start(), [OpenSocket()]),
        (Stop(), [CloseSocket()]),
        (SocketOpened(hello(head=5), TIMING), []),
    ],
    "once: an answer that cannot be timed is not measured, the next one is": [
        (start(Mode.ONCE, pending=1), [BATCH]),
        (PushSucceeded((result(1),), hlc(), CLOCK_JUMPED), [RecordPushResults((result(1),), hlc())]),
        (LocalChange(counts(0)), [Pull(0)]),
        (PullSucceeded(page([], 0), TIMING), [SetClockOffset(OFFSET, hlc()), Finish(Outcome.SYNCED)]),
    ],
    "once: clock_skew that never ends fails the run, the edit still queued": [
        (start(Mode.ONCE, pending=1), [BATCH]),
        (PushSucceeded(SKEW, hlc(), TIMING), [RecordPushResults(SKEW, hlc()), RestampPending(OFFSET, hlc())]),
        (LocalChange(counts(1)), [BATCH]),
        (PushSucceeded(SKEW, hlc(), TIMING), [RecordPushResults(SKEW, hlc()), RestampPending(OFFSET, hlc())]),
        (LocalChange(counts(1)), [BATCH]),
        (PushSucceeded(SKEW, hlc(), TIMING), [RecordPushResults(SKEW, hlc()), Finish(Outcome.FAILED)]),
        (LocalChange(counts(1)), []),
    ],
    "clock_skew in an answer that cannot be timed stops pushing: a re-stamp needs an offset": [
        (start(pending=1), [OpenSocket()]),
        (
            SocketOpened(hello(), TIMING),
            [SetClockOffset(OFFSET, hlc()), FetchDirectory(), BATCH, SendStatus(0, 1)],
        ),
        (PushSucceeded(SKEW, hlc(), CLOCK_JUMPED), [RecordPushResults(SKEW, hlc()), Pull(0)]),
        (LocalChange(counts(1)), []),
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
