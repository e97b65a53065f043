"""``RecordTableModel`` over a real cache: lazy pages, counts, and live refreshes that keep the selection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QTableView
from pytestqt.qtbot import QtBot

from desktop.cache import Cache
from desktop.cache.listing import ListQuery
from desktop.ui.models.columns import COLUMNS
from desktop.ui.models.record_model import ID_ROLE, PAGE_SIZE, RecordTableModel
from desktop.ui.session import Session
from protocol.collections import CLIENTS
from tests.support.seeding import seed_clients, seed_rows
from tests.ui.helpers import column_texts, ids_of


def _model(session: Session) -> RecordTableModel:
    return RecordTableModel(session.reader, COLUMNS["clients"], ListQuery(CLIENTS), counter=session.counter)


def test_rows_load_a_page_at_a_time_and_the_total_is_counted(
    cache: Cache, session: Session, qtbot: QtBot, qtmodeltester: object
) -> None:
    seed_clients(cache, 2 * PAGE_SIZE + 50)
    model = _model(session)
    assert model.rowCount() == PAGE_SIZE
    assert model.canFetchMore(QModelIndex())
    qtbot.waitUntil(lambda: model.total == 2 * PAGE_SIZE + 50)
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * PAGE_SIZE + 50
    assert not model.canFetchMore(QModelIndex())
    names = column_texts(model)
    assert len(set(ids_of(model, ID_ROLE))) == len(names)
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_sorting_by_a_header_lists_from_the_top_again(cache: Cache, session: Session) -> None:
    seed_clients(cache, 30)
    model = _model(session)
    model.sort(1, Qt.SortOrder.DescendingOrder)
    assert model.query.sort == "phone" and model.query.descending
    phones = column_texts(model, 1)
    assert phones == sorted(phones, reverse=True)
    assert model.sort_section() == (1, Qt.SortOrder.DescendingOrder)


class _Watch:
    """Which signals a refresh sent."""

    def __init__(self, model: RecordTableModel) -> None:
        self.changed_rows: list[tuple[int, int]] = []
        self.inserted: list[tuple[int, int]] = []
        self.removed: list[tuple[int, int]] = []
        self.resets = 0
        model.dataChanged.connect(
            lambda top, bottom, roles=(): self.changed_rows.append((top.row(), bottom.row()))
        )
        model.rowsInserted.connect(lambda parent, first, last: self.inserted.append((first, last)))
        model.rowsRemoved.connect(lambda parent, first, last: self.removed.append((first, last)))
        model.modelReset.connect(lambda: setattr(self, "resets", self.resets + 1))


@pytest.fixture
def listed(
    cache: Cache, session: Session, qtbot: QtBot
) -> Iterator[tuple[RecordTableModel, QTableView, list[str]]]:
    ids = seed_clients(cache, 40)
    model = _model(session)
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    qtbot.addWidget(view)
    yield model, view, ids


def _selected_id(view: QTableView) -> str:
    (index,) = view.selectionModel().selectedRows()
    return str(index.data(ID_ROLE))


def test_an_edit_elsewhere_repaints_only_its_row(
    cache: Cache, listed: tuple[RecordTableModel, QTableView, list[str]]
) -> None:
    model, view, _ = listed
    view.selectRow(10)
    chosen = _selected_id(view)
    watch = _Watch(model)
    cache.update("clients", chosen, {"phone": "+44 1632 960000"})
    model.refresh()
    assert watch.changed_rows == [(10, 10)]
    assert (watch.inserted, watch.removed, watch.resets) == ([], [], 0)
    assert model.index(10, 1).data() == "+44 1632 960000"
    assert _selected_id(view) == chosen


def test_rows_arriving_above_and_leaving_keep_the_selection_on_its_row(
    cache: Cache, listed: tuple[RecordTableModel, QTableView, list[str]], qtmodeltester: object
) -> None:
    model, view, _ = listed
    view.selectRow(20)
    chosen = _selected_id(view)
    watch = _Watch(model)
    arrivals = [(str(uuid.uuid4()), {"name": f"Aaron Aardvark {n}"}) for n in range(3)]
    seed_rows(cache, "clients", arrivals, first_seq=1000)
    leaving = str(model.index(0, 0).data(ID_ROLE))
    cache.delete("clients", leaving)
    model.refresh()
    assert watch.resets == 0
    assert watch.inserted == [(0, 2)]
    assert _selected_id(view) == chosen
    assert view.selectionModel().selectedRows()[0].row() == 22  # three above, one gone above
    assert leaving not in ids_of(model, ID_ROLE)
    assert model.rowCount() == 42
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_a_renamed_row_moves_and_the_selection_moves_with_it(
    cache: Cache, listed: tuple[RecordTableModel, QTableView, list[str]]
) -> None:
    model, view, _ = listed
    view.selectRow(5)
    chosen = _selected_id(view)
    cache.update("clients", chosen, {"name": "Ωmega Last"})  # sorts last (see below)
    model.refresh()
    assert _selected_id(view) == chosen
    assert view.selectionModel().selectedRows()[0].row() == model.rowCount() - 1
    assert model.row_of(chosen) == model.rowCount() - 1


def test_a_refresh_keeps_the_loaded_window_and_shows_arrivals_at_the_end_of_a_full_list(
    cache: Cache, session: Session
) -> None:
    seed_clients(cache, PAGE_SIZE + 20)
    model = _model(session)
    seed_rows(cache, "clients", [(str(uuid.uuid4()), {"name": "Aaa First"})], first_seq=5000)
    model.refresh()
    assert model.rowCount() == PAGE_SIZE  # the row pushed out comes back with the next page
    assert model.index(0, 0).data() == "Aaa First"
    model.fetchMore(QModelIndex())
    assert model.rowCount() == PAGE_SIZE + 21
    assert not model.canFetchMore(QModelIndex())
    last = "Ωmega Last"  # after every sample name: NOCASE compares the UTF-8 bytes beyond ASCII
    seed_rows(cache, "clients", [(str(uuid.uuid4()), {"name": last})], first_seq=6000)
    model.refresh()
    assert model.rowCount() == PAGE_SIZE + 22
    assert model.index(model.rowCount() - 1, 0).data() == last
