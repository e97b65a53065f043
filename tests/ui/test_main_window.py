"""The window's defaults: appointments of this branch today, filters, remembered geometry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
from PySide6.QtCore import QDate
from pytestqt.qtbot import QtBot

from desktop.cache import Cache
from desktop.ui.appointment_filters import ALL_BRANCHES
from desktop.ui.bridge import EngineBridge
from desktop.ui.main_window import MainWindow
from desktop.ui.session import Session
from desktop.ui.timefmt import today
from tests.ui.helpers import seed_clients, seed_rows

NORTH, SOUTH = str(uuid.uuid4()), str(uuid.uuid4())


def _noon(days: int) -> str:
    return datetime.combine(today(None) + timedelta(days=days), time(12, 0)).astimezone().isoformat()


@pytest.fixture
def north_window(cache: Cache, qtbot: QtBot) -> Iterator[MainWindow]:
    cache.set_enrollment(
        device_id="pc-1", branch_id=NORTH, branch_name="North", server_url="http://sync.invalid"
    )
    (client,) = seed_clients(cache, 1)
    rows = [
        (
            str(uuid.uuid4()),
            {"client_id": client, "branch_id": branch, "starts_at": _noon(days), "service": service},
        )
        for branch, days, service in (
            (NORTH, 0, "Here today"),
            (SOUTH, 0, "There today"),
            (NORTH, 1, "Here tomorrow"),
        )
    ]
    seed_rows(cache, "appointments", rows, first_seq=10)
    session = Session(cache, branch_names={SOUTH: "South"})
    window = MainWindow(session, EngineBridge(), settings_key="filters")
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()
    session.close()


def _services(window: MainWindow) -> list[str]:
    model = window.appointments.model
    return sorted(model.index(row, 2).data() for row in range(model.rowCount()))


def test_appointments_open_on_this_branch_today(north_window: MainWindow) -> None:
    assert north_window.windowTitle() == "Branchsync — North"
    assert north_window.filters.branch.currentText() == "North (this branch)"
    assert _services(north_window) == ["Here today"]


def test_the_filters_widen_to_all_branches_and_more_days(north_window: MainWindow) -> None:
    filters = north_window.filters
    filters.branch.setCurrentIndex(filters.branch.findData(ALL_BRANCHES))
    assert _services(north_window) == ["Here today", "There today"]
    tomorrow = today(None) + timedelta(days=1)
    filters.last.setDate(QDate(tomorrow.year, tomorrow.month, tomorrow.day))
    assert _services(north_window) == ["Here today", "Here tomorrow", "There today"]
    assert north_window.appointments.model.index(0, 5).data() in ("North", "South")
    filters.show_today()
    assert _services(north_window) == ["Here today", "There today"]


def test_the_window_comes_back_with_its_size(session: Session, qtbot: QtBot) -> None:
    first = MainWindow(session, EngineBridge(), settings_key="size")
    qtbot.addWidget(first)
    first.show()
    first.resize(701, 503)  # within the off-screen 800x600 screen
    first.close()
    again = MainWindow(session, EngineBridge(), settings_key="size")
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (701, 503)
