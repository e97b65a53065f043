"""Admin users and their browser sessions, as plain functions over one connection.

The session cookie holds a random token; the database keeps only its hash and an
expiry, so a leaked backup opens no dashboard and a session ends on its own.
Device tokens are a different thing altogether and never open ``/admin``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.errors import AdminError
from server.ops.admin_web.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from server.store.ops_tables import admin_sessions, admin_users

__all__ = [
    "MAX_NAME_LENGTH",
    "AdminUser",
    "end_session",
    "session_user",
    "set_password",
    "start_session",
]

MAX_NAME_LENGTH = 100


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the name is unknown, so timing does not tell names apart."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class AdminUser:
    id: uuid.UUID
    name: str


def _hash_session(token: str) -> bytes:
    return hashlib.sha256(b"branchsync-admin-session:" + token.encode()).digest()


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH or any(ch.isspace() for ch in cleaned):
        raise AdminError(f"an admin name is 1-{MAX_NAME_LENGTH} characters without spaces")
    return cleaned


async def set_password(conn: AsyncConnection, name: str, password: str) -> bool:
    """Create admin ``name`` with ``password``, or give an existing one a new password
    (ending its sessions). Returns True when the user was created.

    Raises:
        AdminError: the name or password is unacceptable.
    """
    cleaned = _clean_name(name)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    hashed = await asyncio.to_thread(hash_password, password)
    existing = (await conn.execute(select(admin_users.c.id).where(admin_users.c.name == cleaned))).scalar()
    if existing is None:
        await conn.execute(insert(admin_users).values(id=uuid.uuid4(), name=cleaned, password_hash=hashed))
        return True
    await conn.execute(
        update(admin_users)
        .where(admin_users.c.id == existing)
        .values(password_hash=hashed, password_set_at=func.now())
    )
    await conn.execute(delete(admin_sessions).where(admin_sessions.c.user_id == existing))
    return False


async def start_session(
    conn: AsyncConnection, name: str, password: str, ttl: timedelta
) -> tuple[str, datetime] | None:
    """Check the credentials; on success a new session token and its expiry, else None."""
    row = (
        await conn.execute(
            select(admin_users.c.id, admin_users.c.password_hash).where(admin_users.c.name == name.strip())
        )
    ).one_or_none()
    stored = row.password_hash if row is not None else _dummy_hash()
    good = await asyncio.to_thread(verify_password, password, stored)  # ~50 ms of CPU: off the loop
    if row is None or not good:
        return None
    await conn.execute(delete(admin_sessions).where(admin_sessions.c.expires_at < func.now()))
    token = secrets.token_urlsafe(32)
    expires_at = (
        await conn.execute(
            insert(admin_sessions)
            .values(token_hash=_hash_session(token), user_id=row.id, expires_at=func.now() + ttl)
            .returning(admin_sessions.c.expires_at)
        )
    ).scalar_one()
    return token, expires_at


async def session_user(conn: AsyncConnection, token: str) -> AdminUser | None:
    """The admin whose unexpired session ``token`` is, else None."""
    row = (
        await conn.execute(
            select(admin_users.c.id, admin_users.c.name)
            .join(admin_sessions, admin_sessions.c.user_id == admin_users.c.id)
            .where(
                admin_sessions.c.token_hash == _hash_session(token), admin_sessions.c.expires_at > func.now()
            )
        )
    ).one_or_none()
    return None if row is None else AdminUser(row.id, row.name)


async def end_session(conn: AsyncConnection, token: str) -> None:
    await conn.execute(delete(admin_sessions).where(admin_sessions.c.token_hash == _hash_session(token)))
