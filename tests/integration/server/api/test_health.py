"""``/healthz`` tells a load balancer whether this process can reach its database."""

from __future__ import annotations

import httpx

from server.settings import Settings
from tests.support import postgres
from tests.support.live_server import live_server


async def test_healthz_is_ok_with_the_epoch_then_503_without_the_database(
    database_url: str, pg_admin_url: str
) -> None:
    with live_server(Settings(database_url=database_url)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            healthy = await client.get("/healthz")
            await postgres.drop_database(pg_admin_url, database_url)
            broken = await client.get("/healthz")

    assert healthy.status_code == 200
    assert healthy.json()["status"] == "ok" and len(healthy.json()["epoch"]) >= 32
    assert broken.status_code == 503
    assert broken.json()["error"] == {"code": "internal", "message": "database unreachable"}
