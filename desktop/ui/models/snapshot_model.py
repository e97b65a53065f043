"""A small read-only table model over a list of values, re-read whole on refresh.

For the short lists (conflicts, pending and refused changes): each refresh replaces
the rows, keyed by an id so the selection survives when the same items come back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QModelIndex, QObject, Qt

from desktop.ui.models.flat_model import AnyIndex, FlatTableModel

__all__ = ["SnapshotColumn", "SnapshotModel"]

T = TypeVar("T")


@dataclass(frozen=True)
class SnapshotColumn(Generic[T]):
    title: str
    text: Callable[[T], str]


class SnapshotModel(FlatTableModel, Generic[T]):
    """Rows of ``T`` shown through ``columns``; ``key`` identifies an item across refreshes."""

    def __init__(
        self,
        columns: Sequence[SnapshotColumn[T]],
        key: Callable[[T], Any],
        load: Callable[[], Sequence[T]],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._columns = tuple(columns)
        self._key = key
        self._load = load
        self._items: list[T] = []
        self._texts: list[tuple[str, ...]] = []

    def refresh(self) -> None:
        """Load the items again; persistent indexes (the selection) follow their item."""
        items = list(self._load())
        self.layoutAboutToBeChanged.emit()
        old_keys = [self._key(item) for item in self._items]
        new_rows = {self._key(item): number for number, item in enumerate(items)}
        old = self.persistentIndexList()
        moved = []
        for index in old:
            row = new_rows.get(old_keys[index.row()]) if index.row() < len(old_keys) else None
            moved.append(QModelIndex() if row is None else self.createIndex(row, index.column()))
        self._items = items
        self._texts = [tuple(column.text(item) for column in self._columns) for item in items]
        self.changePersistentIndexList(old, moved)
        self.layoutChanged.emit()

    def _row_total(self) -> int:
        return len(self._items)

    def _titles(self) -> Sequence[str]:
        return [column.title for column in self._columns]

    def item(self, row: int) -> T | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._texts[index.row()][index.column()]
        return None
