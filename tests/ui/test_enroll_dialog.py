"""First-run enrolment against the real server: typed, unattended from IT's config, and refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from desktop.cache import Cache
from desktop.config import EffectiveConfig
from desktop.ui.enroll_dialog import EnrollDialog
from tests.support.devices import issue_code
from tests.support.live_server import LiveServer, free_port

ENROL_MS = 15_000


def _dialog(cache: Cache, qtbot: QtBot, config: EffectiveConfig | None = None) -> EnrollDialog:
    dialog = EnrollDialog(cache, config)
    qtbot.addWidget(dialog)
    return dialog


def test_a_wrong_code_is_explained_then_the_right_one_enrols(
    cache: Cache, sync_server: LiveServer, database_url: str, qtbot: QtBot
) -> None:
    dialog = _dialog(cache, qtbot)
    dialog.start()
    QTest.keyClicks(dialog.server, sync_server.url)
    QTest.keyClicks(dialog.code, "WRONG-CODE")
    QTest.mouseClick(dialog.enroll_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: dialog.enroll_button.isEnabled() and "does not know" in dialog.message.text(),
        timeout=ENROL_MS,
    )
    assert dialog.isVisible() and not cache.state().enrolled
    assert dialog.code.hasFocus()

    dialog.code.setText(asyncio.run(issue_code(database_url, "South")))
    with qtbot.waitSignal(dialog.enrolled, timeout=ENROL_MS) as enrolled:
        QTest.mouseClick(dialog.enroll_button, Qt.MouseButton.LeftButton)
    assert enrolled.args is not None and enrolled.args[0].branch_name == "South"
    assert dialog.result() == QDialog.DialogCode.Accepted
    state = cache.state()
    assert state.enrolled and state.branch_name == "South" and state.server_url == sync_server.url


def test_enter_in_a_field_enrols_and_enter_again_while_it_works_cancels_nothing(
    cache: Cache, sync_server: LiveServer, database_url: str, qtbot: QtBot
) -> None:
    """The bug: Enter pressed Cancel, and the app quit with nothing enrolled."""
    dialog = _dialog(cache, qtbot)
    dialog.start()
    QTest.keyClicks(dialog.server, sync_server.url)
    dialog.code.setFocus()
    QTest.keyClicks(dialog.code, asyncio.run(issue_code(database_url, "North")))

    with qtbot.waitSignal(dialog.enrolled, timeout=ENROL_MS):
        QTest.keyClick(dialog.code, Qt.Key.Key_Return)
        assert dialog.isVisible() and not dialog.enroll_button.isEnabled()  # enrolling
        QTest.keyClick(dialog.code, Qt.Key.Key_Return)  # impatient: must not cancel it
        assert dialog.isVisible()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert cache.state().branch_name == "North"


def test_it_enrols_without_questions_when_it_provides_server_and_code(
    cache: Cache, sync_server: LiveServer, database_url: str, qtbot: QtBot
) -> None:
    code = asyncio.run(issue_code(database_url, "North"))
    dialog = _dialog(cache, qtbot, EffectiveConfig(server_url=sync_server.url, enroll_code=code))
    assert dialog.unattended and dialog.code.text() == code
    with qtbot.waitSignal(dialog.enrolled, timeout=ENROL_MS):
        dialog.start()
    assert cache.state().branch_name == "North"


def test_an_unreachable_server_and_missing_fields_are_explained(
    cache: Cache, qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = _dialog(cache, qtbot)
    dialog.start()
    QTest.mouseClick(dialog.enroll_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == "Please enter the server and the code."
    dialog.server.setText(f"http://127.0.0.1:{free_port()}")
    dialog.code.setText("ANY-CODE")
    QTest.mouseClick(dialog.enroll_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cannot reach the server" in dialog.message.text(), timeout=ENROL_MS)
    assert dialog.enroll_button.isEnabled() and not cache.state().enrolled
    dialog.server.setText("ftp://example.com")
    QTest.mouseClick(dialog.enroll_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "https://sync.example.com" in dialog.message.text(), timeout=ENROL_MS)
