"""The core's sub-machines: their tables, and the states the core walks through them."""

from __future__ import annotations

from enum import Enum

import pytest

from desktop.sync.actions import (
    ApplyChanges,
    EmitStatus,
    FetchDirectory,
    Finish,
    FinishEpochReset,
    OpenSocket,
    Outcome,
    Pull,
    PushBatch,
    RecordPushResults,
    RestampPending,
    SendStatus,
    SetClockOffset,
    StartTimer,
)
from desktop.sync.events import (
    EpochResetFinished,
    Failure,
    FrameReceived,
    InvalidFrame,
    LocalChange,
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
from desktop.sync.phases import (
    PULL_TRANSITIONS,
    PUSH_TRANSITIONS,
    RESET_TRANSITIONS,
    TRANSITIONS,
    Phase,
    PullSignal,
    PullState,
    PushSignal,
    PushState,
    ResetState,
    step,
)
from tests.unit.sync.wire import (
    EPOCH,
    OFFSET,
    TIMING,
    UNCERTAINTY,
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

MEASURED = SetClockOffset(OFFSET, hlc(), UNCERTAINTY)
APPLIED = ApplyChanges((change(1),), 1, EPOCH)

TABLES: list[tuple[str, dict[Enum, dict[Enum, Enum]]]] = [
    ("phase", TRANSITIONS),  # type: ignore[list-item]
    ("pull", PULL_TRANSITIONS),  # type: ignore[list-item]
    ("push", PUSH_TRANSITIONS),  # type: ignore[list-item]
    ("reset", RESET_TRANSITIONS),  # type: ignore[list-item]
]


@pytest.mark.parametrize(("name", "table"), TABLES, ids=[name for name, _ in TABLES])
def test_every_state_has_a_row_and_every_entry_stays_within_the_machine(
    name: str, table: dict[Enum, dict[Enum, Enum]]
) -> None:
    states = type(next(iter(table)))
    assert set(table) == set(states), f"{name}: a state without a row"
    signals = {type(signal) for row in table.values() for signal in row}
    assert len(signals) == 1, f"{name}: one signal type per machine"
    for row in table.values():
        assert all(isinstance(target, states) for target in row.values())


@pytest.mark.parametrize(("name", "table"), TABLES[1:], ids=[name for name, _ in TABLES[1:]])
def test_every_state_can_be_reached_and_left(name: str, table: dict[Enum, dict[Enum, Enum]]) -> None:
    first = next(iter(table))
    reached, frontier = {first}, [first]
    while frontier:
        for target in table[frontier.pop()].values():
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(table), f"{name}: unreachable {set(table) - reached}"
    assert all(any(t is not s for t in row.values()) for s, row in table.items()), f"{name}: a dead end"


def test_a_signal_a_state_has_no_entry_for_changes_nothing() -> None:
    assert step(PULL_TRANSITIONS, PullState.WAITING, PullSignal.WANT) is PullState.WAITING
    assert step(PUSH_TRANSITIONS, PushState.BLOCKED, PushSignal.SEND) is PushState.BLOCKED
    assert step(PUSH_TRANSITIONS, PushState.READY, PushSignal.SEND) is PushState.IN_FLIGHT


def test_a_partly_answered_batch_holds_the_next_one_until_the_cache_has_recorded_it() -> None:
    core = new_core()
    core.handle(start(pending=3))
    core.handle(SocketOpened(hello(), TIMING))
    states = [core.push_state]
    core.handle(PushSucceeded((result(1),), hlc(), TIMING, complete=False))
    states.append(core.push_state)
    assert states == [PushState.IN_FLIGHT, PushState.RECORDING]
    # a write elsewhere meanwhile says nothing about what the answer left queued
    assert PushBatch(500) not in core.handle(LocalChange(counts(3)))
    assert PushBatch(500) in core.handle(PushRecorded(counts(2)))
    assert (core.push_state, core.status.pending) == (PushState.IN_FLIGHT, 2)


def test_a_full_answer_sends_the_next_batch_while_the_cache_records_it() -> None:
    core = new_core()
    core.handle(start(pending=3))
    core.handle(SocketOpened(hello(), TIMING))
    actions = core.handle(PushSucceeded((result(1),), hlc(), TIMING))
    recorded = RecordPushResults((result(1),), hlc())
    assert actions.index(PushBatch(500, behind_answer=True)) < actions.index(recorded)
    assert core.push_state is PushState.RECORDING_IN_FLIGHT
    # the counts are still the answer's before: no status, no third push
    assert not [a for a in core.handle(LocalChange(counts(4))) if isinstance(a, PushBatch | SendStatus)]
    core.handle(PushRecorded(counts(2)))
    assert (core.push_state, core.status.pending) == (PushState.IN_FLIGHT, 2)


def test_stopping_while_an_answer_is_recorded_behind_a_batch_forgets_both() -> None:
    core = new_core()
    core.handle(start(pending=3))
    core.handle(SocketOpened(hello(), TIMING))
    core.handle(PushSucceeded((result(1),), hlc(), TIMING))
    core.handle(Stop())
    assert core.push_state is PushState.READY


def test_no_batch_goes_behind_an_answer_while_an_epoch_reset_pulls() -> None:
    core = new_core()
    core.handle(start(pending=3))
    core.handle(SocketOpened(hello(), TIMING))
    core.handle(FrameReceived(hello(epoch="epoch-2")))  # the server was restored while the push was out
    actions = core.handle(PushSucceeded((result(1),), hlc(), TIMING))
    assert not [a for a in actions if isinstance(a, PushBatch)]
    assert core.push_state is PushState.RECORDING


def test_an_epoch_reset_pulls_then_requeues_then_is_over() -> None:
    core = new_core()
    core.handle(start(cursor=5, pending=1))
    core.handle(SocketOpened(hello(head=1, epoch="epoch-2"), TIMING))
    assert (core.reset_state, core.pull_state, core.push_state) == (
        ResetState.PULLING,
        PullState.IN_FLIGHT,
        PushState.READY,
    )
    assert FinishEpochReset() in core.handle(PullSucceeded(page([1], 1, epoch="epoch-2"), TIMING))
    assert (core.reset_state, core.pull_state) == (ResetState.REQUEUEING, PullState.IDLE)
    assert PushBatch(500) in core.handle(EpochResetFinished(counts(3), queued=2))
    assert core.reset_state is ResetState.NONE


def test_stop_forgets_what_was_outstanding() -> None:
    core = new_core()
    core.handle(start(pending=1))
    core.handle(SocketOpened(hello(), TIMING))
    core.handle(FrameReceived(InvalidFrame("junk")))
    core.handle(Stop())
    assert (core.phase, core.pull_state, core.push_state) == (Phase.IDLE, PullState.IDLE, PushState.READY)


def test_a_socket_that_opens_after_the_engine_gave_it_up_changes_nothing() -> None:
    core = new_core()
    core.handle(start())
    core.handle(SocketClosed(Failure.NETWORK))
    late = [a for a in core.handle(SocketOpened(hello(), TIMING)) if not isinstance(a, EmitStatus)]
    assert late == []
    assert core.phase is Phase.WAITING


def test_a_late_push_failure_from_an_earlier_connection_does_not_take_this_one_down() -> None:
    drive(
        new_core(),
        [
            (start(pending=1), [OpenSocket()]),
            (SocketOpened(hello(), TIMING), [MEASURED, FetchDirectory(), PushBatch(500), SendStatus(0, 1)]),
            (SocketClosed(Failure.NETWORK), [StartTimer(Timer.RECONNECT, 0.0)]),
            (TimerFired(Timer.RECONNECT), [OpenSocket()]),
            # the batch from the first connection is still out: no second one, no pull yet
            (SocketOpened(hello(), TIMING), [MEASURED, SendStatus(0, 1)]),
            (PushFailed(Failure.NETWORK, "connection reset"), [PushBatch(500)]),
        ],
    )


def test_an_answer_that_cannot_be_timed_is_not_measured_the_next_one_is() -> None:
    jumped = Timing(sent_ms=2_000, received_ms=1_000)  # the local clock went back meanwhile
    drive(
        new_core(),
        [
            (start(Mode.ONCE), [Pull(0)]),
            (
                PullSucceeded(page([1], 1, has_more=True), jumped),
                [Pull(1), ApplyChanges((change(1),), 1, EPOCH)],
            ),
            (PullSucceeded(page([], 1), TIMING), [MEASURED, Finish(Outcome.SYNCED)]),
        ],
    )


def test_a_skewed_answer_that_cannot_be_timed_stops_pushing_at_once() -> None:
    core = new_core()
    core.handle(start(pending=1))
    core.handle(SocketOpened(hello(), TIMING))
    skewed = PushSucceeded((result(1, "rejected", "clock_skew"),), hlc(), Timing(2_000, 1_000))
    actions = [a for a in core.handle(skewed) if not isinstance(a, EmitStatus)]
    assert not any(isinstance(a, RestampPending) for a in actions)
    states = [core.push_state]
    core.handle(PushRecorded(counts(1)))
    states.append(core.push_state)
    assert states == [PushState.RECORDING_THEN_BLOCKED, PushState.BLOCKED]
    assert core.status.last_error is not None and "date and time" in core.status.last_error


def test_once_gives_up_on_a_clock_the_server_keeps_refusing() -> None:
    skewed = PushSucceeded((result(1, "rejected", "clock_skew"),), hlc(), TIMING)
    recorded = RecordPushResults(skewed.results, hlc())
    drive(
        new_core(),
        [
            (start(Mode.ONCE, pending=1), [PushBatch(500)]),
            (skewed, [recorded, RestampPending(OFFSET, hlc(), UNCERTAINTY)]),
            (PushRecorded(counts(1)), [PushBatch(500)]),
            (skewed, [recorded, RestampPending(OFFSET, hlc(), UNCERTAINTY)]),
            (PushRecorded(counts(1)), [PushBatch(500)]),
            (skewed, [recorded, Finish(Outcome.FAILED)]),
        ],
    )
