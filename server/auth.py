"""Who is asking: the device behind a bearer token, within its request rate.

Tokens are made and hashed in ``server.credentials``. Every request and socket is
checked against the database (no cache), so a revoked device is refused by every server
process on its very next request.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from datetime import timedelta
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from protocol.errors import ErrorCode
from server.auth_types import AuthenticatedDevice
from server.credentials import hash_token
from server.deps import StateDep
from server.errors import ApiError
from server.ratelimit import RateLimiter, retry_after_header

__all__ = [
    "LAST_SEEN_EVERY",
    "CurrentDevice",
    "authenticate",
    "bearer_token",
    "current_device",
    "within_rate",
]

LAST_SEEN_EVERY = timedelta(seconds=60)
"""``devices.last_seen`` is written at most this often per device: a busy device would
otherwise turn every read into a write."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


_AUTHENTICATE = """
WITH found AS (
    SELECT d.id, d.name, d.branch_id, b.name AS branch_name,
           d.last_seen IS NULL OR d.last_seen < now() - $2::interval AS stale
    FROM devices d JOIN branches b ON b.id = d.branch_id
    WHERE d.token_hash = $1 AND d.revoked_at IS NULL
), seen AS (
    UPDATE devices SET last_seen = now() FROM found WHERE devices.id = found.id AND found.stale
)
SELECT id, name, branch_id, branch_name FROM found
"""
"""The token lookup and the throttled ``last_seen`` write in one statement: every
request pays for it, so it is one round trip to PostgreSQL instead of three (four when
``last_seen`` was due)."""


async def authenticate(conn: AsyncConnection, token: str) -> AuthenticatedDevice | None:
    """The enrolled, unrevoked device holding ``token``, or None.

    Also records ``last_seen`` (at most every ``LAST_SEEN_EVERY``) in the same
    statement: inside the caller's transaction when one has begun, else on its own.
    """
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    try:
        row = await driver.fetchrow(_AUTHENTICATE, hash_token(token), LAST_SEEN_EVERY)
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:  # as SQLAlchemy would raise it
        raise DBAPIError(_AUTHENTICATE, None, exc) from exc
    if row is None:
        return None
    return AuthenticatedDevice(
        id=row["id"], name=row["name"], branch_id=row["branch_id"], branch_name=row["branch_name"]
    )


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, ErrorCode.UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


async def current_device(request: Request, state: StateDep) -> AuthenticatedDevice:
    """FastAPI dependency: the calling device, within its request rate.

    Raises:
        ApiError: 401 for a missing, unknown or revoked token; 429 (with
            ``Retry-After``) when the device goes faster than ``settings.rate_per_s``.
    """
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise _unauthorized("missing device token (Authorization: Bearer <token>)")
    async with state.engine.connect() as conn:
        device = await authenticate(conn, token)
    if device is None:
        raise _unauthorized("unknown or revoked device token")
    within_rate(state.limiter, device.id, "requests from this device")
    return device


def within_rate(limiter: RateLimiter, key: Hashable, what: str) -> None:
    """Take a token for ``key`` now.

    Raises:
        ApiError: 429 with ``Retry-After`` when ``key`` has none left.
    """
    wait = limiter.acquire(key, time.monotonic())
    if wait > 0:
        raise ApiError(
            429,
            ErrorCode.RATE_LIMITED,
            f"too many {what}; retry in {wait:.2f} s",
            headers={"Retry-After": retry_after_header(wait)},
        )


CurrentDevice = Annotated[AuthenticatedDevice, Depends(current_device)]
"""The authenticated, rate-limited device making the request (401/429 otherwise)."""
