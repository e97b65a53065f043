"""POST /api/v1/sync/push on a real server and database, driven as a branch PC drives it."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.hlc import HybridLogicalClock, parse, system_wall_ms
from protocol.messages import PushResponse
from server.store.tables import applied_mutations, rejections
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import LiveServer
from tests.support.sync_client import mutation, pull_all, push, stamper


async def test_applied_rows_land_in_typed_columns_with_their_author(
    http: httpx.AsyncClient, north_device: Device, db_engine: AsyncEngine
) -> None:
    clock = stamper(north_device)
    client_id = uuid.uuid4()
    batch = [
        mutation(
            clock.now(), {"name": " Ann Lee ", "email": "ann@example.com", "tags": ["vip"]}, row_id=client_id
        ),
        mutation(
            clock.now(),
            {"client_id": str(client_id), "starts_at": "2026-03-02T10:30:00+01:00", "duration_min": 45},
            collection="appointments",
        ),
    ]

    body = PushResponse.model_validate(await push(http, north_device, batch))

    assert [r.status for r in body.results] == ["applied", "applied"]
    assert body.results[0].seq is not None and body.results[1].seq == body.results[0].seq + 1
    async with db_engine.connect() as conn:
        client = (
            await conn.execute(
                text(
                    "SELECT name, email, tags, updated_by_device::text AS device,"
                    " updated_by_branch::text AS branch FROM clients"
                )
            )
        ).one()
        appointment = (
            await conn.execute(
                text(
                    "SELECT client_id, starts_at AT TIME ZONE 'UTC' AS starts_utc, duration_min"
                    " FROM appointments"
                )
            )
        ).one()
    assert (client.name, client.email, client.tags) == ("Ann Lee", "ann@example.com", ["vip"])
    assert (client.device, client.branch) == (north_device.id, north_device.branch_id)
    assert str(appointment.client_id) == str(client_id)
    assert appointment.starts_utc.isoformat() == "2026-03-02T09:30:00"
    assert appointment.duration_min == 45


async def test_a_replayed_batch_is_answered_duplicate_and_changes_nothing(
    http: httpx.AsyncClient, north_device: Device, sync_server: LiveServer, database_url: str
) -> None:
    other = await enrolled_device(sync_server.url, database_url, "South")
    row_id = uuid.uuid4()
    old, new = stamper(north_device), HybridLogicalClock(other.id, wall_ms=lambda: system_wall_ms() + 1000)
    await push(http, other, [mutation(new.now(), {"name": "Newer"}, row_id=row_id)])
    batch = [mutation(old.now(), {"name": "Older", "phone": "+44 1234 5678"}, row_id=row_id)]

    first = await push(http, north_device, batch)
    changes_before, head_before = await pull_all(http, north_device)
    again = await push(http, north_device, batch)
    changes_after, head_after = await pull_all(http, north_device)

    assert first["results"][0]["status"] == "applied"
    assert first["results"][0]["lost"][0]["losing_value"] == "Older"
    assert first["results"][0]["lost"][0]["winner_device"] == other.id
    assert again["results"][0] == {**first["results"][0], "status": "duplicate"}
    assert (changes_after, head_after) == (changes_before, head_before)
    assert changes_after[-1]["fields"] == {"name": "Newer", "phone": "+44 1234 5678"}


async def test_the_same_mutation_twice_in_one_batch_is_applied_once(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    one = mutation(stamper(north_device).now(), {"name": "Once"})

    body = await push(http, north_device, [one, one])

    assert [r["status"] for r in body["results"]] == ["applied", "duplicate"]
    assert body["results"][0]["seq"] == body["results"][1]["seq"]


async def test_bad_mutations_are_rejected_alone_and_kept_for_monitoring(
    http: httpx.AsyncClient, north_device: Device, db_engine: AsyncEngine
) -> None:
    clock = stamper(north_device)
    good = [mutation(clock.now(), {"name": f"Good {i}"}) for i in range(3)]
    bad = [
        mutation(clock.now(), {"name": "X", "email": "not-an-email"}),
        mutation(clock.now(), {"phone": "+44 1 2345"}),  # a new row needs a name
        mutation(clock.now(), {"name": "X"}, collection="invoices"),
        mutation("yesterday", {"name": "X"}),
        mutation(clock.now(), {"name": "X", "nickname": "Y"}),
        mutation(clock.now(), {"name": "Nul\x00byte"}),
        mutation(clock.now(), {"name": "X"}, op="delete"),
    ]
    batch = [good[0], *bad[:4], good[1], *bad[4:], good[2]]

    body = await push(http, north_device, batch)

    errors = [
        (r["status"], (r.get("error") or {}).get("code"), (r.get("error") or {}).get("field"))
        for r in body["results"]
    ]
    assert errors == [
        ("applied", None, None),
        ("rejected", "invalid_email", "email"),
        ("rejected", "required", "name"),
        ("rejected", "unknown_collection", None),
        ("rejected", "invalid_hlc", None),
        ("applied", None, None),
        ("rejected", "unknown_field", "nickname"),
        ("rejected", "invalid_type", "name"),
        ("rejected", "invalid_mutation", None),
        ("applied", None, None),
    ]
    assert all(r["error"]["message"] for r in body["results"] if r["status"] == "rejected")
    changes, _ = await pull_all(http, north_device)
    assert sorted(c["fields"]["name"] for c in changes) == ["Good 0", "Good 1", "Good 2"]
    async with db_engine.connect() as conn:
        kept = (await conn.execute(select(rejections.c.code, rejections.c.device_id))).all()
        remembered = (await conn.execute(select(applied_mutations.c.id))).scalars().all()
    assert sorted(code for code, _ in kept) == sorted(str(e[1]) for e in errors if e[0] == "rejected")
    assert {str(device) for _, device in kept} == {north_device.id}
    assert sorted(str(i) for i in remembered) == sorted(m["id"] for m in good)


async def test_a_rejected_mutation_can_be_fixed_and_sent_again_under_its_id(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    clock = stamper(north_device)
    broken = mutation(clock.now(), {"name": "Bo", "email": "bo@"})
    fixed = {**broken, "fields": {"name": "Bo", "email": "bo@example.com"}, "hlc": clock.now()}

    first = await push(http, north_device, [broken])
    second = await push(http, north_device, [fixed])

    assert first["results"][0]["status"] == "rejected"
    assert second["results"][0]["status"] == "applied"


async def test_a_stamp_too_far_ahead_is_rejected_clock_skew(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    ahead = HybridLogicalClock(north_device.id, wall_ms=lambda: system_wall_ms() + 10 * 60_000)
    slightly = HybridLogicalClock(north_device.id, wall_ms=lambda: system_wall_ms() + 60_000)

    soon = mutation(slightly.now(), {"name": "Soon"})

    body = await push(http, north_device, [mutation(ahead.now(), {"name": "Future"}), soon])

    assert body["results"][0]["status"] == "rejected"
    assert body["results"][0]["error"]["code"] == "clock_skew"
    assert body["results"][1]["status"] == "applied"
    # the server clock absorbed the accepted stamp, so what it stamps next sorts after it
    server, accepted = parse(body["server_hlc"]), parse(soon["hlc"])
    assert (server.wall_ms, server.counter) > (accepted.wall_ms, accepted.counter)


async def test_a_delete_hides_the_row_and_a_later_edit_brings_it_back(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    clock = stamper(north_device)
    row_id = uuid.uuid4()
    stale_edit = clock.now()
    await push(http, north_device, [mutation(clock.now(), {"name": "Kim"}, row_id=row_id)])
    await push(http, north_device, [mutation(clock.now(), op="delete", row_id=row_id)])
    deleted, _ = await pull_all(http, north_device)

    await push(http, north_device, [mutation(stale_edit, {"phone": "555 0100"}, row_id=row_id)])
    still_deleted, _ = await pull_all(http, north_device)
    await push(http, north_device, [mutation(clock.now(), {"phone": "555 0199"}, row_id=row_id)])
    back, _ = await pull_all(http, north_device)

    assert [c["deleted"] for c in deleted] == [True]
    assert still_deleted[0]["deleted"] is True and still_deleted[0]["fields"]["phone"] == "555 0100"
    assert back[0]["deleted"] is False and back[0]["fields"] == {"name": "Kim", "phone": "555 0199"}


async def test_a_delete_of_an_unknown_row_leaves_a_tombstone(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    row_id = uuid.uuid4()

    body = await push(http, north_device, [mutation(stamper(north_device).now(), op="delete", row_id=row_id)])
    changes, _ = await pull_all(http, north_device)

    assert body["results"][0]["status"] == "applied"
    assert changes == [
        {
            "seq": body["results"][0]["seq"],
            "collection": "clients",
            "row_id": str(row_id),
            "fields": {},
            "clocks": {"_deleted": changes[0]["clocks"]["_deleted"]},
            "deleted": True,
            "bases": {},  # the mutation gave no base: unknown
        }
    ]


async def test_request_level_errors_use_the_contract_body(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    clock = stamper(north_device)
    too_many = [mutation(clock.now(), {"name": f"N{i}"}) for i in range(501)]

    over = await http.post("/api/v1/sync/push", json={"mutations": too_many}, headers=north_device.headers)
    shape = await http.post(
        "/api/v1/sync/push", json={"mutations": [{"id": "x"}]}, headers=north_device.headers
    )
    garbage = await http.post("/api/v1/sync/push", content=b"{not json", headers=north_device.headers)
    anonymous = await http.post("/api/v1/sync/push", json={"mutations": []})

    assert (over.status_code, over.json()["error"]["code"]) == (413, "too_large")
    assert (shape.status_code, shape.json()["error"]["code"]) == (422, "invalid_body")
    assert (garbage.status_code, garbage.json()["error"]["code"]) == (422, "invalid_body")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthorized")
    changes, _ = await pull_all(http, north_device)
    assert changes == []


async def test_an_empty_push_is_answered(http: httpx.AsyncClient, north_device: Device) -> None:
    body = await push(http, north_device, [])

    assert body["results"] == [] and parse(body["server_hlc"]).wall_ms > 0
