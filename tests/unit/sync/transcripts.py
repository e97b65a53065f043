"""Recorded event -> action transcripts of the sync core, one per rule of the sync contract.

The cache's answer to a write the core asked for comes back as one event with the new
counts (``PushRecorded``, ``EpochResetFinished``); ``LocalChange`` is a write made by
someone else (the UI, another process).

Each transcript starts from a new core (``wire.new_core()``: no jitter, reconnection
delays 0, 1, 2, 4, 4 ...) and lists, per event, exactly the actions the core must
return (status emissions aside; ``test_core`` checks those). Read one as a story:
``>`` is what happened, the list is what the engine did about it.
"""

from __future__ import annotations

from desktop.sync.actions import (
    ApplyChanges,
    CloseSocket,
    FetchDirectory,
    Finish,
    FinishEpochReset,
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
    StoreDirectory,
)
from desktop.sync.events import (
    DirectoryFailed,
    DirectoryFetched,
    DirectoryUnchanged,
    EpochResetFinished,
    Failure,
    FrameReceived,
    InvalidFrame,
    LocalChange,
    Mode,
    OutboxEmpty,
    PullFailed,
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
    UnknownFrame,
)
from protocol.messages import MutationResult, ResyncFrame
from tests.unit.sync.wire import (
    EPOCH,
    OFFSET,
    TIMING,
    UNCERTAINTY,
    Step,
    change,
    changes_frame,
    counts,
    directory,
    hello,
    hlc,
    page,
    result,
    start,
)

__all__ = ["TRANSCRIPTS"]

SKEW = "clock_skew"
BATCH = PushBatch(500)
BEHIND = PushBatch(500, behind_answer=True)
MEASURED = SetClockOffset(OFFSET, hlc(), UNCERTAINTY)
FETCH = FetchDirectory()


def applied(seqs: list[int], cursor: int, epoch: str = EPOCH) -> ApplyChanges:
    return ApplyChanges(tuple(change(s) for s in seqs), cursor, epoch)


def _results(first: int, count: int) -> tuple[MutationResult, ...]:
    return tuple(result(n) for n in range(first, first + count))


def _pushed(first: int, count: int) -> PushSucceeded:
    return PushSucceeded(_results(first, count), hlc(), TIMING)


def _recorded(first: int, count: int) -> RecordPushResults:
    return RecordPushResults(_results(first, count), hlc())


def _connected(cursor: int = 0, pending: int = 0) -> list[Step]:
    """Start and connect. With nothing queued, catch up (nothing new on the server); with
    ``pending`` queued, the outbox goes first: a batch is on its way, the pull waits."""
    if pending:
        return [
            (start(cursor=cursor, pending=pending), [OpenSocket()]),
            (SocketOpened(hello(head=cursor), TIMING), [MEASURED, FETCH, BATCH, SendStatus(cursor, pending)]),
        ]
    return [
        (start(cursor=cursor), [OpenSocket()]),
        (SocketOpened(hello(head=cursor), TIMING), [MEASURED, FETCH, Pull(cursor)]),
        (PullSucceeded(page([], cursor), TIMING), [SendStatus(cursor, 0)]),
    ]


CAUGHT_UP = PullSucceeded(page([], 0), TIMING)


SKEWED = PushSucceeded((result(1, "rejected", SKEW),), hlc(), TIMING)
SKEW_RECORDED = RecordPushResults(SKEWED.results, hlc())

