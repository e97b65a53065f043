"""``/admin``: the operators' dashboard page and its small JSON API.

The page is static HTML/JS/CSS (no build step, no third-party script) that polls
``/admin/api/overview`` every two seconds. Access needs an admin login: a session
cookie (HttpOnly, SameSite=Strict, ``Secure`` over HTTPS) made by
``/admin/api/login``; a device's bearer token opens nothing here. Logins are rate
limited per client address.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from protocol.errors import ErrorCode
from server.api.deps import RuntimeDep
from server.errors import ApiError
from server.identity.rate_limit import retry_after_header
from server.observability.fleet import recent_rejections
from server.observability.snapshot import read_snapshot
from server.ops.admin_web.accounts import AdminUser, end_session, session_user, start_session
from server.ops.admin_web.overview import overview_json

__all__ = ["COOKIE", "CurrentAdmin", "router"]

COOKIE = "branchsync_admin"
STATIC = Path(__file__).parent / "static"
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/admin", include_in_schema=False)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=1000)]


def _unauthorized(message: str = "log in to the admin dashboard") -> ApiError:
    return ApiError(401, ErrorCode.UNAUTHORIZED, message)


async def current_admin(request: Request, runtime: RuntimeDep) -> AdminUser:
    """The logged-in admin of this request (session cookie only; 401 otherwise)."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise _unauthorized()
    async with runtime.engine.connect() as conn:
        user = await session_user(conn, token)
    if user is None:
        raise _unauthorized("your admin session has expired: log in again")
    return user


CurrentAdmin = Annotated[AdminUser, Depends(current_admin)]


@router.get("")
@router.get("/")
async def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)


@router.get("/static/{name}")
async def static(name: str) -> FileResponse:
    files = {p.name: p for p in STATIC.iterdir() if p.suffix in (".js", ".css", ".svg")}
    if name not in files:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such file")
    return FileResponse(files[name], headers=_PAGE_HEADERS)


@router.post("/api/login", status_code=204)
async def login(body: LoginIn, request: Request, response: Response, runtime: RuntimeDep) -> None:
    client = request.client.host if request.client is not None else "unknown"
    wait = runtime.admin_login_limiter.acquire(client, time.monotonic())
    if wait > 0:
        raise ApiError(
            429,
            ErrorCode.RATE_LIMITED,
            "too many login attempts; wait a little",
            headers={"Retry-After": retry_after_header(wait)},
        )
    ttl = timedelta(hours=runtime.settings.admin_session_hours)
    async with runtime.engine.begin() as conn:
        started = await start_session(conn, body.name, body.password, ttl)
    if started is None:
        raise _unauthorized("wrong name or password")
    token, _ = started
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.post("/api/logout", status_code=204)
async def logout(request: Request, response: Response, runtime: RuntimeDep) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        async with runtime.engine.begin() as conn:
            await end_session(conn, token)
    response.delete_cookie(COOKIE, path="/admin")


@router.get("/api/me")
async def me(user: CurrentAdmin) -> dict[str, str]:
    return {"name": user.name}


@router.get("/api/overview")
async def overview(user: CurrentAdmin, runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    hub = runtime.fanout.hub
    unflushed = runtime.statuses.unflushed()
    fleet = await read_snapshot(runtime.background_engine, hub.device_ids, runtime.settings, unflushed)
    async with runtime.engine.connect() as conn:
        rejections = await recent_rejections(conn)
    response.headers["Cache-Control"] = "no-store"
    return overview_json(
        fleet,
        rejections,
        propagation=runtime.metrics.fanout_quantiles(),
        minutes=runtime.metrics.minutes.series(time.time()),
        backups_enabled=runtime.settings.backups_on,
    )
