"""A snapshot of every branch and device as operators see it: who is online, how far
behind, how much is waiting, what was refused, and how the backups are doing.

Read in one go from PostgreSQL (so every server process tells the same story) and fed
to both ``/metrics`` and the ``/admin`` dashboard. ``build_fleet`` is the pure part:
rows and the time in, the snapshot out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.realtime.device_status import DeviceStatus
from server.store.change_log import head_seq
from server.store.ops_tables import backup_runs, device_presence
from server.store.tables import branches, devices, rejections, server_meta

__all__ = [
    "REJECTION_WINDOW",
    "BackupStatus",
    "BranchView",
    "DeviceView",
    "Fleet",
    "RejectionView",
    "build_fleet",
    "overlay_statuses",
    "read_backup_status",
    "read_fleet",
    "recent_rejections",
]

REJECTION_WINDOW = timedelta(hours=24)
"""Rejected writes per device are counted over this window."""


@dataclass(frozen=True, slots=True)
class DeviceView:
    id: uuid.UUID
    name: str
    online: bool
    last_seen: datetime | None
    last_seen_age_s: float | None
    """0 while online; None when the device was never heard from."""
    cursor: int | None
    behind: int | None
    """Changes between the device's last reported cursor and the head."""
    pending: int | None
    rejected: int
    app_version: str | None


@dataclass(frozen=True, slots=True)
class BranchView:
    id: uuid.UUID
    name: str
    devices: tuple[DeviceView, ...]
    online: int
    cursor_lag: int
    """The ``behind`` of its furthest-behind device (0 when none reported)."""
    pending: int
    last_seen_age_s: float | None


@dataclass(frozen=True, slots=True)
class BackupStatus:
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str | None = None
    last_file: str | None = None

    @property
    def failing(self) -> bool:
        """The newest attempt failed."""
        return self.last_failure is not None and (
            self.last_success is None or self.last_failure > self.last_success
        )


@dataclass(frozen=True, slots=True)
class Fleet:
    now: datetime
    epoch: str
    head: int
    branches: tuple[BranchView, ...]
    backups: BackupStatus


@dataclass(frozen=True, slots=True)
class RejectionView:
    at: datetime
    branch: str | None
    device: str | None
    collection: str | None
    row_id: str | None
    field: str | None
    code: str
    message: str


def _age(now: datetime, then: datetime | None, online: bool) -> float | None:
    if online:
        return 0.0
    return None if then is None else max(0.0, (now - then).total_seconds())


def build_fleet(
    now: datetime,
    epoch: str,
    head: int,
    branch_rows: Iterable[Mapping[str, Any]],
    device_rows: Iterable[Mapping[str, Any]],
    online: Set[uuid.UUID],
    backups: BackupStatus,
) -> Fleet:
    """Assemble the snapshot from plain rows (``branch_rows``: id, name;
    ``device_rows``: id, name, branch_id, last_seen, cursor, pending, rejected,
    app_version)."""
    by_branch: dict[uuid.UUID, list[DeviceView]] = {}
    for row in device_rows:
        is_online = row["id"] in online
        cursor = row["cursor"]
        by_branch.setdefault(row["branch_id"], []).append(
            DeviceView(
                id=row["id"],
                name=row["name"],
                online=is_online,
                last_seen=row["last_seen"],
                last_seen_age_s=_age(now, row["last_seen"], is_online),
                cursor=cursor,
                behind=None if cursor is None else max(0, head - cursor),
                pending=row["pending"],
                rejected=row["rejected"],
                app_version=row["app_version"],
            )
        )
    views = []
    for row in branch_rows:
        members = tuple(by_branch.get(row["id"], ()))
        ages = [d.last_seen_age_s for d in members if d.last_seen_age_s is not None]
        views.append(
            BranchView(
                id=row["id"],
                name=row["name"],
                devices=members,
                online=sum(d.online for d in members),
                cursor_lag=max((d.behind for d in members if d.behind is not None), default=0),
                pending=sum(d.pending or 0 for d in members),
                last_seen_age_s=min(ages, default=None),
            )
        )
    return Fleet(now=now, epoch=epoch, head=head, branches=tuple(views), backups=backups)


