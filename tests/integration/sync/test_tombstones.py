"""A running engine's cache clears a deleted row's values when housekeeping clears the server's."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from server.ops.housekeeping import sweep
from server.store.engine import asyncpg_url, create_engine
from tests.support.desktop_engine import Installation, wait_until


async def _age_and_sweep(database_url: str, row_id: str) -> int:
    """Make the row look deleted 31 days ago and run housekeeping as shipped."""
    conn = await asyncpg.connect(asyncpg_url(database_url))
    try:
        await conn.execute("UPDATE clients SET updated_at = now() - interval '31 days' WHERE id = $1", row_id)
    finally:
        await conn.close()
    engine = create_engine(database_url, pool_size=1)
    try:
        return (await sweep(engine, timedelta(days=90), timedelta(days=30))).tombstones
    finally:
        await engine.dispose()


def test_a_connected_engine_clears_its_copy_of_a_compacted_tombstone(
    north: Installation, database_url: str
) -> None:
    north.start()
    north.wait_online()
    row_id = north.cache.create("clients", {"name": "Ann Lee", "phone": "+1 555 0100"})
    north.cache.delete("clients", row_id)
    north.wait_synced()
    held = north.cache.get("clients", row_id, include_deleted=True)
    assert held is not None and held.fields["name"] == "Ann Lee"

    assert asyncio.run(_age_and_sweep(database_url, row_id)) == 1

    def cleared() -> bool:
        row = north.cache.get("clients", row_id, include_deleted=True)
        return row is not None and row.fields == {} and "_cleared" in row.clocks

    wait_until(cleared, 15, "the cleared tombstone in the engine's cache")
    tombstone = north.cache.get("clients", row_id, include_deleted=True)
    assert tombstone is not None and tombstone.deleted
