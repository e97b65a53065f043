"""GET /api/v1/branches on a real server and database: every branch with its time zone and
every device ever enrolled, for enrolled devices only; and the ``branches.timezone`` upgrade."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.messages import DirectoryResponse
from protocol.timezones import zone_or_none
from server.ops import admin
from server.store import migrate
from tests.support.devices import enrolled_device, protocol_headers
from tests.support.live_server import LiveServer

DIRECTORY = "/api/v1/branches"


async def test_a_device_sees_every_branch_with_its_zone_and_every_device(
    sync_server: LiveServer, database_url: str, http: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    async with db_engine.begin() as conn:
        await admin.create_branch(conn, "South", "america/new_york")
        await admin.create_branch(conn, "North", "Europe/Vienna")
        east = await admin.create_branch(conn, "East")  # no zone, no device
    till = await enrolled_device(sync_server.url, database_url, "North", "Till 1")
    reception = await enrolled_device(sync_server.url, database_url, "South", "Reception")
    old_pc = await enrolled_device(sync_server.url, database_url, "North", "Old PC")
    async with db_engine.begin() as conn:
        await admin.revoke_device(conn, old_pc.id)

    answer = await http.get(DIRECTORY, headers=reception.headers)

    assert answer.status_code == 200, answer.text
    assert answer.json()["branches"][0] == {"id": str(east.id), "name": "East", "timezone": None}
    directory = DirectoryResponse.model_validate(answer.json())
    assert [(b.id, b.name, b.timezone) for b in directory.branches] == [
        (str(east.id), "East", None),
        (till.branch_id, "North", "Europe/Vienna"),
        (reception.branch_id, "South", "America/New_York"),
    ]
    assert [(d.id, d.name, d.branch_id) for d in directory.devices] == [
        (till.id, "Till 1", till.branch_id),
        (reception.id, "Reception", reception.branch_id),
        (old_pc.id, "Old PC", till.branch_id),
    ]
    assert all(zone_or_none(b.timezone) is not None for b in directory.branches if b.timezone)


async def test_a_zone_set_or_a_rename_shows_on_the_next_read(
    sync_server: LiveServer, database_url: str, http: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    device = await enrolled_device(sync_server.url, database_url, "North")
    before = DirectoryResponse.model_validate((await http.get(DIRECTORY, headers=device.headers)).json())

    async with db_engine.begin() as conn:
        await admin.update_branch(conn, "North", timezone="Asia/Kolkata", new_name="North East")
    after = DirectoryResponse.model_validate((await http.get(DIRECTORY, headers=device.headers)).json())

    assert [(b.id, b.name, b.timezone) for b in before.branches] == [(device.branch_id, "North", None)]
    assert [(b.id, b.name, b.timezone) for b in after.branches] == [
        (device.branch_id, "North East", "Asia/Kolkata")
    ]


@pytest.mark.parametrize("token", [None, "bsd_not-a-real-token"])
async def test_without_a_known_token_it_is_401(
    sync_server: LiveServer, http: httpx.AsyncClient, token: str | None
) -> None:
    answer = await http.get(DIRECTORY, headers=protocol_headers(token))

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"


async def test_a_revoked_device_is_401_and_another_protocol_version_426(
    sync_server: LiveServer, database_url: str, http: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    device = await enrolled_device(sync_server.url, database_url)
    assert (await http.get(DIRECTORY, headers=device.headers)).status_code == 200

    newer = await http.get(DIRECTORY, headers=device.headers | {"Branchsync-Protocol": "2"})
    async with db_engine.begin() as conn:
        await admin.revoke_device(conn, device.id)
    revoked = await http.get(DIRECTORY, headers=device.headers)

    assert (newer.status_code, newer.json()["error"]["code"]) == (426, "update_required")
    assert (revoked.status_code, revoked.json()["error"]["code"]) == (401, "unauthorized")


async def test_branches_made_before_the_upgrade_have_no_zone_until_one_is_set(db_engine: AsyncEngine) -> None:
    await migrate.upgrade(db_engine, "0003")
    old_id = uuid.uuid4()
    async with db_engine.begin() as conn:
        await conn.execute(text("INSERT INTO branches (id, name) VALUES (:id, 'North')"), {"id": old_id})
    await migrate.upgrade(db_engine)

    async with db_engine.begin() as conn:
        upgraded = await admin.list_branches(conn)
        zoned = await admin.update_branch(conn, "North", timezone="Europe/Vienna")

    assert [(b.id, b.name, b.timezone) for b in upgraded] == [(old_id, "North", None)]
    assert (zoned.id, zoned.timezone) == (old_id, "Europe/Vienna")
    assert await migrate.current_revision(db_engine) == migrate.head_revision()
