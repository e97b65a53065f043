"""The bridge: a status reported on another thread arrives as signals on the GUI thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from desktop.sync.status import EngineState, StatusSnapshot
from desktop.ui.bridge import EngineBridge


def _report_from_a_thread(bridge: EngineBridge, status: StatusSnapshot) -> None:
    worker = threading.Thread(target=bridge.on_status, args=(status,))
    worker.start()
    worker.join()


def test_a_status_from_the_engines_thread_is_delivered_on_the_gui_thread(qtbot: QtBot) -> None:
    bridge = EngineBridge()
    threads: list[QThread] = []
    bridge.status_changed.connect(lambda _: threads.append(QThread.currentThread()))
    status = StatusSnapshot(EngineState.ONLINE, cursor=5)
    with qtbot.waitSignals([bridge.status_changed, bridge.cache_changed], timeout=2000):
        _report_from_a_thread(bridge, status)
    assert bridge.status == status
    assert threads == [bridge.thread()]


def test_cache_changed_only_when_the_position_or_the_queue_moved(qtbot: QtBot) -> None:
    bridge = EngineBridge()
    moved: list[bool] = []
    bridge.cache_changed.connect(lambda: moved.append(True))
    for status in (
        StatusSnapshot(EngineState.SYNCING, pending=2),
        StatusSnapshot(EngineState.ONLINE, pending=2),  # only the state: nothing to re-read
        StatusSnapshot(EngineState.ONLINE, pending=0, cursor=3),
    ):
        with qtbot.waitSignal(bridge.status_changed, timeout=2000):
            _report_from_a_thread(bridge, status)
    assert moved == [True, True]


def test_each_new_error_becomes_one_problem(qtbot: QtBot) -> None:
    bridge = EngineBridge()
    for error in ("server unreachable", "server unreachable", None, "update required"):
        with qtbot.waitSignal(bridge.status_changed, timeout=2000):
            _report_from_a_thread(bridge, StatusSnapshot(EngineState.OFFLINE, last_error=error))
    assert [p.message for p in bridge.problems] == ["server unreachable", "update required"]
    assert not bridge.running and bridge.stop()
