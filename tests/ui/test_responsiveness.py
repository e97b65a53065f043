"""The GUI thread never waits on the network: the server stalls while the user types and saves.

The link to the server is stalled at the relay (connections stay open, no byte
moves), so every request and the socket hang. A scripted user then searches,
creates and edits clients, one key at a time, from inside the event loop, while a
5 ms heartbeat timer records how long each turn of the loop took. No turn may take
50 ms, and every save must be in the cache and counted as waiting.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest
from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from desktop.demo.link_proxy import LinkProxy
from desktop.demo.sample_data import sample_clients
from desktop.sync.status import EngineState
from desktop.ui.app import BranchWindow, freeze_startup_objects
from tests.support.desktop_engine import Installation

pytestmark = pytest.mark.timing  # times the event loop: runs without the coverage tracer

BUDGET_MS = 50
"""The longest a loop turn may take (the issue's figure)."""
NOISE_SHARE = 0.01
"""Share of turns allowed over budget: on a shared 2-core machine the OS alone sometimes
holds the process off the CPU for longer than 50 ms, whatever the app does."""
HARD_LIMIT_MS = 250
"""No turn may come near this: a GUI thread that waited on the stalled link would hang
until a network timeout (seconds), so even one such wait fails the test."""
STEP_MS = 12
SYNC_MS = 20_000


class Heartbeat(QObject):
    """A precise 5 ms timer; the gaps between beats are the loop's turns."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = QElapsedTimer()
        self.gaps: list[int] = []
        self._last = 0
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._beat)

    @property
    def beats(self) -> int:
        return len(self.gaps)

    @property
    def longest(self) -> int:
        return max(self.gaps, default=0)

    def over(self, limit_ms: int) -> list[int]:
        return [gap for gap in self.gaps if gap >= limit_ms]

    def start(self) -> None:
        self.clock.start()
        self._last = 0
        self.timer.start()

    def _beat(self) -> None:
        now = self.clock.elapsed()
        self.gaps.append(now - self._last)
        self._last = now


class Script(QObject):
    """Runs one step per timer tick, inside the event loop, as a person at the keyboard would."""

    def __init__(self, steps: list[Callable[[], None]]) -> None:
        super().__init__()
        self.steps = steps
        self.timer = QTimer(self)
        self.timer.setInterval(STEP_MS)
        self.timer.timeout.connect(self._next)

    @property
    def done(self) -> bool:
        return not self.steps

    def _next(self) -> None:
        if self.steps:
            self.steps.pop(0)()
        else:
            self.timer.stop()


def _typing(widget_of: Callable[[], QWidget], text: str) -> list[Callable[[], None]]:
    """Click into the field, then one key per step."""
    steps: list[Callable[[], None]] = [lambda: widget_of().setFocus()]
    return steps + [lambda ch=ch: QTest.keyClicks(widget_of(), ch) for ch in text]


def _key(
    widget_of: Callable[[], QWidget],
    key: Qt.Key,
    modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> Callable[[], None]:
    return lambda: QTest.keyClick(widget_of(), key, modifier)


def test_typing_and_saving_while_the_server_stalls_keep_every_loop_turn_short(
    pcs: dict[str, Installation],
    links: dict[str, LinkProxy],
    open_window: Callable[[Installation], BranchWindow],
    qtbot: QtBot,
    request: pytest.FixtureRequest,
) -> None:
    with pcs["South"].cache.batch() as writer:
        for fields in sample_clients(400, seed=5):
            writer.create("clients", fields)
    south = open_window(pcs["South"])
    qtbot.waitUntil(
        lambda: south.bridge.status.state is EngineState.ONLINE and south.bridge.status.pending == 0,
        timeout=SYNC_MS,
    )
    window, page = south.window, south.window.clients
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    links["South"].stall()
    freeze_startup_objects()  # as run_app does once the window is up (see its docstring)
    request.addfinalizer(gc.unfreeze)

    def search() -> QWidget:
        return page.search

    def name() -> QWidget:
        return page.form.fields["name"].editor.widget

    def phone() -> QWidget:
        return page.form.fields["phone"].editor.widget

    steps: list[Callable[[], None]] = [page.focus_search]
    steps += _typing(search, "ada mo")
    steps += [_key(search, Qt.Key.Key_Backspace)] * 6
    steps += [_key(lambda: window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)]
    steps += _typing(name, "Stella Stalled")
    steps += [_key(name, Qt.Key.Key_Tab)]
    steps += _typing(phone, "+44 20 7946 0000")
    steps += [_key(name, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)]
    steps += [lambda: page.view.verticalScrollBar().setValue(page.view.verticalScrollBar().maximum())] * 3
    steps += [lambda: page.view.selectRow(3)]
    steps += _typing(phone, "1")
    steps += [_key(name, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)]

    heartbeat, script = Heartbeat(), Script(steps)
    heartbeat.start()
    script.timer.start()
    qtbot.waitUntil(lambda: script.done and not south.session.writes.busy, timeout=SYNC_MS)
    qtbot.waitUntil(lambda: "2 changes" in window.status_button.view.text, timeout=SYNC_MS)
    heartbeat.timer.stop()

    slow = heartbeat.over(BUDGET_MS)
    print(
        f"longest loop turn {heartbeat.longest} ms over {heartbeat.beats} beats; over {BUDGET_MS} ms: {slow}"
    )
    assert heartbeat.beats > 50
    assert heartbeat.longest < HARD_LIMIT_MS, f"the event loop was blocked for {heartbeat.longest} ms"
    assert len(slow) <= heartbeat.beats * NOISE_SHARE, f"{len(slow)} of {heartbeat.beats} turns took >= 50 ms"
    assert pcs["South"].cache.counts().pending == 2
    assert [r.fields["name"] for r in pcs["South"].cache.list_rows("clients", "Stella")] == ["Stella Stalled"]

    links["South"].restore()
    qtbot.waitUntil(lambda: pcs["South"].cache.counts().pending == 0, timeout=SYNC_MS)