TRANSCRIPTS: dict[str, list[Step]] = {
    # ---- pull ----------------------------------------------------------------------
    "connect, measure the clock, pull every page, report position": [
        (start(), [OpenSocket()]),
        (SocketOpened(hello(head=3), TIMING), [MEASURED, FETCH, Pull(0)]),
        # the next page is asked for before this one is applied, so both overlap
        (
            PullSucceeded(page([1, 2], 2, has_more=True), TIMING),
            [Pull(2), applied([1, 2], 2)],
        ),
        (PullSucceeded(page([3], 3), TIMING), [applied([3], 3), SendStatus(3, 0)]),
    ],
    "a changes frame that continues from the cursor is applied and moves it": [
        *_connected(cursor=3),
        (FrameReceived(changes_frame(3, 5)), [applied([4, 5], 5), SendStatus(5, 0)]),
        (FrameReceived(changes_frame(5, 6)), [applied([6], 6), SendStatus(6, 0)]),
    ],
    "a frame after a gap leads to a pull, not to applying it": [
        *_connected(cursor=3),
        (FrameReceived(changes_frame(4, 6)), [Pull(3)]),
        (
            PullSucceeded(page([4, 5, 6], 6), TIMING),
            [applied([4, 5, 6], 6), SendStatus(6, 0)],
        ),
    ],
    "a frame of changes we already have (it crossed a pull) asks for nothing": [
        *_connected(cursor=3),
        (FrameReceived(changes_frame(1, 2)), []),
        (FrameReceived(changes_frame(2, 3)), []),
    ],
    "a frame that overlaps the cursor is applied from the cursor on": [
        *_connected(cursor=3),
        (FrameReceived(changes_frame(1, 5)), [applied([4, 5], 5), SendStatus(5, 0)]),
    ],
    "a frame heard during a pull that the page already holds needs no second pull": [
        *_connected(cursor=3),
        (FrameReceived(changes_frame(4, 5)), [Pull(3)]),  # a gap
        (FrameReceived(changes_frame(5, 6)), []),  # heard while the pull is on its way
        (PullSucceeded(page([4, 5, 6], 6), TIMING), [applied([4, 5, 6], 6), SendStatus(6, 0)]),
        (FrameReceived(changes_frame(6, 7)), [applied([7], 7), SendStatus(7, 0)]),  # listening again
    ],
    "garbage and unknown frames lead to a pull, never a crash": [
        *_connected(cursor=3),
        (FrameReceived(InvalidFrame("not JSON")), [Pull(3)]),
        (FrameReceived(UnknownFrame("gossip")), []),  # a pull is already on its way: ask again after it
        (PullSucceeded(page([], 3), TIMING), [Pull(3)]),
        (PullSucceeded(page([], 3), TIMING), []),
    ],
    "frames heard during a pull wait for it; what carries on from its page is applied, not pulled": [
        (start(), [OpenSocket()]),
        (SocketOpened(hello(head=2), TIMING), [MEASURED, FETCH, Pull(0)]),
        (FrameReceived(changes_frame(1, 3)), []),  # overlaps the page: only change 3 is new
        (FrameReceived(changes_frame(3, 4)), []),
        (PullSucceeded(page([1, 2], 2), TIMING), [applied([1, 2], 2), applied([3, 4], 4), SendStatus(4, 0)]),
        (FrameReceived(changes_frame(4, 5)), [applied([5], 5), SendStatus(5, 0)]),  # listening again
    ],
    "frames heard during a pull past a gap are pulled": [
        (start(), [OpenSocket()]),
        (SocketOpened(hello(head=2), TIMING), [MEASURED, FETCH, Pull(0)]),
        (FrameReceived(changes_frame(2, 3)), []),
        (FrameReceived(changes_frame(4, 5)), []),  # 3 -> 4 never heard
        (PullSucceeded(page([1, 2], 2), TIMING), [Pull(3), applied([1, 2], 2), applied([3], 3)]),
        (PullSucceeded(page([4, 5], 5), TIMING), [applied([4, 5], 5), SendStatus(5, 0)]),
    ],
    "past the bound, frames heard during a pull are pulled instead of held": [
        (start(), [OpenSocket()]),
        (SocketOpened(hello(head=2), TIMING), [MEASURED, FETCH, Pull(0)]),
        (FrameReceived(changes_frame(2, 4)), []),
        (FrameReceived(changes_frame(4, 6)), []),  # 4 changes held would pass PREDICTABLE's 3
        (PullSucceeded(page([1, 2], 2), TIMING), [Pull(4), applied([1, 2], 2), applied([3, 4], 4)]),
        (PullSucceeded(page([5, 6], 6), TIMING), [applied([5, 6], 6), SendStatus(6, 0)]),
    ],
    "frames held from before a new epoch are dropped with the old history": [
        *_connected(cursor=3),
        (FrameReceived(changes_frame(4, 5)), [Pull(3)]),  # a gap
        (FrameReceived(changes_frame(5, 6)), []),  # held
        (FrameReceived(hello(head=1, epoch="epoch-2")), [ResetEpoch("epoch-2")]),
        (PullSucceeded(page([4, 5], 5), TIMING), [Pull(0)]),  # asked before the reset: stale
        (
            PullSucceeded(page([1], 1, epoch="epoch-2"), TIMING),
            [applied([1], 1, "epoch-2"), FinishEpochReset()],
        ),
    ],
    "a page with more to come is followed by a pull, whatever was heard meanwhile": [
        (start(), [OpenSocket()]),
        (SocketOpened(hello(head=4), TIMING), [MEASURED, FETCH, Pull(0)]),
        (FrameReceived(changes_frame(3, 4)), []),
        (PullSucceeded(page([1], 1, has_more=True), TIMING), [Pull(1), applied([1], 1)]),
        (PullSucceeded(page([2, 3, 4], 4), TIMING), [applied([2, 3, 4], 4), SendStatus(4, 0)]),
    ],
    "resync: close, reconnect and pull": [
        *_connected(cursor=3),
        (FrameReceived(ResyncFrame(type="resync")), [CloseSocket(), OpenSocket()]),
        # the directory asked on the first connection is still on its way: not asked twice
        (SocketOpened(hello(head=9), TIMING), [MEASURED, Pull(3)]),
        (PullSucceeded(page([9], 9), TIMING), [applied([9], 9), SendStatus(9, 0)]),
    ],
    "a page that says there is more but does not advance is a broken server: back off": [
        (start(), [OpenSocket()]),
        (SocketOpened(hello(head=3), TIMING), [MEASURED, FETCH, Pull(0)]),
        (
            PullSucceeded(page([], 0, has_more=True), TIMING),
            [CloseSocket(), StartTimer(Timer.RECONNECT, 0.0)],
        ),
    ],
    # ---- push ----------------------------------------------------------------------
    "the outbox goes up in batches of 500, again while anything is pending": [
        *_connected(pending=1200),
        # a full answer with more queued: the next batch goes up while the cache records this one
        (_pushed(0, 500), [BEHIND, _recorded(0, 500)]),
        (PushRecorded(counts(700)), [SendStatus(0, 700)]),
        (_pushed(500, 500), [BEHIND, _recorded(500, 500)]),
        (PushRecorded(counts(200)), [SendStatus(0, 200)]),
        (_pushed(1000, 200), [_recorded(1000, 200)]),  # the last batch: nothing behind it
        (PushRecorded(counts(0)), [Pull(0)]),  # the outbox is empty: now the server's changes
        (CAUGHT_UP, [SendStatus(0, 0)]),
    ],
    "a rejection in a full answer does not hold back the batch behind it": [
        *_connected(pending=4),
        (
            PushSucceeded((result(1), result(2, "rejected", "invalid_email"), result(3)), hlc(), TIMING),
            [
                BEHIND,
                RecordPushResults((result(1), result(2, "rejected", "invalid_email"), result(3)), hlc()),
            ],
        ),
        (PushRecorded(counts(1, rejected=1)), [SendStatus(0, 1)]),
        (_pushed(4, 1), [_recorded(4, 1)]),
        (PushRecorded(counts(0, rejected=1)), [Pull(0)]),
        (CAUGHT_UP, [SendStatus(0, 0)]),
    ],
    "an answer that left mutations unanswered is recorded before the next batch (they go first)": [
        *_connected(pending=3),
        (
            PushSucceeded((result(1),), hlc(), TIMING, complete=False),
            [RecordPushResults((result(1),), hlc())],
        ),
        (PushRecorded(counts(2)), [BATCH, SendStatus(0, 2)]),
    ],
    "a refused clock is re-stamped before anything more goes up": [
        *_connected(pending=3),
        (SKEWED, [SKEW_RECORDED, RestampPending(OFFSET, hlc(), UNCERTAINTY)]),
        (PushRecorded(counts(3)), [BATCH]),
    ],
    "the batch behind an answer fails: it stays queued and goes first on the next connection": [
        *_connected(pending=1000),
        (_pushed(0, 500), [BEHIND, _recorded(0, 500)]),
        (PushRecorded(counts(500)), [SendStatus(0, 500)]),
        (PushFailed(Failure.NETWORK, "gone"), [CloseSocket(), StartTimer(Timer.RECONNECT, 0.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketOpened(hello(), TIMING), [MEASURED, BATCH, SendStatus(0, 500)]),
    ],
    "a late answer from a lost connection sends nothing behind it": [
        *_connected(pending=1000),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 0.0)]),
        (_pushed(0, 500), [_recorded(0, 500)]),
        (PushRecorded(counts(500)), []),
    ],
    "a local write while online is pushed at once": [
        *_connected(),
        (LocalChange(counts(1)), [BATCH, SendStatus(0, 1)]),
        (LocalChange(counts(2)), [SendStatus(0, 2)]),  # one push at a time
        (_pushed(0, 2), [_recorded(0, 2)]),
        (PushRecorded(counts(0)), [SendStatus(0, 0)]),
    ],
    "a rejected mutation is recorded like any answer and the queue flows on": [
        *_connected(pending=3),
        (
            PushSucceeded(
                (result(1), result(2, "rejected", "invalid_email"), result(3, "duplicate")), hlc(), TIMING
            ),
            [
                RecordPushResults(
                    (result(1), result(2, "rejected", "invalid_email"), result(3, "duplicate")), hlc()
                )
            ],
        ),
        (PushRecorded(counts(0, rejected=1)), [Pull(0)]),
        (CAUGHT_UP, [SendStatus(0, 0)]),
    ],
    "clock_skew: measure again from that answer, re-stamp, push again": [
        *_connected(pending=2),
        (
            PushSucceeded((result(1), result(2, "rejected", SKEW)), hlc(1_050 + 9_000), TIMING),
            [
                RecordPushResults((result(1), result(2, "rejected", SKEW)), hlc(1_050 + 9_000)),
                RestampPending(9_000, hlc(1_050 + 9_000), UNCERTAINTY),
            ],
        ),
        (PushRecorded(counts(1)), [BATCH, SendStatus(0, 1)]),
        (_pushed(2, 1), [_recorded(2, 1)]),
        (PushRecorded(counts(0)), [Pull(0)]),
        (CAUGHT_UP, [SendStatus(0, 0)]),
    ],
    "clock_skew that never ends stops pushing instead of hammering": [
        *_connected(pending=1),
        (SKEWED, [SKEW_RECORDED, RestampPending(OFFSET, hlc(), UNCERTAINTY)]),
        (PushRecorded(counts(1)), [BATCH]),
        (SKEWED, [SKEW_RECORDED, RestampPending(OFFSET, hlc(), UNCERTAINTY)]),
        (PushRecorded(counts(1)), [BATCH]),
        (SKEWED, [SKEW_RECORDED, Pull(0)]),  # no push until the next connection; pulls go on
        (PushRecorded(counts(2)), []),
        (CAUGHT_UP, [SendStatus(0, 2)]),
    ],
    "an outbox emptied behind our back is no push": [
        *_connected(pending=1),
        (OutboxEmpty(), [Pull(0)]),
        (CAUGHT_UP, [SendStatus(0, 0)]),
    ],
    "429: wait as told, then push again": [
        *_connected(pending=1),
        (
            PushFailed(Failure.RATE_LIMITED, "slow down", retry_after=2.0),
            [StartTimer(Timer.RETRY_PUSH, 2.0), Pull(0)],  # while the outbox waits, changes come down
        ),
        (LocalChange(counts(3)), []),
        (TimerFired(Timer.RETRY_PUSH), [BATCH]),
        (CAUGHT_UP, [SendStatus(0, 3)]),
    ],
    "503 overloaded: the socket stays up, the push waits as told, then goes again": [
        *_connected(pending=1),
        (
            PushFailed(Failure.OVERLOADED, "the server answered 503: busy", retry_after=1.0),
            [StartTimer(Timer.RETRY_PUSH, 1.0), Pull(0)],  # the socket stays up; changes still come down
        ),
        (CAUGHT_UP, []),  # caught up, but the outbox still waits for its timer
        (TimerFired(Timer.RETRY_PUSH), [BATCH]),
    ],
    "503 on a pull: wait as told, then pull again": [
        (start(), [OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, FETCH, Pull(0)]),
        (
            PullFailed(Failure.OVERLOADED, retry_after=3.0),
            [StartTimer(Timer.RETRY_PULL, 3.0), SendStatus(0, 0)],
        ),
        (TimerFired(Timer.RETRY_PULL), [Pull(0)]),
        (CAUGHT_UP, []),
    ],
    "a push the server will always refuse stops pushing until the next connection; pulls go on": [
        *_connected(pending=1),
        (PushFailed(Failure.REFUSED, "invalid_body"), [Pull(0)]),
        (CAUGHT_UP, []),
        (FrameReceived(changes_frame(0, 1)), [applied([1], 1), SendStatus(1, 1)]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 0.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketOpened(hello(head=1), TIMING), [MEASURED, BATCH, SendStatus(1, 1)]),
    ],
    # ---- connection ----------------------------------------------------------------
    "reconnect with capped exponential backoff": [
        (start(), [OpenSocket()]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 0.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 1.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketClosed(Failure.SERVER), [StartTimer(Timer.RECONNECT, 2.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 4.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketClosed(Failure.PROTOCOL), [StartTimer(Timer.RECONNECT, 4.0)]),  # capped
    ],
    "a server restarting (close 1012): retried about every second, whatever the backoff had reached": [
        (start(), [OpenSocket()]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 0.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 1.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, FETCH, Pull(0)]),
        (SocketClosed(Failure.RESTARTING), [StartTimer(Timer.RECONNECT, 0.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 1.0)]),  # refused: still starting
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 1.0)]),  # not 2, 4: it is coming back
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (PullFailed(Failure.NETWORK), []),  # the pull of before the restart, answered late
        (SocketOpened(hello(head=0), TIMING), [MEASURED, Pull(0)]),
    ],
    "backoff starts afresh only after a good connection (one that caught up)": [
        (start(), [OpenSocket()]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 0.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, FETCH, Pull(0)]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 1.0)]),  # not caught up yet
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (PullFailed(Failure.NETWORK), []),  # the old pull's answer, late: nothing more to do
        (SocketOpened(hello(head=0), TIMING), [MEASURED, Pull(0)]),
        (PullSucceeded(page([], 0), TIMING), [SendStatus(0, 0)]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 0.0)]),
    ],
    "a failed push means the link is gone: close and back off": [
        *_connected(pending=1),
        (PushFailed(Failure.NETWORK, "connection reset"), [CloseSocket(), StartTimer(Timer.RECONNECT, 0.0)]),
        (LocalChange(counts(2)), []),  # offline: queued, not pushed
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, BATCH, SendStatus(0, 2)]),
    ],
    "a revoked token stops the engine; it does not hammer the server": [
        *_connected(pending=1),
        (PushFailed(Failure.UNAUTHORIZED, "unknown token"), [CloseSocket()]),
        (TimerFired(Timer.RECONNECT), []),
        (LocalChange(counts(2)), []),
        (Stop(), []),
    ],
    "a revoked token at connection time halts as well": [
        (start(), [OpenSocket()]),
        (SocketClosed(Failure.UNAUTHORIZED), []),
        (TimerFired(Timer.RECONNECT), []),
    ],
    "update required: offline, keep working locally": [
        (start(), [OpenSocket()]),
        (SocketClosed(Failure.UPDATE_REQUIRED), []),
        (LocalChange(counts(5)), []),
    ],
    "stop closes the socket and goes idle": [
        *_connected(),
        (Stop(), [CloseSocket()]),
        (FrameReceived(changes_frame(0, 1)), []),
        (start(cursor=0), [OpenSocket()]),
    ],
    # ---- epoch ---------------------------------------------------------------------
    "a new epoch in hello: reset, pull from 0, re-push local writes, then the outbox": [
        (start(cursor=7, pending=3), [OpenSocket()]),
        (
            SocketOpened(hello(head=2, epoch="epoch-2"), TIMING),
            [MEASURED, FETCH, ResetEpoch("epoch-2"), Pull(0)],
        ),
        (
            PullSucceeded(page([1, 2], 2, epoch="epoch-2"), TIMING),
            [applied([1, 2], 2, "epoch-2"), FinishEpochReset()],
        ),
        (EpochResetFinished(counts(5)), [BATCH, SendStatus(2, 5)]),
    ],
    "a new epoch in a pull answer: reset and pull from 0": [
        *_connected(cursor=4),
        (FrameReceived(changes_frame(5, 6)), [Pull(4)]),
        (PullSucceeded(page([1], 1, epoch="epoch-2"), TIMING), [ResetEpoch("epoch-2"), Pull(0)]),
        (
            PullSucceeded(page([1], 1, epoch="epoch-2"), TIMING),
            [applied([1], 1, "epoch-2"), FinishEpochReset()],
        ),
        (EpochResetFinished(counts(0)), [SendStatus(1, 0)]),
    ],
    "an epoch reset cut short finishes after the restart": [
        (start(cursor=4, pending=2, epoch_reset=True), [OpenSocket()]),
        (SocketOpened(hello(head=6), TIMING), [MEASURED, FETCH, Pull(4)]),
        (
            PullSucceeded(page([5, 6], 6), TIMING),
            [applied([5, 6], 6), FinishEpochReset()],
        ),
        (EpochResetFinished(counts(4)), [BATCH, SendStatus(6, 4)]),
    ],
    "a pull asked before an epoch reset is ignored when it lands": [
        *_connected(cursor=4),
        (FrameReceived(InvalidFrame("junk")), [Pull(4)]),
        (FrameReceived(ResyncFrame(type="resync")), [CloseSocket(), OpenSocket()]),
        (SocketOpened(hello(head=1, epoch="epoch-2"), TIMING), [MEASURED, ResetEpoch("epoch-2")]),
        (PullSucceeded(page([5], 5, epoch="epoch-2"), TIMING), [Pull(0)]),
        (
            PullSucceeded(page([1], 1, epoch="epoch-2"), TIMING),
            [applied([1], 1, "epoch-2"), FinishEpochReset()],
        ),
    ],
    # ---- branch directory ----------------------------------------------------------
    "each connection asks for the directory on the side; only a new one is stored": [
        (start(), [OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, FETCH, Pull(0)]),
        (DirectoryFetched(directory("North", "South")), [StoreDirectory(directory("North", "South"))]),
        (CAUGHT_UP, [SendStatus(0, 0)]),
        (FrameReceived(ResyncFrame(type="resync")), [CloseSocket(), OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, FETCH, Pull(0)]),
        (DirectoryFetched(directory("North", "South")), []),  # the same as stored: nothing to do
        (CAUGHT_UP, [SendStatus(0, 0)]),
        (FrameReceived(ResyncFrame(type="resync")), [CloseSocket(), OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, FETCH, Pull(0)]),
        (
            DirectoryFetched(directory("North", "South", zone="Europe/Vienna")),
            [StoreDirectory(directory("North", "South", zone="Europe/Vienna"))],
        ),
    ],
    "the directory's tag is stored with it; a 304 keeps it, a new tag alone is stored": [
        (start(), [OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, FETCH, Pull(0)]),
        (
            DirectoryFetched(directory("North", "South"), '"e.1"'),
            [StoreDirectory(directory("North", "South"), '"e.1"')],
        ),
        (CAUGHT_UP, [SendStatus(0, 0)]),
        (FrameReceived(ResyncFrame(type="resync")), [CloseSocket(), OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, FETCH, Pull(0)]),
        (DirectoryUnchanged(), []),  # 304: the cache keeps its copy and its tag
        (CAUGHT_UP, [SendStatus(0, 0)]),
        (FrameReceived(ResyncFrame(type="resync")), [CloseSocket(), OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, FETCH, Pull(0)]),
        (  # the same list under a new tag (a restored database): the tag is kept for next time
            DirectoryFetched(directory("North", "South"), '"f.1"'),
            [StoreDirectory(directory("North", "South"), '"f.1"')],
        ),
    ],
    "a server without a directory (404): sync goes on, nothing retried on this connection": [
        (start(pending=1), [OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, FETCH, BATCH, SendStatus(0, 1)]),
        (DirectoryFailed(Failure.REFUSED, "Not Found"), []),
        (_pushed(0, 1), [_recorded(0, 1)]),
        (PushRecorded(counts(0)), [Pull(0)]),
        (CAUGHT_UP, [SendStatus(0, 0)]),
        (FrameReceived(changes_frame(0, 1)), [applied([1], 1), SendStatus(1, 0)]),
    ],
    "a directory that could not be fetched is asked for again on the next connection": [
        *_connected(),
        (DirectoryFailed(Failure.NETWORK, "connection reset"), []),  # the socket says more, if anything
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 0.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketOpened(hello(head=0), TIMING), [MEASURED, FETCH, Pull(0)]),
        (DirectoryFetched(directory("North")), [StoreDirectory(directory("North"))]),
    ],
    # ---- sync --once ---------------------------------------------------------------
    "once: push everything, then pull until caught up, finish": [
        (start(Mode.ONCE, pending=2), [BATCH]),
        (_pushed(1, 2), [_recorded(1, 2), MEASURED]),
        (PushRecorded(counts(0)), [Pull(0)]),
        (PullSucceeded(page([1], 1, has_more=True), TIMING), [Pull(1), applied([1], 1)]),
        (PullSucceeded(page([2, 3], 3), TIMING), [applied([2, 3], 3), Finish(Outcome.SYNCED)]),
        (TimerFired(Timer.RECONNECT), []),
    ],
    "once: a write made during the run is pushed, and pulled back before the end": [
        (start(Mode.ONCE), [Pull(0)]),
        (LocalChange(counts(1)), [BATCH]),
        (PullSucceeded(page([1], 1), TIMING), [MEASURED, applied([1], 1)]),
        (_pushed(5, 1), [_recorded(5, 1)]),
        (PushRecorded(counts(0)), [Pull(1)]),  # one more pull, to end caught up with our own write
        (PullSucceeded(page([2], 2), TIMING), [applied([2], 2), Finish(Outcome.SYNCED)]),
    ],
    "once with nothing to do finishes after one pull": [
        (start(Mode.ONCE, cursor=5), [Pull(5)]),
        (
            PullSucceeded(page([], 5), Timing(1_000, 1_000)),
            [SetClockOffset(OFFSET + 50, hlc(), 0), Finish(Outcome.SYNCED)],
        ),
    ],
    "once against an unreachable server: report it": [
        (start(Mode.ONCE, pending=3), [BATCH]),
        (PushFailed(Failure.NETWORK, "connection refused"), [Finish(Outcome.UNREACHABLE)]),
    ],
    "once: a failure lets the other request land, then reports": [
        (start(Mode.ONCE), [Pull(0)]),
        (LocalChange(counts(1)), [BATCH]),
        (PullFailed(Failure.NETWORK, "connection reset"), []),
        (_pushed(1, 1), [_recorded(1, 1), MEASURED, Finish(Outcome.UNREACHABLE)]),
    ],
    "once with a revoked token": [
        (start(Mode.ONCE), [Pull(0)]),
        (PullFailed(Failure.UNAUTHORIZED), [Finish(Outcome.REVOKED)]),
    ],
    "once with a server that needs a newer app": [
        (start(Mode.ONCE), [Pull(0)]),
        (PullFailed(Failure.UPDATE_REQUIRED), [Finish(Outcome.UPDATE_REQUIRED)]),
    ],
    "once whose push is refused for good ends as failed": [
        (start(Mode.ONCE, pending=1), [BATCH]),
        (PushFailed(Failure.REFUSED, "invalid_body"), [Finish(Outcome.FAILED)]),
    ],
    "once waits out a 503 and carries on": [
        (start(Mode.ONCE), [Pull(0)]),
        (PullFailed(Failure.OVERLOADED, retry_after=1.0), [StartTimer(Timer.RETRY_PULL, 1.0)]),
        (TimerFired(Timer.RETRY_PULL), [Pull(0)]),
        (PullSucceeded(page([], 0), TIMING), [MEASURED, Finish(Outcome.SYNCED)]),
    ],
    "once waits out a 429 and carries on": [
        (start(Mode.ONCE), [Pull(0)]),
        (PullFailed(Failure.RATE_LIMITED, retry_after=None), [StartTimer(Timer.RETRY_PULL, 5.0)]),
        (TimerFired(Timer.RETRY_PULL), [Pull(0)]),
        (PullSucceeded(page([], 0), TIMING), [MEASURED, Finish(Outcome.SYNCED)]),
    ],
}

