"""Backups and restores on the machine's PostgreSQL (15) with PostgreSQL 18 tools:
write from two branches, back up, wipe, restore, compare row by row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from server.errors import BackupError, RestoreRefused
from server.ops.backup import create_backup, restore_backup
from server.ops.backup_files import list_backups, manifest_path, read_manifest
from server.settings import Settings
from server.store.engine import asyncpg_url
from server.store.ops_tables import UNSAVED_TABLES
from tests.support import postgres
from tests.support.devices import enrolled_device
from tests.support.live_server import live_server
from tests.support.sync_client import mutation, push, stamper

Tables = dict[str, list[dict[str, Any]]]


async def dump_rows(url: str) -> Tables:
    """Every row of every table (but the unsaved ones), in a stable order."""
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        names = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        ]
        return {
            name: [dict(r) for r in await conn.fetch(f'SELECT * FROM public."{name}" AS t ORDER BY t::text')]
            for name in sorted(names)
            if name not in UNSAVED_TABLES
        }
    finally:
        await conn.close()


async def write_from_two_branches(server_url: str, database_url: str, label: str = "") -> None:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as client:
        for branch in ("North", "South"):
            device = await enrolled_device(server_url, database_url, branch, name=f"{branch} desk{label}")
            clock = stamper(device)
            mutations = [
                mutation(clock.now(), {"name": f"{branch} client {i}{label}", "tags": ["vip"]})
                for i in range(3)
            ]
            body = await push(client, device, mutations)
            assert {r["status"] for r in body["results"]} == {"applied"}
            appointment = mutation(
                clock.now(),
                {
                    "client_id": mutations[0]["row_id"],
                    "starts_at": "2026-12-01T09:30:00+01:00",
                    "duration_min": 45,
                },
                collection="appointments",
            )
            assert (await push(client, device, [appointment]))["results"][0]["status"] == "applied"


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    return tmp_path / "backups"


async def test_backup_wipe_restore_gives_back_every_row(
    database_url: str, pg_admin_url: str, backups: Path
) -> None:
    with live_server(Settings(database_url=database_url)) as running:
        await write_from_two_branches(running.url, database_url)
    before = await dump_rows(database_url)
    assert len(before["clients"]) == 6 and len(before["appointments"]) == 2

    made = await create_backup(database_url, backups, keep=5)
    assert made.path.is_file() and manifest_path(made.path).is_file()
    assert made.manifest.row_counts["clients"] == 6 and made.manifest.head == 8
    assert made.manifest.schema_revision == before["alembic_version"][0]["version_num"]

    await postgres.drop_database(pg_admin_url, database_url)  # the wipe
    fresh = await postgres.create_database(pg_admin_url)
    try:
        restored = await restore_backup(fresh, made.path)
        after = await dump_rows(fresh)
    finally:
        await postgres.drop_database(pg_admin_url, fresh)

    assert restored.replaced is False
    assert restored.epoch != made.manifest.epoch
    for table, rows in before.items():
        if table in ("server_meta", "backup_runs"):
            continue
        assert after[table] == rows, table
    version = {r["key"]: r["value"] for r in before["server_meta"]}["directory_version"]
    assert {r["key"]: r["value"] for r in after["server_meta"]} == {
        "epoch": restored.epoch,
        "directory_version": version,
    }
    kinds = [(r["kind"], r["ok"]) for r in after["backup_runs"]]
    assert kinds == [("restore", True)]  # the dump's own run is recorded after the snapshot


async def test_restore_refuses_a_database_with_contents(database_url: str, backups: Path) -> None:
    with live_server(Settings(database_url=database_url)) as running:
        await write_from_two_branches(running.url, database_url)
        made = await create_backup(database_url, backups, keep=5)
        await write_from_two_branches(running.url, database_url, label=" later")
    newer = await dump_rows(database_url)
    assert len(newer["clients"]) == 12

    with pytest.raises(RestoreRefused, match=r"is not empty.*--force"):
        await restore_backup(database_url, made.path)
    assert await dump_rows(database_url) == newer  # untouched

    forced = await restore_backup(database_url, made.path, force=True)
    after = await dump_rows(database_url)
    assert forced.replaced is True
    assert len(after["clients"]) == 6 and len(after["appointments"]) == 2
    assert {r["key"]: r["value"] for r in after["server_meta"]}["epoch"] == forced.epoch
    newer_epoch = {r["key"]: r["value"] for r in newer["server_meta"]}["epoch"]
    assert forced.epoch not in (made.manifest.epoch, newer_epoch)


async def test_damaged_or_lonely_dump_is_refused_before_touching_anything(
    database_url: str, pg_admin_url: str, backups: Path
) -> None:
    with live_server(Settings(database_url=database_url)):
        pass
    made = await create_backup(database_url, backups, keep=5)
    data = bytearray(made.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    made.path.write_bytes(bytes(data))
    fresh = await postgres.create_database(pg_admin_url)
    try:
        with pytest.raises(BackupError, match="checksum"):
            await restore_backup(fresh, made.path)
        manifest_path(made.path).unlink()
        with pytest.raises(BackupError, match="manifest"):
            await restore_backup(fresh, made.path)
        assert await dump_rows(fresh) == {}
    finally:
        await postgres.drop_database(pg_admin_url, fresh)


async def test_retention_keeps_the_newest(database_url: str, backups: Path) -> None:
    with live_server(Settings(database_url=database_url)):
        pass
    made = [await create_backup(database_url, backups, keep=2) for _ in range(3)]
    assert list_backups(backups) == [made[1].path, made[2].path]
    assert made[2].pruned == (made[0].path,)
    assert not manifest_path(made[0].path).exists()
    (backups / "notes.txt").write_text("operator's file")
    await create_backup(database_url, backups, keep=1)
    assert (backups / "notes.txt").exists()
    assert read_manifest(list_backups(backups)[0]).file == list_backups(backups)[0].name


async def test_backup_of_an_unreachable_database_fails_in_one_line(backups: Path) -> None:
    from tests.support.live_server import free_port

    with pytest.raises(BackupError, match="cannot reach PostgreSQL"):
        await create_backup(f"postgresql://postgres@127.0.0.1:{free_port()}/gone", backups, keep=1)
    assert list_backups(backups) == []
