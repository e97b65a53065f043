"""Operator actions on branches, enrolment codes and devices.

Plain async functions over one connection, so the CLI, the tests and any future admin
API share them; the caller owns the transaction (``async with engine.begin()``).
They raise ``AdminError`` with a one-line message for anything the operator asked
wrongly, never a database error.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Insert, Update, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from protocol.errors import UnknownTimeZone
from protocol.timezones import canonical_zone
from server.errors import AdminError
from server.identity.credentials import hash_code, new_code
from server.store.engine import DEVICES_CHANNEL
from server.store.tables import branches, devices, enroll_codes

__all__ = [
    "MAX_BRANCH_NAME",
    "MAX_CODES_PER_CALL",
    "Branch",
    "DeviceInfo",
    "IssuedCode",
    "create_branch",
    "find_branch",
    "issue_codes",
    "list_branches",
    "list_devices",
    "revoke_device",
    "update_branch",
]

MAX_BRANCH_NAME = 100
MAX_CODES_PER_CALL = 1000


@dataclass(frozen=True, slots=True)
class Branch:
    id: uuid.UUID
    name: str
    created_at: datetime
    timezone: str | None = None
    """IANA name; None: each PC shows times in its own zone."""


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A new enrolment code in clear text: shown once, only its hash is kept."""

    code: str
    branch: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: uuid.UUID
    name: str
    branch: str
    enrolled_at: datetime
    last_seen: datetime | None
    revoked: bool


def _clean_branch_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise AdminError("a branch name must not be empty")
    if len(cleaned) > MAX_BRANCH_NAME:
        raise AdminError(f"a branch name must be at most {MAX_BRANCH_NAME} characters")
    return cleaned


def _clean_zone(zone: str | None) -> str | None:
    """The IANA name of ``zone``; None (or blank) means no zone."""
    if zone is None or not zone.strip():
        return None
    try:
        return canonical_zone(zone)
    except UnknownTimeZone as exc:
        raise AdminError(str(exc)) from exc


_BRANCH_COLUMNS = (branches.c.id, branches.c.name, branches.c.created_at, branches.c.timezone)


async def create_branch(conn: AsyncConnection, name: str, timezone: str | None = None) -> Branch:
    """Create the branch ``name`` (surrounding and repeated spaces are dropped), with the
    IANA ``timezone`` its appointments are shown in (letter case does not matter).

    Raises:
        AdminError: the name is empty, too long or taken; the zone is unknown.
    """
    cleaned = _clean_branch_name(name)
    statement = insert(branches).values(id=uuid.uuid4(), name=cleaned, timezone=_clean_zone(timezone))
    return await _write_branch(conn, statement, cleaned)


async def update_branch(
    conn: AsyncConnection, name: str, *, timezone: str | None = None, new_name: str | None = None
) -> Branch:
    """Set the time zone of the branch ``name`` (a blank ``timezone`` unsets it) and/or rename it.

    Devices learn the change from ``GET /api/v1/branches``; rows refer to branches by id,
    so a rename touches nothing else.

    Raises:
        AdminError: nothing to change, no such branch, a taken or bad new name, an unknown zone.
    """
    values: dict[str, str | None] = {}
    if timezone is not None:
        values["timezone"] = _clean_zone(timezone)
    if new_name is not None:
        values["name"] = _clean_branch_name(new_name)
    if not values:
        raise AdminError("nothing to change: give a time zone (--timezone) or a new name (--rename)")
    found = await _require_branch(conn, name)
    change = update(branches).where(branches.c.id == found.id).values(values)
    return await _write_branch(conn, change, values.get("name") or found.name)


async def _write_branch(conn: AsyncConnection, statement: Insert | Update, name: str) -> Branch:
    """Run an insert or update of one branch; a taken ``name`` becomes an ``AdminError``."""
    try:
        async with conn.begin_nested():
            row = (await conn.execute(statement.returning(*_BRANCH_COLUMNS))).one()
    except IntegrityError as exc:
        raise AdminError(f"branch {name!r} already exists") from exc
    return Branch(*row)


