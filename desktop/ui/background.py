"""Work that may block (a write waiting for SQLite's lock, a count, enrolment) off the GUI thread.

``Background`` owns one worker thread: jobs run there in the order given, and their
result or exception comes back to the GUI thread through a queued signal, where the
callback runs. One thread per kind of work keeps the order that matters (a user's
saves) without making the other kinds (counts) wait behind it.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

__all__ = ["Background"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Background(QObject):
    """Runs callables on one worker thread and hands results back to the GUI thread.

    Signals:
        idle(): the last queued job finished (tests and shutdown wait on it).
    """

    idle = Signal()
    _finished = Signal(int, tuple)
    """(ticket, (result, error)): one tuple, because PySide6 mis-counts references of a
    bare ``None`` sent through a queued ``object`` argument (it crashes the interpreter)."""

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._tickets = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[BaseException], None] | None]] = {}
        self._finished.connect(self._deliver)

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def submit(
        self,
        work: Callable[[], T],
        done: Callable[[T], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run ``work()`` on the worker; then ``done(result)`` or ``failed(error)`` on this thread.

        Without ``failed`` an exception is logged as the bug it then is.
        """
        ticket = next(self._tickets)
        self._callbacks[ticket] = (done, failed)

        def finished(future: Future[T]) -> None:
            error = future.exception()
            self._finished.emit(ticket, (None if error else future.result(), error))

        self._executor.submit(work).add_done_callback(finished)

    @Slot(int, tuple)
    def _deliver(self, ticket: int, outcome: tuple[Any, BaseException | None]) -> None:
        result, error = outcome
        callbacks = self._callbacks.pop(ticket, None)
        if callbacks is None:  # finished after shutdown(): nobody is waiting any more
            return
        done, failed = callbacks
        if error is None:
            done(result)
        elif failed is not None:
            failed(error)
        else:
            log.error("background job failed", exc_info=error)
        if not self._callbacks:
            self.idle.emit()

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking jobs; finish the queued ones (their results are dropped).

        Args:
            wait: block until they are done (False: let a job that waits on the
                network end by itself).
        """
        self._executor.shutdown(wait=wait)
        self._callbacks.clear()
