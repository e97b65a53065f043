"""A pull never skips a change that commits late.

The classic failure: transaction A takes change number 5, B takes 6 and commits
first; a reader pulls 6 and moves its cursor past 5, which then commits and is never
seen. Commits do overlap (``server.store.change_numbers``), so here a real write
transaction is held open while other devices push and commit, and the reader must
stop below it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from protocol.hlc import HybridLogicalClock
from server.settings import Settings
from server.store.engine import create_engine
from server.sync.write_path import Author, write_batch
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import LiveServer, live_server
from tests.support.sync_client import mutation, mutation_model, pull_all, push, stamper

DEVICES = 20
BATCHES = 5
PER_BATCH = 20


@pytest.fixture
def busy_server(database_url: str) -> Iterator[LiveServer]:
    """A server whose rate limit does not get in the way of a tight pull loop."""
    with live_server(Settings(database_url=database_url, rate_per_s=100_000, rate_burst=100_000)) as running:
        yield running


async def test_a_pull_never_skips_a_change_that_commits_late(
    busy_server: LiveServer, database_url: str
) -> None:
    devices = [await enrolled_device(busy_server.url, database_url, "North", f"PC {i}") for i in range(3)]
    engine = create_engine(database_url, pool_size=2)
    held_row = uuid.uuid4()
    slow = mutation_model(HybridLogicalClock("slow-writer").now(), {"name": "Slow"}, row_id=held_row)
    try:
        async with httpx.AsyncClient(base_url=busy_server.url, timeout=30) as http:
            async with engine.connect() as held:
                transaction = await held.begin()
                [taken] = await write_batch(
                    held, HybridLogicalClock("server.held"), Author(None, None), [slow], max_clock_skew_s=300
                )
                answers = await asyncio.gather(
                    *(
                        push(http, d, [mutation(stamper(d).now(), {"name": f"Fast {i}"})])
                        for i, d in enumerate(devices)
                    )
                )  # committed while the slow writer is still open: nobody waits on it
                during, cursor_during = await pull_all(http, devices[0])
                await transaction.commit()
            after, _ = await pull_all(http, devices[0], since=cursor_during)
    finally:
        await engine.dispose()

    assert (during, cursor_during) == ([], 0)
    fast_seqs = sorted(a["results"][0]["seq"] for a in answers)
    assert taken.seq == 1 and fast_seqs == [2, 3, 4]
    assert [c["seq"] for c in after] == [1, 2, 3, 4]
    assert after[0]["row_id"] == str(held_row)


async def test_twenty_devices_pushing_at_once_give_gap_free_commit_ordered_pulls(
    busy_server: LiveServer, database_url: str
) -> None:
    devices = [
        await enrolled_device(busy_server.url, database_url, f"Branch {i % 4}", f"PC {i}")
        for i in range(DEVICES)
    ]
    reader = devices[0]
    pushed: dict[str, str] = {}  # row id -> device id
    seen: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def device_pushes(http: httpx.AsyncClient, device: Device) -> None:
        clock = stamper(device)
        for b in range(BATCHES):
            batch = [mutation(clock.now(), {"name": f"{device.id[:8]} {b}.{i}"}) for i in range(PER_BATCH)]
            body = await push(http, device, batch)
            assert {r["status"] for r in body["results"]} == {"applied"}
            pushed.update((m["row_id"], device.id) for m in batch)

    async def follow(http: httpx.AsyncClient) -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            changes, cursor = await pull_all(http, reader, since=cursor, limit=37)
            seen.extend(changes)
            if finished:
                return

    async with httpx.AsyncClient(base_url=busy_server.url, timeout=60) as http:
        follower = asyncio.create_task(follow(http))
        await asyncio.gather(*(device_pushes(http, d) for d in devices))
        done.set()
        await follower
        everything, head = await pull_all(http, reader)

    total = DEVICES * BATCHES * PER_BATCH
    assert [c["seq"] for c in seen] == list(range(1, total + 1))  # in order, no gap, no repeat
    assert [c["seq"] for c in everything] == list(range(1, total + 1)) and head == total
    assert {c["row_id"] for c in seen} == set(pushed)
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            authors: dict[str, str] = dict(
                (await conn.execute(text("SELECT id::text, updated_by_device::text FROM clients"))).all()
            )
    finally:
        await engine.dispose()
    assert authors == pushed
