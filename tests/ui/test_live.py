"""The window against a real engine and a real server: live updates, status states, conflicts.

Each branch PC reaches the server through its own link relay, so one branch can go
offline while the other keeps working, exactly as in a real outage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from desktop.demo.link_proxy import LinkProxy
from desktop.demo.sample_data import sample_clients
from desktop.sync.status import EngineState
from desktop.ui.app import BranchWindow
from desktop.ui.forms.editors import WhenEditor
from desktop.ui.models.record_model import ID_ROLE
from desktop.ui.status_bar import Tone
from tests.support.desktop_engine import Installation
from tests.support.devices import set_branch_zones

SYNC_MS = 20_000
ZONE = "Asia/Kathmandu"
"""UTC+5:45 all year: unlike any PC these tests run on."""


def _create_clients(pc: Installation, count: int) -> list[str]:
    with pc.cache.batch() as writer:
        return [writer.create("clients", fields) for fields in sample_clients(count, seed=11)]


def _activate(branch: BranchWindow, qtbot: QtBot) -> None:
    """Make the window the active one, as a click on it would (keyboard shortcuts go there)."""
    branch.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is branch.window)


def _online_and_idle(branch: BranchWindow) -> bool:
    status = branch.bridge.status
    return status.state is EngineState.ONLINE and status.pending == 0


def test_a_change_from_another_branch_appears_without_moving_selection_or_scroll(
    pcs: dict[str, Installation], open_window: Callable[[Installation], BranchWindow], qtbot: QtBot
) -> None:
    _create_clients(pcs["North"], 120)
    north, south = open_window(pcs["North"]), open_window(pcs["South"])
    page = south.window.clients
    qtbot.waitUntil(lambda: page.model.rowCount() == 120, timeout=SYNC_MS)
    qtbot.waitUntil(lambda: _online_and_idle(north) and _online_and_idle(south), timeout=SYNC_MS)
    page.view.verticalScrollBar().setValue(40)
    page.view.selectRow(45)
    chosen = page.model.row_id(45)
    top = page.model.row_id(page.view.rowAt(0))
    renamed = page.model.row_id(50)
    assert chosen and top and renamed

    north.window.clients.select_id(renamed)
    north_form = north.window.clients.form
    name = north_form.fields["name"].editor.widget
    assert isinstance(name, QLineEdit)
    name.setText("")
    QTest.keyClicks(name, "Aaron Arrived")  # sorts above everything in South's viewport
    north_form.save()
    qtbot.waitUntil(lambda: page.model.index(0, 0).data() == "Aaron Arrived", timeout=SYNC_MS)

    (selected,) = page.view.selectionModel().selectedRows()
    assert selected.data(ID_ROLE) == chosen
    assert page.model.row_id(page.view.rowAt(0)) == top
    assert page.model.row_of(renamed) == 0


def test_the_status_bar_goes_offline_counts_waiting_changes_and_comes_back(
    pcs: dict[str, Installation],
    links: dict[str, LinkProxy],
    open_window: Callable[[Installation], BranchWindow],
    qtbot: QtBot,
) -> None:
    south = open_window(pcs["South"])
    button = south.window.status_button
    qtbot.waitUntil(lambda: button.view.text.startswith("Online"), timeout=SYNC_MS)
    assert button.view.tone is Tone.NORMAL
    links["South"].cut()
    qtbot.waitUntil(lambda: button.view.tone is Tone.WARNING, timeout=SYNC_MS)
    assert button.view.text.startswith("Offline")

    _activate(south, qtbot)
    south.window.new_record()
    form = south.window.clients.form
    QTest.keyClicks(form.fields["name"].editor.widget, "Written Offline")
    QTest.keyClick(form.fields["name"].editor.widget, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "1 change waiting" in button.view.text, timeout=SYNC_MS)
    assert south.window.clients.model.index(0, 0).data() == "Written Offline"

    links["South"].restore()
    qtbot.waitUntil(lambda: button.view.text.startswith("Online · all changes sent"), timeout=SYNC_MS)
    assert pcs["South"].cache.counts().pending == 0


def test_other_branches_show_by_name_and_times_in_the_zone_it_sets_for_this_branch(
    pcs: dict[str, Installation],
    open_window: Callable[[Installation], BranchWindow],
    qtbot: QtBot,
    database_url: str,
) -> None:
    asyncio.run(set_branch_zones(database_url, {"North": ZONE}))  # after enrolment: the directory tells
    north = open_window(pcs["North"])
    combo = north.window.filters.branch

    qtbot.waitUntil(lambda: "South" in [combo.itemText(i) for i in range(combo.count())], timeout=SYNC_MS)
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "All branches",
        "North (this branch)",
        "South",
    ]
    assert north.session.zone == ZoneInfo(ZONE)
    north.window.tabs.setCurrentWidget(north.window.appointments)
    north.window.new_record()
    when = north.window.appointments.form.fields["starts_at"].editor
    assert isinstance(when, WhenEditor)
    assert str(when.value()).endswith("+05:45")  # a new appointment is typed in the branch's zone


def test_keep_mine_on_a_lost_value_writes_it_again_and_it_reaches_the_other_branch(
    pcs: dict[str, Installation],
    links: dict[str, LinkProxy],
    open_window: Callable[[Installation], BranchWindow],
    qtbot: QtBot,
) -> None:
    (client_id,) = _create_clients(pcs["North"], 1)
    north, south = open_window(pcs["North"]), open_window(pcs["South"])
    qtbot.waitUntil(lambda: pcs["South"].cache.get("clients", client_id) is not None, timeout=SYNC_MS)
    qtbot.waitUntil(lambda: _online_and_idle(south), timeout=SYNC_MS)

    links["South"].cut()
    qtbot.waitUntil(lambda: south.bridge.status.state is EngineState.OFFLINE, timeout=SYNC_MS)
    pcs["South"].cache.update("clients", client_id, {"phone": "+44 20 0000 0002"})
    (souths_edit,) = pcs["South"].cache.pending_batch()
    pcs["North"].cache.observe_hlc(souths_edit.hlc)  # North's edit is certainly the later one
    pcs["North"].cache.update("clients", client_id, {"phone": "+44 20 0000 0001"})
    qtbot.waitUntil(lambda: _online_and_idle(north), timeout=SYNC_MS)
    links["South"].restore()

    view = south.window.conflicts
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=SYNC_MS)
    texts = [view.model.index(0, column).data() for column in range(view.model.columnCount())]
    assert texts[1:4] == ["Phone", "+44 20 0000 0002", "+44 20 0000 0001"]
    assert texts[4] == "North PC (North)"  # named by the server's directory
    assert south.window.tabs.tabText(2) == "Co&nflicts (1)"

    view.view.selectRow(0)
    QTest.mouseClick(view.keep_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.rowCount() == 0, timeout=SYNC_MS)

    def north_has_mine() -> bool:
        record = pcs["North"].cache.get("clients", client_id)
        return record is not None and record.fields.get("phone") == "+44 20 0000 0002"

    qtbot.waitUntil(north_has_mine, timeout=SYNC_MS)
    qtbot.waitUntil(
        lambda: "+44 20 0000 0002" in north.window.clients.model.index(0, 1).data(), timeout=SYNC_MS
    )
