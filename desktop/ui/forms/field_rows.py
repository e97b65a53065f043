"""Labelled editors with an error line under each: the body of every form.

``show_errors`` takes the ``FieldError`` values ``protocol.validate_fields`` (or the
server) gave and puts each message under its field, focusing the first; errors for
fields the form does not show come back so the caller can show them elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from desktop.ui.forms.editors import Editor
from desktop.ui.theme import tones

__all__ = ["Complaint", "FieldRows", "FormField", "paint_error"]


class Complaint(Protocol):
    """What ``show_errors`` needs of an error: a ``protocol.FieldError``, a refused change."""

    @property
    def field(self) -> str | None: ...

    @property
    def message(self) -> str: ...


C = TypeVar("C", bound=Complaint)


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    editor: Editor


def paint_error(label: QLabel, reference: QWidget) -> None:
    """Give ``label`` the error colour that reads on ``reference``'s palette."""
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, tones(reference.palette()).error_text)
    label.setPalette(palette)


class FieldRows(QObject):
    """A ``QFormLayout`` of fields, each with its own (hidden until needed) error message."""

    def __init__(self, fields: Sequence[FormField], owner: QWidget) -> None:
        super().__init__(owner)
        self.layout = QFormLayout()
        self.layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fields = {spec.name: spec for spec in fields}
        self.messages: dict[str, QLabel] = {}
        for spec in fields:
            message = QLabel()
            message.setTextFormat(Qt.TextFormat.PlainText)  # messages may be the server's words, not markup
            message.setWordWrap(True)
            message.setObjectName(f"error_{spec.name}")
            paint_error(message, owner)
            message.hide()
            self.messages[spec.name] = message
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(spec.editor.widget)
            cell.addWidget(message)
            label = QLabel(spec.label + ":")
            label.setBuddy(spec.editor.widget)
            self.layout.addRow(label, cell)
            spec.editor.edited.connect(message.hide)

    def values(self) -> dict[str, object]:
        """What every editor holds now."""
        return {name: spec.editor.value() for name, spec in self.fields.items()}

    def show_errors(self, errors: Sequence[C]) -> list[C]:
        """Show each error under its field and focus the first; returns those with no field here."""
        by_field = {error.field: error.message for error in errors}
        for name, label in self.messages.items():
            label.setVisible(name in by_field)
            label.setText(by_field.get(name, ""))
        placed = [error.field for error in errors if error.field in self.fields]
        if placed and placed[0] is not None:
            self.fields[placed[0]].editor.widget.setFocus(Qt.FocusReason.OtherFocusReason)
        return [error for error in errors if error.field not in self.fields]

    def focus_first(self) -> None:
        first = next(iter(self.fields.values()), None)
        if first is not None:
            first.editor.widget.setFocus(Qt.FocusReason.OtherFocusReason)