def overlay_statuses(
    device_rows: Iterable[Mapping[str, Any]], statuses: Mapping[uuid.UUID, DeviceStatus]
) -> list[dict[str, Any]]:
    """The rows with this process's unflushed statuses in (``device_rows`` also carry
    ``status_at``): a status replaces the stored one when it was heard later, as the
    flush itself will (``server.realtime.device_status``)."""
    rows = []
    for row in device_rows:
        merged = dict(row)
        status = statuses.get(row["id"])
        if status is not None and (row["status_at"] is None or status.at >= row["status_at"]):
            merged.update(cursor=status.cursor, pending=status.pending, status_at=status.at)
            if status.app_version is not None:
                merged["app_version"] = status.app_version
            seen = row["last_seen"]
            merged["last_seen"] = status.at if seen is None else max(seen, status.at)
        rows.append(merged)
    return rows


async def read_backup_status(conn: AsyncConnection) -> BackupStatus:
    """The newest good and failed backup, whoever ran them."""
    newest = (
        select(backup_runs.c.finished_at, backup_runs.c.file, backup_runs.c.error)
        .where(backup_runs.c.kind == "backup")
        .order_by(backup_runs.c.finished_at.desc())
        .limit(1)
    )
    success = (await conn.execute(newest.where(backup_runs.c.ok))).one_or_none()
    failure = (await conn.execute(newest.where(~backup_runs.c.ok))).one_or_none()
    return BackupStatus(
        last_success=None if success is None else success.finished_at,
        last_failure=None if failure is None else failure.finished_at,
        last_error=None if failure is None else failure.error,
        last_file=None if success is None else success.file,
    )


async def read_fleet(
    conn: AsyncConnection,
    *,
    connected_here: Set[uuid.UUID],
    presence_ttl: timedelta,
    statuses: Mapping[uuid.UUID, DeviceStatus] | None = None,
) -> Fleet:
    """Read the snapshot. A device is online when it holds a socket on this process
    (``connected_here``) or another process reported it within ``presence_ttl``; its
    position is the newer of the stored one and this process's unflushed ``statuses``."""
    now: datetime = (await conn.execute(select(func.now()))).scalar_one()
    epoch = (await conn.execute(select(server_meta.c.value).where(server_meta.c.key == "epoch"))).scalar_one()
    head = await head_seq(conn)
    branch_rows = (
        await conn.execute(select(branches.c.id, branches.c.name).order_by(branches.c.name))
    ).mappings()
    rejected = (
        select(func.count())
        .where(rejections.c.device_id == devices.c.id, rejections.c.at > now - REJECTION_WINDOW)
        .scalar_subquery()
    )
    device_rows = (
        await conn.execute(
            select(
                devices.c.id,
                devices.c.name,
                devices.c.branch_id,
                func.greatest(devices.c.last_seen, devices.c.status_at).label("last_seen"),
                devices.c.status_cursor.label("cursor"),
                devices.c.status_pending.label("pending"),
                devices.c.status_at,
                rejected.label("rejected"),
                devices.c.app_version,
            )
            .where(devices.c.revoked_at.is_(None))
            .order_by(devices.c.name, devices.c.id)
        )
    ).mappings()
    elsewhere = (
        await conn.execute(
            select(device_presence.c.device_id).where(device_presence.c.seen_at > now - presence_ttl)
        )
    ).scalars()
    online = set(connected_here) | set(elsewhere)
    backups = await read_backup_status(conn)
    rows = overlay_statuses([dict(r) for r in device_rows], statuses or {})
    return build_fleet(now, epoch, head, [dict(r) for r in branch_rows], rows, online, backups)


async def recent_rejections(conn: AsyncConnection, limit: int = 20) -> list[RejectionView]:
    """The newest refused writes with who sent them and why."""
    query = (
        select(
            rejections.c.at,
            branches.c.name.label("branch"),
            devices.c.name.label("device"),
            rejections.c.collection,
            rejections.c.row_id,
            rejections.c.field,
            rejections.c.code,
            rejections.c.message,
        )
        .select_from(
            rejections.outerjoin(devices, devices.c.id == rejections.c.device_id).outerjoin(
                branches, branches.c.id == devices.c.branch_id
            )
        )
        .order_by(rejections.c.at.desc(), rejections.c.id.desc())
        .limit(limit)
    )
    return [RejectionView(**row) for row in (await conn.execute(query)).mappings()]
