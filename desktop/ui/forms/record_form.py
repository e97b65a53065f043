"""``RecordForm``: edit one record, with protocol errors inline and changes from elsewhere shown.

A save validates with ``protocol.validate_fields`` on the GUI thread (instant, and
the same rules the server applies), shows each error under its field, and writes
nothing while any remain. The write itself runs on the writes thread
(``Background``): it may wait for SQLite's write lock while the engine applies a
large batch, and the window must not freeze meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.cache import Cache, NotFound, Record, StorageError, ValidationFailed
from desktop.ui.background import Background
from desktop.ui.forms.changes import edits_to_save, meet_remote_change
from desktop.ui.forms.field_rows import FieldRows, FormField, paint_error
from desktop.ui.theme import tones
from protocol.collections import Collection
from protocol.errors import FieldError
from protocol.validate import validate_fields

__all__ = ["FormField", "RecordForm"]  # FormField re-exported for the concrete forms


class _Banner(QFrame):
    """A strip above the fields: a message and up to two buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.setAutoFillBackground(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.keep = QPushButton("Keep mine")
        self.take = QPushButton("Take new values")
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.keep)
        layout.addWidget(self.take)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, tones(palette).notice_background)
        self.setPalette(palette)
        self.hide()

    def say(self, text: str, *, choice: bool) -> None:
        self.text.setText(text)
        self.keep.setVisible(choice)
        self.take.setVisible(choice)
        self.show()


