"""The sync engine's decisions, with no I/O: events in, actions out.

``SyncCore.handle(event)`` updates the engine's state and returns the actions the
runner must carry out, in order. Nothing here touches a socket, a clock, a timer or
the cache, so every rule of the sync contract is tested by feeding events and
comparing the actions (see ``tests/unit/sync``).

The state is four small machines, each an enum with its transition table in
``phases`` (read its theory of operation first): the **connection phase**, the
**pull state**, the **push state** and the **epoch reset**. ``handle`` turns an event
into signals for them (``_fire`` for the phase, whose entry actions open the socket
or start the reconnection timer; ``_pull_to``, ``_push_to``, ``_reset_to`` for the
others); then ``_schedule`` reads the states and starts at most one pull and one
push (besides, a push answered in full with more queued sends the next batch at once,
before the cache has recorded the answer: ``PushState.RECORDING_IN_FLIGHT``), sends a
``status`` frame when the position changed (at most one per ``status_interval``:
changes in between wait for ``Timer.STATUS``; the first of a connection and the last
before stopping go at once), and ends a ``Mode.ONCE`` run when nothing is left.
Besides the machines the core keeps facts (where the cursor is, the counts the cache
last reported, which connection a request was made on, how many times in a row the
server refused our clock) and five flags that belong to no machine: the socket is
open, a clock measurement is due, a directory request is out, a ``Mode.ONCE`` run
owes one last pull to see its own pushes, a status window is open.

The cache answers the writes that change what is queued (``RecordPushResults``,
``FinishEpochReset``) with its outcome and new counts as one event
(``PushRecorded``, ``EpochResetFinished``); until then the push state says the
counts are not to be trusted, so nothing more goes up.

Each connection also asks once for the branch directory (names, time zones) on the
side: nothing waits for the answer, and a server too old to have one (404) is simply
left without (the next connection asks again).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import assert_never

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
    RestampPending,
    SendStatus,
    SetClockOffset,
    StartTimer,
    StoreDirectory,
)
from desktop.sync.backoff import BackoffPolicy, after_restart, backoff
from desktop.sync.clock_offset import OffsetEstimate, best_estimate, corrected_offset, estimate
from desktop.sync.errors import EngineMisuse
from desktop.sync.events import (
    ChangesApplied,
    Counts,
    DirectoryFailed,
    DirectoryFetched,
    DirectoryUnchanged,
    EpochResetFinished,
    Event,
    Failure,
    Frame,
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
    Timing,
    UnknownFrame,
)
from desktop.sync.failures import OUTCOME_OF_FAILURE, describe
from desktop.sync.frames import following
from desktop.sync.phases import (
    PULL_TRANSITIONS,
    PULLS_IN_FLIGHT,
    PUSH_BLOCKED,
    PUSH_RECORDING,
    PUSH_TRANSITIONS,
    PUSHES_IN_FLIGHT,
    RESET_TRANSITIONS,
    SOCKET_PHASES,
    TRANSITIONS,
    WORKING_PHASES,
    Phase,
    PullSignal,
    PullState,
    PushSignal,
    PushState,
    ResetSignal,
    ResetState,
    Signal,
    step,
)
from desktop.sync.status import EngineState, Halt, StatusSnapshot
from protocol.errors import ProtocolError
from protocol.messages import ChangesFrame, DirectoryResponse, HelloFrame, ResyncFrame
from protocol.version import MAX_MUTATIONS_PER_PUSH

__all__ = ["CoreConfig", "Phase", "SyncCore"]

_WAITED_OUT = frozenset({Failure.RATE_LIMITED, Failure.OVERLOADED})
"""Failures the server gave a delay for: waited out and retried, even by ``sync --once``."""


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """The engine's tunables."""

    batch_size: int = MAX_MUTATIONS_PER_PUSH
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    max_restamps: int = 3
    """Consecutive pushes answered ``clock_skew`` before pushing stops until the next connection."""
    retry_delay: float = 5.0
    """Seconds to wait after a 429 that came without ``Retry-After`` (a 503 always has one)."""
    held_changes: int = 2_000
    """At most this many changes heard during a pull are kept to apply after it (the rest
    are pulled): a bound on memory, far above what crosses a pull at a busy company's pace."""
    retry_spread: float = 0.5
    """A delay the server gave is waited out stretched by up to this share of itself: a
    fleet told "1 s" together must not come back together."""
    status_interval: float = 5.0
    """At most one ``status`` frame per this many seconds on a connection; changes in
    between are coalesced into the next one. The first frame of a connection and the
    last before stopping go at once. 0 sends one per change (as versions before 11 did)."""

    def __post_init__(self) -> None:
        if self.status_interval < 0:
            raise ValueError("status_interval must not be negative")
        if self.retry_spread < 0:
            raise ValueError("retry_spread must not be negative")
        if not 1 <= self.batch_size <= MAX_MUTATIONS_PER_PUSH:
            raise ValueError(f"batch_size must be within 1..{MAX_MUTATIONS_PER_PUSH}")


