"""``branchsync demo`` end to end: a server process, two enrolled branches, their link switches."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.demo.app import running_demo
from desktop.demo.link_proxy import LinkState
from desktop.sync.status import EngineState

SYNC_MS = 30_000


def test_the_demo_enrols_both_branches_syncs_them_and_cuts_a_link(
    database_url: str, tmp_path: Path, qapp: QApplication, qtbot: QtBot
) -> None:
    with running_demo(tmp_path, clients=20, database_url=database_url) as (north, south):
        for branch in (north, south):
            branch.branch.show()
        assert north.branch.window.windowTitle() == "Branchsync — North"
        assert south.cache.state().branch_name == "South"
        qtbot.waitUntil(lambda: south.cache.count("clients") == 20, timeout=SYNC_MS)
        qtbot.waitUntil(lambda: north.cache.count("appointments") == 48, timeout=SYNC_MS)
        qtbot.waitUntil(lambda: south.branch.window.clients.model.rowCount() == 20, timeout=SYNC_MS)
        combo = north.branch.window.filters.branch  # the other branch by name, from the server's directory
        qtbot.waitUntil(lambda: combo.findText("South") >= 0, timeout=SYNC_MS)

        north.switch.click()
        assert north.relay.state is LinkState.CUT and "CUT" in north.switch.text()
        qtbot.waitUntil(lambda: north.branch.bridge.status.state is EngineState.OFFLINE, timeout=SYNC_MS)
        north.switch.click()
        qtbot.waitUntil(lambda: north.branch.bridge.status.state is EngineState.ONLINE, timeout=SYNC_MS)
        assert south.branch.bridge.status.state is EngineState.ONLINE
