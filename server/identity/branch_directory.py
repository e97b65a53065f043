"""The branch directory devices read: every branch and every device that ever enrolled.

Staff see other branches by name (the appointment branch filter) and need to know
who won a conflict ("Reception PC, North") long after that device was revoked, so
revoked devices stay listed. Only public facts leave: ids, names, time zones.

Every desktop asks for the directory at every connection, and it grows with the fleet
(about 110 bytes per device), so it has a version: ``directory_etag`` is
``"<epoch>.<version>"``, where ``server_meta['directory_version']`` is bumped by
triggers in the same transaction as any change to what the directory lists (migration
0006). Reading it is one indexed read of two rows, whatever the fleet's size, and it
is the same in every server process on the database.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from protocol.messages import BranchInfo, DeviceInfo, DirectoryResponse
from server.store.tables import branches, devices, server_meta

__all__ = ["directory_etag", "read_directory"]

_VERSION_KEYS = ("epoch", "directory_version")


async def directory_etag(conn: AsyncConnection) -> str:
    """The directory's strong entity tag (quoted), new whenever its answer would change.

    Read it *before* ``read_directory`` in READ COMMITTED: the listing is then at least as
    new as its tag, so a change committed in between costs one more fetch later, never a
    stale copy kept under a newer tag.
    """
    rows = await conn.execute(
        select(server_meta.c.key, server_meta.c.value).where(server_meta.c.key.in_(_VERSION_KEYS))
    )
    facts = {row.key: row.value for row in rows}
    return f'"{facts.get("epoch", "")}.{facts.get("directory_version", "0")}"'


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
