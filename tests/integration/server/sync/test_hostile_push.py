"""Pushes a hostile or buggy client might send: each mutation still gets its own answer.

Found from outside (issue 12): a field name or ``base`` key that is a lone surrogate
made the answer unencodable after the batch had committed (500 every time, the queue
wedged); a huge unknown field name was echoed back whole; a device could stamp its
writes with another device's HLC node (now such a stamp is taken as the pushing device's),
or reuse another device's mutation id and be answered with that device's result.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.hlc import Timestamp, parse
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import LiveServer
from tests.support.sync_client import mutation, pull_all, push, stamper


async def _raw_push(
    http: httpx.AsyncClient, device: Device, mutations: list[dict[str, Any]]
) -> httpx.Response:
    """Push JSON as text, so a lone surrogate goes on the wire as the escape ``\\udfff``."""
    body = json.dumps({"mutations": mutations})  # ensure_ascii: "\udfff" stays an escape
    headers = {**device.headers, "Content-Type": "application/json"}
    return await http.post("/api/v1/sync/push", content=body, headers=headers)


async def test_a_surrogate_field_name_is_rejected_alone_and_its_neighbour_applied(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    clock = stamper(north_device)
    good = mutation(clock.now(), {"name": "Ann Lee"})
    bad = mutation(clock.now(), {"\udfff": "x"})

    answer = await _raw_push(http, north_device, [good, bad])
    again = await _raw_push(http, north_device, [good, bad])

    assert answer.status_code == 200, answer.text
    statuses = [result["status"] for result in answer.json()["results"]]
    assert statuses == ["applied", "rejected"]
    assert answer.json()["results"][1]["error"]["code"] == "unknown_field"
    assert [result["status"] for result in again.json()["results"]] == ["duplicate", "rejected"]
    changes, _ = await pull_all(http, north_device)
    assert [change["fields"]["name"] for change in changes] == ["Ann Lee"]


async def test_a_surrogate_base_key_is_rejected_alone(http: httpx.AsyncClient, north_device: Device) -> None:
    clock = stamper(north_device)
    good = mutation(clock.now(), {"name": "Ann Lee"})
    bad = {**mutation(clock.now(), {"name": "Bo"}), "base": {"\udfff": None}}

    answer = await _raw_push(http, north_device, [good, bad])

    assert answer.status_code == 200, answer.text
    assert [result["status"] for result in answer.json()["results"]] == ["applied", "rejected"]
    assert answer.json()["results"][1]["error"]["code"] == "invalid_mutation"


async def test_a_huge_unknown_field_name_is_not_echoed_or_kept_whole(
    http: httpx.AsyncClient, north_device: Device, db_engine: AsyncEngine
) -> None:
    name = "x" * 300_000
    answer = await push(http, north_device, [mutation(stamper(north_device).now(), {name: 1})])

    (result,) = answer["results"]
    assert result["status"] == "rejected"
    assert len(json.dumps(result)) < 1_000
    async with db_engine.connect() as conn:
        stored = (await conn.execute(text("SELECT field, message FROM rejections"))).one()
    assert len(stored.field) <= 100 and len(stored.message) <= 1_000


async def test_a_device_cannot_stamp_its_writes_as_another_device(
    http: httpx.AsyncClient, north_device: Device, sync_server: LiveServer, database_url: str
) -> None:
    south = await enrolled_device(sync_server.url, database_url, "South")
    forged = stamper(north_device).now()

    answer = await push(http, south, [mutation(forged, {"name": "Forged"})])

    (result,) = answer["results"]
    assert result["status"] == "applied"  # as South's write: an older app's stamps go in too
    ((change,), _) = await pull_all(http, north_device)
    stamp = parse(forged)
    assert change["clocks"]["name"] == str(Timestamp(stamp.wall_ms, stamp.counter, south.id))


async def test_mutation_ids_are_per_device_so_another_device_cannot_take_an_answer(
    http: httpx.AsyncClient, north_device: Device, sync_server: LiveServer, database_url: str
) -> None:
    south = await enrolled_device(sync_server.url, database_url, "South")
    shared_id = uuid.uuid4()
    north_row, south_row = uuid.uuid4(), uuid.uuid4()

    first = await push(
        http,
        north_device,
        [mutation(stamper(north_device).now(), {"name": "N"}, row_id=north_row, mutation_id=shared_id)],
    )
    second = await push(
        http, south, [mutation(stamper(south).now(), {"name": "S"}, row_id=south_row, mutation_id=shared_id)]
    )

    assert first["results"][0]["status"] == "applied"
    assert second["results"][0]["status"] == "applied"
    assert second["results"][0]["seq"] != first["results"][0]["seq"]
    changes, _ = await pull_all(http, north_device)
    assert {change["row_id"] for change in changes} == {str(north_row), str(south_row)}


async def test_a_reused_mutation_id_with_another_payload_is_rejected(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    clock = stamper(north_device)
    original = mutation(clock.now(), {"name": "Ann"})
    changed = {**original, "fields": {"name": "Someone else"}}

    first = await push(http, north_device, [original])
    replay = await push(http, north_device, [original])
    reused = await push(http, north_device, [changed])

    assert first["results"][0]["status"] == "applied"
    assert replay["results"][0]["status"] == "duplicate"
    assert reused["results"][0]["status"] == "rejected"
    assert reused["results"][0]["error"]["code"] == "invalid_mutation"
    changes, _ = await pull_all(http, north_device)
    assert [change["fields"]["name"] for change in changes] == ["Ann"]
