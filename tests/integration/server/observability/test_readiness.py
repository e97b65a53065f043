"""``/readyz``: ready only when the database, schema, listener and epoch all check out."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from server.observability.readiness import check_readiness
from server.store.engine import create_engine
from tests.support.live_server import free_port


async def _execute(database_url: str, sql: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def test_ready_when_everything_checks_out(ops_http: httpx.AsyncClient) -> None:
    answer = await ops_http.get("/readyz")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "migrations", "epoch", "listener"}
    assert all(check["ok"] for check in body["checks"].values())


async def test_not_ready_when_the_schema_is_behind(ops_http: httpx.AsyncClient, database_url: str) -> None:
    await _execute(database_url, "UPDATE alembic_version SET version_num = '0001'")
    answer = await ops_http.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["checks"]["migrations"]["ok"] is False
    assert "code expects" in body["checks"]["migrations"]["detail"]
    assert body["error"]["code"] == "internal" and "migrations" in body["error"]["message"]
    assert body["checks"]["database"]["ok"] is True


async def test_not_ready_after_a_restore_under_the_running_process(
    ops_http: httpx.AsyncClient, database_url: str
) -> None:
    await _execute(database_url, "UPDATE server_meta SET value = 'another-epoch' WHERE key = 'epoch'")
    answer = await ops_http.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["epoch"] == {
        "ok": False,
        "detail": "database was restored under this process: restart it",
    }
    assert (await ops_http.get("/healthz")).status_code == 200  # up, just not ready


async def test_not_ready_without_database_or_listener() -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    engine = create_engine(dead, pool_size=1)
    try:
        checks = {c.name: c for c in await check_readiness(engine, "e", listener_connected=asyncio.Event())}
    finally:
        await engine.dispose()
    assert not checks["database"].ok and checks["database"].detail.startswith("unreachable")
    assert not checks["migrations"].ok and not checks["epoch"].ok
    assert checks["listener"].detail == "not connected"
