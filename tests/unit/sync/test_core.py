"""The sync core called directly: its status snapshots, its guards, and invariants under any input."""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.sync import actions as actions_module
from desktop.sync.actions import (
    Action,
    ApplyChanges,
    CloseSocket,
    EmitStatus,
    FetchDirectory,
    Finish,
    FinishEpochReset,
    OpenSocket,
    Outcome,
    Pull,
    PushBatch,
    RecordPushResults,
    ResetEpoch,
    StartTimer,
)
from desktop.sync.core import CoreConfig, Phase, SyncCore
from desktop.sync.errors import EngineMisuse
from desktop.sync.events import (
    DirectoryFailed,
    DirectoryFetched,
    DirectoryUnchanged,
    EpochResetFinished,
    Event,
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
    Start,
    Stop,
    Timer,
    TimerFired,
    UnknownFrame,
)
from desktop.sync.failures import describe
from desktop.sync.status import EngineState, Halt, StatusSnapshot
from protocol.messages import ResyncFrame
from tests.unit.sync.wire import (
    TIMING,
    changes_frame,
    counts,
    directory,
    hello,
    hlc,
    new_core,
    page,
    result,
    start,
)


def feed(core: SyncCore, *events: Event) -> list[Action]:
    out: list[Action] = []
    for event in events:
        out.extend(core.handle(event))
    return out


def emitted(actions: list[Action]) -> list[StatusSnapshot]:
    return [a.status for a in actions if isinstance(a, EmitStatus)]


# ---- status ----------------------------------------------------------------------


def test_status_goes_offline_syncing_online_as_the_engine_connects_and_catches_up() -> None:
    core = new_core()
    assert emitted(core.handle(start(cursor=2, pending=1)))[-1].state is EngineState.OFFLINE
    snapshot = emitted(core.handle(SocketOpened(hello(head=10), TIMING)))[-1]
    assert (snapshot.state, snapshot.lag, snapshot.pending) == (EngineState.SYNCING, 8, 1)
    out = feed(
        core, PushSucceeded((result(1),), hlc(), TIMING), PushRecorded(counts(0, rejected=2, conflicts=3))
    )
    snapshot = emitted(out)[-1]
    assert (snapshot.state, snapshot.cursor, snapshot.lag, snapshot.pending) == (EngineState.SYNCING, 2, 8, 0)
    snapshot = emitted(core.handle(PullSucceeded(page([], 10), TIMING)))[-1]
    assert snapshot == StatusSnapshot(
        state=EngineState.ONLINE,
        pending=0,
        rejected=2,
        conflicts=3,
        cursor=10,
        last_sync=datetime.fromtimestamp(1.1, UTC),
        lag=0,
        last_error=None,
        halted=None,
    )


def test_a_start_offline_reports_the_last_sync_the_cache_kept_until_the_next_one() -> None:
    """The bug: starting offline said "never synced" although a last sync was stored."""
    kept = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    core = new_core()
    snapshot = emitted(core.handle(start(cursor=4, last_sync=kept)))[-1]
    assert (snapshot.state, snapshot.last_sync) == (EngineState.OFFLINE, kept)
    feed(core, SocketOpened(hello(head=4), TIMING))
    snapshot = emitted(core.handle(PullSucceeded(page([], 4), TIMING)))[-1]
    assert snapshot.last_sync == datetime.fromtimestamp(1.1, UTC)  # caught up now


def test_a_snapshot_is_emitted_only_when_something_changed() -> None:
    core = new_core()
    feed(core, start(), SocketOpened(hello(), TIMING), PullSucceeded(page([], 0), TIMING))
    assert emitted(core.handle(LocalChange(counts(0)))) == []
    assert emitted(core.handle(LocalChange(counts(0, conflicts=1))))[-1].conflicts == 1


def test_a_failure_is_reported_in_words_until_the_next_good_sync() -> None:
    core = new_core()
    feed(core, start(), SocketOpened(hello(), TIMING), PullSucceeded(page([], 0), TIMING))
    snapshot = emitted(core.handle(SocketClosed(Failure.NETWORK)))[-1]
    assert snapshot.state is EngineState.OFFLINE
    assert snapshot.last_error == "the server cannot be reached"
    out = feed(
        core, TimerFired(Timer.RECONNECT), SocketOpened(hello(), TIMING), PullSucceeded(page([], 0), TIMING)
    )
    snapshot = emitted(out)[-1]
    assert snapshot.last_error is None
    assert snapshot.state is EngineState.ONLINE


