"""Noticing that the cache changed, whoever changed it, so the lists can refresh.

The engine's status reports (through the bridge) and the window's own saves call
``poke``; a slow timer covers writers in other processes (a ``branchsync import``
while the app runs). Either way the check is one ``PRAGMA data_version`` (microseconds),
and ``changed`` fires at most once per event-loop turn however many pokes arrive.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.cache import Cache, StorageError

__all__ = ["POLL_MS", "CacheWatcher"]

POLL_MS = 500
"""How often to look for writes by other processes."""


class CacheWatcher(QObject):
    """Emits ``changed`` when the cache file has new commits.

    Signals:
        changed(): something committed since the last emission; refresh what is shown.
    """

    changed = Signal()

    def __init__(self, cache: Cache, parent: QObject | None = None, *, poll_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self._cache = cache
        self._token = self._read()
        self._queued = False
        self._stopped = False
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poke)
        self._timer.start()

    def _read(self) -> int | None:
        try:
            return self._cache.change_token()
        except StorageError:
            return None

    def poke(self) -> None:
        """Check soon (in this event-loop turn's tail) whether the cache changed."""
        if not self._queued and not self._stopped:
            self._queued = True
            QTimer.singleShot(0, self._check)

    def _check(self) -> None:
        self._queued = False
        if self._stopped:  # a check queued before stop(): the window may be gone
            return
        token = self._read()
        if token != self._token:
            self._token = token
            self.changed.emit()

    def stop(self) -> None:
        """No more checks (nor ``changed``), from now on."""
        self._stopped = True
        self._timer.stop()
