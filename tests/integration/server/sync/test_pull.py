"""GET /api/v1/sync/pull on a real server: paging, full row states, bounds, restarts."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.hlc import parse
from protocol.messages import PullResponse
from server.settings import Settings
from server.store.tables import server_meta
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import live_server
from tests.support.sync_client import mutation, pull_all, push, stamper


async def _pull(http: httpx.AsyncClient, device: Device, **params: int) -> httpx.Response:
    return await http.get("/api/v1/sync/pull", params=params, headers=device.headers)


async def test_pages_follow_the_cursor_until_caught_up(http: httpx.AsyncClient, north_device: Device) -> None:
    clock = stamper(north_device)
    await push(http, north_device, [mutation(clock.now(), {"name": f"C{i}"}) for i in range(5)])

    first = PullResponse.model_validate((await _pull(http, north_device, since=0, limit=2)).json())
    second = PullResponse.model_validate(
        (await _pull(http, north_device, since=first.cursor, limit=2)).json()
    )
    last = PullResponse.model_validate((await _pull(http, north_device, since=4, limit=2)).json())
    beyond = PullResponse.model_validate((await _pull(http, north_device, since=99, limit=2)).json())

    assert ([c.seq for c in first.changes], first.cursor, first.has_more) == ([1, 2], 2, True)
    assert ([c.seq for c in second.changes], second.cursor, second.has_more) == ([3, 4], 4, True)
    assert ([c.seq for c in last.changes], last.cursor, last.has_more) == ([5], 5, False)
    assert (beyond.changes, beyond.cursor, beyond.has_more) == ([], 99, False)
    assert first.epoch == north_device.epoch and parse(first.server_hlc).node.startswith("server.")


async def test_a_row_changed_twice_comes_once_with_its_whole_state(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    clock = stamper(north_device)
    row_id, other = uuid.uuid4(), uuid.uuid4()
    await push(
        http, north_device, [mutation(clock.now(), {"name": "Ann", "tags": ["a", "b"]}, row_id=row_id)]
    )
    await push(http, north_device, [mutation(clock.now(), {"name": "Bob"}, row_id=other)])
    await push(http, north_device, [mutation(clock.now(), {"email": "ann@example.com"}, row_id=row_id)])

    changes, cursor = await pull_all(http, north_device)

    assert [(c["row_id"], c["seq"]) for c in changes] == [(str(other), 2), (str(row_id), 3)]
    assert changes[1]["fields"] == {"name": "Ann", "tags": ["a", "b"], "email": "ann@example.com"}
    assert set(changes[1]["clocks"]) == {"name", "tags", "email", "_deleted"} and cursor == 3


async def test_out_of_range_parameters_are_refused(http: httpx.AsyncClient, north_device: Device) -> None:
    negative = await _pull(http, north_device, since=-1)
    huge = await _pull(http, north_device, limit=5001)
    zero = await _pull(http, north_device, limit=0)
    anonymous = await http.get("/api/v1/sync/pull")

    for answer in (negative, huge, zero):
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, "invalid_body")
    assert anonymous.status_code == 401


async def test_a_restart_loses_nothing_and_numbers_go_on(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    with live_server(settings) as first:
        device = await enrolled_device(first.url, database_url)
        clock = stamper(device)
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as http:
            before = await push(http, device, [mutation(clock.now(), {"name": f"C{i}"}) for i in range(3)])
            pulled_before, _ = await pull_all(http, device)

    with live_server(settings) as restarted:
        async with httpx.AsyncClient(base_url=restarted.url, timeout=30) as http:
            pulled_after, cursor = await pull_all(http, device)
            answer = await push(http, device, [mutation(clock.now(), {"name": "After"})])
            epoch = (await _pull(http, device)).json()["epoch"]

    assert len(pulled_before) == 3 and pulled_after == pulled_before
    assert cursor == max(r["seq"] for r in before["results"])
    assert answer["results"][0]["seq"] == cursor + 1
    assert epoch == device.epoch


async def test_the_epoch_is_the_databases(
    http: httpx.AsyncClient, north_device: Device, db_engine: AsyncEngine
) -> None:
    async with db_engine.connect() as conn:
        stored = (
            await conn.execute(select(server_meta.c.value).where(server_meta.c.key == "epoch"))
        ).scalar_one()

    answer = (await _pull(http, north_device)).json()

    assert answer["epoch"] == stored
