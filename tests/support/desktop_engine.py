"""Desktop installations for sync tests: a data dir, its cache, an enrolment, an engine thread.

Everything is real: the cache is a SQLite file, enrolment goes over HTTP with a code
IT would issue, the engine runs its own loop in its own thread. Waiting is always on
a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from desktop.cache import Cache
from desktop.config.paths import database_path
from desktop.sync.actions import Outcome
from desktop.sync.backoff import BackoffPolicy
from desktop.sync.core import CoreConfig
from desktop.sync.enrollment import endpoint_for, enroll_device
from desktop.sync.events import Mode
from desktop.sync.runner import Runner, RunnerConfig
from desktop.sync.status import EngineState, StatusSnapshot
from desktop.sync.thread import SyncThread
from desktop.sync.ws_client import SocketOptions
from protocol.hlc import system_wall_ms
from tests.support.devices import issue_code

__all__ = ["FAST", "Installation", "enrolled_installation", "wait_until"]

FAST = RunnerConfig(
    core=CoreConfig(backoff=BackoffPolicy(initial_delay=0.05, min_delay=0.05, max_delay=0.3)),
    socket=SocketOptions(open_timeout=5, ping_interval=0.5, ping_timeout=1.0, close_timeout=0.5),
    request_timeout=5,
)
"""Quick to notice a dead link and quick to come back: fault tests stay short."""


def wait_until(condition: Callable[[], bool], timeout: float = 15.0, what: str = "the condition") -> None:
    """Return as soon as ``condition()`` holds; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)  # sleep-ok: polling a condition with a deadline


@dataclass
class Installation:
    """One branch PC: its data dir, its cache and (while started) its engine."""

    data_dir: Path
    cache: Cache
    wall_ms: Callable[[], int] = system_wall_ms
    statuses: list[StatusSnapshot] = field(default_factory=list)
    engine: SyncThread | None = None
    current: Runner | None = None
    """The runner of the engine started last."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def poison_queued_create(self, row_id: str) -> None:
        """Make the queued create of ``row_id`` one the server refuses (an invalid email),
        written behind the cache's back as an older app version or a damaged import could."""
        with sqlite3.connect(database_path(self.data_dir)) as raw:
            changed = raw.execute(
                "UPDATE outbox SET fields = json_set(fields, '$.email', 'not an email') WHERE row_id = ?",
                (row_id,),
            ).rowcount
        assert changed == 1, f"no queued create of {row_id}"

    @property
    def status(self) -> StatusSnapshot | None:
        with self._lock:
            return self.statuses[-1] if self.statuses else None

    def _record(self, status: StatusSnapshot) -> None:
        with self._lock:
            self.statuses.append(status)

    def runner(self, mode: Mode = Mode.CONTINUOUS, config: RunnerConfig = FAST) -> Runner:
        self.current = Runner(
            self.cache,
            endpoint_for(self.cache),
            mode=mode,
            config=config,
            on_status=self._record,
            wall_ms=self.wall_ms,
        )
        return self.current

    def start(self, config: RunnerConfig = FAST) -> SyncThread:
        assert self.engine is None, "already started"
        self.engine = SyncThread(self.runner(config=config))
        self.engine.start()
        return self.engine

    def stop(self) -> None:
        if self.engine is not None:
            assert self.engine.stop(), "the engine did not stop in time"
            assert self.engine.error is None, self.engine.error
            self.engine = None

    def sync_once(self, config: RunnerConfig = FAST) -> Outcome | None:
        """Run a ``Mode.ONCE`` engine to its end in this thread; returns its outcome."""
        return asyncio.run(self.runner(Mode.ONCE, config).run())

    def wait_online(self, timeout: float = 15.0) -> None:
        """Until connected and caught up both ways."""
        wait_until(
            lambda: (s := self.status) is not None and s.state is EngineState.ONLINE, timeout, "online"
        )

    def wait_synced(self, timeout: float = 15.0, cursor: int | None = None) -> None:
        """Until online with nothing pending (and at ``cursor``, when given)."""

        def synced() -> bool:
            status = self.status
            return (
                status is not None
                and status.state is EngineState.ONLINE
                and (cursor is None or status.cursor == cursor)
                and self.cache.counts().pending == 0
            )

        wait_until(
            synced, timeout, "an empty outbox while online" + (f" at cursor {cursor}" if cursor else "")
        )


@contextmanager
def enrolled_installation(
    server_url: str,
    database_url: str,
    data_dir: Path,
    branch: str = "North",
    wall_ms: Callable[[], int] = system_wall_ms,
) -> Iterator[Installation]:
    """A new installation enrolled with the server at ``server_url`` (a proxy, often)."""
    code = asyncio.run(issue_code(database_url, branch))
    cache = Cache(data_dir, wall_ms=wall_ms)
    installation = Installation(data_dir, cache, wall_ms)
    try:
        asyncio.run(enroll_device(cache, server_url, code, f"{branch} PC", wall_ms=wall_ms))
        yield installation
    finally:
        installation.stop()
        cache.close()
