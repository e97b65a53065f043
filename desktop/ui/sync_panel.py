"""The sync panel (a click on the status bar): connection, waiting and refused changes, problems.

Refused changes are the ones staff must act on: each shows the server's reason, and
can be fixed and retried, retried as is, or discarded (which takes the change back
out of the local record). The lists re-read the cache whenever it changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.cache import NotFound, OutboxEntry, RejectedMutation, StorageError
from desktop.sync.status import StatusSnapshot
from desktop.ui.bridge import EngineBridge, Problem
from desktop.ui.fix_dialog import FixDialog
from desktop.ui.forms.factory import EditorTools
from desktop.ui.models.snapshot_model import SnapshotColumn, SnapshotModel
from desktop.ui.session import Session
from desktop.ui.status_bar import describe
from desktop.ui.timefmt import format_when

__all__ = ["SyncPanel"]

PENDING_SHOWN = 500


def _fields_text(fields: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={json.dumps(value, ensure_ascii=False)}" for name, value in fields.items())


def clock_text(offset_ms: int, uncertainty_ms: int) -> str:
    """The correction applied to this PC's clock and how sure it is, e.g. ``+0.200 s ± 0.010 s``."""
    return f"{offset_ms / 1000:+.3f} s ± {uncertainty_ms / 1000:.3f} s (server minus this PC)"


def _table(model: SnapshotModel[Any]) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


