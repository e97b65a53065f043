"""``server.admin`` against a real, migrated PostgreSQL: what the CLI does, without it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server import admin, migrate
from server.db import DEVICES_CHANNEL, asyncpg_url, create_engine
from server.enrollment import enroll
from server.errors import AdminError
from server.tables import branches, enroll_codes


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=2)
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


async def _enrolled(engine: AsyncEngine, branch: str, name: str) -> uuid.UUID:
    async with engine.begin() as conn:
        if await admin.find_branch(conn, branch) is None:
            await admin.create_branch(conn, branch)
        (issued,) = await admin.issue_codes(conn, branch)
        return (await enroll(conn, issued.code, name)).device_id


async def test_branch_names_are_cleaned_unique_and_listed_by_name(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        south = await admin.create_branch(conn, "South")
        north = await admin.create_branch(conn, "  North   East ")
        with pytest.raises(AdminError, match="already exists"):
            await admin.create_branch(conn, "North East")
        listed = await admin.list_branches(conn)

    assert north.name == "North East"
    assert listed == [north, south]


@pytest.mark.parametrize(("name", "message"), [("", "must not be empty"), ("x" * 101, "at most 100")])
async def test_bad_branch_names_are_refused(engine: AsyncEngine, name: str, message: str) -> None:
    async with engine.begin() as conn:
        with pytest.raises(AdminError, match=message):
            await admin.create_branch(conn, name)
        assert (await conn.execute(select(func.count()).select_from(branches))).scalar_one() == 0


async def test_codes_are_issued_in_bulk_with_their_expiry(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await admin.create_branch(conn, "North")
        issued = await admin.issue_codes(conn, "North", count=50, ttl=timedelta(hours=3))
        now = (await conn.execute(select(func.now()))).scalar_one()
        stored = (await conn.execute(select(func.count()).select_from(enroll_codes))).scalar_one()

    assert len({c.code for c in issued}) == 50 == stored
    assert all(c.branch == "North" and c.expires_at == now + timedelta(hours=3) for c in issued)


@pytest.mark.parametrize(
    ("branch", "count", "ttl", "message"),
    [
        ("Nowhere", 1, timedelta(days=1), "no branch named 'Nowhere'"),
        ("North", 0, timedelta(days=1), "count must be between"),
        ("North", 1001, timedelta(days=1), "count must be between"),
        ("North", 1, timedelta(0), "must be positive"),
    ],
)
async def test_bad_code_requests_are_refused(
    engine: AsyncEngine, branch: str, count: int, ttl: timedelta, message: str
) -> None:
    async with engine.begin() as conn:
        await admin.create_branch(conn, "North")
        with pytest.raises(AdminError, match=message):
            await admin.issue_codes(conn, branch, count, ttl)


async def test_devices_are_listed_with_their_branch(engine: AsyncEngine) -> None:
    first = await _enrolled(engine, "North", "Till 1")
    second = await _enrolled(engine, "South", "Till 2")

    async with engine.connect() as conn:
        listed = await admin.list_devices(conn)

    assert [(d.id, d.name, d.branch, d.revoked, d.last_seen) for d in listed] == [
        (first, "Till 1", "North", False, None),
        (second, "Till 2", "South", False, None),
    ]


async def test_revoking_notifies_every_server_process_at_commit(
    engine: AsyncEngine, database_url: str
) -> None:
    device = await _enrolled(engine, "North", "Till 1")
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_url(database_url))
    await listener.add_listener(DEVICES_CHANNEL, lambda *args: heard.put_nowait(args[3]))
    try:
        async with engine.begin() as conn:
            revoked = await admin.revoke_device(conn, str(device))
            assert heard.empty()
            await conn.commit()
            assert await asyncio.wait_for(heard.get(), timeout=5) == str(device)
        async with engine.begin() as conn:
            again = await admin.revoke_device(conn, device)
    finally:
        await listener.close()

    assert revoked.revoked and again.revoked and again.id == device


@pytest.mark.parametrize(
    ("device_id", "message"), [("nope", "is not a device id"), (str(uuid.UUID(int=1)), "no device")]
)
async def test_revoking_an_unknown_device_is_refused(
    engine: AsyncEngine, device_id: str, message: str
) -> None:
    async with engine.begin() as conn:
        with pytest.raises(AdminError, match=message):
            await admin.revoke_device(conn, device_id)
