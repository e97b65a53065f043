"""The app over a cache that was rebuilt at this start: the user reads the one sentence, work goes on."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from desktop.cache import Cache
from desktop.config.paths import database_path
from desktop.sync.status import EngineState
from desktop.ui.app import BranchWindow
from tests.support.damage import DAMAGES
from tests.support.desktop_engine import FAST, Installation
from tests.support.server_rows import server_rows

SYNC_MS = 20_000


def test_the_window_tells_of_the_rebuilt_cache_and_sends_the_saved_writes(
    pcs: dict[str, Installation], qtbot: QtBot, database_url: str
) -> None:
    north = pcs["North"]
    row_id = north.cache.create("clients", {"name": "written before the damage"})
    north.cache.close()
    DAMAGES["first-page"](database_path(north.data_dir))
    north.cache = Cache(north.data_dir)
    record = north.cache.get("clients", row_id)  # shown from the start, before any sync
    assert record is not None and record.fields["name"] == "written before the damage"
    branch = BranchWindow(north.cache, runner_config=FAST, settings_key="north")
    try:
        qtbot.addWidget(branch.window)
        branch.show()
        notice = north.cache.recovery.notice if north.cache.recovery else ""

        assert notice.startswith("Branchsync found its local data damaged")
        box = branch.recovery_box
        assert box is not None
        qtbot.waitUntil(box.isVisible)
        assert box.text() == notice
        assert [problem.message for problem in branch.bridge.problems][:1] == [notice]
        qtbot.waitUntil(
            lambda: branch.bridge.status.state is EngineState.ONLINE and branch.bridge.status.pending == 0,
            timeout=SYNC_MS,
        )
        assert server_rows(database_url)[row_id]["name"] == "written before the damage"
        box.accept()
    finally:
        branch.close()
        north.cache.close()
