"""``/admin`` over HTTP: logins, sessions that expire, device tokens that open nothing,
and the overview the page draws."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from server.errors import AdminError
from server.ops.admin_web.accounts import set_password
from server.ops.admin_web.routes import COOKIE
from server.settings import Settings
from server.store import migrate
from server.store.engine import create_engine
from tests.support.devices import enrolled_device
from tests.support.live_server import LiveServer, live_server
from tests.support.sync_client import mutation, push, stamper

PASSWORD = "correct horse battery"


async def make_admin(database_url: str, name: str = "alice", password: str = PASSWORD) -> None:
    """Create a dashboard user (migrating the database first if no server did yet)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            await set_password(conn, name, password)
    finally:
        await engine.dispose()


async def login(client: httpx.AsyncClient, name: str = "alice", password: str = PASSWORD) -> httpx.Response:
    return await client.post("/admin/api/login", json={"name": name, "password": password})


async def test_page_and_assets_are_served_with_a_strict_policy(ops_http: httpx.AsyncClient) -> None:
    page = await ops_http.get("/admin")
    script = await ops_http.get("/admin/static/app.js")
    missing = await ops_http.get("/admin/static/secrets.py")
    assert page.status_code == 200 and "<title>Branchsync" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_login_opens_the_overview_and_logout_closes_it(
    ops_server: LiveServer, ops_http: httpx.AsyncClient, database_url: str
) -> None:
    await make_admin(database_url)
    device = await enrolled_device(ops_server.url, database_url, "North")
    bad = mutation(stamper(device).now(), {"name": "Bob", "email": "not an email"})
    assert (await push(ops_http, device, [bad]))["results"][0]["status"] == "rejected"

    assert (await ops_http.get("/admin/api/overview")).status_code == 401
    answer = await login(ops_http)
    assert answer.status_code == 204
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie

    overview = (await ops_http.get("/admin/api/overview")).json()
    (north,) = overview["branches"]
    assert north["name"] == "North" and north["devices"][0]["id"] == device.id
    assert north["devices"][0]["rejected"] == 1
    (rejection,) = overview["rejections"]
    assert (
        rejection["code"] == "invalid_email"
        and rejection["branch"] == "North"
        and rejection["field"] == "email"
    )
    assert overview["backups"] == {
        "enabled": False,
        "last_success": None,
        "last_failure": None,
        "last_error": None,
        "last_file": None,
        "failing": False,
    }
    assert len(overview["writes_per_minute"]) == 60
    assert (await ops_http.get("/admin/api/me")).json() == {"name": "alice"}

    session = ops_http.cookies[COOKIE]
    assert (await ops_http.post("/admin/api/logout")).status_code == 204
    ops_http.cookies.set(COOKIE, session, path="/admin")  # a stolen copy of the old cookie
    assert (await ops_http.get("/admin/api/overview")).status_code == 401


async def test_wrong_credentials_and_device_tokens_open_nothing(
    ops_server: LiveServer, ops_http: httpx.AsyncClient, database_url: str
) -> None:
    await make_admin(database_url)
    device = await enrolled_device(ops_server.url, database_url, "North")
    wrong = await login(ops_http, password="not the password")
    unknown = await login(ops_http, name="mallory")
    assert COOKIE not in ops_http.cookies
    as_device = await ops_http.get("/admin/api/overview", headers=device.headers)
    ops_http.cookies.set(COOKIE, device.token, path="/admin")
    as_cookie = await ops_http.get("/admin/api/overview")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {"error": {"code": "unauthorized", "message": "wrong name or password"}}
    )
    assert as_device.status_code == as_cookie.status_code == 401


async def test_malformed_login_is_422_and_form_posts_are_refused(ops_http: httpx.AsyncClient) -> None:
    empty = await ops_http.post("/admin/api/login", json={"name": "", "password": "x"})
    form = await ops_http.post("/admin/api/login", data={"name": "alice", "password": PASSWORD})
    assert empty.status_code == form.status_code == 422
    assert empty.json()["error"]["code"] == "invalid_body"


async def test_sessions_expire(database_url: str) -> None:
    await make_admin(database_url)
    with live_server(Settings(database_url=database_url, admin_session_hours=1 / 3600)) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as client:
            assert (await login(client)).status_code == 204
            assert (await client.get("/admin/api/me")).status_code == 200
            token = client.cookies[COOKIE]
            async with asyncio.timeout(10):
                while True:
                    client.cookies.set(COOKIE, token, path="/admin")  # a browser that keeps it too long
                    if (answer := await client.get("/admin/api/me")).status_code != 200:
                        break
                    await asyncio.sleep(0.1)  # sleep-ok: polling a condition with a deadline
    assert answer.status_code == 401 and "expired" in answer.json()["error"]["message"]


async def test_logins_are_rate_limited(ops_http: httpx.AsyncClient, database_url: str) -> None:
    await make_admin(database_url)
    statuses = [(await login(ops_http, password="guess")).status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    limited = await login(ops_http)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


@pytest.mark.parametrize("name", ["", "two words", "x" * 101])
async def test_bad_admin_names_are_refused(database_url: str, name: str) -> None:
    with pytest.raises(AdminError, match="admin name"):
        await make_admin(database_url, name)
