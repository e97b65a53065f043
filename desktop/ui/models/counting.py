"""Counting a list's rows off the GUI thread.

A count walks every matching row (~25 ms for a one-letter search at 100 000
clients), which is more than a keystroke may cost, so lists show their first page at
once and the count a moment later. Counting starts only once the requests pause for
``DELAY_MS``: two threads running SQLite queries at once slow each other down (SQLite
shares a few process-wide mutexes), and a count started mid-word would be stale by
the next keystroke anyway. Only the latest request per list is answered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from desktop.cache.listing import ListQuery
from desktop.cache.reader import Reader
from desktop.ui.background import Background

__all__ = ["DELAY_MS", "Counter"]

DELAY_MS = 150


class Counter(QObject):
    """Counts rows of list queries on its own thread, with its own read-only connection."""

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path = path
        self._local = threading.local()
        self._background = Background("branchsync-count", self)
        self._latest: dict[object, int] = {}
        self._waiting: dict[object, tuple[int, ListQuery, Callable[[int], None]]] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DELAY_MS)
        self._timer.timeout.connect(self._start)

    @property
    def busy(self) -> bool:
        """Whether a count is waiting or running."""
        return bool(self._waiting) or self._background.busy

    def _reader(self) -> Reader:
        reader: Reader | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = Reader(self._path)
            self._local.reader = reader
        return reader

    def _close_reader(self) -> None:
        reader: Reader | None = getattr(self._local, "reader", None)
        if reader is not None:
            reader.close()
            self._local.reader = None

    def count(self, owner: object, query: ListQuery, done: Callable[[int], None]) -> None:
        """Count ``query`` for ``owner`` and call ``done(total)``, unless a newer request came."""
        generation = self._latest.get(owner, 0) + 1
        self._latest[owner] = generation
        self._waiting[owner] = (generation, query, done)
        self._timer.start()

    def _start(self) -> None:
        waiting, self._waiting = self._waiting, {}
        for owner, (generation, query, done) in waiting.items():
            self._submit(owner, generation, query, done)

    def _submit(self, owner: object, generation: int, query: ListQuery, done: Callable[[int], None]) -> None:
        def work() -> int | None:
            if self._latest.get(owner) != generation:
                return None
            return self._reader().count(query)

        def finished(total: int | None) -> None:
            if total is not None and self._latest.get(owner) == generation:
                done(total)

        self._background.submit(work, finished)

    def close(self) -> None:
        """Close the connection (on its own thread, as ``sqlite3`` wants) and stop the thread."""
        self._timer.stop()
        self._waiting.clear()
        self._background.submit(self._close_reader, lambda _: None)
        self._background.shutdown()
