"""The first sync after enrolment: progress with counts, which may carry on in the background.

A new PC pulls every record once (100 000 clients take a few seconds). The dialog
shows how far the pull is (the engine's cursor against the server's head) and how
many clients and appointments are here already; "Continue in background" hides it
and the window is usable at once, filling in as pages arrive. It closes itself
when the engine reports it is caught up.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QProgressBar, QVBoxLayout, QWidget

from desktop.cache.listing import ListQuery
from desktop.sync.status import EngineState, StatusSnapshot
from desktop.ui.bridge import EngineBridge
from desktop.ui.session import Session
from protocol.collections import APPOINTMENTS, CLIENTS

__all__ = ["FirstSyncDialog", "caught_up"]


def caught_up(status: StatusSnapshot) -> bool:
    """Whether the first sync is done: connected, nothing left to pull."""
    return status.state is EngineState.ONLINE and status.lag == 0 and status.last_sync is not None


class FirstSyncDialog(QDialog):
    """Progress of the first pull.

    Signals:
        finished_sync(): the engine caught up (the dialog closed itself).
    """

    finished_sync = Signal()

    def __init__(self, session: Session, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Getting your records")
        self.session = session
        self.headline = QLabel("Downloading your company's clients and appointments…")
        self.headline.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.counts = QLabel("Counting…")
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.background_button = buttons.addButton(
            "Continue in background", QDialogButtonBox.ButtonRole.RejectRole
        )
        buttons.rejected.connect(self.hide)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.progress)
        layout.addWidget(self.counts)
        layout.addWidget(self.detail)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)
        self._clients = self._appointments = 0
        bridge.status_changed.connect(self.show_status)
        session.watcher.changed.connect(self._count)
        self.show_status(bridge.status)
        self._count()

    def show_status(self, status: StatusSnapshot) -> None:
        if caught_up(status):
            self.finished_sync.emit()
            self.accept()
            return
        total = status.cursor + status.lag
        if status.lag and total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(status.cursor)
            self.detail.setText(f"{status.cursor:,} of {total:,} changes")
        elif status.state is EngineState.OFFLINE:
            self.progress.setRange(0, 0)
            reason = f" ({status.last_error})" if status.last_error else ""
            self.detail.setText(f"Waiting for the server{reason}; your work here is kept meanwhile.")

    def _count(self) -> None:
        counter = self.session.counter
        counter.count((self, "clients"), ListQuery(CLIENTS), lambda n: self._show_counts(clients=n))
        counter.count(
            (self, "appointments"), ListQuery(APPOINTMENTS), lambda n: self._show_counts(appointments=n)
        )

    def _show_counts(self, *, clients: int | None = None, appointments: int | None = None) -> None:
        self._clients = self._clients if clients is None else clients
        self._appointments = self._appointments if appointments is None else appointments
        self.counts.setText(f"{self._clients:,} clients and {self._appointments:,} appointments here so far")