def test_a_socket_lost_mid_session_is_reported_in_the_adapters_words() -> None:
    core = new_core()
    feed(core, start(), SocketOpened(hello(), TIMING), PullSucceeded(page([], 0), TIMING))
    lost = "lost the connection to the server; retrying (no close frame received or sent)"
    snapshot = emitted(core.handle(SocketClosed(Failure.NETWORK, lost)))[-1]
    assert (snapshot.state, snapshot.last_error) == (EngineState.OFFLINE, lost)


@pytest.mark.parametrize(
    ("failure", "halt"),
    [(Failure.UNAUTHORIZED, Halt.REVOKED), (Failure.UPDATE_REQUIRED, Halt.UPDATE_REQUIRED)],
)
def test_a_halt_is_reported_and_local_work_still_counts(failure: Failure, halt: Halt) -> None:
    core = new_core()
    feed(core, start(), SocketClosed(failure))
    assert core.phase is Phase.HALTED
    snapshot = emitted(core.handle(LocalChange(counts(4))))[-1]
    assert (snapshot.state, snapshot.halted, snapshot.pending) == (EngineState.OFFLINE, halt, 4)
    assert snapshot.last_error is not None
    assert ("enrol" if halt is Halt.REVOKED else "update") in snapshot.last_error


def test_never_clock_skew_forever_says_what_to_check() -> None:
    core = new_core()
    feed(core, start(pending=1), SocketOpened(hello(), TIMING), PullSucceeded(page([], 0), TIMING))
    skewed = PushSucceeded((result(1, "rejected", "clock_skew"),), hlc(), TIMING)
    out = feed(core, skewed, skewed, skewed)
    assert "date and time" in str(emitted(out)[-1].last_error)


def test_a_new_directory_moves_the_status_and_a_missing_one_says_nothing() -> None:
    core = new_core()
    feed(core, start(), SocketOpened(hello(), TIMING), PullSucceeded(page([], 0), TIMING))
    assert emitted(core.handle(DirectoryFailed(Failure.REFUSED, "Not Found"))) == []  # an older server
    assert (core.status.state, core.status.last_error, core.status.directory_updates) == (
        EngineState.ONLINE,
        None,
        0,
    )
    feed(core, FrameReceived(ResyncFrame(type="resync")), SocketOpened(hello(), TIMING))
    snapshot = emitted(core.handle(DirectoryFetched(directory("North", "South"))))[-1]
    assert snapshot.directory_updates == 1
    feed(core, FrameReceived(ResyncFrame(type="resync")), SocketOpened(hello(), TIMING))
    assert emitted(core.handle(DirectoryFetched(directory("North", "South")))) == []


# ---- guards ----------------------------------------------------------------------


def test_start_twice_is_a_misuse() -> None:
    core = new_core()
    core.handle(start())
    with pytest.raises(EngineMisuse, match="connecting"):
        core.handle(start())


def test_late_events_after_stop_do_nothing() -> None:
    core = new_core()
    feed(core, start(), SocketOpened(hello(), TIMING), Stop())
    late = feed(
        core,
        PullFailed(Failure.NETWORK),
        SocketClosed(Failure.NETWORK),
        FrameReceived(InvalidFrame("x")),
        TimerFired(Timer.RECONNECT),
    )
    assert [a for a in late if not isinstance(a, EmitStatus)] == []
    assert core.phase is Phase.IDLE


