"""The engine against a real server: pushes, live frames, another process's writes, status."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from desktop.cache import Cache
from desktop.sync.actions import Outcome
from desktop.sync.status import EngineState
from tests.support.desktop_engine import FAST, Installation, wait_until
from tests.support.server_rows import branch_status, server_rows


def test_an_edit_on_one_branch_reaches_the_other_live(north: Installation, south: Installation) -> None:
    north.start()
    south.start()
    north.wait_online()
    south.wait_online()
    row_id = north.cache.create("clients", {"name": "Ada Lovelace", "phone": "+44 20 7946 0000"})
    wait_until(lambda: south.cache.get("clients", row_id) is not None, 10, "the row on South")
    south.cache.update("clients", row_id, {"email": "ada@example.com"})
    wait_until(
        lambda: (
            (r := north.cache.get("clients", row_id)) is not None
            and r.fields.get("email") == "ada@example.com"
        ),
        10,
        "South's edit on North",
    )
    north.wait_synced(cursor=2)  # each ends with both changes applied, its own included
    south.wait_synced(cursor=2)


def test_a_once_run_pushes_everything_and_ends_caught_up(
    north: Installation, south: Installation, database_url: str
) -> None:
    with north.cache.batch() as writer:
        for n in range(1200):
            writer.create("clients", {"name": f"client {n}"})
    assert north.sync_once() is Outcome.SYNCED
    assert north.cache.counts().pending == 0
    assert len(server_rows(database_url)) == 1200
    assert north.cache.state().cursor == 1200  # it pulled its own writes back too
    assert south.sync_once() is Outcome.SYNCED
    assert south.cache.count("clients") == 1200


def test_a_write_by_another_process_is_pushed_within_a_second(
    north: Installation, tmp_path: Path, database_url: str
) -> None:
    north.start()
    north.wait_online()
    sheet = tmp_path / "clients.csv"
    with sheet.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "email"])
        writer.writerow(["Grace Hopper", "grace@example.com"])
    imported = subprocess.run(
        [
            sys.executable,
            "-m",
            "desktop.cli",
            "--data-dir",
            str(north.data_dir),
            "import",
            "clients",
            str(sheet),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    done = time.monotonic()
    assert imported.returncode == 0, imported.stderr
    wait_until(lambda: len(server_rows(database_url)) == 1, 1.0, "the imported row on the server")
    assert time.monotonic() - done < 1.0
    (row,) = server_rows(database_url).values()
    assert row["email"] == "grace@example.com"


def test_status_is_reported_and_persisted_for_the_command_line(north: Installation) -> None:
    north.start()
    north.wait_online()
    state = north.cache.state()
    assert state.online is True and state.last_sync is not None
    north.cache.create("clients", {"name": "Alan Turing"})
    north.wait_synced()
    seen = [s.state for s in north.statuses]
    assert EngineState.SYNCING in seen and seen[-1] is EngineState.ONLINE
    assert any(s.pending == 1 for s in north.statuses)
    north.stop()
    assert north.cache.state().online is False


def test_a_save_in_this_process_wakes_the_engine_at_once(north: Installation, database_url: str) -> None:
    # A watcher that would not look for an hour: only the save's own commit can wake the engine.
    with Cache(north.data_dir, wall_ms=north.wall_ms, watch_interval=3600.0) as cache:
        pc = Installation(north.data_dir, cache, north.wall_ms)
        try:
            pc.start()
            pc.wait_online()
            row_id = cache.create("clients", {"name": "Ada Lovelace"})
            wait_until(lambda: row_id in server_rows(database_url), 10, "the save on the server")
            pc.wait_synced()
        finally:
            pc.stop()


def test_status_frames_are_coalesced_and_the_last_goes_out_on_stop(
    north: Installation, south: Installation, database_url: str
) -> None:
    # a window no test outlasts: after the first status of the connection, only stopping reports
    # (and pings slow enough that no reconnection, which reports at once, comes in between)
    held = replace(
        FAST,
        core=replace(FAST.core, status_interval=3600.0),
        socket=replace(FAST.socket, ping_interval=30.0, ping_timeout=30.0),
    )
    south.start(held)
    south.wait_online()
    wait_until(lambda: branch_status(database_url, "South") == (0, 0), 15, "South's status at connect")
    north.start()
    north.wait_online()
    for n in range(3):
        north.cache.create("clients", {"name": f"Client {n}"})
    north.wait_synced(cursor=3)
    south.wait_synced(cursor=3)
    assert branch_status(database_url, "South") == (0, 0), "the window holds the changes back"
    south.stop()
    wait_until(lambda: branch_status(database_url, "South") == (3, 0), 15, "South's status at stop")
