"""One tab of the window: a search box, the list, and the form of the chosen row beside it.

Keyboard first: typing in the search box filters at once, Down moves into the list,
Enter opens the row in the form, Esc leaves the form. A live refresh keeps the row at
the top of the view where it was (unless the view was at the very top, where new
rows should show), and the selection follows its row through the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QItemSelection, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.cache.listing import ListQuery
from desktop.ui.forms.record_form import RecordForm
from desktop.ui.models.columns import COLUMNS
from desktop.ui.models.record_model import ID_ROLE, RecordTableModel
from desktop.ui.session import Session
from protocol.collections import Collection

__all__ = ["ListPage"]

MIN_COLUMN = 70
MAX_COLUMN = 260
LIST_SHARE = 0.62
"""The list's part of the width when the window first opens."""


class _SearchBox(QLineEdit):
    """A search field whose Down key moves into the list."""

    down = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Down:
            self.down.emit()
            return
        super().keyPressEvent(event)


class ListPage(QWidget):
    """A list of one collection with search, optional filters and an edit form.

    Signals:
        record_saved(str): a record was saved from this page's form.
    """

    record_saved = Signal(str)

    def __init__(
        self,
        session: Session,
        collection: Collection,
        form: RecordForm,
        *,
        plural: str,
        defaults: Callable[[], dict[str, Any]] = dict,
        query: ListQuery | None = None,
        filters: QWidget | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.collection = collection
        self.form = form
        self._plural = plural
        self._defaults = defaults
        self.model = RecordTableModel(
            session.reader,
            COLUMNS[collection.name],
            query or ListQuery(collection),
            context=session.context,
            counter=session.counter,
            parent=self,
        )
        self._anchor: tuple[str | None, bool] = (None, True)
        self._build(filters)
        self.model.total_changed.connect(self._show_total)
        self.model.about_to_refresh.connect(self._remember_viewport)
        self.model.refreshed.connect(self._restore_viewport)
        self._show_total(self.model.total)

    def _build(self, filters: QWidget | None) -> None:
        self.search = _SearchBox()
        self.search.setPlaceholderText(f"Search {self._plural} (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.model.set_search)
        self.search.down.connect(self._into_list)
        self.total_label = QLabel()
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        if filters is not None:
            top.addWidget(filters)
        top.addWidget(self.total_label)

        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        section, order = self.model.sort_section()
        self.view.horizontalHeader().setSortIndicator(section, order)
        self.view.setSortingEnabled(True)  # sorts by the indicator at once: set it first
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        rows = self.view.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.view.fontMetrics().height() + 10)
        self.fit_columns()
        self.view.activated.connect(lambda index: self.open_row(index.row(), focus=True))
        self.view.clicked.connect(self._show_row)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.view.installEventFilter(self)

        self.placeholder = QLabel(f"Choose a row, or press Ctrl+N for a new {self.form.noun}.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.side = QStackedWidget()
        self.side.addWidget(self.placeholder)
        self.side.addWidget(self.form)
        self.form.saved.connect(self._saved)
        self.form.deleted.connect(self._deleted)
        self.form.closed.connect(self.close_form)

        splitter = QSplitter()
        splitter.addWidget(self.view)
        splitter.addWidget(self.side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        self._splitter_placed = False
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.setFocusProxy(self.search)

    def fit_columns(self) -> None:
        """Size the columns to the loaded rows, within reason (a long note must not push the rest away)."""
        self._fitted_to_rows = self.model.rowCount() > 0
        self.view.resizeColumnsToContents()
        header = self.view.horizontalHeader()
        for column in range(self.model.columnCount()):
            header.resizeSection(column, min(max(header.sectionSize(column), MIN_COLUMN), MAX_COLUMN))

    def restore_splitter(self, state: QByteArray) -> None:
        """Put the list/form divider where the user left it."""
        self._splitter_placed = self.splitter.restoreState(state)

    def showEvent(self, event: QShowEvent) -> None:
        """The first time: the list gets most of the width (it has the most to show)."""
        super().showEvent(event)
        if not self._splitter_placed:
            self._splitter_placed = True
            width = max(self.splitter.width(), 800)
            self.splitter.setSizes([int(width * LIST_SHARE), int(width * (1 - LIST_SHARE))])

    # ---- keyboard ------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Esc in the list goes back to the search box."""
        if watched is self.view and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Escape:
                self.focus_search()
                return True
        return super().eventFilter(watched, event)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _into_list(self) -> None:
        if self.model.rowCount() == 0:
            return
        self.view.setFocus(Qt.FocusReason.TabFocusReason)
        if not self.view.selectionModel().hasSelection():
            self.view.selectRow(0)

    # ---- the form ------------------------------------------------------------------

    def new_record(self) -> None:
        """Ctrl+N: an empty form with this page's defaults."""
        self.view.clearSelection()
        self.form.open_new(self._defaults())
        self.side.setCurrentWidget(self.form)

    def open_row(self, row: int, *, focus: bool = False) -> None:
        row_id = self.model.row_id(row)
        if row_id is None:
            return
        if self.form.open_record(row_id):
            self.side.setCurrentWidget(self.form)
            if not focus:
                self.view.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.refresh()

    def close_form(self) -> None:
        self.side.setCurrentWidget(self.placeholder)
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _selection_changed(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if indexes:
            self._show_row(indexes[0])

    def _show_row(self, index: QModelIndex) -> None:
        """Show ``index``'s row in the form, unless the form holds unsaved edits or shows it.

        Also on a click of the row already selected: after edits kept the form on another
        row and were cancelled, that click is the only thing the user does, and it must open
        the row (it opened nothing).
        """
        showing = self.side.currentWidget() is self.form
        if showing and self.form.dirty:
            return
        if not showing or index.data(ID_ROLE) != self.form.record_id:
            self.open_row(index.row())

    def _saved(self, row_id: str) -> None:
        """Show the saved row in the list at once, selected."""
        self.refresh()
        self.select_id(row_id)
        self.session.watcher.poke()
        self.record_saved.emit(row_id)

    def _deleted(self, row_id: str) -> None:
        self.close_form()
        self.refresh()
        self.session.watcher.poke()

    def select_id(self, row_id: str) -> bool:
        """Select the row showing ``row_id`` when it is loaded."""
        row = self.model.row_of(row_id)
        if row is None:
            return False
        self.view.selectRow(row)
        self.view.scrollTo(self.model.index(row, 0))
        return True

    # ---- live updates ----------------------------------------------------------------

    def refresh(self) -> None:
        """The cache changed: refresh the list in place and tell the form."""
        self.model.refresh()
        if not self._fitted_to_rows:  # the first rows arrived (a first sync): fit them once
            self.fit_columns()
        if self.side.currentWidget() is self.form:
            self.form.reload()

    def _remember_viewport(self) -> None:
        top = self.view.rowAt(0)
        self._anchor = (
            self.model.row_id(top) if top >= 0 else None,
            self.view.verticalScrollBar().value() == 0,
        )

    def _restore_viewport(self) -> None:
        row_id, at_top = self._anchor
        if at_top or row_id is None:
            return
        row = self.model.row_of(row_id)
        if row is not None:
            self.view.verticalScrollBar().setValue(row)

    def _show_total(self, total: int) -> None:
        self.total_label.setText("counting…" if total < 0 else f"{total:,} {self._plural}")
