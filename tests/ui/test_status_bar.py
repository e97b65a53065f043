"""The status line's words and colours for each engine state, and the button that shows them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.sync.status import EngineState, Halt, StatusSnapshot
from desktop.ui.status_bar import SyncStatusButton, Tone, describe
from desktop.ui.theme import tones

NOW = datetime(2026, 7, 1, 15, 0, tzinfo=UTC)
EARLIER = datetime(2026, 7, 1, 14, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "text", "tone"),
    [
        (
            StatusSnapshot(EngineState.ONLINE, last_sync=EARLIER),
            "Online · all changes sent · up to date",  # not a time that stands still for hours
            Tone.NORMAL,
        ),
        (
            StatusSnapshot(EngineState.ONLINE, last_sync=EARLIER, lag=3),
            "Online · all changes sent · last sync 14:05",  # behind: when it last caught up
            Tone.NORMAL,
        ),
        (
            StatusSnapshot(EngineState.SYNCING, pending=3),
            "Syncing… · 3 changes to send · never synced",
            Tone.BUSY,
        ),
        (
            StatusSnapshot(EngineState.OFFLINE, pending=1, last_sync=EARLIER),
            "Offline · 1 change waiting · last sync 14:05",
            Tone.WARNING,
        ),
        (
            StatusSnapshot(EngineState.ONLINE, rejected=2, conflicts=1, last_sync=EARLIER),
            "Online · all changes sent · 2 changes refused · 1 conflict · up to date",
            Tone.WARNING,
        ),
        (
            StatusSnapshot(EngineState.OFFLINE, halted=Halt.REVOKED),
            "Stopped: this PC's access was revoked. Enrol it again to sync. · never synced",
            Tone.WARNING,
        ),
    ],
)
def test_describe(status: StatusSnapshot, text: str, tone: Tone) -> None:
    view = describe(status, now=NOW, zone=UTC)
    assert (view.text, view.tone) == (text, tone)


def test_an_older_sync_shows_its_day_and_the_tooltip_explains() -> None:
    status = StatusSnapshot(
        EngineState.OFFLINE,
        last_sync=datetime(2026, 6, 28, 9, 0, tzinfo=UTC),
        lag=4,
        last_error="server unreachable",
    )
    view = describe(status, now=NOW, zone=UTC)
    assert view.text.endswith("last sync 28 Jun 09:00")
    assert "4 changes on the server not yet here." in view.tooltip
    assert "Last problem: server unreachable" in view.tooltip


def test_the_button_paints_the_warning_colour_when_offline(qtbot: QtBot) -> None:
    button = SyncStatusButton(UTC)
    qtbot.addWidget(button)
    button.show_status(StatusSnapshot(EngineState.ONLINE))
    normal = button.palette().color(QPalette.ColorRole.Button)
    button.show_status(StatusSnapshot(EngineState.OFFLINE, pending=2))
    warning = tones(QApplication.palette()).warning_background
    assert button.palette().color(QPalette.ColorRole.Button) == warning != normal
    assert button.text().startswith("Offline · 2 changes waiting")
    button.show_status(StatusSnapshot(EngineState.ONLINE))
    assert button.palette().color(QPalette.ColorRole.Button) == normal
