"""The opt-in "window is up" probe the installer smoke tests rely on."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from pytestqt.qtbot import QtBot

from desktop.ui.startup_probe import READY_ENV, READY_MARKER, install_ready_probe


def test_nothing_is_installed_without_the_variable(qapp: QApplication) -> None:
    assert install_ready_probe(qapp, {}) is None
    assert install_ready_probe(qapp, {READY_ENV: "0"}) is None


def test_first_paint_of_a_window_reports_once_and_closes_it(
    qapp: QApplication, qtbot: QtBot, capsys: pytest.CaptureFixture[str]
) -> None:
    probe = install_ready_probe(qapp, {READY_ENV: "1"})
    assert probe is not None
    try:
        dialog = QDialog()
        qtbot.addWidget(dialog)
        dialog.setWindowTitle("first run")
        dialog.show()
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
        assert dialog.result() == QDialog.DialogCode.Rejected  # closed as a user would
        second = QWidget()
        qtbot.addWidget(second)
        second.show()
        qtbot.waitExposed(second)
        assert second.isVisible()  # fires once only
    finally:
        qapp.removeEventFilter(probe)
    assert capsys.readouterr().out.splitlines() == [f"{READY_MARKER}: QDialog"]
