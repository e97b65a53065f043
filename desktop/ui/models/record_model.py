"""``RecordTableModel``: one collection's list, loaded a page at a time, refreshed in place.

The view asks for more rows as it scrolls (``canFetchMore``/``fetchMore``), so a list
of 100 000 rows opens with one 200-row query. A new search, filter or sort starts over
from the top; a live refresh (a change arrived from another branch) re-reads the rows
already loaded and tells the view exactly what moved, left, arrived or changed, so the
selection (held in persistent indexes) follows its row and nothing else flickers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    Qt,
    Signal,
)

from desktop.cache.listing import Filters, ListQuery
from desktop.cache.reader import PageRow, Reader
from desktop.ui.models.columns import Column, DisplayContext
from desktop.ui.models.counting import Counter
from desktop.ui.models.flat_model import AnyIndex, FlatTableModel

__all__ = ["ID_ROLE", "PAGE_SIZE", "RecordTableModel"]

PAGE_SIZE = 200
ID_ROLE = Qt.ItemDataRole.UserRole + 1
"""``data(index, ID_ROLE)`` is the row's id."""


@dataclass(frozen=True, slots=True)
class _Item:
    row: PageRow
    display: tuple[str, ...]


def _runs(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted indexes -> inclusive (first, last) runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for index in indexes:
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


class RecordTableModel(FlatTableModel):
    """Rows of one collection for a ``QTableView``.

    Signals:
        total_changed(int): how many rows the whole list has; -1 while it is being counted.
        about_to_refresh(): a live refresh is about to change rows (views note what is on screen).
        refreshed(): the live refresh is done.
    """

    total_changed = Signal(int)
    about_to_refresh = Signal()
    refreshed = Signal()

    def __init__(
        self,
        reader: Reader,
        columns: Sequence[Column],
        query: ListQuery,
        *,
        context: DisplayContext | None = None,
        counter: Counter | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._reader = reader
        self._columns = tuple(columns)
        self._query = query
        self._context = context or DisplayContext()
        self._counter = counter
        self._items: list[_Item] = []
        self._exhausted = False
        self._total = -1
        self._load_first()

    # ---- what is listed -----------------------------------------------------------

    @property
    def query(self) -> ListQuery:
        return self._query

    @property
    def total(self) -> int:
        """Rows in the whole list (-1 until counted)."""
        return self._total

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def set_query(self, query: ListQuery) -> None:
        """Show ``query`` from the top (a new search, filter or order)."""
        if query == self._query:
            return
        self._query = query
        self.beginResetModel()
        self._load_first()
        self.endResetModel()

    def set_search(self, text: str) -> None:
        self.set_query(replace(self._query, search=text))

    def set_filters(self, filters: Filters) -> None:
        self.set_query(replace(self._query, filters=filters))

    def set_context(self, context: DisplayContext) -> None:
        """Render every row again (a branch name became known, the zone changed)."""
        self._context = context
        self._items = [self._item(item.row) for item in self._items]
        if self._items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._items) - 1, len(self._columns) - 1))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._columns):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        self.set_query(replace(self._query, sort=self._columns[column].key, descending=descending))

    def sort_section(self) -> tuple[int, Qt.SortOrder]:
        """The header section and order the list is sorted by (for the header's indicator)."""
        key = self._query.sort
        section = next((i for i, c in enumerate(self._columns) if c.key == key), 0) if key else 0
        order = Qt.SortOrder.DescendingOrder if self._query.descending else Qt.SortOrder.AscendingOrder
        return section, order

    # ---- rows ---------------------------------------------------------------------

    def row_id(self, row: int) -> str | None:
        return self._items[row].row.id if 0 <= row < len(self._items) else None

    def row_of(self, row_id: str) -> int | None:
        """The row showing ``row_id``, when it is loaded."""
        for number, item in enumerate(self._items):
            if item.row.id == row_id:
                return number
        return None

    def record_values(self, row: int) -> dict[str, Any]:
        """The stored values of a loaded row, by column name."""
        return dict(self._items[row].row.values)

    def _item(self, row: PageRow) -> _Item:
        context = self._context
        return _Item(row, tuple(c.render(row.values.get(c.key), context) for c in self._columns))

    def _load_first(self) -> None:
        rows = self._reader.page(self._query, PAGE_SIZE)
        self._items = [self._item(row) for row in rows]
        self._exhausted = len(rows) < PAGE_SIZE
        self._count()

    def _count(self) -> None:
        if self._exhausted:
            self._set_total(len(self._items))
        elif self._counter is not None:
            self._set_total(-1)
            self._counter.count(self, self._query, self._set_total)

    def _set_total(self, total: int) -> None:
        if total != self._total:
            self._total = total
            self.total_changed.emit(total)

    # ---- QAbstractTableModel --------------------------------------------------------

    def _row_total(self) -> int:
        return len(self._items)

    def _titles(self) -> Sequence[str]:
        return [column.title for column in self._columns]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return item.display[index.column()]
        if role == ID_ROLE:
            return item.row.id
        if role == Qt.ItemDataRole.ToolTipRole:
            value = item.row.values.get(self._columns[index.column()].key)
            text = item.display[index.column()]
            return str(value) if isinstance(value, str) and value != text else None
        if role == Qt.ItemDataRole.TextAlignmentRole and self._columns[index.column()].numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted:
            return
        after = self._items[-1].row.position if self._items else None
        rows = self._reader.page(self._query, PAGE_SIZE, after)
        self._exhausted = len(rows) < PAGE_SIZE
        if rows:
            first = len(self._items)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._items.extend(self._item(row) for row in rows)
            self.endInsertRows()
        if self._exhausted:
            self._set_total(len(self._items))

    # ---- live refresh ---------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the loaded rows after the cache changed, keeping selection and scroll.

        Reads as many rows as are loaded (at least a page) from the top: rows that
        arrived above push the last one out (it comes back with the next
        ``fetchMore``), rows that left pull the next one in. A list loaded to its end
        reads a page more, so rows arriving at its end show at once.
        """
        limit = max(len(self._items), PAGE_SIZE) + (PAGE_SIZE if self._exhausted else 0)
        fresh = [self._item(row) for row in self._reader.page(self._query, limit)]
        self.about_to_refresh.emit()
        self._remove_missing({item.row.id for item in fresh})
        self._reorder([item.row.id for item in fresh])
        self._insert_new(fresh)
        self._update_changed(fresh)
        self._exhausted = len(fresh) < limit
        self._count()
        self.refreshed.emit()

    def _remove_missing(self, keep: set[str]) -> None:
        gone = [number for number, item in enumerate(self._items) if item.row.id not in keep]
        for first, last in reversed(_runs(gone)):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._items[first : last + 1]
            self.endRemoveRows()

    def _reorder(self, order: list[str]) -> None:
        """Put the rows still listed into ``order`` (ids not loaded are skipped)."""
        current = [item.row.id for item in self._items]
        present = set(current)
        wanted = [row_id for row_id in order if row_id in present]
        if wanted == current:
            return
        self.layoutAboutToBeChanged.emit()
        by_id = {item.row.id: item for item in self._items}
        new_row = {row_id: number for number, row_id in enumerate(wanted)}
        old = self.persistentIndexList()
        moved = [self.index(new_row[current[index.row()]], index.column()) for index in old]
        self._items = [by_id[row_id] for row_id in wanted]
        self.changePersistentIndexList(old, moved)
        self.layoutChanged.emit()

    def _insert_new(self, fresh: list[_Item]) -> None:
        present = {item.row.id for item in self._items}
        arriving = [number for number, item in enumerate(fresh) if item.row.id not in present]
        for first, last in _runs(arriving):
            self.beginInsertRows(QModelIndex(), first, last)
            self._items[first:first] = fresh[first : last + 1]
            self.endInsertRows()

    def _update_changed(self, fresh: list[_Item]) -> None:
        changed = [number for number, item in enumerate(fresh) if item != self._items[number]]
        self._items = fresh
        last_column = len(self._columns) - 1
        for first, last in _runs(changed):
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_column))
