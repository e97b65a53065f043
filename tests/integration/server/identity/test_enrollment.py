"""POST /api/v1/enroll against a real server and database: codes are single-use,
expire, are stored hashed, and bad input is refused with the contract's error body."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.messages import EnrollResponse
from server.identity.authentication import authenticate
from server.identity.credentials import hash_code, hash_token
from server.ops import admin
from server.settings import Settings
from server.store.tables import devices, enroll_codes
from tests.support.devices import enrolled_device, issue_code, protocol_headers
from tests.support.live_server import LiveServer, live_server


async def _enroll(server: LiveServer, body: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        return await client.post("/api/v1/enroll", json=body, headers=protocol_headers())


async def test_a_code_enrols_one_device_in_its_branch(sync_server: LiveServer, database_url: str) -> None:
    code = await issue_code(database_url, "North")

    answer = await _enroll(sync_server, {"code": code, "device_name": "Front desk", "app_version": "0.1"})

    assert answer.status_code == 200, answer.text
    body = EnrollResponse.model_validate(answer.json())
    assert body.branch.name == "North"
    assert body.token.startswith("bsd_") and len(body.token) >= 4 + 43  # 256 bits, base64url
    assert body.server_hlc and body.epoch
    second = await _enroll(sync_server, {"code": code, "device_name": "Back office"})
    assert second.status_code == 403
    assert second.json()["error"]["code"] == "enroll_code_used"


async def test_the_answer_names_the_branch_and_its_time_zone(
    sync_server: LiveServer, database_url: str, db_engine: AsyncEngine
) -> None:
    async with db_engine.begin() as conn:
        north = await admin.create_branch(conn, "North", "Europe/Vienna")
    zoned = await _enroll(sync_server, {"code": await issue_code(database_url, "North"), "device_name": "PC"})
    plain = await _enroll(sync_server, {"code": await issue_code(database_url, "South"), "device_name": "PC"})

    assert zoned.json()["branch"] == {"id": str(north.id), "name": "North", "timezone": "Europe/Vienna"}
    assert plain.json()["branch"]["timezone"] is None


async def test_codes_and_tokens_are_stored_hashed(
    sync_server: LiveServer, database_url: str, db_engine: AsyncEngine
) -> None:
    code = await issue_code(database_url, "North")
    body = (await _enroll(sync_server, {"code": code, "device_name": "PC"})).json()

    async with db_engine.connect() as conn:
        stored_token = (await conn.execute(select(devices.c.token_hash))).scalar_one()
        stored_code = (await conn.execute(select(enroll_codes.c.code_hash))).scalar_one()

    assert stored_token == hash_token(body["token"]) and body["token"].encode() not in stored_token
    assert stored_code == hash_code(code) and code.encode() not in stored_code


async def test_codes_ignore_case_and_dashes(sync_server: LiveServer, database_url: str) -> None:
    code = await issue_code(database_url, "North")

    answer = await _enroll(sync_server, {"code": code.replace("-", " ").lower(), "device_name": "PC"})

    assert answer.status_code == 200, answer.text


async def test_an_expired_code_is_refused(sync_server: LiveServer, db_engine: AsyncEngine) -> None:
    async with db_engine.begin() as conn:
        await admin.create_branch(conn, "North")
        (issued,) = await admin.issue_codes(conn, "North", ttl=timedelta(hours=1))
        await conn.execute(update(enroll_codes).values(expires_at=enroll_codes.c.created_at))

    answer = await _enroll(sync_server, {"code": issued.code, "device_name": "PC"})

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "enroll_code_expired"


async def test_an_unknown_code_is_refused_and_enrols_nobody(
    sync_server: LiveServer, db_engine: AsyncEngine
) -> None:
    answer = await _enroll(sync_server, {"code": "AAAAA-BBBBB-CCCCC-DDDDD", "device_name": "PC"})

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "enroll_code_invalid"
    async with db_engine.connect() as conn:
        assert (await conn.execute(select(devices.c.id))).all() == []


async def test_two_pcs_racing_for_one_code_enrol_exactly_one(
    sync_server: LiveServer, database_url: str
) -> None:
    code = await issue_code(database_url, "North")

    answers = await asyncio.gather(
        *(_enroll(sync_server, {"code": code, "device_name": f"PC {i}"}) for i in range(8))
    )

    assert sorted(a.status_code for a in answers) == [200] + [403] * 7


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"device_name": "PC"}, "code"),
        ({"code": "X", "device_name": ""}, "device_name"),
        ({"code": "X", "device_name": "PC", "extra": 1}, "extra"),
        ({"code": "X", "device_name": "x" * 201}, "device_name"),
        ([1, 2], None),
    ],
)
async def test_a_malformed_body_is_422_with_the_error_body(
    sync_server: LiveServer, body: object, field: str | None
) -> None:
    answer = await _enroll(sync_server, body)

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_body"
    if field:
        assert field in error["message"]


async def test_a_blank_device_name_is_refused_and_keeps_the_code(
    sync_server: LiveServer, database_url: str
) -> None:
    code = await issue_code(database_url, "North")

    blank = await _enroll(sync_server, {"code": code, "device_name": "   "})
    retry = await _enroll(sync_server, {"code": code, "device_name": "Front desk"})

    assert blank.status_code == 422
    assert blank.json()["error"] == {
        "code": "invalid_body",
        "message": "device_name must not be blank",
        "field": "device_name",
    }
    assert retry.status_code == 200


async def test_not_json_is_422(sync_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=sync_server.url, timeout=10) as client:
        answer = await client.post(
            "/api/v1/enroll",
            content=b"{not json",
            headers={**protocol_headers(), "Content-Type": "application/json"},
        )

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_body"


async def test_the_helper_gives_a_device_whose_token_authenticates(
    sync_server: LiveServer, database_url: str, db_engine: AsyncEngine
) -> None:
    device = await enrolled_device(sync_server.url, database_url, branch="South")

    async with db_engine.begin() as conn:
        found = await authenticate(conn, device.token)

    assert found is not None and str(found.id) == device.id
    assert found.branch_name == device.branch == "South" and str(found.branch_id) == device.branch_id
    assert device.headers == {"Branchsync-Protocol": "1", "Authorization": f"Bearer {device.token}"}


async def test_a_flood_of_attempts_from_one_address_gets_429_and_a_good_code_still_works_later(
    database_url: str,
) -> None:
    settings = Settings(database_url=database_url, enroll_rate_per_min=60, enroll_burst=3)
    with live_server(settings) as server:
        code = await issue_code(database_url, "North")
        guesses = [await _enroll(server, {"code": f"WRONG-{n}", "device_name": "x"}) for n in range(3)]
        flooded = await _enroll(server, {"code": code, "device_name": "Front desk"})
        wait = int(flooded.headers["Retry-After"])
        retry_at = time.monotonic() + wait
        while time.monotonic() < retry_at:
            await asyncio.sleep(0.05)  # sleep-ok: waiting out the Retry-After the server asked for
        later = await _enroll(server, {"code": code, "device_name": "Front desk"})

    assert [g.status_code for g in guesses] == [403, 403, 403]
    assert flooded.status_code == 429 and flooded.json()["error"]["code"] == "rate_limited"
    assert wait == 1
    assert later.status_code == 200, later.text
