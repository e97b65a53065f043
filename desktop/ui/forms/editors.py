"""One editor per kind of field: a widget plus the wire value it holds.

Editors hand back raw wire values (text, a list of tags, ISO text with an offset)
and leave judging them to ``protocol.validate``, so the form shows exactly the
errors the server would give. An empty editor means "no value" (``None``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from PySide6.QtCore import QDate, QObject, QTime, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QTimeEdit,
    QWidget,
)

from desktop.ui.timefmt import Zone, from_local, to_local, today

__all__ = [
    "BranchEditor",
    "ChoiceEditor",
    "Editor",
    "NotesEditor",
    "NumberEditor",
    "TagsEditor",
    "TextEditor",
    "WhenEditor",
    "next_quarter_hour",
]


class Editor(QObject):
    """A field's widget and its value.

    Signals:
        edited(): the user changed the value (not emitted by ``set_value``).
    """

    edited = Signal()

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.widget = widget
        self._setting = False

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        """Show ``value`` without counting it as the user's edit."""
        self._setting = True
        try:
            self._show(value)
        finally:
            self._setting = False

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _user_edited(self, *args: object) -> None:
        if not self._setting:
            self.edited.emit()


def _text_or_none(text: str) -> str | None:
    return text if text.strip() else None


class _Text(Editor):
    """An editor of free text: blank means no value."""

    def _text(self) -> str:
        raise NotImplementedError

    def _set_text(self, text: str) -> None:
        raise NotImplementedError

    def value(self) -> Any:
        return _text_or_none(self._text())

    def _show(self, value: Any) -> None:
        self._set_text("" if value is None else str(value))


class TextEditor(_Text):
    """One line of text (names, phones, emails, services)."""

    def __init__(self, max_length: int | None = None, placeholder: str = "") -> None:
        self.line = QLineEdit()
        if max_length:
            self.line.setMaxLength(max_length + 50)  # longer text is refused by validation, with a message
        self.line.setPlaceholderText(placeholder)
        super().__init__(self.line)
        self.line.textEdited.connect(self._user_edited)

    def _text(self) -> str:
        return self.line.text()

    def _set_text(self, text: str) -> None:
        self.line.setText(text)


class NotesEditor(_Text):
    """Several lines of text; Tab moves on to the next field, as in the rest of the form."""

    def __init__(self) -> None:
        self.text = QPlainTextEdit()
        self.text.setTabChangesFocus(True)
        self.text.setMinimumHeight(60)
        self.text.setMaximumHeight(160)
        super().__init__(self.text)
        self.text.textChanged.connect(self._user_edited)

    def _text(self) -> str:
        return self.text.toPlainText()

    def _set_text(self, text: str) -> None:
        self.text.setPlainText(text)


_TAG_SEPARATORS = re.compile(r"[,;]")


class TagsEditor(TextEditor):
    """Tags typed as ``vip, allergy`` or ``vip; allergy`` (as a CSV cell holds them).

    Tags shown and left as they are come back as they were, even one that holds a comma or
    semicolon (imported from a file): a save of another field must not split it.
    """

    def __init__(self) -> None:
        super().__init__(placeholder="separated by commas or semicolons, e.g. vip, allergy")
        self._shown: tuple[str, Any] = ("", None)

    def value(self) -> Any:
        text = self.line.text()
        shown_text, shown = self._shown
        if text == shown_text:
            return shown
        tags = [tag.strip() for tag in _TAG_SEPARATORS.split(text) if tag.strip()]
        return tags or None

    def _show(self, value: Any) -> None:
        text = ", ".join(value) if value else ""
        self._shown = (text, list(value) if value else None)
        self.line.setText(text)