@pytest.mark.parametrize("batch_size", [0, 501])
def test_a_batch_size_outside_the_contract_is_refused(batch_size: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        CoreConfig(batch_size=batch_size)


def test_events_actions_and_status_are_immutable() -> None:
    values: list[object] = [
        start(),
        Stop(),
        LocalChange(counts()),
        OutboxEmpty(),
        Pull(0),
        CloseSocket(),
        StatusSnapshot(),
        UnknownFrame("x"),
    ]
    for value in values:
        some_field = next(iter(dataclasses.fields(value)), None)  # type: ignore[arg-type]
        name = some_field.name if some_field else "anything"
        with pytest.raises((dataclasses.FrozenInstanceError, AttributeError, TypeError)):
            setattr(value, name, None)


def test_every_action_is_in_the_closed_set() -> None:
    declared = set(typing.get_args(Action))
    defined = {
        value
        for value in vars(actions_module).values()
        if dataclasses.is_dataclass(value) and value.__module__ == actions_module.__name__
    }
    assert declared == defined


# ---- invariants under any sequence of events --------------------------------------

EPOCHS = ("epoch-1", "epoch-2")
EPOCH_CHOICE = st.sampled_from(EPOCHS)
FAILURES = st.sampled_from(list(Failure))
PENDING = st.integers(0, 1200)
RETRY_AFTER = st.none() | st.floats(0, 5)
RESULT_CODES = st.sampled_from([None, None, "clock_skew", "invalid_email"])
FRAMES = st.one_of(
    st.builds(lambda first, n: changes_frame(first, first + n), st.integers(0, 20), st.integers(0, 3)),
    st.just(ResyncFrame(type="resync")),
    st.just(InvalidFrame("junk")),
    st.just(UnknownFrame("new")),
    st.builds(hello, st.integers(0, 20), EPOCH_CHOICE),
)


class Harness:
    """Plays the runner: remembers what is outstanding and checks the core's promises."""

    def __init__(self) -> None:
        self.core = new_core()
        self.pull_since: int | None = None
        self.pushing = False
        self.socket = "closed"  # closed | connecting | open
        self.timers: set[Timer] = set()
        self.started = False
        self.mode = Mode.CONTINUOUS
        self.finished = 0
        self.fetching = False
        self.recording = False
        self.requeueing = False

    def handle(self, event: Event) -> None:
        before = self.core.cursor
        actions = self.core.handle(event)
        reset = any(isinstance(a, ResetEpoch) for a in actions)
        if not (reset or isinstance(event, Start)):
            assert self.core.cursor >= before, "the cursor went backwards without an epoch reset"
        for action in actions:
            self.check(action)
        # a pull's page and the frames that crossed it are applied in order, in one event:
        # the applies move forward, and the last ends at the core's cursor
        applied = [action.cursor for action in actions if isinstance(action, ApplyChanges)]
        assert applied == sorted(applied), "changes applied out of order"
        if applied:
            assert applied[-1] == self.core.cursor or self.pull_since is not None

    def check(self, action: Action) -> None:
        match action:
            case Pull():
                assert self.pull_since is None, "two pulls at once"
                assert action.since == self.core.cursor
                assert self.core.phase in (Phase.CONNECTED, Phase.ONCE)
                self.pull_since = action.since
            case PushBatch():
                assert not self.pushing, "two pushes at once"
                assert not (self.recording or self.requeueing), "a push before the cache's counts came back"
                assert self.core.phase in (Phase.CONNECTED, Phase.ONCE)
                assert 1 <= action.limit <= 500
                self.pushing = True
            case OpenSocket():
                assert self.socket == "closed", "a second socket"
                assert self.mode is Mode.CONTINUOUS
                self.socket = "connecting"
            case CloseSocket():
                assert self.socket != "closed"
                self.socket = "closed"
            case FetchDirectory():
                assert not self.fetching, "two directory requests at once"
                assert self.core.phase is Phase.CONNECTED
                self.fetching = True
            case StartTimer():
                self.timers.add(action.timer)
            case Finish():
                assert self.mode is Mode.ONCE
                self.finished += 1
                assert self.finished == 1
                assert self.core.phase is Phase.IDLE
            case ApplyChanges():
                assert action.cursor <= self.core.cursor or self.pull_since is not None
            case RecordPushResults():
                self.recording = True
            case FinishEpochReset():
                self.requeueing = True
            case _:
                pass

    def kinds(self) -> list[str]:
        """The events that could plausibly happen next."""
        if not self.started:
            return ["start"]
        kinds = ["local", "stop"]
        if self.socket == "connecting":
            kinds += ["opened", "closed"]
        if self.socket == "open":
            kinds += ["frame", "closed"]
        if self.pull_since is not None:
            kinds += ["pulled", "pull_failed"]
        if self.pushing:
            kinds += ["pushed", "push_failed", "outbox_empty"]
        if self.timers:
            kinds.append("timer")
        if self.fetching:
            kinds += ["directory", "directory_unchanged", "directory_failed"]
        if self.recording:
            kinds.append("recorded")
        if self.requeueing:
            kinds.append("requeued")
        return kinds

    def next_event(self, data: st.DataObject) -> Event:
        draw = data.draw
        kind = draw(st.sampled_from(self.kinds()))
        small = st.integers(0, 20)
        match kind:
            case "start":
                mode = draw(st.sampled_from(list(Mode)))
                return start(mode, draw(small), draw(EPOCH_CHOICE), draw(PENDING), draw(st.booleans()))
            case "local":
                return LocalChange(counts(draw(PENDING), draw(small), draw(small)))
            case "stop":
                return Stop()
            case "opened":
                return SocketOpened(hello(draw(small), draw(EPOCH_CHOICE)), TIMING)
            case "closed":
                return SocketClosed(draw(FAILURES))
            case "frame":
                return FrameReceived(draw(FRAMES))
            case "pulled":
                since, n = self.pull_since or 0, draw(st.integers(0, 3))
                response = page(
                    range(since + 1, since + n + 1), since + n, draw(st.booleans()), draw(EPOCH_CHOICE)
                )
                return PullSucceeded(response, TIMING)
            case "pull_failed":
                return PullFailed(draw(FAILURES), "", draw(RETRY_AFTER))
            case "pushed":
                codes = draw(st.lists(RESULT_CODES, min_size=1, max_size=4))
                results = tuple(result(i, "rejected" if c else "applied", c) for i, c in enumerate(codes))
                return PushSucceeded(results, hlc(), TIMING)
            case "push_failed":
                return PushFailed(draw(FAILURES), "", draw(RETRY_AFTER))
            case "outbox_empty":
                return OutboxEmpty()
            case "recorded":
                return PushRecorded(counts(draw(PENDING), draw(small), draw(small)))
            case "requeued":
                return EpochResetFinished(counts(draw(PENDING), draw(small), draw(small)))
            case "directory":
                return DirectoryFetched(
                    directory(*draw(st.lists(st.sampled_from(["North", "South"]), max_size=2))),
                    draw(st.sampled_from([None, '"e.1"', '"e.2"'])),
                )
            case "directory_unchanged":
                return DirectoryUnchanged()
            case "directory_failed":
                return DirectoryFailed(draw(FAILURES))
            case _:
                return TimerFired(draw(st.sampled_from(sorted(self.timers, key=str))))

    def answered(self, event: Event) -> None:
        """Book-keep what the event answers, before the core sees it."""
        match event:
            case Start():  # a new run: nothing of an earlier one is awaited
                self.started = True
                self.mode = event.mode
                self.finished = 0
                self.recording = self.requeueing = False
            case Stop():  # the runner cancels whatever is outstanding
                self.started = False
                self.recording = self.requeueing = False
                self.pull_since = None
                self.pushing = False
                self.fetching = False
                self.timers.clear()
            case SocketOpened():
                self.socket = "open"
            case SocketClosed():
                self.socket = "closed"
            case PullSucceeded() | PullFailed():
                self.pull_since = None
            case PushSucceeded() | PushFailed() | OutboxEmpty():
                self.pushing = False
            case DirectoryFetched() | DirectoryUnchanged() | DirectoryFailed():
                self.fetching = False
            case PushRecorded():
                self.recording = False
            case EpochResetFinished():
                self.requeueing = False
            case TimerFired():
                self.timers.discard(event.timer)
            case _:
                pass


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_no_event_sequence_breaks_the_cores_promises(data: st.DataObject) -> None:
    harness = Harness()
    for _ in range(60):
        event = harness.next_event(data)
        if isinstance(event, SocketOpened | SocketClosed) and harness.socket == "closed":
            continue
        harness.answered(event)
        harness.handle(event)
        if harness.mode is Mode.ONCE and harness.finished:
            harness.started = False


@settings(max_examples=100, deadline=None)
@given(pending=st.integers(0, 3000), head=st.integers(0, 12_000), page_size=st.integers(100, 5000))
def test_a_once_run_against_a_willing_server_always_ends_synced(
    pending: int, head: int, page_size: int
) -> None:
    core = new_core()
    queue = list(core.handle(start(Mode.ONCE, pending=pending)))
    outcome: Outcome | None = None
    for _ in range(10_000):
        if not queue:
            break
        action = queue.pop(0)
        match action:
            case Pull(since=since):
                upto = min(head, since + page_size)
                answer = PullSucceeded(page([], upto, has_more=upto < head), TIMING)
                queue += core.handle(answer)
            case PushBatch(limit=limit):
                sent = min(limit, pending)
                pending -= sent
                queue += core.handle(PushSucceeded(tuple(result(i) for i in range(sent)), hlc(), TIMING))
                queue += core.handle(PushRecorded(counts(pending)))
            case Finish(outcome=outcome):
                pass
            case _:
                pass
    assert outcome is Outcome.SYNCED
    assert core.cursor == head
    assert pending == 0


def test_failures_are_told_in_one_line_that_says_what_to_do() -> None:
    unreachable = "cannot reach the server at http://sync.example.com: connection refused"
    assert describe(Failure.NETWORK, unreachable) == unreachable
    assert describe(Failure.UNAUTHORIZED, "unknown or revoked device token") == (
        "this device is no longer enrolled (revoked?): enrol it again (unknown or revoked device token)"
    )
    assert describe(Failure.UPDATE_REQUIRED).endswith("please update")
