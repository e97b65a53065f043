"""``branchsync`` with no command opens the app; ``branchsync demo`` runs the demo (in this process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop import cli
from desktop.cache import Cache
from desktop.ui.enroll_dialog import EnrollDialog


def test_no_command_starts_the_app_which_asks_to_enrol_first(
    tmp_path: Path, qapp: QApplication, qtbot: QtBot
) -> None:
    asked: list[EnrollDialog] = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, EnrollDialog) or not dialog.isVisible():
            QTimer.singleShot(20, answer)
            return
        asked.append(dialog)
        dialog.reject()

    QTimer.singleShot(0, answer)
    assert cli.main(["--data-dir", str(tmp_path / "pc")]) == 0
    assert len(asked) == 1 and asked[0].windowTitle() == "Connect this PC to Branchsync"
    with Cache(tmp_path / "pc") as cache:
        assert not cache.state().enrolled


def test_the_demo_command_runs_and_cleans_up(database_url: str, tmp_path: Path) -> None:
    """In its own process, as people run it (Qt remembers that an app's loop ended)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp_path)}
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # the window settings it saves stay here
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "desktop.cli",
            "demo",
            "--database-url",
            database_url,
            "--clients",
            "10",
            "--quit-after",
            "1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "starting the server" in done.stdout and "close both windows" in done.stdout
    assert list(tmp_path.glob("branchsync-demo-*")) == []  # its folder is gone