class ChoiceEditor(Editor):
    """One of a fixed set of values, shown with readable labels."""

    def __init__(self, choices: Sequence[str]) -> None:
        self.combo = QComboBox()
        self.combo.addItem("—", None)
        for choice in choices:
            self.combo.addItem(choice.replace("_", " ").capitalize(), choice)
        super().__init__(self.combo)
        self.combo.activated.connect(self._user_edited)

    def value(self) -> Any:
        return self.combo.currentData()

    def _show(self, value: Any) -> None:
        index = self.combo.findData(value)
        self.combo.setCurrentIndex(max(index, 0))


class NumberEditor(Editor):
    """A whole number within the field's limits (the spin box cannot leave them).

    One step below the minimum reads "—" and means no value, so an empty field stays
    empty instead of silently becoming the minimum.
    """

    def __init__(self, minimum: int, maximum: int, suffix: str = "") -> None:
        self.spin = QSpinBox()
        self.spin.setRange(minimum - 1, maximum)
        self.spin.setSpecialValueText("—")
        self.spin.setSuffix(suffix)
        super().__init__(self.spin)
        self.spin.valueChanged.connect(self._user_edited)

    def value(self) -> Any:
        number = self.spin.value()
        return None if number == self.spin.minimum() else number

    def _show(self, value: Any) -> None:
        self.spin.setValue(int(value) if isinstance(value, int) else self.spin.minimum())


class BranchEditor(Editor):
    """A branch, picked from the branches this cache knows of.

    Args:
        branches: (id, label) of the known branches, asked again for every record shown
            (the directory may have named more since the form was made).
    """

    def __init__(self, branches: Callable[[], Sequence[tuple[str, str]]], allow_none: bool = True) -> None:
        self.combo = QComboBox()
        self._branches = branches
        self._allow_none = allow_none
        super().__init__(self.combo)
        self._fill()
        self.combo.activated.connect(self._user_edited)

    def _fill(self) -> None:
        self.combo.clear()
        if self._allow_none:
            self.combo.addItem("(none)", None)
        for branch_id, label in self._branches():
            self.combo.addItem(label, branch_id)

    def value(self) -> Any:
        return self.combo.currentData()

    def _show(self, value: Any) -> None:
        self._fill()
        index = self.combo.findData(value)
        if index < 0 and value is not None:
            self.combo.addItem(f"branch {str(value)[:8]}", value)
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(max(index, 0))


def next_quarter_hour(now: datetime) -> datetime:
    """The next whole quarter hour after ``now`` (where a new appointment starts)."""
    rounded = now.replace(second=0, microsecond=0)
    return rounded + timedelta(minutes=15 - rounded.minute % 15)


class WhenEditor(Editor):
    """A date and a time of day in the branch's zone; the value is ISO 8601 with its offset.

    Args:
        zone: the branch's zone, asked at each use (the directory may set it meanwhile).
    """

    def __init__(self, zone: Callable[[], Zone]) -> None:
        self._zone_of = zone
        box = QWidget()
        self.date = QDateEdit()
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("ddd d MMM yyyy")
        self.time = QTimeEdit()
        self.time.setDisplayFormat("HH:mm")
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.date, 2)
        layout.addWidget(self.time, 1)
        box.setFocusProxy(self.date)
        super().__init__(box)
        self.date.dateChanged.connect(self._user_edited)
        self.time.timeChanged.connect(self._user_edited)

    def value(self) -> Any:
        day, clock = self.date.date(), self.time.time()
        return from_local(
            date(day.year(), day.month(), day.day()), time(clock.hour(), clock.minute()), self._zone_of()
        )

    def _show(self, value: Any) -> None:
        zone = self._zone_of()
        moment = to_local(str(value), zone) if value else next_quarter_hour(datetime.now().astimezone(zone))
        self.date.setDate(QDate(moment.year, moment.month, moment.day))
        self.time.setTime(QTime(moment.hour, moment.minute))

    def show_day(self, day: date | None = None) -> None:
        """Move to ``day`` (default today in the zone), keeping the time."""
        chosen = day or today(self._zone_of())
        self.set_value(None)
        self.date.setDate(QDate(chosen.year, chosen.month, chosen.day))
