"""The REST resources on a real server, used as an integration (a booking form, a script) would."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from protocol.hlc import HybridLogicalClock, parse, system_wall_ms
from server.store.engine import create_engine
from server.sync.write_path import Author, write_batch
from tests.support.db_waits import wait_for_lock_waiters
from tests.support.devices import Device
from tests.support.live_server import LiveServer
from tests.support.sync_client import mutation, mutation_model, pull_all, push, stamper
from tests.support.sync_socket import changes_until, next_frame, open_socket

CLIENTS = "/api/v1/clients"
APPOINTMENTS = "/api/v1/appointments"


async def _create(http: httpx.AsyncClient, device: Device, body: dict[str, Any], path: str = CLIENTS) -> Any:
    answer = await http.post(path, json=body, headers=device.headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _error(answer: httpx.Response) -> tuple[int, str, str | None]:
    error = answer.json()["error"]
    return answer.status_code, error["code"], error.get("field")


async def test_a_created_client_is_stored_normalised_and_synced_to_branches(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    created = await _create(
        http,
        north_device,
        {"name": " Web Booking ", "email": "web@example.com", "tags": ["online", "online", " new "]},
    )

    fetched = (await http.get(f"{CLIENTS}/{created['id']}", headers=north_device.headers)).json()
    changes, _ = await pull_all(http, north_device)

    assert uuid.UUID(created["id"]) and created == fetched
    assert (created["name"], created["tags"], created["phone"]) == ("Web Booking", ["online", "new"], None)
    assert created["deleted"] is False and created["seq"] == 1
    assert created["updated_by_device"] == north_device.id
    assert created["updated_by_branch"] == north_device.branch_id
    assert [c["row_id"] for c in changes] == [created["id"]]
    assert parse(changes[0]["clocks"]["name"]).node.startswith("server.")


async def test_an_appointment_keeps_its_time_as_utc(http: httpx.AsyncClient, north_device: Device) -> None:
    client = await _create(http, north_device, {"name": "Ann"})
    given_id = str(uuid.uuid4())

    appointment = await _create(
        http,
        north_device,
        {
            "id": given_id,
            "client_id": client["id"],
            "starts_at": "2026-05-04T09:00:00-04:00",
            "duration_min": "30",
            "status": "booked",
            "service": "Cut",
        },
        APPOINTMENTS,
    )

    assert appointment["id"] == given_id
    assert appointment["starts_at"] == "2026-05-04T13:00:00+00:00"
    assert (appointment["duration_min"], appointment["status"]) == (30, "booked")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"email": "a@example.com"}, (422, "required", "name")),
        ({"name": "A", "email": "nope"}, (422, "invalid_email", "email")),
        ({"name": "A", "nickname": "B"}, (422, "unknown_field", "nickname")),
        ({"name": "A", "id": "not-an-id"}, (422, "invalid_uuid", "id")),
        ({"name": 5}, (422, "invalid_type", "name")),
        ({"name": "A", "tags": "vip"}, (422, "invalid_type", "tags")),
        ({"name": "A\x00"}, (422, "invalid_type", "name")),
    ],
)
async def test_a_bad_create_names_the_field_and_stores_nothing(
    http: httpx.AsyncClient, north_device: Device, body: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    answer = await http.post(CLIENTS, json=body, headers=north_device.headers)
    listed = (await http.get(CLIENTS, headers=north_device.headers)).json()

    assert _error(answer) == expected
    assert listed["total"] == 0


async def test_malformed_bodies_and_ids_are_refused(http: httpx.AsyncClient, north_device: Device) -> None:
    not_json = await http.post(
        CLIENTS, content=b"{", headers={**north_device.headers, "content-type": "application/json"}
    )
    a_list = await http.post(CLIENTS, json=["name"], headers=north_device.headers)
    bad_path = await http.get(f"{CLIENTS}/123", headers=north_device.headers)
    bad_status = await http.post(
        APPOINTMENTS,
        json={"client_id": str(uuid.uuid4()), "starts_at": "2026-05-04T09:00:00Z", "status": "maybe"},
        headers=north_device.headers,
    )

    assert _error(not_json)[:2] == (422, "invalid_body")
    assert _error(a_list)[:2] == (422, "invalid_body")
    assert _error(bad_path)[:2] == (422, "invalid_body")
    assert _error(bad_status) == (422, "invalid_choice", "status")


async def test_creating_an_existing_id_is_a_conflict(http: httpx.AsyncClient, north_device: Device) -> None:
    first = await _create(http, north_device, {"name": "Ann"})

    again = await http.post(CLIENTS, json={"id": first["id"], "name": "Other"}, headers=north_device.headers)

    assert _error(again) == (409, "invalid_mutation", "id")
    current = (await http.get(f"{CLIENTS}/{first['id']}", headers=north_device.headers)).json()
    assert current["name"] == "Ann"


async def test_of_concurrent_creates_of_one_id_exactly_one_wins(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    row_id = str(uuid.uuid4())
    names = [f"Racer {n}" for n in range(8)]

    answers = await asyncio.gather(
        *(http.post(CLIENTS, json={"id": row_id, "name": n}, headers=north_device.headers) for n in names)
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 7, [a.text for a in answers]
    [winner] = [a.json()["name"] for a in answers if a.status_code == 201]
    current = (await http.get(f"{CLIENTS}/{row_id}", headers=north_device.headers)).json()
    assert current["name"] == winner
    changes, _ = await pull_all(http, north_device)
    assert [c["fields"]["name"] for c in changes if c["row_id"] == row_id] == [winner]


async def test_patch_changes_only_the_given_fields(http: httpx.AsyncClient, north_device: Device) -> None:
    created = await _create(http, north_device, {"name": "Ann", "phone": "555 0100", "notes": "x"})
    url = f"{CLIENTS}/{created['id']}"

    patched = await http.patch(
        url, json={"email": "ann@example.com", "notes": None}, headers=north_device.headers
    )
    empty = await http.patch(url, json={}, headers=north_device.headers)
    no_name = await http.patch(url, json={"name": None}, headers=north_device.headers)
    unknown = await http.patch(f"{CLIENTS}/{uuid.uuid4()}", json={"name": "X"}, headers=north_device.headers)

    assert patched.status_code == 200
    body = patched.json()
    assert (body["name"], body["phone"], body["email"], body["notes"]) == (
        "Ann",
        "555 0100",
        "ann@example.com",
        None,
    )
    assert body["seq"] > created["seq"]
    assert empty.status_code == 200 and empty.json() == body
    assert _error(no_name) == (422, "required", "name")
    assert _error(unknown)[:2] == (404, "not_found")


async def test_a_patch_racing_a_delete_that_commits_first_is_not_found(
    http: httpx.AsyncClient, north_device: Device, database_url: str
) -> None:
    """The row is live when the PATCH arrives, but a delete holding its row lock commits
    before the PATCH can write: the contract says 404, and the row must stay deleted."""
    created = await _create(http, north_device, {"name": "Ann"})
    url = f"{CLIENTS}/{created['id']}"
    gone = mutation_model(HybridLogicalClock("server.held").now(), op="delete", row_id=created["id"])
    engine = create_engine(database_url, pool_size=2)
    try:
        async with engine.connect() as held:
            transaction = await held.begin()
            await write_batch(
                held, HybridLogicalClock("server.held"), Author(None, None), [gone], max_clock_skew_s=300
            )
            patch = asyncio.create_task(
                http.patch(url, json={"phone": "555 0100"}, headers=north_device.headers)
            )
            await wait_for_lock_waiters(engine, 1)  # the PATCH found the row live and waits on its lock
            await transaction.commit()
        patched = await patch
    finally:
        await engine.dispose()

    after = await http.get(url, headers=north_device.headers)
    mirror = (
        await http.get(CLIENTS, params={"include_deleted": "true"}, headers=north_device.headers)
    ).json()
    assert patched.status_code == 404, patched.text
    assert _error(patched)[:2] == (404, "not_found")
    assert _error(after)[:2] == (404, "not_found")
    assert [(item["deleted"], item["phone"]) for item in mirror["items"]] == [(True, None)]


async def test_delete_hides_the_row_but_mirrors_can_still_see_it(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    kept = await _create(http, north_device, {"name": "Kept"})
    gone = await _create(http, north_device, {"name": "Gone"})
    url = f"{CLIENTS}/{gone['id']}"

    deleted = await http.delete(url, headers=north_device.headers)
    get_after = await http.get(url, headers=north_device.headers)
    again = await http.delete(url, headers=north_device.headers)
    listed = (await http.get(CLIENTS, headers=north_device.headers)).json()
    mirror = (
        await http.get(
            CLIENTS,
            params={"include_deleted": "true", "updated_since": kept["seq"]},
            headers=north_device.headers,
        )
    ).json()
    changes, _ = await pull_all(http, north_device)

    assert deleted.status_code == 204 and deleted.content == b""
    assert _error(get_after)[:2] == (404, "not_found")
    assert _error(again)[:2] == (404, "not_found")
    assert [item["name"] for item in listed["items"]] == ["Kept"]
    assert [(item["name"], item["deleted"]) for item in mirror["items"]] == [("Gone", True)]
    assert [c["deleted"] for c in changes if c["row_id"] == gone["id"]] == [True]


async def test_list_pages_and_follows_changes(http: httpx.AsyncClient, north_device: Device) -> None:
    clock = stamper(north_device)
    await push(http, north_device, [mutation(clock.now(), {"name": f"Client {i:02d}"}) for i in range(12)])

    first = (await http.get(CLIENTS, params={"limit": 5}, headers=north_device.headers)).json()
    third = (await http.get(CLIENTS, params={"limit": 5, "offset": 10}, headers=north_device.headers)).json()
    since = (await http.get(CLIENTS, params={"updated_since": 9}, headers=north_device.headers)).json()
    too_big = await http.get(CLIENTS, params={"limit": 501}, headers=north_device.headers)

    assert [i["name"] for i in first["items"]] == [f"Client {i:02d}" for i in range(5)]
    assert (first["total"], first["limit"], first["offset"]) == (12, 5, 0)
    assert [i["name"] for i in third["items"]] == ["Client 10", "Client 11"]
    assert [i["seq"] for i in since["items"]] == [10, 11, 12] and since["total"] == 3
    assert _error(too_big)[:2] == (422, "invalid_body")


async def test_search_matches_every_word_in_any_searchable_field(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    for body in (
        {"name": "Ann Lee", "email": "ann@salon.example", "tags": ["VIP"]},
        {"name": "Bob Lee", "phone": "+44 20 7946 0000", "notes": "prefers mornings"},
        {"name": "Cara 100% Smith"},
    ):
        await _create(http, north_device, body)

    async def names(q: str) -> list[str]:
        answer = await http.get(CLIENTS, params={"q": q}, headers=north_device.headers)
        assert answer.status_code == 200, answer.text
        return [item["name"] for item in answer.json()["items"]]

    assert await names("lee") == ["Ann Lee", "Bob Lee"]
    assert await names("LEE vip") == ["Ann Lee"]
    assert await names("7946") == ["Bob Lee"]
    assert await names("morning bob") == ["Bob Lee"]
    assert await names("100%") == ["Cara 100% Smith"]
    assert await names("%") == ["Cara 100% Smith"]
    assert await names("_") == []
    assert await names("   ") == ["Ann Lee", "Bob Lee", "Cara 100% Smith"]
    nul = await http.get(CLIENTS, params={"q": "a\x00"}, headers=north_device.headers)
    assert _error(nul)[:2] == (422, "invalid_body")


async def test_a_rest_write_wins_over_a_branch_stamped_ahead(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    ahead = HybridLogicalClock(north_device.id, wall_ms=lambda: system_wall_ms() + 120_000)
    row_id = uuid.uuid4()
    await push(http, north_device, [mutation(ahead.now(), {"name": "From a fast PC"}, row_id=row_id)])

    patched = await http.patch(
        f"{CLIENTS}/{row_id}", json={"name": "From the form"}, headers=north_device.headers
    )

    assert patched.status_code == 200 and patched.json()["name"] == "From the form"


async def test_a_rest_write_reaches_a_branch_socket_live(
    sync_server: LiveServer, http: httpx.AsyncClient, north_device: Device
) -> None:
    async with await open_socket(sync_server.ws_url, north_device) as ws:
        hello = await next_frame(ws)
        created = await _create(http, north_device, {"name": "Booked online"})
        frames = await changes_until(ws, hello["head"], created["seq"])

    assert [c["fields"]["name"] for f in frames for c in f["changes"]] == ["Booked online"]


async def test_every_route_needs_a_device_token(http: httpx.AsyncClient) -> None:
    row = f"{CLIENTS}/{uuid.uuid4()}"
    answers = [
        await http.get(CLIENTS),
        await http.get(row),
        await http.post(CLIENTS, json={"name": "A"}),
        await http.patch(row, json={"name": "A"}),
        await http.delete(row),
    ]

    assert [_error(a)[:2] for a in answers] == [(401, "unauthorized")] * 5


def test_the_resources_are_documented(sync_server: LiveServer) -> None:
    spec = httpx.get(f"{sync_server.url}/openapi.json").json()
    docs = httpx.get(f"{sync_server.url}/docs")

    assert docs.status_code == 200
    schemas = spec["components"]["schemas"]
    assert {"ClientCreate", "ClientPatch", "ClientOut", "AppointmentCreate", "AppointmentOut"} <= set(schemas)
    assert schemas["ClientCreate"]["required"] == ["name"]
    assert schemas["AppointmentCreate"]["properties"]["status"]["anyOf"][0]["enum"] == [
        "booked",
        "done",
        "cancelled",
        "no_show",
    ]
    assert set(spec["paths"][f"{CLIENTS}/{{row_id}}"]) == {"get", "patch", "delete"}
    ours = {
        path: ops
        for path, ops in spec["paths"].items()
        if path.startswith(("/api/v1/clients", "/api/v1/appointments", "/api/v1/sync/p"))
    }
    assert len(ours) == 6 and "HTTPValidationError" not in json.dumps(ours)
