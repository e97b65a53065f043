"""Device-token authentication and the per-device rate limit, on a real server.

The routes of the sync API are someone else's; here a probe route that depends on
``CurrentDevice`` is added to the real app, so the dependency is tested alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from protocol.wire import SOCKET_PATH
from server.api.deps import CurrentDevice
from server.app import create_app
from server.ops import admin
from server.settings import Settings
from server.store.tables import devices
from tests.support.devices import Device, enrolled_device, protocol_headers
from tests.support.live_server import LiveServer, live_server


def _app_with_probe(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.get("/probe")
    async def probe(device: CurrentDevice) -> dict[str, str]:
        return {"id": str(device.id), "branch": device.branch_name, "name": device.name}

    return app


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings, app=_app_with_probe(settings)) as running:
        yield running


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


async def _last_seen(engine: AsyncEngine, device: Device) -> datetime | None:
    async with engine.connect() as conn:
        value: datetime | None = (
            await conn.execute(select(devices.c.last_seen).where(devices.c.id == device.id))
        ).scalar_one()
    return value


async def test_a_valid_token_identifies_its_device(
    server: LiveServer, database_url: str, client: httpx.AsyncClient
) -> None:
    device = await enrolled_device(server.url, database_url, branch="North", name="Till 1")

    answer = await client.get("/probe", headers=device.headers)

    assert answer.status_code == 200
    assert answer.json() == {"id": device.id, "branch": "North", "name": "Till 1"}


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer bsd_not-a-real-token", "bsd_no-scheme"],
)
async def test_a_missing_or_unknown_token_is_401(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = protocol_headers()
    if authorization is not None:
        headers["Authorization"] = authorization

    answer = await client.get("/probe", headers=headers)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert answer.headers["WWW-Authenticate"] == "Bearer"


async def test_the_scheme_is_case_insensitive(
    server: LiveServer, database_url: str, client: httpx.AsyncClient
) -> None:
    device = await enrolled_device(server.url, database_url)

    answer = await client.get("/probe", headers={"Authorization": f"bearer {device.token}"})

    assert answer.status_code == 200


async def test_revocation_takes_effect_on_the_next_request(
    server: LiveServer, database_url: str, client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    device = await enrolled_device(server.url, database_url)
    other = await enrolled_device(server.url, database_url, name="Back office")
    assert (await client.get("/probe", headers=device.headers)).status_code == 200

    async with db_engine.begin() as conn:
        await admin.revoke_device(conn, device.id)

    refused = await client.get("/probe", headers=device.headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert (await client.get("/probe", headers=other.headers)).status_code == 200


async def test_last_seen_is_recorded_but_not_on_every_request(
    server: LiveServer, database_url: str, client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    device = await enrolled_device(server.url, database_url)
    assert await _last_seen(db_engine, device) is None

    await client.get("/probe", headers=device.headers)
    first = await _last_seen(db_engine, device)
    await client.get("/probe", headers=device.headers)
    throttled = await _last_seen(db_engine, device)
    async with db_engine.begin() as conn:
        await conn.execute(update(devices).values(last_seen=func.now() - timedelta(hours=1)))
    await client.get("/probe", headers=device.headers)
    refreshed = await _last_seen(db_engine, device)

    assert first is not None and throttled == first
    assert refreshed is not None and refreshed >= first


async def test_a_device_going_too_fast_gets_429_with_retry_after(database_url: str) -> None:
    settings = Settings(database_url=database_url, rate_per_s=0.5, rate_burst=3)
    with live_server(settings, app=_app_with_probe(settings)) as server:
        fast = await enrolled_device(server.url, database_url)
        calm = await enrolled_device(server.url, database_url, name="Back office")
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            burst = [(await client.get("/probe", headers=fast.headers)).status_code for _ in range(3)]
            limited = await client.get("/probe", headers=fast.headers)
            neighbour = await client.get("/probe", headers=calm.headers)

    assert burst == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 2
    assert neighbour.status_code == 200


async def test_an_address_guessing_tokens_gets_429_before_any_lookup_http_and_socket(
    database_url: str,
) -> None:
    """Failed token checks are limited per address (issue 12): after the burst, a check is
    refused 429 with ``Retry-After``, on HTTP and on the socket's handshake alike."""
    settings = Settings(database_url=database_url, auth_failures_per_min=6, auth_failure_burst=3)
    with live_server(settings, app=_app_with_probe(settings)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            guesses = [
                (await client.get("/probe", headers=protocol_headers(f"guess-{i}"))).status_code
                for i in range(3)
            ]
            limited = await client.get("/probe", headers=protocol_headers("guess-3"))
        with pytest.raises(InvalidStatus) as socket_refused:
            async with connect(
                server.url.replace("http", "ws") + SOCKET_PATH,
                additional_headers=protocol_headers("guess-4"),
                proxy=None,
                open_timeout=10,
            ):
                pass

    assert guesses == [401, 401, 401]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert "failed token checks" in limited.json()["error"]["message"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 10
    assert socket_refused.value.response.status_code == 429
