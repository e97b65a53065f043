"""The engine's pump: one asyncio loop that feeds events to the core and carries out its actions.

The runner owns every socket, request, sleep and timer; the core owns every decision.
Events go through one queue (``inbox.Inbox``, which joins ``changes`` frames that
queued up behind a cache write) and are handled one at a time, each action in order, so
the core never sees two things at once. Network work (the socket, a pull, a push, the
branch directory) runs in tasks that post their outcome back to the queue; cache work
runs in a worker thread (``asyncio.to_thread``) so a large page is written while the
next one is already on its way. A task whose socket was closed by ``CloseSocket``
posts nothing more.

The cache is reached only through ``ports.CachePort``. The writes the core asks for
answer with the cache's outcome and new counts, fed back as one event each
(``ChangesApplied``, ``PushRecorded``, ``EpochResetFinished``) once every action of
the batch has been carried out; nothing is counted again after them. The cache's
change watcher (``CachePort.subscribe``, the same one the UI listens to) wakes the
runner when anyone wrote: a save in this process at once, another process's
(``branchsync import`` while the app runs) within its poll interval; the runner then
counts once and tells the core (``LocalChange``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ParamSpec, TypeVar, assert_never

from desktop.cache import Counts as CacheCounts
from desktop.cache import Key, OutboxBatch, StorageError
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
from desktop.sync.bootstrap import bootstrap_from_snapshot
from desktop.sync.core import CoreConfig, Phase, SyncCore
from desktop.sync.errors import RateLimited, Refused, ServerBusy, TransportError
from desktop.sync.events import (
    ChangesApplied,
    Counts,
    DirectoryFailed,
    DirectoryFetched,
    DirectoryUnchanged,
    EpochResetFinished,
    Event,
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
from desktop.sync.http_client import DEFAULT_TIMEOUT, SyncHttpClient
from desktop.sync.inbox import Inbox
from desktop.sync.ports import CachePort
from desktop.sync.status import EngineState, StatusSnapshot
from desktop.sync.ws_client import SocketOptions, SyncSocket
from protocol.hlc import system_wall_ms
from protocol.version import MAX_PULL_LIMIT

__all__ = ["Endpoint", "Runner", "RunnerConfig", "StatusCallback"]

log = logging.getLogger(__name__)

StatusCallback = Callable[[StatusSnapshot], None]
"""Called on the runner's thread with every new status snapshot."""

_P = ParamSpec("_P")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The server this device talks to, and how it proves who it is."""

    server_url: str
    token: str
    ssl_context: ssl.SSLContext | None = None
    """For ``https``/``wss`` (``desktop.config.client_ssl_context``); None: the system's default."""


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    """The runner's tunables (the fault tests shrink the timeouts)."""

    core: CoreConfig = field(default_factory=CoreConfig)
    socket: SocketOptions = field(default_factory=SocketOptions)
    pull_limit: int = MAX_PULL_LIMIT
    """Changes per pull: the most the server gives, since each page costs it a round of work."""
    request_timeout: float = DEFAULT_TIMEOUT
    snapshot: bool = True
    """Fill a new installation from the server's bulk snapshot when it offers one."""

    def __post_init__(self) -> None:
        if not 1 <= self.pull_limit <= MAX_PULL_LIMIT:
            raise ValueError(f"pull_limit must be within 1..{MAX_PULL_LIMIT}")


LAST_STATUS_TIMEOUT_S = 1.0
"""How long closing the socket waits for a ``status`` frame still being sent."""


class _Crashed(Exception):
    """A runner task failed with an exception no adapter expected: a bug, re-raised by ``run``."""


