"""The cache's change watcher as a Qt signal, so the lists can refresh.

The watching itself is the cache's (``Cache.subscribe``, ``desktop.cache.watch``): the
same watcher wakes the sync engine. Any write through this process's cache (a save
here, a page the engine applied) is reported at once; another process's (a
``branchsync import`` while the app runs) within the watcher's interval. ``changed``
fires at most once per event-loop turn however many reports arrive.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.cache import Cache

__all__ = ["CacheWatcher"]


class CacheWatcher(QObject):
    """Emits ``changed`` on the GUI thread when the cache file has new commits.

    Signals:
        changed(): something committed since the last emission; refresh what is shown.
    """

    changed = Signal()
    _reported = Signal()
    """From the cache watcher's thread; queued to this object's thread."""

    def __init__(self, cache: Cache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cache = cache
        self._queued = False
        self._stopped = False
        self._reported.connect(self._soon)
        self._unsubscribe = cache.subscribe(self._report)

    def _report(self) -> None:
        """On the cache watcher's thread: hand over to the GUI thread."""
        with contextlib.suppress(RuntimeError):  # this object was deleted under a late report
            self._reported.emit()

    def poke(self) -> None:
        """Look for changes now (after a write the cache could not have seen, or to be sure)."""
        if not self._stopped:
            self._cache.nudge()

    def _soon(self) -> None:
        if not self._queued and not self._stopped:
            self._queued = True
            QTimer.singleShot(0, self._emit)

    def _emit(self) -> None:
        self._queued = False
        if not self._stopped:  # a report queued before stop(): the window may be gone
            self.changed.emit()

    def stop(self) -> None:
        """No more ``changed``, from now on."""
        self._stopped = True
        self._unsubscribe()
