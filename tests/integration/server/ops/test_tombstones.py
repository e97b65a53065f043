"""Small tombstones: housekeeping clears a long-deleted row's values through the write path,
every cache (new or old desktop) clears its copy, a stale edit cannot resurrect it and a later
edit brings back only its own fields."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from desktop.cache import Cache
from protocol.hlc import system_wall_ms
from protocol.merge import CLEARED, DELETED
from protocol.messages import Change
from server.ops.housekeeping import sweep
from tests.support.devices import Device
from tests.support.sync_client import mutation, pull_all, push, stamper

KEEP = timedelta(days=90)
CLEAR_AFTER = timedelta(days=30)


async def _stored(engine: AsyncEngine, row_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT name, phone, notes, clocks, deleted FROM clients WHERE id = :id"), {"id": row_id}
        )
        return dict(found.mappings().one())


async def _age(engine: AsyncEngine, row_id: str, days: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE clients SET updated_at = now() - make_interval(days => :days) WHERE id = :id"),
            {"id": row_id, "days": days},
        )


def _apply(cache: Cache, changes: list[dict[str, Any]], cursor: int, *, old_desktop: bool = False) -> None:
    """Apply pulled changes as the desktop does; ``old_desktop`` drops ``CLEARED`` as a
    version that predates it does (it keeps only field names and ``DELETED``)."""
    models = []
    for body in changes:
        if old_desktop:
            body = {**body, "clocks": {k: v for k, v in body["clocks"].items() if k != CLEARED}}
        models.append(Change.model_validate(body))
    cache.apply_changes(models, cursor)


async def test_a_long_deleted_row_is_cleared_everywhere_and_stale_edits_cannot_bring_it_back(
    http: httpx.AsyncClient, north_device: Device, db_engine: AsyncEngine, tmp_path: Path
) -> None:
    clock = stamper(north_device)
    row_id = str(uuid.uuid4())
    created = mutation(clock.now(), {"name": "Ann Lee", "phone": "+1 555 0100"}, row_id=row_id)
    stale_hlc = clock.now()  # an offline edit made before the delete, pushed only later
    await push(http, north_device, [created, mutation(clock.now(), row_id=row_id, op="delete")])
    changes, head = await pull_all(http, north_device)
    with (
        Cache(tmp_path / "new", wall_ms=system_wall_ms) as new,
        Cache(tmp_path / "old", wall_ms=system_wall_ms) as old,
    ):
        _apply(new, changes, head)
        _apply(old, changes, head, old_desktop=True)
        held = old.get("clients", row_id, include_deleted=True)
        assert held is not None and held.fields["name"] == "Ann Lee"  # still in the recent window

        assert (await sweep(db_engine, KEEP, CLEAR_AFTER)).tombstones == 0  # deleted just now
        await _age(db_engine, row_id, days=31)
        assert (await sweep(db_engine, KEEP, CLEAR_AFTER)).tombstones == 1
        assert (await sweep(db_engine, KEEP, CLEAR_AFTER)).tombstones == 0  # nothing left to do

        row = await _stored(db_engine, row_id)
        assert (row["name"], row["phone"], row["deleted"]) == (None, None, True)
        assert set(row["clocks"]) == {DELETED, CLEARED} and row["clocks"][CLEARED] == row["clocks"][DELETED]
        cleared, cursor = await pull_all(http, north_device, since=head)
        assert len(cleared) == 1 and cleared[0]["fields"] == {} and cleared[0]["deleted"] is True
        _apply(new, cleared, cursor)
        _apply(old, cleared, cursor, old_desktop=True)
        for cache in (new, old):
            tombstone = cache.get("clients", row_id, include_deleted=True)
            assert tombstone is not None and tombstone.fields == {} and tombstone.deleted

        stale = mutation(stale_hlc, {"name": "Ann Lee", "phone": "+1 555 0199"}, row_id=row_id)
        [answer] = (await push(http, north_device, [stale]))["results"]
        assert answer["status"] == "applied" and [lost["field"] for lost in answer["lost"]] == [DELETED]
        assert await _stored(db_engine, row_id) == row
        assert (await pull_all(http, north_device, since=cursor)) == ([], cursor)

        await push(http, north_device, [mutation(clock.now(), {"name": "Ann Back"}, row_id=row_id)])
        revived, last = await pull_all(http, north_device, since=cursor)
        back = await _stored(db_engine, row_id)
        assert (back["name"], back["phone"], back["deleted"]) == ("Ann Back", None, False)
        _apply(new, revived, last)
        _apply(old, revived, last, old_desktop=True)
        for cache in (new, old):
            record = cache.get("clients", row_id)
            assert record is not None and record.fields == {"name": "Ann Back"}
