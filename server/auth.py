"""Device tokens and enrolment codes: making them, storing them hashed, checking them.

Tokens are 256 random bits and codes 100, so a single SHA-256 is the right hash: a
slow password hash only helps secrets a person chose. The database keeps hashes only,
so a leaked backup enrols nobody and impersonates no device.

Every request and socket is checked against the database (no cache), so a revoked
device is refused by every server process on its very next request.
"""

from __future__ import annotations

import hashlib
import secrets
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
from server.deps import StateDep
from server.errors import ApiError
from server.ratelimit import RateLimiter, retry_after_header

__all__ = [
    "LAST_SEEN_EVERY",
    "TOKEN_PREFIX",
    "CurrentDevice",
    "authenticate",
    "bearer_token",
    "current_device",
    "hash_code",
    "hash_token",
    "new_code",
    "new_token",
    "normalize_code",
    "within_rate",
]

TOKEN_PREFIX = "bsd_"
"""Marks a Branchsync device token, so secret scanners and people can recognise one."""

LAST_SEEN_EVERY = timedelta(seconds=60)
"""``devices.last_seen`` is written at most this often per device: a busy device would
otherwise turn every read into a write."""

_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_CODE_GROUPS, _CODE_GROUP_LEN = 4, 5


def new_token() -> str:
    """A fresh device token: 256 random bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_code() -> str:
    """A fresh enrolment code IT can read aloud or type: ``XXXXX-XXXXX-XXXXX-XXXXX`` (100 bits)."""
    groups = (
        "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_GROUP_LEN)) for _ in range(_CODE_GROUPS)
    )
    return "-".join(groups)


def normalize_code(code: str) -> str:
    """The canonical form of a typed code: case, dashes and spaces do not matter."""
    return "".join(ch for ch in code.upper() if ch not in "- \t")


def hash_code(code: str) -> bytes:
    """What ``enroll_codes.code_hash`` stores for ``code``."""
    return hashlib.sha256(b"branchsync-code:" + normalize_code(code).encode()).digest()


def hash_token(token: str) -> bytes:
    """What ``devices.token_hash`` stores for ``token``."""
    return hashlib.sha256(b"branchsync-token:" + token.encode()).digest()


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
