"""``server.ops.admin`` against a real, migrated PostgreSQL: what the CLI does, without it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.errors import AdminError
from server.identity.enrollment import enroll
from server.ops import admin
from server.store import migrate
from server.store.engine import DEVICES_CHANNEL, asyncpg_url, create_engine
from server.store.tables import branches, enroll_codes


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


async def test_a_branch_zone_is_stored_by_its_iana_name(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        north = await admin.create_branch(conn, "North", " europe/vienna ")
        south = await admin.create_branch(conn, "South")
        east = await admin.create_branch(conn, "East", "")
        listed = await admin.list_branches(conn)
        found = await admin.find_branch(conn, "North")

    assert (north.timezone, south.timezone, east.timezone) == ("Europe/Vienna", None, None)
    assert listed == [east, north, south] and found == north


async def test_an_unknown_zone_is_refused_with_a_suggestion(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        with pytest.raises(AdminError) as refused:
            await admin.create_branch(conn, "North", "Europe/Vienn")
        assert await admin.list_branches(conn) == []

    assert str(refused.value) == "unknown time zone 'Europe/Vienn'; use an IANA name such as Europe/Vienna"


async def test_a_branch_gets_a_zone_loses_it_and_is_renamed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        made = await admin.create_branch(conn, "North")
        zoned = await admin.update_branch(conn, "North", timezone="Europe/Berlin")
        renamed = await admin.update_branch(conn, " North ", new_name="  North   East ")
        cleared = await admin.update_branch(conn, "North East", timezone="  ")
        both = await admin.update_branch(conn, "North East", timezone="UTC", new_name="North")

    assert zoned == admin.Branch(made.id, "North", made.created_at, "Europe/Berlin")
    assert (renamed.id, renamed.name, renamed.timezone) == (made.id, "North East", "Europe/Berlin")
    assert (cleared.name, cleared.timezone) == ("North East", None)
    assert (both.id, both.name, both.timezone) == (made.id, "North", "UTC")


@pytest.mark.parametrize(
    ("name", "changes", "message"),
    [
        ("North", {}, "nothing to change"),
        ("Nowhere", {"timezone": "UTC"}, "no branch named 'Nowhere'"),
        ("North", {"new_name": "South"}, "branch 'South' already exists"),
        ("North", {"new_name": " "}, "must not be empty"),
        ("North", {"timezone": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
    ],
)
async def test_bad_branch_updates_are_refused_and_change_nothing(
    engine: AsyncEngine, name: str, changes: dict[str, str], message: str
) -> None:
    async with engine.begin() as conn:
        north = await admin.create_branch(conn, "North", "Europe/Vienna")
        south = await admin.create_branch(conn, "South")
        with pytest.raises(AdminError, match=message):
            await admin.update_branch(conn, name, **changes)
        assert await admin.list_branches(conn) == [north, south]
