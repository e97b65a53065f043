"""Regenerate the pictures in docs/screenshots/ from the running app (what the README shows).

Runs the demo's setup (a real server, North and South enrolled through their link
relays) off screen, brings each window into the state a picture shows, and saves it:

* ``main_window.png``: North's clients, one open in the form, online.
* ``offline_pending.png``: North with its link cut and edits waiting (the warning colour).
* ``appointments.png``: North's appointments of every branch this week, other branches by name.
* ``conflicts.png``: South's conflicts after both branches changed one client.
* ``demo.png``: the two windows side by side, as ``branchsync demo`` opens them.
* ``sync_panel.png``: North's sync panel: status, server, device, position, clock offset.

Usage: ``python scripts/screenshots.py [--out docs/screenshots] [--database-url URL]``
(without ``--database-url`` an embedded PostgreSQL is started in a temporary folder).
Look at every picture afterwards: this script cannot tell whether it looks right.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QEventLoop, QPoint, QSettings
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QWidget

from desktop.demo.app import DemoBranch, running_demo
from desktop.sync.status import EngineState
from desktop.ui.app import application

SIZE = (1280, 800)
TIMEOUT = 60.0


def wait(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Run the event loop until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def settle() -> None:
    """Let layouts, counts and repaints finish."""
    wait(lambda: True, "nothing")
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def save(widget: QWidget, path: Path) -> None:
    settle()
    if not widget.grab().save(str(path)):
        raise SystemExit(f"screenshots: could not write {path}")
    print(f"wrote {path}")


def online(branch: DemoBranch) -> bool:
    """Connected, and every local write answered by the server (the outbox is the truth)."""
    status = branch.branch.bridge.status
    return status.state is EngineState.ONLINE and branch.cache.counts().pending == 0


def main_picture(north: DemoBranch, out: Path) -> None:
    window = north.branch.window
    page = window.clients
    page.view.selectRow(2)
    page.fit_columns()
    save(window, out / "main_window.png")


def offline_picture(north: DemoBranch, out: Path) -> None:
    window = north.branch.window
    north.switch.click()
    wait(lambda: north.branch.bridge.status.state is EngineState.OFFLINE, "North to go offline")
    page = window.clients
    client_id = page.model.row_id(4)
    assert client_id is not None
    north.cache.update("clients", client_id, {"phone": "+44 20 7946 0123", "tags": ["vip"]})
    north.cache.create("clients", {"name": "Nadia Offline", "phone": "+44 20 7946 0456"})
    window.tabs.setCurrentWidget(window.appointments)
    window.appointments.view.selectRow(1)
    wait(lambda: north.branch.bridge.status.pending >= 2, "the edits to be counted")
    save(window, out / "offline_pending.png")
    window.tabs.setCurrentWidget(window.clients)
    north.switch.click()
    wait(lambda: online(north), "North to send its edits")


def appointments_picture(north: DemoBranch, out: Path) -> None:
    window = north.branch.window
    filters = window.filters
    wait(lambda: filters.branch.findText("South") >= 0, "the branch directory")
    window.tabs.setCurrentWidget(window.appointments)
    filters.branch.setCurrentIndex(0)  # all branches
    filters.last.setDate(filters.first.date().addDays(6))
    wait(lambda: window.appointments.model.rowCount() > 3, "this week's appointments")
    window.appointments.view.selectRow(1)
    window.appointments.fit_columns()
    save(window, out / "appointments.png")
    window.tabs.setCurrentWidget(window.clients)


def conflicts_picture(north: DemoBranch, south: DemoBranch, out: Path) -> None:
    wait(lambda: online(south), "South to catch up")
    names = ("Ada", "Bruno")
    targets = [
        r.id for r in south.cache.list_rows("clients", limit=None) if r.fields["name"].startswith(names)
    ][:2]
    south.switch.click()
    wait(lambda: south.branch.bridge.status.state is EngineState.OFFLINE, "South to go offline")
    for number, client_id in enumerate(targets):
        south.cache.update(
            "clients", client_id, {"phone": f"+44 161 496 000{number}", "notes": "Moved to Leeds"}
        )
    for entry in south.cache.pending_batch():
        north.cache.observe_hlc(entry.hlc)  # North's edits are certainly the later ones
    for number, client_id in enumerate(targets):
        north.cache.update("clients", client_id, {"phone": f"+44 20 7946 099{number}"})
    wait(lambda: online(north), "North to send its edits")
    south.switch.click()
    window = south.branch.window
    wait(lambda: window.conflicts.model.rowCount() >= len(targets), "South's conflicts")
    window.tabs.setCurrentWidget(window.conflicts)
    window.conflicts.view.selectRow(0)
    save(window, out / "conflicts.png")


def demo_picture(north: DemoBranch, south: DemoBranch, out: Path) -> None:
    half = (SIZE[0] * 3 // 4, SIZE[1])
    images = []
    for branch in (north, south):
        branch.branch.window.resize(*half)
        branch.branch.window.tabs.setCurrentIndex(1)
    settle()
    for branch in (north, south):
        images.append(branch.branch.window.grab().toImage())
    canvas = QImage(sum(i.width() for i in images) + 8, max(i.height() for i in images), images[0].format())
    canvas.fill(QApplication.palette().window().color())
    painter = QPainter(canvas)
    painter.drawImage(QPoint(0, 0), images[0])
    painter.drawImage(QPoint(images[0].width() + 8, 0), images[1])
    painter.end()
    path = out / "demo.png"
    if not canvas.save(str(path)):
        raise SystemExit(f"screenshots: could not write {path}")
    print(f"wrote {path}")


def sync_panel_picture(north: DemoBranch, out: Path) -> None:
    window = north.branch.window
    window.open_sync_panel()
    panel = window.sync_panel
    assert panel is not None
    wait(lambda: "±" in panel.clock_label.text(), "the clock offset in the sync panel")
    save(panel, out / "sync_panel.png")
    panel.hide()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--clients", type=int, default=400)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    application([sys.argv[0]])
    with tempfile.TemporaryDirectory(prefix="branchsync-shots-") as folder:
        # fresh window settings: a divider moved in an earlier demo must not change the pictures
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(Path(folder) / "settings")
        )
        with running_demo(Path(folder), clients=args.clients, database_url=args.database_url) as (
            north,
            south,
        ):
            for branch in (north, south):
                branch.branch.window.resize(*SIZE)
                branch.branch.show()
            wait(lambda: online(north) and online(south), "both branches to sync")
            wait(lambda: south.cache.count("clients") == args.clients, "South's first sync")
            for branch in (north, south):
                if branch.branch.first_sync is not None:
                    branch.branch.first_sync.hide()
            main_picture(north, args.out)
            offline_picture(north, args.out)
            appointments_picture(north, args.out)
            conflicts_picture(north, south, args.out)
            demo_picture(north, south, args.out)
            sync_panel_picture(north, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