class SyncPanel(QDialog):
    """A non-modal window with the sync details; stays current while open."""

    def __init__(
        self, session: Session, bridge: EngineBridge, tools: EditorTools, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("Sync")
        self.resize(820, 480)
        self.session = session
        self.bridge = bridge
        self.tools = tools
        self.tabs = QTabWidget()
        self.tabs.addTab(self._overview(), "Connection")
        self.tabs.addTab(self._pending(), "Waiting")
        self.tabs.addTab(self._refused(), "Refused")
        self.tabs.addTab(self._problems(), "Problems")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        bridge.status_changed.connect(self._show_status)
        session.watcher.changed.connect(self.refresh)
        self.refresh()

    # ---- tabs --------------------------------------------------------------------------

    def _overview(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.server_label = QLabel()
        self.device_label = QLabel()
        self.branch_label = QLabel()
        self.position_label = QLabel()
        self.clock_label = QLabel()
        for label in (self.server_label, self.device_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Status:", self.state_label)
        form.addRow("Server:", self.server_label)
        form.addRow("This device:", self.device_label)
        form.addRow("Branch:", self.branch_label)
        form.addRow("Position:", self.position_label)
        form.addRow("Clock:", self.clock_label)
        return page

    def _pending(self) -> QWidget:
        session = self.session
        columns: list[SnapshotColumn[OutboxEntry]] = [
            SnapshotColumn("Queued", lambda e: format_when(e.created_at.isoformat(), session.zone)),
            SnapshotColumn("Change", lambda e: "delete" if e.op == "delete" else "save"),
            SnapshotColumn("Record", lambda e: f"{e.collection} {e.row_id[:8]}"),
            SnapshotColumn("Fields", lambda e: _fields_text(e.fields)),
        ]
        cache = self.session.cache
        self.pending_model: SnapshotModel[OutboxEntry] = SnapshotModel(
            columns, lambda e: e.seq, lambda: cache.pending_batch(PENDING_SHOWN), self
        )
        self.pending_view = _table(self.pending_model)
        return self.pending_view

    def _refused(self) -> QWidget:
        session = self.session
        columns: list[SnapshotColumn[RejectedMutation]] = [
            SnapshotColumn("Refused", lambda r: format_when(r.rejected_at.isoformat(), session.zone)),
            SnapshotColumn("Record", lambda r: f"{r.collection} {r.row_id[:8]}"),
            SnapshotColumn("Reason", lambda r: f"{r.field}: {r.message}" if r.field else r.message),
            SnapshotColumn("Fields", lambda r: _fields_text(r.fields)),
        ]
        self.refused_model: SnapshotModel[RejectedMutation] = SnapshotModel(
            columns, lambda r: r.id, self.session.cache.rejected, self
        )
        self.refused_view = _table(self.refused_model)
        self.fix_button = QPushButton("Fix and retry…")
        self.retry_button = QPushButton("Retry as is")
        self.discard_button = QPushButton("Discard…")
        self.refused_problem = QLabel()
        self.refused_problem.setWordWrap(True)
        self.fix_button.clicked.connect(self.fix)
        self.retry_button.clicked.connect(self.retry)
        self.discard_button.clicked.connect(self.ask_discard)
        self.refused_view.selectionModel().selectionChanged.connect(self._update_buttons)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refused_problem, 1)
        buttons.addWidget(self.fix_button)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.discard_button)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.refused_view, 1)
        layout.addLayout(buttons)
        return page

    def _problems(self) -> QWidget:
        session = self.session
        columns: list[SnapshotColumn[Problem]] = [
            SnapshotColumn("When", lambda p: format_when(p.at.isoformat(), session.zone)),
            SnapshotColumn("Problem", lambda p: p.message),
        ]
        bridge = self.bridge
        self.problems_model: SnapshotModel[Problem] = SnapshotModel(
            columns, lambda p: (p.at, p.message), lambda: list(reversed(bridge.problems)), self
        )
        self.bridge.problem.connect(lambda _: self.problems_model.refresh())
        return _table(self.problems_model)

    # ---- refreshing ------------------------------------------------------------------

    def refresh(self) -> None:
        self.pending_model.refresh()
        self.refused_model.refresh()
        self.problems_model.refresh()
        self.tabs.setTabText(1, f"Waiting ({self.pending_model.rowCount()})")
        self.tabs.setTabText(2, f"Refused ({self.refused_model.rowCount()})")
        for view in (self.pending_view, self.refused_view):
            view.resizeColumnsToContents()
        self._show_status(self.bridge.status)
        self._update_buttons()

    def _show_status(self, status: StatusSnapshot) -> None:
        state = self.session.state
        self.state_label.setText(describe(status, zone=self.session.zone).text)
        self.server_label.setText(state.server_url or "(not enrolled)")
        self.device_label.setText(state.device_id or "(not enrolled)")
        self.branch_label.setText(state.branch_name or "")
        behind = f", {status.lag:,} behind the server" if status.lag else ""
        self.position_label.setText(f"change {status.cursor:,}{behind}")
        clock = self.session.cache.state()  # fresh: the engine corrects the offset as it measures
        self.clock_label.setText(clock_text(clock.clock_offset_ms, clock.clock_uncertainty_ms))

    def _selected(self) -> RejectedMutation | None:
        rows = self.refused_view.selectionModel().selectedRows()
        return self.refused_model.item(rows[0].row()) if rows else None

    def _update_buttons(self) -> None:
        refused = self._selected()
        for button in (self.retry_button, self.discard_button):
            button.setEnabled(refused is not None)
        self.fix_button.setEnabled(refused is not None and refused.op == "upsert")

    # ---- actions on a refused change ---------------------------------------------------

    def fix(self) -> None:
        refused = self._selected()
        if refused is not None:
            self.fix_dialog = FixDialog(self.session, self.tools, refused, self)
            self.fix_dialog.accepted.connect(self.refresh)
            self.fix_dialog.open()

    def retry(self) -> None:
        refused = self._selected()
        if refused is not None:
            cache = self.session.cache
            self._run(lambda: cache.retry_rejected(refused.id))

    def ask_discard(self) -> None:
        refused = self._selected()
        if refused is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Discard a refused change",
            "Discard this change? It is taken back out of the record here and never sent.",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda result: self._discard_answered(refused, result))
        self.confirm_box = box
        box.open()

    def _discard_answered(self, refused: RejectedMutation, result: int) -> None:
        if result == QMessageBox.StandardButton.Discard:
            cache = self.session.cache
            self._run(lambda: cache.discard_rejected(refused.id))

    def _run(self, work: Any) -> None:
        self.refused_problem.clear()
        self.session.writes.submit(work, lambda _: self._done(), self._failed)

    def _done(self) -> None:
        self.session.watcher.poke()
        self.refresh()

    def _failed(self, error: BaseException) -> None:
        if not isinstance(error, NotFound | StorageError):
            raise error
        self.refused_problem.setText(f"Could not do that: {error}")
        self.refresh()
