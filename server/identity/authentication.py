"""Who is asking: the device behind a bearer token.

Tokens are made and hashed in ``server.identity.credentials``. Every request and socket is
checked against the database (no cache), so a revoked device is refused by every server
process on its very next request. ``server.api.deps`` turns this into the routes'
FastAPI dependency (and adds the request rate).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.identity.credentials import hash_token

__all__ = ["LAST_SEEN_EVERY", "AuthenticatedDevice", "authenticate", "bearer_token"]


@dataclass(frozen=True, slots=True)
class AuthenticatedDevice:
    """A device whose bearer token checked out (enrolled, not revoked)."""

    id: uuid.UUID
    name: str
    branch_id: uuid.UUID
    branch_name: str


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
