"""``branchsync demo``: a server, two branches and their windows side by side, on one laptop.

Everything is real and nothing is left behind: the server runs on an embedded
PostgreSQL in a temporary folder, two installations ("North" and "South") are
enrolled with codes the admin commands issue, and each window reaches the server
through its own link relay (``desktop.demo.link_proxy``). The switch in each window's
toolbar cuts that link, so a newcomer can edit offline, watch the changes queue in
the status bar, and see them sync (and any conflict resolve) when the link returns.

North starts with sample clients and today's appointments, already sent to the
server; South starts empty and pulls them in its first sync.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QToolButton

from desktop.cache import Cache
from desktop.demo.link_proxy import LinkProxy
from desktop.demo.sample_data import sample_appointments, sample_clients
from desktop.demo.server_process import DemoServer, DemoServerError
from desktop.sync.enrollment import endpoint_for, enroll_device
from desktop.sync.events import Mode
from desktop.sync.runner import Runner
from desktop.ui.app import BranchWindow, application, freeze_startup_objects
from desktop.ui.theme import tones

__all__ = ["BRANCHES", "DemoBranch", "LinkSwitch", "main", "running_demo"]

BRANCHES = ("North", "South")
APPOINTMENTS_PER_BRANCH = 24


class LinkSwitch(QToolButton):
    """A toolbar switch that cuts and restores one branch's link to the server."""

    def __init__(self, relay: LinkProxy) -> None:
        super().__init__()
        self._relay = relay
        self.setCheckable(True)
        self.setChecked(True)
        self.setAutoRaise(False)
        self.setAutoFillBackground(True)
        self.setToolTip("Cut this branch's internet link to the server, as in an outage")
        self.toggled.connect(self._switch)
        self._label()

    def _switch(self, connected: bool) -> None:
        if connected:
            self._relay.restore()
        else:
            self._relay.cut()
        self._label()

    def _label(self) -> None:
        connected = self.isChecked()
        self.setText("Link to server: ON" if connected else "Link to server: CUT")
        palette = QApplication.palette(self)
        if not connected:
            colours = tones(palette)
            palette.setColor(QPalette.ColorRole.Button, colours.warning_background)
            palette.setColor(QPalette.ColorRole.ButtonText, colours.warning_text)
        self.setPalette(palette)


def _say(text: str) -> None:
    print(f"branchsync demo: {text}", flush=True)


def _seed(cache: Cache, branch_id: str, clients: int, client_ids: list[str] | None, seed: int) -> list[str]:
    """Queue local writes: clients (when ``client_ids`` is None) and today's appointments."""
    with cache.batch() as writer:
        if client_ids is None:
            made = sample_clients(clients, seed=seed, home_branch_id=branch_id)
            client_ids = [writer.create("clients", fields) for fields in made]
        for fields in sample_appointments(
            client_ids,
            branch_id=branch_id,
            day=date.today(),
            zone=None,
            count=APPOINTMENTS_PER_BRANCH,
            seed=seed,
        ):
            writer.create("appointments", fields)
    return client_ids


def _push_once(cache: Cache) -> None:
    """Send North's sample data before the windows open, so South has something to pull."""
    asyncio.run(Runner(cache, endpoint_for(cache), mode=Mode.ONCE).run())


@dataclass
class DemoBranch:
    """One branch of the demo: its link relay, its cache and its window."""

    name: str
    relay: LinkProxy
    cache: Cache
    branch: BranchWindow
    switch: LinkSwitch


@contextmanager
def running_demo(
    folder: Path, *, clients: int, database_url: str | None = None
) -> Iterator[list[DemoBranch]]:
    """Start the server, enrol and seed both branches and open their windows (not shown yet).

    Everything is stopped and closed on exit. The Qt application must exist.

    Raises:
        DemoServerError: the server could not be started or administered.
    """
    with ExitStack() as stack:
        server = stack.enter_context(DemoServer(folder / "server", database_url))
        enrolments = {name: server.branch_and_code(name) for name in BRANCHES}
        prepared = []
        client_ids: list[str] | None = None
        for number, name in enumerate(BRANCHES):
            relay = stack.enter_context(LinkProxy("127.0.0.1", server.port))
            cache = stack.enter_context(Cache(folder / name.lower()))
            branch_id, code = enrolments[name]
            asyncio.run(enroll_device(cache, relay.url, code, f"{name} front desk"))
            client_ids = _seed(cache, branch_id, clients, client_ids, seed=number)
            if number == 0:
                _push_once(cache)
            prepared.append((name, relay, cache))
        branches = []
        for name, relay, cache in prepared:
            branch = BranchWindow(cache, settings_key=f"demo-{name.lower()}")
            stack.callback(branch.close)
            switch = LinkSwitch(relay)
            branch.window.add_tool_widget(switch)
            branches.append(DemoBranch(name, relay, cache, branch, switch))
        yield branches


def main(args: argparse.Namespace) -> int:
    """Run the demo until both windows are closed (or Ctrl+C); returns the exit code."""
    folder = Path(tempfile.mkdtemp(prefix="branchsync-demo-"))
    app = application([sys.argv[0]])
    _say("starting the server (the first start initialises PostgreSQL: a few seconds)…")
    try:
        with running_demo(folder, clients=args.clients, database_url=args.database_url) as branches:
            _place_side_by_side([b.branch for b in branches])
            for demo_branch in branches:
                demo_branch.branch.show()
            freeze_startup_objects()
            _say("close both windows (or press Ctrl+C) to stop")
            previous = signal.signal(signal.SIGINT, lambda *_: app.quit())
            heartbeat = QTimer()  # lets Python see Ctrl+C while Qt's loop runs
            heartbeat.timeout.connect(lambda: None)
            heartbeat.start(200)
            if args.quit_after is not None:
                QTimer.singleShot(int(args.quit_after * 1000), app.quit)
            try:
                return app.exec()
            finally:
                heartbeat.stop()
                signal.signal(signal.SIGINT, previous)
    except DemoServerError as exc:
        _say(str(exc))
        return 1
    finally:
        if args.keep:
            _say(f"kept everything in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _place_side_by_side(windows: list[BranchWindow]) -> None:
    screen = windows[0].window.screen().availableGeometry()
    width = screen.width() // len(windows)
    for number, branch in enumerate(windows):
        branch.window.setGeometry(screen.x() + number * width, screen.y(), width, screen.height())
