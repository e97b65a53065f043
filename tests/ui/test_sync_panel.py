"""The sync panel: waiting changes, a refused change fixed and retried or discarded, problems.

A refused change is made the way the engine makes one: the server's answer for a
pushed mutation (``status: rejected`` with a reason) goes to ``Cache.apply_push_results``.
"""

from __future__ import annotations

import uuid

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from desktop.cache import Cache, Key
from desktop.ui.bridge import Problem
from desktop.ui.main_window import MainWindow
from desktop.ui.sync_panel import SyncPanel, clock_text
from protocol.messages import ErrorDetail, MutationResult


def _refused_client(cache: Cache, reason: str = "this number is barred") -> str:
    """A client created here whose mutation the server refused (its phone, says the server)."""
    row_id = cache.create("clients", {"name": "Rita Refused", "phone": "+44 20 7946 0000"})
    (entry,) = cache.pending_batch()
    answer = MutationResult(
        id=uuid.UUID(entry.mutation_id),
        status="rejected",
        error=ErrorDetail(code="invalid_phone", message=reason, field="phone"),
    )
    cache.apply_push_results([entry], [answer])
    return row_id


def _panel_on_the_refused_change(window: MainWindow) -> SyncPanel:
    window.open_sync_panel()
    panel = window.sync_panel
    assert panel is not None
    panel.refused_view.selectRow(0)
    return panel


def test_the_status_bar_opens_the_panel_with_the_refused_change_and_its_reason(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    _refused_client(cache)
    cache.create("clients", {"name": "Wendy Waiting"})
    QTest.mouseClick(window.status_button, Qt.MouseButton.LeftButton)
    panel = window.sync_panel
    assert panel is not None and panel.isVisible()
    assert panel.tabs.tabText(1) == "Waiting (1)" and panel.tabs.tabText(2) == "Refused (1)"
    assert panel.refused_model.index(0, 2).data() == "phone: this number is barred"
    assert "Wendy Waiting" in panel.pending_model.index(0, 3).data()
    assert not panel.fix_button.isEnabled()
    panel.refused_view.selectRow(0)
    assert panel.fix_button.isEnabled() and panel.discard_button.isEnabled()


def test_fix_and_retry_queues_the_corrected_change(window: MainWindow, cache: Cache, qtbot: QtBot) -> None:
    row_id = _refused_client(cache)
    panel = _panel_on_the_refused_change(window)
    QTest.mouseClick(panel.fix_button, Qt.MouseButton.LeftButton)
    dialog = panel.fix_dialog
    assert dialog.rows.messages["phone"].text() == "this number is barred"
    phone = dialog.rows.fields["phone"].editor.widget
    assert isinstance(phone, QLineEdit) and phone.text() == "+44 20 7946 0000"
    phone.setText("not a phone")
    dialog.retry()
    assert dialog.rows.messages["phone"].text() == "'not a phone' is not a phone number"  # checked here first
    assert cache.rejected() != []
    phone.setText("+44 20 7946 0001")
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.retry()
    assert cache.rejected() == []
    (entry,) = cache.pending_batch()
    assert entry.fields["phone"] == "+44 20 7946 0001" and entry.row_id == row_id
    qtbot.waitUntil(lambda: panel.tabs.tabText(2) == "Refused (0)")


def test_the_fix_dialog_shows_the_servers_reason_as_written_never_as_markup(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    reason = '<a href="https://example.invalid/">click</a> <b>barred</b>'
    _refused_client(cache, reason)
    panel = _panel_on_the_refused_change(window)
    QTest.mouseClick(panel.fix_button, Qt.MouseButton.LeftButton)
    dialog = panel.fix_dialog
    under_phone = dialog.rows.messages["phone"]
    assert under_phone.text() == reason
    assert under_phone.textFormat() == Qt.TextFormat.PlainText
    (intro,) = [
        label for label in dialog.findChildren(QLabel) if label.text().startswith("The server refused")
    ]
    assert intro.textFormat() == Qt.TextFormat.PlainText and reason in intro.text()
    assert not intro.openExternalLinks() and not under_phone.openExternalLinks()


def test_discard_asks_then_takes_the_change_back_out(window: MainWindow, cache: Cache, qtbot: QtBot) -> None:
    row_id = _refused_client(cache)
    panel = _panel_on_the_refused_change(window)
    QTest.mouseClick(panel.discard_button, Qt.MouseButton.LeftButton)
    box = panel.confirm_box
    assert box.isVisible()
    QTest.mouseClick(box.button(QMessageBox.StandardButton.Discard), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cache.rejected() == [])
    assert cache.get("clients", row_id) is None  # a refused create, discarded: the row is gone
    qtbot.waitUntil(lambda: window.clients.model.rowCount() == 0)


def test_problems_the_engine_reported_are_listed_newest_first(window: MainWindow, qtbot: QtBot) -> None:
    window.bridge.problems.extend([Problem.now("first trouble"), Problem.now("second trouble")])
    window.open_sync_panel()
    panel = window.sync_panel
    assert panel is not None
    assert panel.problems_model.index(0, 1).data() == "second trouble"
    assert panel.server_label.text() == "(not enrolled)"


def test_the_panel_shows_the_clock_offset_and_its_uncertainty(window: MainWindow, cache: Cache) -> None:
    cache.set_state({Key.CLOCK_OFFSET_MS: -86_400_200, Key.CLOCK_UNCERTAINTY_MS: 12})
    window.open_sync_panel()
    panel = window.sync_panel
    assert panel is not None
    assert panel.clock_label.text() == "-86400.200 s ± 0.012 s (server minus this PC)"


def test_clock_text_signs_the_offset() -> None:
    assert clock_text(200, 10) == "+0.200 s ± 0.010 s (server minus this PC)"
