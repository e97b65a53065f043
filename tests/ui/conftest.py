"""Fixtures of the UI tests: a real cache, a session over it, settings kept in the test's folder.

The server-backed fixtures (a live server, enrolled installations through a link
relay) come from ``tests.support``; nothing of our own is mocked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.cache import Cache
from desktop.demo.link_proxy import LinkProxy
from desktop.ui.app import BranchWindow, application
from desktop.ui.bridge import EngineBridge
from desktop.ui.collector import GuiThreadCollector
from desktop.ui.main_window import MainWindow
from desktop.ui.session import Session
from tests.support.desktop_engine import FAST, Installation, enrolled_installation
from tests.support.live_server import LiveServer


@pytest.fixture(autouse=True)
def settings_in_tmp(tmp_path: Path) -> Iterator[None]:
    """``QSettings`` write under the test's folder, never into the user's real settings."""
    QCoreApplication.setOrganizationName("BranchsyncTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield


@pytest.fixture(scope="session")
def qapp() -> QApplication:
    """pytest-qt's application, made the way the app makes it."""
    return application(["branchsync-tests"])


@pytest.fixture(autouse=True)
def garbage_on_the_gui_thread(qapp: QApplication) -> Iterator[GuiThreadCollector]:
    """As in the app, cycles are collected on the GUI thread while a UI test runs; after
    it, its leftovers die here too, and the tests that follow collect as usual."""
    collector = qapp.findChild(GuiThreadCollector)
    assert isinstance(collector, GuiThreadCollector), "application() installs the collector"
    collector.start()
    yield collector
    collector.stop()


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache(tmp_path / "data") as opened:
        yield opened


@pytest.fixture
def session(cache: Cache, qapp: QApplication) -> Iterator[Session]:
    opened = Session(cache)
    yield opened
    opened.close()


@pytest.fixture
def window(session: Session, qtbot: QtBot) -> Iterator[MainWindow]:
    """The main window over ``session``, with no engine behind it (local work only)."""
    shown = MainWindow(session, EngineBridge())
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    yield shown
    shown.close()


# ---- a live server, branch PCs behind their own link relays, their windows ---------------


@pytest.fixture
def links(sync_server: LiveServer) -> Iterator[dict[str, LinkProxy]]:
    """One relay per branch in front of the live server: each branch's link can be cut alone."""
    port = int(sync_server.url.rsplit(":", 1)[1])
    with LinkProxy("127.0.0.1", port) as north, LinkProxy("127.0.0.1", port) as south:
        yield {"North": north, "South": south}


@pytest.fixture
def pcs(links: dict[str, LinkProxy], database_url: str, tmp_path: Path) -> Iterator[dict[str, Installation]]:
    """A PC of North and one of South, enrolled through their relays (no engine started)."""
    with (
        enrolled_installation(links["North"].url, database_url, tmp_path / "north", "North") as north,
        enrolled_installation(links["South"].url, database_url, tmp_path / "south", "South") as south,
    ):
        yield {"North": north, "South": south}


@pytest.fixture
def open_window(qapp: QApplication, qtbot: QtBot) -> Iterator[Callable[[Installation], BranchWindow]]:
    """Opens a branch's window with its engine running (quick timeouts); all closed afterwards."""
    opened: list[BranchWindow] = []

    def open_one(pc: Installation) -> BranchWindow:
        branch = BranchWindow(pc.cache, runner_config=FAST, settings_key=str(pc.data_dir.name))
        qtbot.addWidget(branch.window)
        branch.show()
        opened.append(branch)
        return branch

    yield open_one
    for branch in opened:
        branch.close()
