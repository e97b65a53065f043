"""An opt-in "the window is up" signal, for smoke tests and start-up timings of built apps.

A frozen or installed app cannot be driven by pytest-qt, so ``installers/build.py`` and
the installer tests start it for real with ``BRANCHSYNC_EXIT_WHEN_READY=1``: as soon as
its first window (the main window, or the enrolment dialog on a first start) has
painted, the app prints ``READY_MARKER`` and quits through the normal path, exit 0.
Without the variable nothing is installed and nothing changes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

__all__ = ["READY_ENV", "READY_MARKER", "install_ready_probe"]

READY_ENV = "BRANCHSYNC_EXIT_WHEN_READY"
READY_MARKER = "branchsync: window ready"


class _ReadyProbe(QObject):
    """Application-wide event filter that fires once, at the first paint of a top-level window."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._fired = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        painted = event.type() == QEvent.Type.Paint
        if painted and not self._fired and isinstance(watched, QWidget) and watched.isWindow():
            self._fired = True
            print(f"{READY_MARKER}: {type(watched).__name__}", flush=True)
            QTimer.singleShot(0, _quit)
        return False


def _quit() -> None:
    """Leave the way a user would: a modal dialog's own loop ends when it is closed (``quit``
    only ends ``app.exec()``), the main window's when the last window closes."""
    QApplication.closeAllWindows()
    QCoreApplication.quit()


def install_ready_probe(app: QCoreApplication, environ: Mapping[str, str] | None = None) -> QObject | None:
    """Install the probe on ``app`` if ``BRANCHSYNC_EXIT_WHEN_READY`` asks for it; return it (or None)."""
    env = os.environ if environ is None else environ
    if env.get(READY_ENV, "") in ("", "0"):
        return None
    probe = _ReadyProbe(app)
    app.installEventFilter(probe)
    return probe
