"""Correcting a change the server refused, then queueing it again.

The dialog shows the refused fields with the values that were sent and the server's
reason under the field it named. Retry validates with ``protocol`` first (nothing
invalid is queued), then hands the corrected fields to ``Cache.retry_rejected``.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from desktop.cache import NotFound, RejectedMutation, StorageError, ValidationFailed
from desktop.ui.forms.factory import EditorTools, form_fields
from desktop.ui.forms.field_rows import FieldRows, paint_error
from desktop.ui.session import Session
from protocol.collections import COLLECTIONS
from protocol.errors import FieldError
from protocol.validate import validate_fields

__all__ = ["FixDialog"]


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


class FixDialog(QDialog):
    """Edit the fields of one refused change and retry it (``accepted`` once it is queued)."""

    def __init__(
        self, session: Session, tools: EditorTools, refused: RejectedMutation, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("Fix a refused change")
        self.session = session
        self.refused = refused
        self.collection = COLLECTIONS[refused.collection]
        known = [name for name in refused.fields if self.collection.field(name) is not None]
        self.rows = FieldRows(form_fields(self.collection, [(n, _label(n)) for n in known], tools), self)
        for name in known:
            self.rows.fields[name].editor.set_value(refused.fields[name])
        intro = QLabel(f"The server refused this change: {refused.message}")
        self.problem = QLabel()
        for label in (intro, self.problem):  # the server's words, shown as written: never as markup
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
        paint_error(self.problem, self)
        self.problem.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.retry_button = buttons.addButton("Retry", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.retry)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(self.rows.layout)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.rows.show_errors([refused])

    def retry(self) -> None:
        values = self.rows.values() if self.refused.op == "upsert" else None
        if values is not None:
            _, errors = validate_fields(self.collection, values)
            if self._show(errors):
                return
        self.retry_button.setEnabled(False)
        cache, refused_id = self.session.cache, self.refused.id
        self.session.writes.submit(lambda: cache.retry_rejected(refused_id, values), self._done, self._failed)

    def _show(self, errors: Sequence[FieldError]) -> bool:
        unplaced = self.rows.show_errors(errors)
        self.problem.setVisible(bool(unplaced))
        self.problem.setText("; ".join(error.message for error in unplaced))
        return bool(errors)

    def _done(self, _: object) -> None:
        self.session.watcher.poke()
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.retry_button.setEnabled(True)
        if isinstance(error, ValidationFailed):
            self._show(error.errors)
        elif isinstance(error, NotFound | StorageError):
            self.problem.setText(f"Could not retry: {error}")
            self.problem.show()
        else:
            raise error