COALESCED = 5.0
"""``status_interval`` of the core ``STATUS_TRANSCRIPTS`` run against."""
HOLD = StartTimer(Timer.STATUS, COALESCED)
WINDOW_OVER = TimerFired(Timer.STATUS)

STATUS_TRANSCRIPTS: dict[str, list[Step]] = {
    "the first status of a connection goes at once and opens a window": [
        (start(cursor=3), [OpenSocket()]),
        (SocketOpened(hello(head=3), TIMING), [MEASURED, FETCH, Pull(3)]),
        (PullSucceeded(page([], 3), TIMING), [SendStatus(3, 0), HOLD]),
    ],
    "changes inside the window are coalesced into one status when it ends": [
        (start(cursor=3), [OpenSocket()]),
        (SocketOpened(hello(head=3), TIMING), [MEASURED, FETCH, Pull(3)]),
        (PullSucceeded(page([], 3), TIMING), [SendStatus(3, 0), HOLD]),
        (FrameReceived(changes_frame(3, 5)), [applied([4, 5], 5)]),
        (FrameReceived(changes_frame(5, 6)), [applied([6], 6)]),
        (LocalChange(counts(1)), [BATCH]),
        (_pushed(7, 1), [_recorded(7, 1)]),
        (PushRecorded(counts(0)), []),
        (WINDOW_OVER, [SendStatus(6, 0), HOLD]),  # the latest position only, and a new window
        (WINDOW_OVER, []),  # nothing changed since: nothing sent, no window
        (FrameReceived(changes_frame(6, 7)), [applied([7], 7), SendStatus(7, 0), HOLD]),
    ],
    "a window that ends on the old position sends nothing": [
        *_connected(cursor=2)[:2],
        (PullSucceeded(page([], 2), TIMING), [SendStatus(2, 0), HOLD]),
        (LocalChange(counts(1)), [BATCH]),
        (_pushed(3, 1), [_recorded(3, 1)]),
        (PushRecorded(counts(0)), []),
        (WINDOW_OVER, []),
    ],
    "a window ending while a pull is out waits for the pull to land": [
        *_connected(cursor=2)[:2],
        (PullSucceeded(page([], 2), TIMING), [SendStatus(2, 0), HOLD]),
        (FrameReceived(changes_frame(4, 5)), [Pull(2)]),  # a gap: pull
        (WINDOW_OVER, []),
        (PullSucceeded(page([3, 4, 5], 5), TIMING), [applied([3, 4, 5], 5), SendStatus(5, 0), HOLD]),
    ],
    "a new connection reports at once, whatever the window of the last one": [
        *_connected(cursor=2)[:2],
        (PullSucceeded(page([], 2), TIMING), [SendStatus(2, 0), HOLD]),
        (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 0.0)]),
        (TimerFired(Timer.RECONNECT), [OpenSocket()]),
        (SocketOpened(hello(head=2), TIMING), [MEASURED, Pull(2)]),
        (PullSucceeded(page([], 2), TIMING), [SendStatus(2, 0), HOLD]),
    ],
    "stopping sends what the window held back, then closes": [
        *_connected(cursor=2)[:2],
        (PullSucceeded(page([], 2), TIMING), [SendStatus(2, 0), HOLD]),
        (FrameReceived(changes_frame(2, 4)), [applied([3, 4], 4)]),
        (Stop(), [SendStatus(4, 0), CloseSocket()]),
    ],
    "stopping mid-pull reports the position reached so far": [
        *_connected(cursor=2)[:2],
        (PullSucceeded(page([3], 3, has_more=True), TIMING), [Pull(3), applied([3], 3)]),
        (Stop(), [SendStatus(3, 0), CloseSocket()]),
    ],
    "stopping with nothing new to tell only closes": [
        *_connected(cursor=2)[:2],
        (PullSucceeded(page([], 2), TIMING), [SendStatus(2, 0), HOLD]),
        (Stop(), [CloseSocket()]),
    ],
    "stopping while offline sends nothing": [
        (start(cursor=2), [OpenSocket()]),
        (Stop(), [CloseSocket()]),
    ],
}
