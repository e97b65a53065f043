"""Python's cyclic garbage collection, run on the GUI thread only.

A Qt object caught in a reference cycle (a window and the slots it connected to itself)
is destroyed by whichever thread the cyclic collector happens to run on. When that is
the sync engine's thread, Qt unhooks the object's timers from the wrong thread, and the
GUI thread later fires one at freed memory: a segfault in ``QTimerInfoList::activateTimers``
(seen in the suite, in the demo, with both engines busy). So while the collector runs,
automatic collection is off and the GUI thread collects instead, every ``interval_ms``,
the generations whose thresholds were passed: what the automatic collector would have
done, on the one thread Qt objects may die on. Reference counting still frees everything
outside a cycle at once, on any thread; only cycles wait for the GUI thread.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

__all__ = ["GuiThreadCollector"]

INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """Collects cyclic garbage on this object's (the GUI) thread; ``start`` turns the
    automatic collector off, ``stop`` turns it back on after one full collection here."""

    def __init__(self, parent: QObject | None = None, *, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect)

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        gc.enable()

    def collect(self) -> int:
        """Collect the oldest generation whose count passed its threshold, as CPython's
        automatic collector would; the number of unreachable objects found (0: none due)."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                return gc.collect(generation)
        return 0
