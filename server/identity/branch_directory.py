"""The branch directory devices read: every branch and every device that ever enrolled.

Staff see other branches by name (the appointment branch filter) and need to know
who won a conflict ("Reception PC, North") long after that device was revoked, so
revoked devices stay listed. Only public facts leave: ids, names, time zones.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from protocol.messages import BranchInfo, DeviceInfo, DirectoryResponse
from server.store.tables import branches, devices

__all__ = ["read_directory"]


async def read_directory(conn: AsyncConnection) -> DirectoryResponse:
    """All branches by name and all devices, revoked ones too, oldest first."""
    branch_rows = await conn.execute(
        select(branches.c.id, branches.c.name, branches.c.timezone).order_by(branches.c.name)
    )
    device_rows = await conn.execute(
        select(devices.c.id, devices.c.name, devices.c.branch_id).order_by(
            devices.c.enrolled_at, devices.c.id
        )
    )
    return DirectoryResponse(
        branches=[BranchInfo(id=str(b.id), name=b.name, timezone=b.timezone) for b in branch_rows],
        devices=[DeviceInfo(id=str(d.id), name=d.name, branch_id=str(d.branch_id)) for d in device_rows],
    )
