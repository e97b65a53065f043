"""The window's defaults: appointments of this branch today, filters, remembered geometry, and
the names and zone the branch directory gives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDate
from pytestqt.qtbot import QtBot

from desktop.cache import Cache
from desktop.sync.status import StatusSnapshot
from desktop.ui.appointment_filters import ALL_BRANCHES
from desktop.ui.bridge import EngineBridge
from desktop.ui.forms.editors import WhenEditor
from desktop.ui.main_window import MainWindow
from desktop.ui.session import Session
from desktop.ui.timefmt import format_when, today
from protocol.messages import BranchInfo, DeviceInfo, DirectoryResponse
from tests.support.seeding import seed_clients, seed_rows

NORTH, SOUTH = str(uuid.uuid4()), str(uuid.uuid4())
ZONE = "Asia/Kathmandu"
"""UTC+5:45 all year: no PC running these tests shows the same wall times."""


def _noon(days: int) -> str:
    return datetime.combine(today(None) + timedelta(days=days), time(12, 0)).astimezone().isoformat()


def _directory(north_zone: str | None = None) -> DirectoryResponse:
    return DirectoryResponse(
        branches=[
            BranchInfo(id=NORTH, name="North", timezone=north_zone),
            BranchInfo(id=SOUTH, name="South", timezone="America/Argentina/Buenos_Aires"),
        ],
        devices=[DeviceInfo(id="pc-2", name="South reception", branch_id=SOUTH)],
    )


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
    cache.replace_directory(_directory())
    session = Session(cache)
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


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def test_a_new_directory_names_the_branches_and_sets_the_zone_of_an_open_window(
    cache: Cache, qtbot: QtBot
) -> None:
    cache.set_enrollment(
        device_id="pc-1", branch_id=NORTH, branch_name="North", server_url="http://s.invalid"
    )
    (client,) = seed_clients(cache, 1)
    starts_at = _noon(0)
    appointment, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    rows = [
        (appointment, {"client_id": client, "branch_id": NORTH, "starts_at": starts_at, "service": "Cut"}),
        (theirs, {"client_id": client, "branch_id": SOUTH, "starts_at": starts_at, "service": "Dye"}),
    ]
    seed_rows(cache, "appointments", rows, first_seq=10)
    session, bridge = Session(cache), EngineBridge()
    window = MainWindow(session, bridge, settings_key="directory")
    qtbot.addWidget(window)
    window.show()
    filters = window.filters
    assert _choices(window) == ["All branches", "North (this branch)", f"branch {SOUTH[:8]}"]
    assert session.zone is None  # enrolled before IT set one: this PC's own zone

    cache.replace_directory(_directory(north_zone=ZONE))
    bridge.on_status(StatusSnapshot(directory_updates=1))  # what the engine reports after storing it
    qtbot.waitUntil(lambda: "South" in _choices(window))

    assert _choices(window) == ["All branches", "North (this branch)", "South"]
    assert session.zone == ZoneInfo(ZONE)
    filters.branch.setCurrentIndex(filters.branch.findData(ALL_BRANCHES))
    near = today(ZoneInfo(ZONE))  # a wide range: "today" there need not be today here
    filters.first.setDate(_qdate(near - timedelta(days=2)))
    filters.last.setDate(_qdate(near + timedelta(days=2)))
    page = window.appointments
    row = page.model.row_of(theirs)
    assert row is not None
    assert page.model.index(row, 0).data() == format_when(starts_at, ZoneInfo(ZONE))
    assert page.model.index(row, 5).data() == "South"
    there = datetime.fromisoformat(starts_at).astimezone(ZoneInfo(ZONE))
    page.select_id(appointment)
    when = page.form.fields["starts_at"].editor
    assert isinstance(when, WhenEditor)
    assert (when.time.time().hour(), when.time.time().minute()) == (there.hour, there.minute)
    assert when.value() == there.isoformat()  # what the form saves: the zone's wall time and offset
    window.close()
    session.close()


def _choices(window: MainWindow) -> list[str]:
    combo = window.filters.branch
    return [combo.itemText(index) for index in range(combo.count())]
