"""Cyclic garbage made on any thread is collected on the GUI thread (desktop/ui/collector.py)."""

from __future__ import annotations

import gc
import threading

from pytestqt.qtbot import QtBot

from desktop.ui.collector import GuiThreadCollector

CYCLES = 5_000
"""Far past the youngest generation's threshold: the automatic collector would run on the
thread that made them."""


class _Cycle:
    """Refers to itself, so only the cyclic collector frees it; notes the thread that did."""

    def __init__(self, died_on: list[threading.Thread]) -> None:
        self.me = self
        self.died_on = died_on

    def __del__(self) -> None:
        self.died_on.append(threading.current_thread())


def test_cycles_dropped_on_an_engine_thread_die_on_the_gui_thread(
    garbage_on_the_gui_thread: GuiThreadCollector, qtbot: QtBot
) -> None:
    assert garbage_on_the_gui_thread.running and not gc.isenabled()
    died_on: list[threading.Thread] = []

    def make_garbage() -> None:
        for _ in range(CYCLES):
            _Cycle(died_on)

    worker = threading.Thread(target=make_garbage, name="engine-like")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(died_on) >= CYCLES, timeout=10_000)
    assert {thread.name for thread in died_on} == {threading.main_thread().name}


def test_stopping_turns_the_automatic_collector_back_on(
    garbage_on_the_gui_thread: GuiThreadCollector,
) -> None:
    garbage_on_the_gui_thread.stop()
    try:
        assert gc.isenabled() and not garbage_on_the_gui_thread.running
    finally:
        garbage_on_the_gui_thread.start()  # the fixture stops it again after the test


def test_nothing_is_collected_before_a_threshold_is_passed(
    garbage_on_the_gui_thread: GuiThreadCollector,
) -> None:
    gc.collect()
    assert garbage_on_the_gui_thread.collect() == 0
