"""The conflicts tab: values of mine that lost a last-write-wins race, with "keep mine" and "dismiss".

Nothing here decides anything: the later edit already won on every replica. Staff
see what they lost (field, my value, the winning value, who won and when) and may
write their value again as a new edit ("keep mine", which then wins by being later)
or accept the outcome ("dismiss"). Both run on the writes thread.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.cache import Conflict, NotFound, StorageError, ValidationFailed
from desktop.ui.models.columns import first_line
from desktop.ui.models.snapshot_model import SnapshotColumn, SnapshotModel
from desktop.ui.session import Session
from desktop.ui.timefmt import Zone, format_when
from protocol.collections import COLLECTIONS, FieldKind
from protocol.errors import InvalidTimestamp
from protocol.hlc import Timestamp
from protocol.merge import DELETED

__all__ = ["ConflictsView", "describe_value", "hlc_time"]


def hlc_time(hlc: str, zone: Zone) -> str:
    """The wall time an HLC was stamped at, for people."""
    try:
        stamp = Timestamp.parse(hlc)
    except InvalidTimestamp:
        return ""
    moment = datetime.fromtimestamp(stamp.wall_ms / 1000, UTC)
    return format_when(moment.isoformat(), zone)


def describe_value(collection: str, field: str, value: Any, zone: Zone) -> str:
    """A stored value as text for the conflicts list."""
    if field == DELETED:
        return "deleted" if value else "kept (edited)"
    if value is None or value == []:
        return "(empty)"
    spec = COLLECTIONS[collection].field(field) if collection in COLLECTIONS else None
    if spec is not None and spec.kind is FieldKind.DATETIME:
        return format_when(str(value), zone)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return first_line(str(value))


def _field_label(field: str) -> str:
    return "Deleted?" if field == DELETED else field.replace("_", " ").capitalize()


class ConflictsView(QWidget):
    """The list of undismissed conflicts with the two actions.

    Signals:
        count_changed(int): how many conflicts the list shows (for the tab title).
    """

    count_changed = Signal(int)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        columns: list[SnapshotColumn[Conflict]] = [
            SnapshotColumn("Record", self._record_label),
            SnapshotColumn("Field", lambda c: _field_label(c.field)),
            SnapshotColumn(
                "My value", lambda c: describe_value(c.collection, c.field, c.my_value, session.zone)
            ),
            SnapshotColumn(
                "Winning value",
                lambda c: describe_value(c.collection, c.field, c.winning_value, session.zone),
            ),
            SnapshotColumn("Won by", self._winner),
            SnapshotColumn("When", lambda c: hlc_time(c.winning_hlc, session.zone)),
        ]
        self.model: SnapshotModel[Conflict] = SnapshotModel(
            columns, lambda c: c.id, session.cache.conflicts, parent=self
        )
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.explainer = QLabel(
            "When two branches change the same field, the later change wins everywhere. "
            "These are your values that lost. Keep mine writes your value again; Dismiss accepts the winner."
        )
        self.explainer.setWordWrap(True)
        self.keep_button = QPushButton("Keep mine")
        self.dismiss_button = QPushButton("Dismiss")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.keep_button.clicked.connect(self.keep_mine)
        self.dismiss_button.clicked.connect(self.dismiss)
        buttons = QHBoxLayout()
        buttons.addWidget(self.problem, 1)
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.dismiss_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explainer)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.refresh()

    def _record_label(self, conflict: Conflict) -> str:
        record = self.session.cache.get(conflict.collection, conflict.row_id, include_deleted=True)
        noun = "Client" if conflict.collection == "clients" else "Appointment"
        if record is None:
            return f"{noun} {conflict.row_id[:8]}"
        fields = record.fields
        if conflict.collection == "clients":
            return f"{noun}: {fields.get('name') or conflict.row_id[:8]}"
        when = format_when(fields.get("starts_at"), self.session.zone)
        return f"{noun}: {fields.get('service') or ''} {when}".strip()

    def _winner(self, conflict: Conflict) -> str:
        if conflict.winning_device == self.session.state.device_id:
            return "this PC"
        name = self.session.device_names.get(conflict.winning_device)
        return name or f"another PC ({conflict.winning_device[:8]})"

    def refresh(self) -> None:
        self.model.refresh()
        self.view.resizeColumnsToContents()
        self.count_changed.emit(self.model.rowCount())
        self._update_buttons()

    def _selected(self) -> Conflict | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.item(rows[0].row()) if rows else None

    def _update_buttons(self) -> None:
        chosen = self._selected() is not None
        self.keep_button.setEnabled(chosen)
        self.dismiss_button.setEnabled(chosen)

    def keep_mine(self) -> None:
        """Write my value again as a new edit."""
        conflict = self._selected()
        if conflict is not None:
            self._run(lambda: self.session.cache.keep_mine(conflict.id))

    def dismiss(self) -> None:
        conflict = self._selected()
        if conflict is not None:
            self._run(lambda: self.session.cache.dismiss_conflict(conflict.id))

    def _run(self, work: Any) -> None:
        self.problem.clear()
        self.keep_button.setEnabled(False)
        self.dismiss_button.setEnabled(False)
        self.session.writes.submit(work, self._done, self._failed)

    def _done(self, _: object) -> None:
        self.session.watcher.poke()
        self.refresh()

    def _failed(self, error: BaseException) -> None:
        if not isinstance(error, NotFound | ValidationFailed | StorageError):
            raise error
        self.problem.setText(f"Could not do that: {error}")
        self.refresh()