class Runner:
    """Runs one ``SyncCore`` against one cache and one server until stopped (or done, once).

    Args:
        cache: the installation's cache, or anything else with its port (thread-safe: the
            runner calls it from a worker thread).
        endpoint: the server and the device token.
        mode: keep in sync until stopped, or sync once and finish.
        config: tunables.
        on_status: gets every new ``StatusSnapshot`` (on the runner's thread).
        wall_ms: the local wall clock; must be the one ``cache`` stamps with.
        rng: randomness for the backoff jitter.
    """

    def __init__(
        self,
        cache: CachePort,
        endpoint: Endpoint,
        *,
        mode: Mode = Mode.CONTINUOUS,
        config: RunnerConfig | None = None,
        on_status: StatusCallback | None = None,
        wall_ms: Callable[[], int] = system_wall_ms,
        rng: random.Random | None = None,
    ) -> None:
        self._cache = cache
        self._endpoint = endpoint
        self._mode = mode
        self._config = config or RunnerConfig()
        self._on_status = on_status
        self._wall_ms = wall_ms
        self._core = SyncCore(self._config.core, rng)
        self._events = Inbox(max_changes=self._config.pull_limit)
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: dict[Timer, asyncio.TimerHandle] = {}
        self._socket_task: asyncio.Task[None] | None = None
        self._socket: SyncSocket | None = None
        self._status_task: asyncio.Task[None] | None = None
        self._answered: deque[OutboxBatch] = deque()
        """Pushed batches the server answered, oldest first, until their answers are recorded."""
        self._persisted: tuple[bool, datetime | None] | None = None
        self._outcome: Outcome | None = None
        self._done = False
        self._changed = asyncio.Event()
        self._snapshot_tried = not self._config.snapshot
        self.ignored_frames = 0
        """Unknown or invalid frames received (each answered with a pull)."""

    @property
    def status(self) -> StatusSnapshot:
        return self._core.status

    def stop(self) -> None:
        """Ask the runner to close everything and return; call it on the runner's loop."""
        self._events.put_nowait(Stop())

    async def run(self) -> Outcome | None:
        """Sync until stopped (``Mode.CONTINUOUS``: returns None) or done (``Mode.ONCE``).

        Raises:
            StorageError: the cache's disk failed; the status says so before this is raised.
        """
        self._http = SyncHttpClient(
            self._endpoint.server_url,
            self._endpoint.token,
            verify=self._endpoint.ssl_context,
            timeout=self._config.request_timeout,
            wall_ms=self._wall_ms,
        )
        loop = asyncio.get_running_loop()
        unsubscribe = self._cache.subscribe(lambda: _call_soon(loop, self._changed.set))
        try:
            # Subscribed first: a write after this read is reported, none slips between.
            state = await asyncio.to_thread(self._cache.state)
            counts = await asyncio.to_thread(self._cache.counts)
            start = Start(
                self._mode, state.cursor, state.epoch, _counts(counts), state.epoch_reset, state.last_sync
            )
            await self._dispatch(start)
            self._spawn(self._watch(), "watch")
            while not self._done:
                event = await self._events.get()
                if isinstance(event, Exception):  # a task failed: the disk, or a bug
                    raise event
                await self._dispatch(event)
                self._done = self._done or self._core.phase is Phase.IDLE
        except StorageError as exc:
            self._report(replace(self._core.status, state=EngineState.OFFLINE, last_error=str(exc)))
            raise
        finally:
            unsubscribe()
            await self._shutdown()
        return self._outcome

    # ---- events in, actions out ----------------------------------------------------

    async def _dispatch(self, event: Event) -> None:
        """Hand ``event`` to the core, carry out its actions, then feed back the cache's outcomes."""
        outcomes: list[Event] = []
        for action in self._core.handle(event):
            outcome = await self._do(action)
            if outcome is not None:
                outcomes.append(outcome)
        for outcome in outcomes:
            await self._dispatch(outcome)

    async def _do(self, action: Action) -> Event | None:
        """Carry out one action; a cache write the core awaits returns its outcome as an event."""
        match action:
            case OpenSocket():
                self._socket_task = self._spawn(self._socket_session(), "socket")
            case CloseSocket():
                sending = self._status_task
                if sending is not None and not sending.done():
                    # the last status (stopping) goes out before the close, if it can quickly
                    await asyncio.wait((sending,), timeout=LAST_STATUS_TIMEOUT_S)
                task, self._socket_task, self._socket = self._socket_task, None, None
                if task is not None:
                    task.cancel()
            case SendStatus(cursor=cursor, pending=pending):
                if self._socket is not None:
                    self._status_task = self._spawn(self._socket.send_status(cursor, pending), "status")
            case Pull(since=since):
                self._spawn(self._pull(since), "pull")
            case ApplyChanges(changes=changes, cursor=cursor, epoch=epoch):
                applied = await self._cache_call(self._cache.apply_changes, changes, cursor, epoch)
                return ChangesApplied(_counts(applied.counts), applied.changed_rows, applied.conflicts)
            case PushBatch(limit=limit, behind_answer=behind):
                after = self._answered[-1].last_seq if behind else None
                batch = await self._cache_call(self._cache.next_push, limit, after)
                if batch.entries:
                    self._spawn(self._push(batch), "push")
                else:
                    self._events.put_nowait(OutboxEmpty())
            case RecordPushResults(results=results, server_hlc=server_hlc):
                pushed = self._answered.popleft().entries
                recorded = await self._cache_call(self._cache.apply_push_results, pushed, results, server_hlc)
                return PushRecorded(
                    _counts(recorded.counts),
                    recorded.done,
                    recorded.rejected,
                    recorded.conflicts,
                    recorded.clock_skew,
                )
            case SetClockOffset(offset_ms=offset, server_hlc=server_hlc, uncertainty_ms=uncertainty):
                clock = {Key.CLOCK_OFFSET_MS: offset, Key.CLOCK_UNCERTAINTY_MS: uncertainty}
                await self._cache_call(self._cache.set_state, clock)
                await self._cache_call(self._cache.observe_hlc, server_hlc)
            case RestampPending(offset_ms=offset, server_hlc=server_hlc, uncertainty_ms=uncertainty):
                await self._cache_call(self._cache.restamp_pending, offset, server_hlc, uncertainty)
            case ResetEpoch(epoch=epoch):
                log.info("the server's history changed (epoch %s): pulling everything again", epoch)
                await self._cache_call(self._cache.start_epoch_reset, epoch)
            case FinishEpochReset():
                finished = await self._cache_call(self._cache.finish_epoch_reset)
                return EpochResetFinished(_counts(finished.counts), finished.queued)
            case FetchDirectory():
                self._spawn(self._fetch_directory(), "directory")
            case StoreDirectory(directory=directory, etag=etag):
                await self._cache_call(self._cache.replace_directory, directory, etag)
            case StartTimer(timer=timer, delay=delay):
                self._start_timer(timer, delay)
            case EmitStatus(status=status):
                await self._publish(status)
            case Finish(outcome=outcome):
                self._outcome = outcome
                self._done = True
            case _:
                assert_never(action)
        return None

    async def _cache_call(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await asyncio.to_thread(function, *args, **kwargs)

    def _start_timer(self, timer: Timer, delay: float) -> None:
        previous = self._timers.pop(timer, None)
        if previous is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        self._timers[timer] = loop.call_later(delay, self._events.put_nowait, TimerFired(timer))

    async def _publish(self, status: StatusSnapshot) -> None:
        """Persist what ``branchsync status`` shows, then tell whoever listens."""
        online = status.state is not EngineState.OFFLINE
        persisted = (online, status.last_sync)
        if persisted != self._persisted:
            self._persisted = persisted
            values: dict[Key, bool | datetime] = {Key.ONLINE: online}
            if status.last_sync is not None:
                values[Key.LAST_SYNC] = status.last_sync
            await self._cache_call(self._cache.set_state, values)
        self._report(status)

    def _report(self, status: StatusSnapshot) -> None:
        if self._on_status is None:
            return
        try:
            self._on_status(status)
        except Exception:
            log.exception("the status listener failed; the engine goes on")

    # ---- tasks -----------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=f"branchsync-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._reap)
        return task

    def _reap(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        failure = None if task.cancelled() else task.exception()
        if isinstance(failure, StorageError):
            self._events.put_nowait(failure)
        elif failure is not None:
            crash = _Crashed(f"{task.get_name()} failed: {failure!r}")
            crash.__cause__ = failure
            self._events.put_nowait(crash)

    async def _socket_session(self) -> None:
        me = asyncio.current_task()
        try:
            async with SyncSocket.open(
                self._endpoint.server_url,
                self._endpoint.token,
                ssl_context=self._endpoint.ssl_context,
                options=self._config.socket,
                wall_ms=self._wall_ms,
            ) as (socket, hello, timing):
                if me is not self._socket_task:
                    return
                self._socket = socket
                self._events.put_nowait(SocketOpened(hello, timing))
                async for frame in socket.frames():
                    if isinstance(frame, UnknownFrame | InvalidFrame):
                        self.ignored_frames += 1
                        log.info("a frame this version cannot use (%s); pulling instead", frame)
                    if me is not self._socket_task:
                        return
                    self._events.put_nowait(FrameReceived(frame))
        except TransportError as exc:
            if me is self._socket_task:
                log.info("socket closed: %s", exc)
                self._socket = None
                self._events.put_nowait(SocketClosed(exc.failure, str(exc)))

    async def _pull(self, since: int) -> None:
        if since == 0 and not self._snapshot_tried and await self._cache_call(self._cache.snapshot_wanted):
            self._snapshot_tried = True  # once per run: a failed one is not tried again
            timeout = self._config.request_timeout
            pulled = await bootstrap_from_snapshot(
                self._http, self._cache.load_snapshot, self._wall_ms, timeout
            )
            if pulled is not None:
                self._events.put_nowait(pulled)
                return
        try:
            response, timing = await self._http.pull(since, self._config.pull_limit)
        except TransportError as exc:
            self._events.put_nowait(PullFailed(exc.failure, str(exc), _retry_after(exc)))
        else:
            self._events.put_nowait(PullSucceeded(response, timing))

    async def _push(self, batch: OutboxBatch) -> None:
        try:
            response, timing = await self._http.push_encoded(batch.body)
        except TransportError as exc:
            self._events.put_nowait(PushFailed(exc.failure, str(exc), _retry_after(exc)))
        else:
            self._answered.append(batch)  # answers come in push order: one push is in flight at a time
            answered = {str(result.id) for result in response.results}
            complete = all(entry.mutation_id in answered for entry in batch.entries)
            results = tuple(response.results)
            wall = response.server_wall_ms
            self._events.put_nowait(PushSucceeded(results, response.server_hlc, timing, complete, wall))

    async def _fetch_directory(self) -> None:
        try:
            etag = await self._cache_call(self._cache.directory_etag)
            answer = await self._http.directory_if_changed(etag)
        except TransportError as exc:
            if isinstance(exc, Refused) and exc.status == 404:
                log.info("the server has no branch directory (an older version); names stay as they are")
            else:
                log.info("could not fetch the branch directory: %s", exc)
            self._events.put_nowait(DirectoryFailed(exc.failure, str(exc)))
        else:
            if answer.directory is None:
                self._events.put_nowait(DirectoryUnchanged())
            else:
                self._events.put_nowait(DirectoryFetched(answer.directory, answer.etag))

    async def _watch(self) -> None:
        """Count once per change the cache's watcher reports, and tell the core."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            counts = await asyncio.to_thread(self._cache.counts)
            self._events.put_nowait(LocalChange(_counts(counts)))

    async def _shutdown(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._http.aclose()
        try:
            await asyncio.to_thread(self._cache.set_state, {Key.ONLINE: False})
        except StorageError as exc:
            log.info("could not record going offline: %s", exc)


def _counts(counts: CacheCounts) -> Counts:
    return Counts(counts.pending, counts.rejected, counts.conflicts)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], object]) -> None:
    """Run ``callback`` on ``loop`` (from the watcher's thread); nothing when the loop is gone."""
    with contextlib.suppress(RuntimeError):  # the loop closed: the runner is over
        loop.call_soon_threadsafe(callback)


def _retry_after(exc: TransportError) -> float | None:
    return exc.retry_after if isinstance(exc, RateLimited | ServerBusy) else None