async def find_branch(conn: AsyncConnection, name: str) -> Branch | None:
    """The branch called ``name`` (spacing as ``create_branch`` cleans it), if any."""
    row = (
        await conn.execute(select(*_BRANCH_COLUMNS).where(branches.c.name == " ".join(name.split())))
    ).one_or_none()
    return None if row is None else Branch(*row)


async def _require_branch(conn: AsyncConnection, name: str) -> Branch:
    found = await find_branch(conn, name)
    if found is None:
        raise AdminError(f"no branch named {name!r} (see `branchsync-server branch list`)")
    return found


async def list_branches(conn: AsyncConnection) -> list[Branch]:
    """Every branch, by name."""
    rows = await conn.execute(select(*_BRANCH_COLUMNS).order_by(branches.c.name))
    return [Branch(*r) for r in rows]


async def issue_codes(
    conn: AsyncConnection, branch: str, count: int = 1, ttl: timedelta = timedelta(days=7)
) -> list[IssuedCode]:
    """Make ``count`` single-use enrolment codes for ``branch``, valid for ``ttl``.

    Raises:
        AdminError: unknown branch, ``count`` outside 1..MAX_CODES_PER_CALL, or a
            non-positive ``ttl``.
    """
    if not 1 <= count <= MAX_CODES_PER_CALL:
        raise AdminError(f"count must be between 1 and {MAX_CODES_PER_CALL}")
    if ttl <= timedelta(0):
        raise AdminError("the time to live of a code must be positive")
    found = await _require_branch(conn, branch)
    expires_at = (await conn.execute(select(func.now() + ttl))).scalar_one()
    codes = [new_code() for _ in range(count)]
    await conn.execute(
        insert(enroll_codes),
        [{"code_hash": hash_code(c), "branch_id": found.id, "expires_at": expires_at} for c in codes],
    )
    return [IssuedCode(c, found.name, expires_at) for c in codes]


_DEVICE_ROWS = select(
    devices.c.id,
    devices.c.name,
    branches.c.name.label("branch"),
    devices.c.enrolled_at,
    devices.c.last_seen,
    devices.c.revoked_at.is_not(None).label("revoked"),
).join(branches, branches.c.id == devices.c.branch_id)


async def list_devices(conn: AsyncConnection) -> list[DeviceInfo]:
    """Every device ever enrolled, revoked ones included, oldest first."""
    rows = await conn.execute(_DEVICE_ROWS.order_by(devices.c.enrolled_at, devices.c.id))
    return [DeviceInfo(r.id, r.name, r.branch, r.enrolled_at, r.last_seen, r.revoked) for r in rows]


async def revoke_device(conn: AsyncConnection, device_id: uuid.UUID | str) -> DeviceInfo:
    """Revoke a device: its token stops working and its open sockets are closed.

    Idempotent. The ``NOTIFY`` on ``DEVICES_CHANNEL`` is delivered when the caller
    commits, so every server process drops the device's sockets only once the
    revocation is durable.

    Raises:
        AdminError: ``device_id`` is not a UUID or no such device exists.
    """
    try:
        key = device_id if isinstance(device_id, uuid.UUID) else uuid.UUID(device_id)
    except ValueError as exc:
        raise AdminError(f"{device_id!r} is not a device id (see `branchsync-server device list`)") from exc
    await conn.execute(
        update(devices)
        .where(devices.c.id == key, devices.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    row = (await conn.execute(_DEVICE_ROWS.where(devices.c.id == key))).one_or_none()
    if row is None:
        raise AdminError(f"no device {key} (see `branchsync-server device list`)")
    await conn.execute(
        text("SELECT pg_notify(:channel, :device)"), {"channel": DEVICES_CHANNEL, "device": str(key)}
    )
    return DeviceInfo(row.id, row.name, row.branch, row.enrolled_at, row.last_seen, row.revoked)
