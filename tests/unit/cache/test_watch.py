"""The cache's one change watcher: this process's writes at once, another process's soon after."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from desktop.cache import Cache

SOON = 5.0
"""Generous: a loaded CI machine; the watcher itself answers in milliseconds."""


class Reports:
    """Counts listener calls and lets a test wait for the next one."""

    def __init__(self) -> None:
        self.calls = 0
        self.threads: set[str] = set()
        self._event = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        self._event.set()

    def wait(self, timeout: float = SOON) -> bool:
        reported = self._event.wait(timeout)
        self._event.clear()
        return reported


def test_a_write_through_this_cache_is_reported_at_once(data_dir: Path) -> None:
    # an interval far longer than the wait: only the nudge of the commit can explain a report
    with Cache(data_dir, watch_interval=60.0) as cache:
        reports = Reports()
        cache.subscribe(reports)
        started = time.monotonic()
        cache.create("clients", {"name": "Ada"})
        assert reports.wait()
        assert time.monotonic() - started < SOON
        assert reports.threads == {"branchsync-watch"}


def test_another_processs_write_is_seen_by_polling(data_dir: Path) -> None:
    with Cache(data_dir, watch_interval=0.05) as watched, Cache(data_dir) as elsewhere:
        reports = Reports()
        watched.subscribe(reports)
        elsewhere.create("clients", {"name": "Ada"})  # another connection pool: no nudge reaches `watched`
        assert reports.wait()


def test_every_listener_hears_once_per_change_until_it_unsubscribes(data_dir: Path) -> None:
    with Cache(data_dir, watch_interval=60.0) as cache:
        ui, engine = Reports(), Reports()
        cache.subscribe(ui)
        stop_engine = cache.subscribe(engine)
        cache.create("clients", {"name": "Ada"})
        assert ui.wait() and engine.wait()
        stop_engine()
        cache.create("clients", {"name": "Bea"})
        assert ui.wait()
        assert (ui.calls, engine.calls) == (2, 1)


def test_nothing_changed_nothing_reported(data_dir: Path) -> None:
    with Cache(data_dir, watch_interval=60.0) as cache:
        reports = Reports()
        cache.subscribe(reports)
        cache.nudge()  # a look with nothing new to see
        cache.list_rows("clients")  # reads commit nothing
        assert not reports.wait(0.3)


def test_a_failing_listener_does_not_silence_the_others(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise ValueError("a bug in one listener")

    with Cache(data_dir, watch_interval=60.0) as cache:
        reports = Reports()
        cache.subscribe(broken)
        cache.subscribe(reports)
        with caplog.at_level(logging.ERROR, logger="desktop.cache.watch"):
            cache.create("clients", {"name": "Ada"})
            assert reports.wait()
        assert "listener failed" in caplog.text


def test_a_closed_cache_stops_its_watcher(data_dir: Path) -> None:
    cache = Cache(data_dir, watch_interval=0.05)
    before = set(threading.enumerate())
    cache.subscribe(Reports())
    (watcher,) = set(threading.enumerate()) - before  # started by the first listener
    cache.close()
    assert not watcher.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        cache.subscribe(Reports())
