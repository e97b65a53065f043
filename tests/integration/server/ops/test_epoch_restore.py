"""Restoring an older backup loses no write that a branch still holds.

Write, back up, write more from a branch and sync it, restore (the server gets a new
epoch), restart the server, reconnect the branch: the branch pulls again from 0 and
pushes back what it has that is newer, so the server ends with every write.
"""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from pathlib import Path

from server.ops.backup import create_backup, restore_backup
from server.settings import Settings
from tests.support.desktop_engine import enrolled_installation, wait_until
from tests.support.live_server import free_port, live_server
from tests.support.server_rows import server_rows


def test_a_branch_gives_back_the_writes_a_restore_lost(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url)
    port = free_port()
    with ExitStack() as first_server:
        first = first_server.enter_context(live_server(settings, port=port))
        with enrolled_installation(first.url, database_url, tmp_path / "north", "North") as north:
            north.start()
            north.wait_online()
            kept = north.cache.create("clients", {"name": "Ada", "phone": "+44 20 7946 0000"})
            north.wait_synced()
            backup = asyncio.run(create_backup(database_url, tmp_path / "backups", keep=3))

            later = north.cache.create("clients", {"name": "Grace"})
            north.cache.update("clients", kept, {"email": "ada@example.com"})
            gone = north.cache.create("clients", {"name": "Temporary"})
            north.cache.delete("clients", gone)
            north.wait_synced()
            assert set(server_rows(database_url)) == {kept, later}
            old_epoch = north.cache.state().epoch
            north.stop()
            first_server.close()  # the server is stopped for the restore

            restored = asyncio.run(restore_backup(database_url, backup.path, force=True))
            after_restore = server_rows(database_url)
            assert set(after_restore) == {kept}  # Grace is lost here
            assert after_restore[kept]["email"] is None  # and so is Ada's email
            assert restored.epoch != old_epoch

            with live_server(settings, port=port):
                north.start()
                wait_until(lambda: north.cache.state().epoch == restored.epoch, 15, "the new epoch on North")
                wait_until(lambda: set(server_rows(database_url)) == {kept, later}, 15, "Grace back")
                wait_until(lambda: server_rows(database_url)[kept]["email"] == "ada@example.com", 15, "email")
                north.wait_synced()
                rows = server_rows(database_url)
                assert rows[kept]["phone"] == "+44 20 7946 0000" and rows[later]["name"] == "Grace"
                assert north.cache.get("clients", gone) is None
                assert north.cache.get("clients", later) is not None
