"""A full disk under the engine: a clear error, a consistent cache, and it finishes once there is room.

The data dir is a real, tiny tmpfs (the suite runs as root), filled by a first sync.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from desktop.cache import StorageError, StorageProblem
from desktop.config.paths import database_path
from desktop.demo.link_proxy import LinkProxy
from desktop.sync.actions import Outcome
from desktop.sync.runner import RunnerConfig
from desktop.sync.status import EngineState
from tests.support.desktop_engine import FAST, enrolled_installation
from tests.support.devices import enrolled_device
from tests.support.sync_client import mutation, push, stamper

ROWS = 12_000
SMALL_PAGES = replace(FAST, pull_limit=1_000, snapshot=False)
"""Page by page, in pages small enough that some fit on the tiny disk before it is full."""
SNAPSHOT = replace(FAST, pull_limit=1_000)
"""The new PC's bulk snapshot (one transaction: all of it or none)."""


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs, unmounted afterwards."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


async def _seed(server_url: str, database_url: str) -> None:
    device = await enrolled_device(server_url, database_url, "Seeder")
    clock = stamper(device)
    async with httpx.AsyncClient(base_url=server_url, timeout=60) as client:
        for start in range(0, ROWS, 500):
            batch = [
                mutation(clock.now(), {"name": f"Client {n}", "notes": "n" * 200})
                for n in range(start, start + 500)
            ]
            await push(client, device, batch)


@pytest.mark.parametrize("config", [SMALL_PAGES, SNAPSHOT], ids=["pages", "snapshot"])
def test_a_full_disk_stops_the_engine_with_a_clear_error_and_a_consistent_cache(
    tiny_disk: Path, proxy: LinkProxy, database_url: str, config: RunnerConfig
) -> None:
    asyncio.run(_seed(proxy.url, database_url))
    with enrolled_installation(proxy.url, database_url, tiny_disk / "pc", "North") as pc:
        with pytest.raises(StorageError) as caught:
            pc.sync_once(config)
        assert caught.value.problem is StorageProblem.DISK_FULL
        last = pc.status
        assert last is not None and last.state is EngineState.OFFLINE
        assert last.last_error is not None and "full" in last.last_error

        with sqlite3.connect(database_path(pc.data_dir)) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        cursor, stored = pc.cache.state().cursor, pc.cache.count("clients")
        if config.snapshot:
            assert stored == cursor == 0  # the snapshot's one transaction rolled back whole
        else:
            assert 0 < stored == cursor < ROWS  # whole pages only: the cursor moved with its rows

        subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=True)
        assert pc.sync_once(config) is Outcome.SYNCED
        assert pc.cache.count("clients") == pc.cache.state().cursor == ROWS