class SyncCore:
    """The sans-I/O sync state machine. Not thread-safe: one runner drives it."""

    def __init__(self, config: CoreConfig | None = None, rng: random.Random | None = None) -> None:
        self._config = config or CoreConfig()
        self._rng = rng or random.Random()
        # the four machines (see ``phases``)
        self._phase = Phase.IDLE
        self._pull = PullState.IDLE
        self._push = PushState.READY
        self._reset = ResetState.NONE
        self._mode = Mode.CONTINUOUS
        self._delays: Iterator[float] | None = None
        self._emitted: StatusSnapshot | None = None
        # replicated position and local queue
        self._cursor = 0
        self._epoch: str | None = None
        self._counts = Counts()
        self._known_head = 0
        self._heard_in_pull = 0
        """The newest ``changes`` frame heard while a pull was on its way (0: none)."""
        self._held: list[ChangesFrame] = []
        """The frames heard while a pull was on its way (up to ``CoreConfig.held_changes``): what
        carries on from the page is applied with it, not pulled again."""
        self._held_changes = 0
        self._pull_since = 0
        self._skew_strikes = 0
        self._echo_due = False
        """A ``Mode.ONCE`` run pushed since its last pull: one more pull before it ends."""
        # connection; requests remember the connection they were made on
        self._link = 0
        self._pull_link = self._push_link = 0
        self._socket_open = False
        self._best: OffsetEstimate | None = None
        """The smallest-round-trip clock sample of this connection (NTP's clock filter)."""
        self._offset_in_use: int | None = None
        """The clock offset this core last set (None: none yet, take the first estimate)."""
        self._last_sent: tuple[int, int] | None = None
        self._status_held = False
        """A ``status`` frame went less than ``status_interval`` ago (``Timer.STATUS`` runs)."""
        # branch directory
        self._directory: DirectoryResponse | None = None
        """The directory this core last stored (an unchanged one is not stored again)."""
        self._directory_etag: str | None = None
        self._directory_in_flight = False
        self._directory_updates = 0
        # reporting
        self._last_sync: datetime | None = None
        self._last_error: str | None = None
        self._halted: Halt | None = None
        self._outcome: Outcome | None = None

    # ---- public surface ----------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def pull_state(self) -> PullState:
        return self._pull

    @property
    def push_state(self) -> PushState:
        return self._push

    @property
    def reset_state(self) -> ResetState:
        return self._reset

    @property
    def cursor(self) -> int:
        return self._cursor

    @property
    def status(self) -> StatusSnapshot:
        """The status as of now (also emitted as ``EmitStatus`` whenever it changes)."""
        if self._phase is Phase.CONNECTED:
            state = EngineState.SYNCING if self._busy else EngineState.ONLINE
        elif self._phase is Phase.ONCE:
            state = EngineState.SYNCING
        else:
            state = EngineState.OFFLINE
        return StatusSnapshot(
            state=state,
            pending=self._counts.pending,
            rejected=self._counts.rejected,
            conflicts=self._counts.conflicts,
            cursor=self._cursor,
            last_sync=self._last_sync,
            lag=max(0, self._known_head - self._cursor),
            last_error=self._last_error,
            halted=self._halted,
            directory_updates=self._directory_updates,
        )

    def handle(self, event: Event) -> list[Action]:
        """Take one event; return what to do, in order.

        Raises:
            EngineMisuse: ``Start`` while already started.
        """
        out: list[Action] = []
        match event:
            case Start():
                self._on_start(event, out)
            case Stop():
                self._final_status(out)
                self._fire(Signal.STOP, out)
            case LocalChange(counts=counts) | ChangesApplied(counts=counts):
                self._counts = counts
            case PushRecorded(counts=counts):
                self._counts = counts
                self._push_to(PushSignal.RECORDED)
            case EpochResetFinished(counts=counts):
                self._counts = counts
                self._reset_to(ResetSignal.REQUEUED)
            case SocketOpened():
                self._on_socket_opened(event, out)
            case SocketClosed(reason=reason, detail=detail):
                self._on_socket_closed(reason, detail, out)
            case FrameReceived(frame=frame):
                self._on_frame(frame, out)
            case PushSucceeded():
                self._on_pushed(event, out)
            case PushFailed(failure=failure, detail=detail, retry_after=retry_after):
                self._push_to(PushSignal.FAILED)
                if self._push_link == self._link:  # not a late answer from an earlier connection
                    self._on_failure(failure, detail, out, retry=(Timer.RETRY_PUSH, retry_after))
            case OutboxEmpty():
                self._push_to(PushSignal.FAILED)
                self._counts = Counts(0, self._counts.rejected, self._counts.conflicts)
            case PullSucceeded():
                self._on_pulled(event, out)
            case PullFailed(failure=failure, detail=detail, retry_after=retry_after):
                self._pull_to(PullSignal.FAILED)
                if self._pull_link == self._link:
                    self._on_failure(failure, detail, out, retry=(Timer.RETRY_PULL, retry_after))
            case DirectoryFetched(directory=directory, etag=etag):
                self._directory_in_flight = False
                if directory != self._directory:
                    self._directory_updates += 1
                if (directory, etag) != (self._directory, self._directory_etag):
                    self._directory, self._directory_etag = directory, etag
                    out.append(StoreDirectory(directory, etag))
            case DirectoryUnchanged():
                self._directory_in_flight = False
            case DirectoryFailed():
                # Names are a comfort, not a need: no error shown, no retry before the next connection.
                self._directory_in_flight = False
            case TimerFired(timer=timer):
                self._on_timer(timer, out)
            case _:  # pragma: no cover (the type checker proves it unreachable)
                assert_never(event)
        self._schedule(out)
        status = self.status
        if status != self._emitted:
            self._emitted = status
            out.append(EmitStatus(status))
        return out

    # ---- the machines ------------------------------------------------------------

    def _fire(self, signal: Signal, out: list[Action]) -> bool:
        """Move the phase by ``signal`` if the table allows it; True when it moved."""
        target = TRANSITIONS[self._phase].get(signal)
        if target is None:
            return False
        if self._socket_open and target is not Phase.CONNECTED:
            out.append(CloseSocket())
            self._socket_open = False
        if self._phase in WORKING_PHASES:
            self._pull_to(PullSignal.LEAVE)
        self._phase = target
        match target:
            case Phase.CONNECTING:
                out.append(OpenSocket())
                self._socket_open = True
                self._link += 1
            case Phase.WAITING:
                if self._delays is None:
                    self._delays = backoff(self._config.backoff, self._rng)
                out.append(StartTimer(Timer.RECONNECT, next(self._delays)))
            case Phase.IDLE:
                self._pull_to(PullSignal.STOP)
                self._push_to(PushSignal.STOP)
                self._directory_in_flight = False
            case Phase.CONNECTED | Phase.HALTED | Phase.ONCE:
                pass
            case _:  # pragma: no cover (the type checker proves it unreachable)
                assert_never(target)
        return True

    def _pull_to(self, signal: PullSignal) -> None:
        self._pull = step(PULL_TRANSITIONS, self._pull, signal)

    def _push_to(self, signal: PushSignal) -> None:
        self._push = step(PUSH_TRANSITIONS, self._push, signal)

    def _reset_to(self, signal: ResetSignal) -> None:
        self._reset = step(RESET_TRANSITIONS, self._reset, signal)

    # ---- connection --------------------------------------------------------------

    def _on_start(self, event: Start, out: list[Action]) -> None:
        if self._phase is not Phase.IDLE:
            raise EngineMisuse(f"Start while {self._phase.value}")
        self._mode = event.mode
        self._cursor = event.cursor
        self._epoch = event.epoch
        self._counts = event.counts
        self._push = PushState.READY
        self._reset = ResetState.PULLING if event.epoch_reset else ResetState.NONE
        self._known_head = event.cursor
        self._last_sync = event.last_sync
        self._halted = self._outcome = None
        self._echo_due = False
        self._skew_strikes = 0
        self._delays = None
        if event.mode is Mode.ONCE:
            self._best = None
            self._pull = PullState.WANTED
            self._fire(Signal.START_ONCE, out)
        else:
            self._fire(Signal.START, out)

    def _on_socket_opened(self, event: SocketOpened, out: list[Action]) -> None:
        if not self._fire(Signal.OPENED, out):
            return
        self._push_to(PushSignal.OPENED)
        self._skew_strikes = 0
        self._last_sent = None
        self._status_held = False  # the first status of a connection goes at once
        self._best = None  # a new path: its delays are not the old one's
        self._measure(event.timing, event.hello.server_hlc, event.hello.server_wall_ms, out)
        if not self._directory_in_flight:  # one asked on an earlier connection still answers
            out.append(FetchDirectory())
            self._directory_in_flight = True
        self._on_hello(event.hello, out)

    def _on_socket_closed(self, reason: Failure, detail: str, out: list[Action]) -> None:
        if self._phase not in SOCKET_PHASES:
            return
        self._socket_open = False
        self._on_failure(reason, detail, out, retry=None)

    def _on_failure(
        self, failure: Failure, detail: str, out: list[Action], retry: tuple[Timer, float | None] | None
    ) -> None:
        """React to a request or the socket failing; ``retry`` names the timer for a 429/503."""
        self._last_error = describe(failure, detail)
        if self._mode is Mode.ONCE and self._outcome is None and failure not in _WAITED_OUT:
            self._outcome = OUTCOME_OF_FAILURE[failure]
        match failure:
            case Failure.UNAUTHORIZED | Failure.UPDATE_REQUIRED:
                self._halted = Halt.REVOKED if failure is Failure.UNAUTHORIZED else Halt.UPDATE_REQUIRED
                self._fire(Signal.HALT, out)
            case Failure.RATE_LIMITED | Failure.OVERLOADED if retry is not None:
                timer, delay = retry
                if timer is Timer.RETRY_PUSH:
                    self._push_to(PushSignal.RATE_LIMITED)
                else:
                    self._pull_to(PullSignal.RATE_LIMITED)
                wait = self._config.retry_delay if delay is None else delay
                out.append(StartTimer(timer, wait * (1 + self._config.retry_spread * self._rng.random())))
            case Failure.REFUSED if retry is not None and retry[0] is Timer.RETRY_PUSH:
                # The same batch would be refused again: stop pushing until the next
                # connection rather than hammer; pulling goes on.
                self._push_to(PushSignal.REFUSED)
            case Failure.RESTARTING:
                # Back in seconds: retry often for a while, whatever this outage had waited.
                self._delays = after_restart(self._config.backoff, self._rng)
                self._fire(Signal.LOST, out)
            case _:
                self._fire(Signal.LOST, out)

    def _on_timer(self, timer: Timer, out: list[Action]) -> None:
        match timer:
            case Timer.RECONNECT:
                self._fire(Signal.RETRY, out)
            case Timer.RETRY_PUSH:
                self._push_to(PushSignal.TIMER)
            case Timer.RETRY_PULL:
                self._pull_to(PullSignal.TIMER)
            case Timer.STATUS:
                self._status_held = False  # ``_schedule`` sends what changed meanwhile
            case _:  # pragma: no cover (the type checker proves it unreachable)
                assert_never(timer)

    # ---- pull and frames ---------------------------------------------------------

    def _on_hello(self, hello: HelloFrame, out: list[Action]) -> None:
        self._known_head = max(self._known_head, hello.head)
        if not self._check_epoch(hello.epoch, out):  # a reset arranges its own pull from 0
            self._pull_to(PullSignal.WANT)

    def _on_frame(self, frame: Frame, out: list[Action]) -> None:
        if self._phase is not Phase.CONNECTED:
            return
        match frame:
            case ChangesFrame():
                self._on_changes(frame, out)
            case HelloFrame():
                self._on_hello(frame, out)
            case ResyncFrame():
                self._fire(Signal.RESYNC, out)
            case UnknownFrame() | InvalidFrame():
                self._pull_to(PullSignal.WANT)
            case _:  # pragma: no cover (the type checker proves it unreachable)
                assert_never(frame)

    def _on_changes(self, frame: ChangesFrame, out: list[Action]) -> None:
        """Apply a frame that reaches past our cursor without a gap; otherwise pull, once.

        A frame whose changes we already have (it crossed a pull that brought them) asks
        for nothing, and one that overlaps the cursor is applied from the cursor on: under
        a busy company, pulls and frames cross all the time, and a pull for each of those
        would keep every engine pulling instead of listening.
        """
        self._known_head = max(self._known_head, frame.to)
        if frame.to <= self._cursor:
            return
        if self._pull in PULLS_IN_FLIGHT:
            self._heard_in_pull = max(self._heard_in_pull, frame.to)  # pulled after it lands if not in it
            if self._held_changes + len(frame.changes) <= self._config.held_changes:
                self._held.append(frame)
                self._held_changes += len(frame.changes)
        elif (
            frame.from_ > self._cursor
            or self._pulling
            or self._reset is ResetState.PULLING
            or self._outbox_first
        ):
            self._pull_to(PullSignal.WANT)
        else:
            changes = tuple(change for change in frame.changes if change.seq > self._cursor)
            out.append(ApplyChanges(changes, frame.to, self._epoch))
            self._cursor = frame.to

    def _check_epoch(self, epoch: str, out: list[Action]) -> bool:
        """Start over from 0 when the server's history is not the one our cursor belongs to."""
        if epoch == self._epoch:
            return False
        out.append(ResetEpoch(epoch))
        self._epoch = epoch
        self._cursor = self._known_head = 0
        self._release_held()  # changes of the history we are leaving
        self._reset_to(ResetSignal.NEW_EPOCH)
        self._pull_to(PullSignal.RESET)
        return True

    def _on_pulled(self, event: PullSucceeded, out: list[Action]) -> None:
        if self._pull not in PULLS_IN_FLIGHT:
            return
        stale = self._pull is PullState.STALE  # asked before an epoch reset: its cursor means nothing now
        self._pull_to(PullSignal.LANDED)
        heard, self._heard_in_pull = self._heard_in_pull, 0
        held = self._release_held()
        if stale:
            return
        response = event.response
        if self._check_epoch(response.epoch, out):
            return
        self._measure(event.timing, response.server_hlc, response.server_wall_ms, out)
        if response.has_more and response.cursor <= self._pull_since:
            self._on_failure(Failure.PROTOCOL, "a pull page with more to come did not advance", out, None)
            return
        before = self._cursor
        page_end = self._cursor = max(before, response.cursor)  # never backwards, whatever the server says
        self._known_head = max(self._known_head, self._cursor)
        tail = None
        if not response.has_more and heard > page_end and not self._outbox_first:
            # frames that crossed this pull: what carries on from the page needs no pull
            tail = following(held, page_end)
            self._cursor = page_end if tail is None else tail.to
        if response.has_more or heard > self._cursor:  # more, or a frame newer than this page
            self._pull_to(PullSignal.WANT)
        more = self._pull is PullState.WANTED
        if more:
            self._start_pull(out)  # fetch the next page while the runner applies this one
        if response.changes or page_end != before:
            out.append(ApplyChanges(tuple(response.changes), page_end, self._epoch))
        if tail is not None:
            out.append(ApplyChanges(tuple(tail.changes), tail.to, self._epoch))
        if not more:
            self._caught_up(event.timing, out)

    def _release_held(self) -> list[ChangesFrame]:
        held, self._held, self._held_changes = self._held, [], 0
        return held

    def _caught_up(self, timing: Timing, out: list[Action]) -> None:
        self._last_sync = datetime.fromtimestamp(timing.received_ms / 1000, UTC)
        self._known_head = self._cursor
        self._delays = None  # a good connection: the next outage starts its backoff afresh
        if self._push not in PUSH_BLOCKED:
            self._last_error = None
        if self._reset is ResetState.PULLING:
            self._reset_to(ResetSignal.CAUGHT_UP)
            out.append(FinishEpochReset())

    def _start_pull(self, out: list[Action]) -> None:
        if self._phase in WORKING_PHASES and self._pull is PullState.WANTED and not self._outbox_first:
            out.append(Pull(self._cursor))
            self._echo_due = False  # this pull will see every push answered so far
            self._pull_since = self._cursor
            self._pull_to(PullSignal.SEND)
            self._pull_link = self._link

    # ---- push and clock ----------------------------------------------------------

    def _on_pushed(self, event: PushSucceeded, out: list[Action]) -> None:
        current = self._push is PushState.IN_FLIGHT and self._push_link == self._link
        self._push_to(PushSignal.ANSWERED)
        self._echo_due = self._mode is Mode.ONCE
        skewed = any(result.clock_skewed for result in event.results)
        if current and not skewed and self._more_behind(event):
            # The server has this batch: the next one goes up while the cache records it.
            out.append(PushBatch(self._config.batch_size, behind_answer=True))
            self._push_to(PushSignal.SEND)
        out.append(RecordPushResults(event.results, event.server_hlc))
        if not skewed:
            self._skew_strikes = 0
            self._measure(event.timing, event.server_hlc, event.server_wall_ms, out)
            return
        # Our clock runs ahead of the server's: measure again from this very answer,
        # re-stamp what is queued, and push again (a few times at most).
        self._skew_strikes += 1
        sample = _estimate(event.timing, event.server_hlc, event.server_wall_ms)
        if self._skew_strikes > self._config.max_restamps or sample is None:
            self._push_to(PushSignal.GIVE_UP)
            self._last_error = (
                "the server keeps refusing our clock (clock_skew): check this PC's date and time"
            )
            if self._mode is Mode.ONCE and self._outcome is None:
                self._outcome = Outcome.FAILED
            return
        # the server says the offset in use is wrong: take this answer's estimate whole
        self._best, self._offset_in_use = sample, sample.offset_ms
        out.append(RestampPending(sample.offset_ms, event.server_hlc, sample.uncertainty_ms))

    def _more_behind(self, event: PushSucceeded) -> bool:
        """Whether a batch may follow this answered one before its answer is recorded.

        Only when every mutation sent was answered (none stays queued ahead of the next
        batch), the outbox holds more than this batch (the counts are from the answer
        before, which still included it), and pushing is otherwise allowed now.
        """
        return (
            event.complete
            and self._counts.pending > len(event.results)
            and self._phase in WORKING_PHASES
            and self._reset is ResetState.NONE
            and self._outcome is None
        )

    def _measure(
        self, timing: Timing, server_hlc: str, server_wall_ms: int | None, out: list[Action]
    ) -> None:
        """Feed a timed answer to the clock filter.

        Each sample that becomes the connection's best (its first, or a quicker one) is
        emitted: the offset clamped into its interval, and its uncertainty to store. The
        cache's clock absorbs ``server_hlc`` with it.
        """
        sample = _estimate(timing, server_hlc, server_wall_ms)
        if sample is None:  # it cannot tell: the next answer will
            return
        previous, self._best = self._best, best_estimate(self._best, sample)
        if self._best is previous:  # no quicker than this connection's best
            return
        self._offset_in_use = corrected_offset(self._offset_in_use, self._best)
        out.append(SetClockOffset(self._offset_in_use, server_hlc, self._best.uncertainty_ms))

    # ---- what the states add up to -----------------------------------------------

    @property
    def _counts_known(self) -> bool:
        """The counts are as the cache left them after our last write (no outcome awaited)."""
        return self._push not in PUSH_RECORDING and self._reset is not ResetState.REQUEUEING

    @property
    def _may_push(self) -> bool:
        return self._counts.pending > 0 and self._push is PushState.READY and self._reset is ResetState.NONE

    @property
    def _outbox_first(self) -> bool:
        """Changes from the server wait while the outbox drains: it is the only data that
        exists nowhere else, and applying our own writes' echoes meanwhile would slow it."""
        return self._push in PUSHES_IN_FLIGHT or (
            self._counts.pending > 0
            and self._push not in (*PUSH_BLOCKED, PushState.WAITING)
            and self._reset is not ResetState.PULLING
        )

    @property
    def _pulling(self) -> bool:
        return self._pull is not PullState.IDLE

    @property
    def _busy(self) -> bool:
        return (
            self._pulling
            or self._push in PUSHES_IN_FLIGHT
            or self._reset is ResetState.PULLING
            or (self._counts.pending > 0 and self._push not in PUSH_BLOCKED)
        )

    @property
    def _settled(self) -> bool:
        """Nothing left to do: caught up, and the outbox empty or blocked."""
        return (
            self._pull is PullState.IDLE
            and self._reset is ResetState.NONE
            and (
                self._push is PushState.BLOCKED
                or (self._push is PushState.READY and self._counts.pending == 0)
            )
        )

    def _schedule(self, out: list[Action]) -> None:
        """Start the work the states call for; end a ``Mode.ONCE`` run when nothing is left."""
        if self._phase not in WORKING_PHASES:
            return
        if self._outcome is not None:  # a ONCE run failed: let answers in flight land, then end
            if not (self._pull in PULLS_IN_FLIGHT or self._push in PUSHES_IN_FLIGHT):
                self._finish(self._outcome, out)
            return
        self._start_pull(out)
        if self._may_push:
            out.append(PushBatch(self._config.batch_size))
            self._push_to(PushSignal.SEND)
            self._push_link = self._link
        if self._pull not in PULLS_IN_FLIGHT and not self._status_held:
            self._report_position(out, coalesce=True)
        if self._phase is Phase.ONCE and self._settled:
            if self._echo_due:  # end caught up with what we pushed, too
                self._pull_to(PullSignal.WANT)
                self._start_pull(out)
            else:
                self._finish(Outcome.FAILED if self._push in PUSH_BLOCKED else Outcome.SYNCED, out)

    def _report_position(self, out: list[Action], *, coalesce: bool) -> None:
        """Send a ``status`` frame when the position the server last heard of changed and
        our counts can be trusted; with ``coalesce``, open a window in which later changes
        wait for ``Timer.STATUS`` (monitors need the facts within seconds, not per change,
        and 200 engines answering every change would load the server)."""
        position = (self._cursor, self._counts.pending)
        if self._phase is not Phase.CONNECTED or not self._counts_known or position == self._last_sent:
            return
        out.append(SendStatus(*position))
        self._last_sent = position
        if coalesce and self._config.status_interval > 0:
            out.append(StartTimer(Timer.STATUS, self._config.status_interval))
            self._status_held = True

    def _final_status(self, out: list[Action]) -> None:
        """Stopping: what a coalescing window (or a pull in flight) held back goes now."""
        self._report_position(out, coalesce=False)

    def _finish(self, outcome: Outcome, out: list[Action]) -> None:
        self._fire(Signal.DONE, out)
        out.append(Finish(outcome))


def _estimate(timing: Timing, server_hlc: str, server_wall_ms: int | None) -> OffsetEstimate | None:
    """The clock offset an answer shows, or None when it cannot tell (a clock jump, a bad stamp)."""
    try:
        return estimate(timing.sent_ms, timing.received_ms, server_hlc, server_wall_ms)
    except (ProtocolError, ValueError):
        return None