class RecordForm(QWidget):
    """A form for one record of ``collection``: new (``open_new``) or existing (``open_record``).

    Signals:
        saved(str): the record with this id was written (row and outbox).
        deleted(str): the record with this id was deleted.
        closed(): the user cancelled, or the form finished.
    """

    saved = Signal(str)
    deleted = Signal(str)
    closed = Signal()

    def __init__(
        self,
        collection: Collection,
        fields: Sequence[FormField],
        cache: Cache,
        writes: Background,
        *,
        describe: Callable[[Record], str],
        noun: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.collection = collection
        self.fields = {f.name: f for f in fields}
        self._cache = cache
        self._writes = writes
        self._describe = describe
        self._noun = noun
        self._record: Record | None = None
        self._touched: set[str] = set()
        self._disputed: tuple[str, ...] = ()
        self._saving = False
        self.confirm_box: QMessageBox | None = None
        self._build(fields)

    # ---- layout --------------------------------------------------------------------

    def _build(self, fields: Sequence[FormField]) -> None:
        self.title = QLabel()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.banner = _Banner()
        self.banner.keep.clicked.connect(self.keep_mine)
        self.banner.take.clicked.connect(self.take_theirs)
        self.rows = FieldRows(fields, self)
        self.messages = self.rows.messages
        for spec in fields:
            spec.editor.edited.connect(lambda name=spec.name: self._touched.add(name))
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.delete_button = QPushButton("Delete…")
        self.cancel_button = QPushButton("Cancel")
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("Save (Ctrl+S)")
        self.cancel_button.setToolTip("Cancel (Esc)")
        self.delete_button.clicked.connect(self.ask_delete)
        self.cancel_button.clicked.connect(self.cancel)
        self.save_button.clicked.connect(self.save)
        buttons = QHBoxLayout()
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.banner)
        layout.addLayout(self.rows.layout)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        layout.addLayout(buttons)
        for keys, action in (
            (QKeySequence.StandardKey.Save, self.save),
            (QKeySequence(Qt.Key.Key_Escape), self.cancel),
        ):
            shortcut = QShortcut(keys, self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(action)

    # ---- opening -------------------------------------------------------------------

    @property
    def noun(self) -> str:
        """What one record is called ("client")."""
        return self._noun

    @property
    def record_id(self) -> str | None:
        return self._record.id if self._record is not None else None

    @property
    def is_new(self) -> bool:
        return self._record is None

    @property
    def dirty(self) -> bool:
        return bool(self._touched)

    def open_new(self, defaults: dict[str, Any] | None = None) -> None:
        self._record = None
        self._reset()
        for name, spec in self.fields.items():
            spec.editor.set_value((defaults or {}).get(name))
        self.title.setText(f"New {self._noun}")
        self.delete_button.hide()
        self.rows.focus_first()

    def open_record(self, row_id: str) -> bool:
        """Show the stored record ``row_id``; False when it is not (or no longer) there."""
        record = self._cache.get(self.collection.name, row_id)
        if record is None:
            return False
        self._record = record
        self._reset()
        self._show_record(record)
        self.delete_button.show()
        self.rows.focus_first()
        return True

    def _show_record(self, record: Record) -> None:
        for name, spec in self.fields.items():
            spec.editor.set_value(record.fields.get(name))
        self.title.setText(self._describe(record))

    def _reset(self) -> None:
        self._touched.clear()
        self._disputed = ()
        self._saving = False
        self.banner.hide()
        self.problem.hide()
        self.save_button.setEnabled(True)
        self.delete_button.setEnabled(True)
        self._show_errors([])

    # ---- saving --------------------------------------------------------------------

    def typed(self) -> dict[str, Any]:
        """What every editor holds now."""
        return self.rows.values()

    def save(self) -> None:
        """Validate, then write only the fields that changed (on the writes thread)."""
        if self._saving:
            return
        stored = None if self._record is None else dict(self._record.fields)
        payload = edits_to_save(self.collection, self.typed(), stored)
        _, errors = validate_fields(self.collection, payload, creating=self._record is None)
        self._show_errors(errors)
        if errors:
            return
        if not payload:
            self.closed.emit()
            return
        self._saving = True
        self.save_button.setEnabled(False)
        collection, cache = self.collection.name, self._cache
        if self._record is None:
            self._writes.submit(lambda: cache.create(collection, payload), self._saved, self._save_failed)
        else:
            row_id = self._record.id

            def update() -> str:
                cache.update(collection, row_id, payload)
                return row_id

            self._writes.submit(update, self._saved, self._save_failed)

    def _saved(self, row_id: str) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        self._touched.clear()
        self._record = self._cache.get(self.collection.name, row_id)
        if self._record is not None:
            self._show_record(self._record)
            self.delete_button.show()
        self.saved.emit(row_id)

    def _save_failed(self, error: BaseException) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        if isinstance(error, ValidationFailed):
            self._show_errors(error.errors)
        elif isinstance(error, NotFound):
            self._gone()
        elif isinstance(error, StorageError):
            self._say_problem(f"Not saved: {error}")
        else:
            raise error

    def _show_errors(self, errors: Sequence[FieldError]) -> None:
        unplaced = self.rows.show_errors(errors)
        if unplaced:
            self._say_problem("; ".join(error.message for error in unplaced))
        else:
            self.problem.hide()

    def _say_problem(self, text: str) -> None:
        paint_error(self.problem, self)
        self.problem.setText(text)
        self.problem.show()

    def cancel(self) -> None:
        self.closed.emit()

    # ---- deleting ------------------------------------------------------------------

    def ask_delete(self) -> None:
        """Ask first (a window-modal box, so the rest of the app keeps running)."""
        if self._record is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            f"Delete {self._noun}",
            f"Delete {self._describe(self._record)}?\nEvery branch will see it deleted.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.finished.connect(lambda result: self._delete_answered(box, result))
        self.confirm_box = box
        box.open()

    def _delete_answered(self, box: QMessageBox, result: int) -> None:
        self.confirm_box = None
        box.deleteLater()
        if result != QMessageBox.StandardButton.Yes or self._record is None:
            return
        collection, row_id, cache = self.collection.name, self._record.id, self._cache
        self.delete_button.setEnabled(False)
        self._writes.submit(
            lambda: cache.delete(collection, row_id), lambda _: self.deleted.emit(row_id), self._save_failed
        )

    # ---- changes from elsewhere ----------------------------------------------------------

    def reload(self) -> None:
        """The cache changed: if this record did, show what changed (called by the window)."""
        if self._record is None or self._saving:
            return
        current = self._cache.get(self.collection.name, self._record.id)
        if current is None:
            self._gone()
            return
        if current.fields == self._record.fields:
            return
        change = meet_remote_change(
            self.collection, self.fields, self._record.fields, current.fields, self.typed(), self._touched
        )
        self._record = current
        for name in change.taken:
            self.fields[name].editor.set_value(current.fields.get(name))
        self._disputed = change.disputed
        labels = [self.fields[name].label for name in (*change.taken, *change.disputed)]
        if not labels:
            return
        text = f"Changed on another device: {', '.join(labels)}."
        if change.disputed:
            mine = ", ".join(self.fields[name].label for name in change.disputed)
            text += f" You also changed {mine}: keep yours or take the new values?"
        self.banner.say(text, choice=bool(change.disputed))

    def keep_mine(self) -> None:
        """Keep the typed values; saving writes them over the new ones."""
        self.banner.hide()

    def take_theirs(self) -> None:
        """Show the new values in the fields the user had changed."""
        if self._record is not None:
            for name in self._disputed:
                self.fields[name].editor.set_value(self._record.fields.get(name))
                self._touched.discard(name)
        self.banner.hide()

    def _gone(self) -> None:
        self.banner.say(f"This {self._noun} was deleted on another device.", choice=False)
        self.save_button.setEnabled(False)
        self.delete_button.setEnabled(False)
