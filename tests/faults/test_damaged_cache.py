"""A branch PC whose cache file was damaged while it had writes queued (issue 12).

Real SQLite files damaged on disk, a real server: the next open keeps the file aside
and rebuilds the cache as the same device; one sync brings back every row from the
server and delivers every queued write that could still be read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cache import Cache
from desktop.config.paths import database_path
from desktop.sync.actions import Outcome
from tests.support.damage import DAMAGES
from tests.support.desktop_engine import Installation
from tests.support.server_rows import server_count, server_rows

QUEUED = 150


def _queue_offline(north: Installation) -> tuple[str, list[str]]:
    """One row synced, then ``QUEUED`` creates made with the engine stopped; the cache closed."""
    synced = north.cache.create("clients", {"name": "synced before"})
    assert north.sync_once() is Outcome.SYNCED
    with north.cache.batch() as writer:
        queued = [
            writer.create("clients", {"name": f"queued {n}", "notes": "n" * 300}) for n in range(QUEUED)
        ]
    north.cache.close()
    return synced, queued


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_cache_is_rebuilt_from_the_server_and_its_readable_queue_delivered(
    north: Installation, database_url: str, damage: str
) -> None:
    device = north.cache.state().device_id
    synced, queued = _queue_offline(north)
    DAMAGES[damage](database_path(north.data_dir))

    north.cache = cache = Cache(north.data_dir)
    try:
        recovery = cache.recovery
        assert recovery is not None and recovery.kept_as is not None and recovery.kept_as.exists()
        saved = {entry.row_id for entry in cache.pending_batch(limit=QUEUED)}
        assert saved <= set(queued)
        assert (
            len(saved)
            >= {"empty": 0, "truncated": 1, "first-page": QUEUED, "middle-pages": QUEUED - 15}[damage]
        )
        assert cache.state().device_id == device

        assert north.sync_once() is Outcome.SYNCED

        on_server = server_rows(database_url)
        assert synced in on_server
        assert saved <= set(on_server)
        assert cache.count("clients") == len(on_server)  # every row back from the server
        assert cache.get("clients", synced) is not None
        counts = cache.counts()
        assert (counts.pending, counts.rejected, counts.conflicts) == (0, 0, 0)
        assert cache.state().device_id == device
        assert cache.state().recovery_notice == recovery.notice
    finally:
        cache.close()
    assert server_count(database_url, "rejections") == 0


def test_the_command_line_says_it_rebuilt_the_cache_and_sends_the_queue(
    north: Installation, database_url: str, tmp_path: Path
) -> None:
    device = north.cache.state().device_id
    _, queued = _queue_offline(north)
    DAMAGES["first-page"](database_path(north.data_dir))
    branchsync = [sys.executable, "-m", "desktop.cli", "--data-dir", str(north.data_dir)]
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

    synced = subprocess.run(
        [*branchsync, "sync", "--once", "--timeout", "60"],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )
    status = subprocess.run(
        [*branchsync, "status", "--json"], capture_output=True, text=True, env=env, timeout=60, check=False
    )

    assert synced.returncode == 0, synced.stderr
    lines = synced.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("branchsync: Branchsync found its local data damaged"), (
        lines
    )
    assert f"{QUEUED} unsent change(s) were saved and will be sent again" in lines[0]
    assert set(queued) <= set(server_rows(database_url))
    report = json.loads(status.stdout)
    assert report["device_id"] == device
    assert report["pending"] == 0
    assert report["recovered"] == lines[0].removeprefix("branchsync: ")
    assert status.stderr == ""  # told once, when it happened; status keeps the sentence
