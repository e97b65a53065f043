"""Reusable FastAPI dependencies as ``Annotated`` aliases: the runtime, and the device
making the request (``CurrentDevice``).

The token lookup itself is ``server.identity.authentication``; here it gets what only a
web request has (its headers, the 401/429 answers).
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from protocol.errors import ErrorCode
from server.api.runtime import Runtime
from server.errors import ApiError
from server.identity.authentication import AuthenticatedDevice, authenticate, bearer_token
from server.identity.rate_limit import RateLimiter, retry_after_header

__all__ = [
    "CurrentDevice",
    "EngineDep",
    "RuntimeDep",
    "client_address",
    "current_device",
    "device_of",
    "get_runtime",
    "within_rate",
]


def get_runtime(request: Request) -> Runtime:
    """The running process's runtime, set by the lifespan."""
    runtime: Runtime = request.app.state.branchsync
    return runtime


def get_engine(request: Request) -> AsyncEngine:
    return get_runtime(request).engine


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, ErrorCode.UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


async def current_device(request: Request, runtime: RuntimeDep) -> AuthenticatedDevice:
    """FastAPI dependency: the calling device, within its request rate.

    Raises:
        ApiError: 401 for a missing, unknown or revoked token; 429 (with
            ``Retry-After``) when the device goes faster than ``settings.rate_per_s``,
            or its address failed too many token checks lately.
    """
    return await device_of(request, runtime, "requests from this device")


async def device_of(connection: HTTPConnection, runtime: Runtime, what: str) -> AuthenticatedDevice:
    """The device behind a request's or socket handshake's bearer token, within its rate
    (``what`` names what it makes too many of).

    Failed checks are counted per network address, and an address with too many lately
    is refused before any lookup: a guesser costs one bucket check, not a query.

    Raises:
        ApiError: 401 for a missing, unknown or revoked token, 429 as above.
    """
    token = bearer_token(connection.headers.get("authorization"))
    if token is None:
        raise _unauthorized("missing device token (Authorization: Bearer <token>)")
    address = client_address(connection)
    failures = runtime.auth_failure_limiter
    if (wait := failures.waiting(address, time.monotonic())) > 0:
        raise _rate_limited(wait, "failed token checks from this address")
    async with runtime.engine.connect() as conn:
        device = await authenticate(conn, token)
    if device is None:
        failures.acquire(address, time.monotonic())
        raise _unauthorized("unknown or revoked device token")
    within_rate(runtime.limiter, device.id, what)
    return device


def client_address(connection: HTTPConnection) -> str:
    """The peer's network address (the real client's behind a proxy uvicorn trusts)."""
    return connection.client.host if connection.client else "unknown"


def within_rate(limiter: RateLimiter, key: Hashable, what: str) -> None:
    """Take a token for ``key`` now.

    Raises:
        ApiError: 429 with ``Retry-After`` when ``key`` has none left.
    """
    wait = limiter.acquire(key, time.monotonic())
    if wait > 0:
        raise _rate_limited(wait, what)


def _rate_limited(wait_s: float, what: str) -> ApiError:
    return ApiError(
        429,
        ErrorCode.RATE_LIMITED,
        f"too many {what}; retry in {wait_s:.2f} s",
        headers={"Retry-After": retry_after_header(wait_s)},
    )


CurrentDevice = Annotated[AuthenticatedDevice, Depends(current_device)]
"""The authenticated, rate-limited device making the request (401/429 otherwise)."""
