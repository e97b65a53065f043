"""Turning a single-use enrolment code into a device with its own token.

The code is claimed with one conditional ``UPDATE`` (unused and unexpired), so two
PCs racing with the same code cannot both win: the second finds it used.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from protocol.errors import ErrorCode
from server.errors import ApiError
from server.identity.credentials import hash_code, hash_token, new_token
from server.store.tables import branches, devices, enroll_codes

__all__ = ["Enrolment", "enroll"]


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A newly enrolled device; ``token`` is in clear text here and nowhere else."""

    device_id: uuid.UUID
    token: str
    branch_id: uuid.UUID
    branch_name: str
    branch_timezone: str | None


async def enroll(
    conn: AsyncConnection, code: str, device_name: str, app_version: str | None = None
) -> Enrolment:
    """Claim ``code`` and enrol a device called ``device_name`` in the code's branch.

    Run inside a transaction: claiming the code and creating the device commit together.

    Raises:
        ApiError: 422 for a blank name; 403 ``enroll_code_invalid``, ``enroll_code_used``
            or ``enroll_code_expired`` when the code cannot be used.
    """
    name = " ".join(device_name.split())
    if not name:
        raise ApiError(422, ErrorCode.INVALID_BODY, "device_name must not be blank", field="device_name")
    code_hash = hash_code(code)
    device_id = uuid.uuid4()
    claimed = (
        await conn.execute(
            update(enroll_codes)
            .where(
                enroll_codes.c.code_hash == code_hash,
                enroll_codes.c.used_at.is_(None),
                enroll_codes.c.expires_at > func.now(),
            )
            .values(used_at=func.now(), used_by_device=device_id)
            .returning(enroll_codes.c.branch_id)
        )
    ).scalar_one_or_none()
    if claimed is None:
        raise await _why_refused(conn, code_hash)
    token = new_token()
    await conn.execute(
        insert(devices).values(
            id=device_id, name=name, branch_id=claimed, token_hash=hash_token(token), app_version=app_version
        )
    )
    branch = (
        await conn.execute(select(branches.c.name, branches.c.timezone).where(branches.c.id == claimed))
    ).one()
    return Enrolment(device_id, token, claimed, branch.name, branch.timezone)


async def _why_refused(conn: AsyncConnection, code_hash: bytes) -> ApiError:
    used_at = (
        await conn.execute(select(enroll_codes.c.used_at).where(enroll_codes.c.code_hash == code_hash))
    ).one_or_none()
    if used_at is None:
        return ApiError(403, ErrorCode.ENROLL_CODE_INVALID, "unknown enrolment code; check it with IT")
    if used_at[0] is not None:
        return ApiError(
            403, ErrorCode.ENROLL_CODE_USED, "this enrolment code was already used; ask IT for a new one"
        )
    return ApiError(
        403, ErrorCode.ENROLL_CODE_EXPIRED, "this enrolment code has expired; ask IT for a new one"
    )
