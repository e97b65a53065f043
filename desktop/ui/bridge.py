"""``EngineBridge``: the one place where the sync engine meets Qt.

The engine runs on its own thread with its own asyncio loop and imports no Qt; it
calls ``on_status`` there with each new immutable ``StatusSnapshot``. The bridge
re-emits it as a queued signal, so every slot runs on the GUI thread, and derives
the few facts views care about (the cache changed, a new problem, the engine
stopped). Nothing the GUI thread does here waits for the engine.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.cache import StorageError
from desktop.sync.runner import Runner
from desktop.sync.status import StatusSnapshot
from desktop.sync.thread import SyncThread

__all__ = ["EngineBridge", "Problem"]

log = logging.getLogger(__name__)

RECENT_PROBLEMS = 20
WATCH_MS = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    """An error the engine reported, with when it was first seen."""

    at: datetime
    message: str

    @classmethod
    def now(cls, message: str) -> Problem:
        return cls(datetime.now(UTC), message)


class _Parcel:
    """Carries a snapshot through a queued signal as one Python object."""

    __slots__ = ("status",)

    def __init__(self, status: StatusSnapshot) -> None:
        self.status = status


class EngineBridge(QObject):
    """Runs the engine's thread and turns what it reports into signals.

    Signals:
        status_changed(object): a new ``StatusSnapshot``.
        cache_changed(): the engine's position or queue moved (views refresh through the
            cache's change watcher, ``Session.watcher``, which hears every write at once).
        directory_changed(): the engine stored a new branch directory (names, time zones).
        problem(object): a new ``Problem`` (also kept in ``problems``).
        stopped(str): the engine's thread ended without being asked to; the reason.
    """

    status_changed = Signal(object)
    cache_changed = Signal()
    directory_changed = Signal()
    problem = Signal(object)
    stopped = Signal(str)
    _arrived = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status = StatusSnapshot()
        self.problems: deque[Problem] = deque(maxlen=RECENT_PROBLEMS)
        self._thread: SyncThread | None = None
        self._stopping = False
        self._arrived.connect(self._take)
        self._watch = QTimer(self)
        self._watch.setInterval(WATCH_MS)
        self._watch.timeout.connect(self._check_thread)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.running

    def start(self, runner: Runner) -> None:
        """Run ``runner`` on its own thread; ``runner`` must report to ``on_status``."""
        if self.running:
            raise RuntimeError("the engine is already running")
        self._stopping = False
        self._thread = SyncThread(runner)
        self._thread.start()
        self._watch.start()

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop the engine and wait for its thread (shutdown only); True when it ended in time."""
        self._watch.stop()
        self._stopping = True
        thread, self._thread = self._thread, None
        return thread.stop(timeout) if thread is not None else True

    def on_status(self, status: StatusSnapshot) -> None:
        """The runner's status callback; called on the engine's thread."""
        self._arrived.emit(_Parcel(status))

    def _take(self, parcel: _Parcel) -> None:
        before, status = self.status, parcel.status
        self.status = status
        if status.last_error and status.last_error != before.last_error:
            problem = Problem.now(status.last_error)
            self.problems.append(problem)
            self.problem.emit(problem)
        self.status_changed.emit(status)
        moved = (status.cursor, status.pending, status.rejected, status.conflicts) != (
            before.cursor,
            before.pending,
            before.rejected,
            before.conflicts,
        )
        if moved:
            self.cache_changed.emit()
        if status.directory_updates != before.directory_updates:
            self.directory_changed.emit()

    def _check_thread(self) -> None:
        thread = self._thread
        if thread is None or thread.running or self._stopping:
            return
        self._watch.stop()
        self._thread = None
        error = thread.error
        reason = f"{error}" if error is not None else "the sync engine stopped"
        if error is not None and not isinstance(error, StorageError):
            log.error("the sync engine crashed", exc_info=error)
        self.problems.append(Problem.now(reason))
        self.stopped.emit(reason)
