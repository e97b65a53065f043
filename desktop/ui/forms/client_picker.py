"""Choosing an appointment's client by typing part of a name, phone, email or note.

Each keystroke runs the clients list's own search (FTS5, first 20 matches) and shows
the matches in a popup; picking one sets the client. Typing again after a pick
clears the choice, so what the field shows is always what will be saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCompleter, QLineEdit

from desktop.cache.listing import ListQuery
from desktop.cache.reader import Reader
from desktop.ui.forms.editors import Editor
from protocol.collections import CLIENTS

__all__ = ["ClientPicker"]

MATCHES = 20


def client_label(values: dict[str, Any]) -> str:
    """``Name — phone`` (or email): enough to tell two clients of the same name apart."""
    name = values.get("name") or "(no name)"
    detail = values.get("phone") or values.get("email")
    return f"{name} — {detail}" if detail else str(name)


class ClientPicker(Editor):
    """A line edit with a popup of matching clients; the value is the chosen client's id."""

    def __init__(self, reader: Reader, label_of: Callable[[str], str | None]) -> None:
        line = QLineEdit()
        super().__init__(line)
        self.line = line
        self.line.setPlaceholderText("Type a client's name, phone or email")
        self._reader = reader
        self._label_of = label_of
        self._chosen: str | None = None
        self.matches = QStandardItemModel(self)
        self.completer = QCompleter(self.matches, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setWidget(self.line)
        # the QModelIndex overload (the default one carries only the text): stubs lack the index
        cast(Any, self.completer.activated)[QModelIndex].connect(self._picked)
        self.line.textEdited.connect(self._typed)

    def value(self) -> Any:
        return self._chosen

    def _show(self, value: Any) -> None:
        self._chosen = value
        label = self._label_of(value) if value else None
        self.line.setText(label or ("" if not value else f"client {str(value)[:8]} (not in this cache)"))

    def _typed(self, text: str) -> None:
        self._chosen = None
        self._user_edited()
        self.matches.clear()
        if not text.strip():
            self._hide_popup()
            return
        for row in self._reader.page(ListQuery(CLIENTS, text), MATCHES):
            item = QStandardItem(client_label(row.values))
            item.setData(row.id, Qt.ItemDataRole.UserRole)
            self.matches.appendRow(item)
        if self.matches.rowCount():
            self.completer.complete()
        else:
            self._hide_popup()

    def _hide_popup(self) -> None:
        popup = self.completer.popup()
        if popup is not None:
            popup.hide()

    def _picked(self, index: QModelIndex | QPersistentModelIndex) -> None:
        self._chosen = index.data(Qt.ItemDataRole.UserRole)
        self.line.setText(index.data(Qt.ItemDataRole.DisplayRole))
        self._user_edited()
