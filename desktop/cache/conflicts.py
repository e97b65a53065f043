"""Conflicts: local values that lost a last-write-wins race, kept for staff to review.

The merge itself never asks anyone: the later stamp wins on every replica. This
table only makes the loss visible, and "keep mine" turns the lost value into a new
local edit, which then wins by being later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from desktop.cache import rows
from desktop.cache.clock import WallClock
from desktop.cache.errors import NotFound
from desktop.cache.outbox import OutboxEntry
from desktop.cache.rows import dataclass_from
from desktop.cache.schema import conflicts
from desktop.cache.writes import validated, write
from protocol.merge import DELETED, Lost

__all__ = ["Conflict", "count", "dismiss", "get", "keep_mine", "list_conflicts", "record"]


@dataclass(frozen=True, slots=True)
class Conflict:
    """One lost local value. ``field`` is ``protocol.DELETED`` for a delete/edit race."""

    id: int
    collection: str
    row_id: str
    field: str
    my_value: Any
    my_hlc: str
    winning_value: Any
    winning_hlc: str
    winning_device: str
    at: datetime
    dismissed: bool


def record(conn: Connection, collection: str, row_id: str, lost: Lost) -> bool:
    """Keep one loss of a local value; False when it was kept before.

    A value is lost once, however often the loss is seen: in a pull and in the push
    answer, or against two later values (the pull saw one, the server had a newer one
    by the time the push arrived). Staff see it once, and a dismissed one stays so.
    """
    seen = select(conflicts.c.id).where(
        conflicts.c.collection == collection,
        conflicts.c.row_id == row_id,
        conflicts.c.field == lost.field,
        conflicts.c.my_hlc == lost.losing_hlc,
    )
    if conn.execute(seen.limit(1)).first() is not None:
        return False
    statement = insert(conflicts).values(
        collection=collection,
        row_id=row_id,
        field=lost.field,
        my_value=lost.losing_value,
        my_hlc=lost.losing_hlc,
        winning_value=lost.winning_value,
        winning_hlc=lost.winning_hlc,
        winning_device=lost.winner_device,
        at=datetime.now(UTC),
    )
    conn.execute(statement)
    return True


def list_conflicts(conn: Connection, *, include_dismissed: bool = False) -> list[Conflict]:
    """Conflicts, newest first."""
    query = select(conflicts).order_by(conflicts.c.id.desc())
    if not include_dismissed:
        query = query.where(conflicts.c.dismissed.is_(False))
    return [dataclass_from(Conflict, m) for m in conn.execute(query).mappings()]


def count(conn: Connection) -> int:
    """How many conflicts staff have not dismissed yet."""
    query = select(func.count()).select_from(conflicts).where(conflicts.c.dismissed.is_(False))
    return int(conn.execute(query).scalar_one())


def get(conn: Connection, conflict_id: int) -> Conflict:
    """Raises ``NotFound`` when there is no conflict ``conflict_id``."""
    found = conn.execute(select(conflicts).where(conflicts.c.id == conflict_id)).mappings().first()
    if found is None:
        raise NotFound(f"no conflict with id {conflict_id}")
    return dataclass_from(Conflict, found)


def dismiss(conn: Connection, conflict_id: int) -> None:
    """Hide a conflict from the list (it stays in the table)."""
    get(conn, conflict_id)
    conn.execute(update(conflicts).where(conflicts.c.id == conflict_id).values(dismissed=True))


def keep_mine(conn: Connection, wall_ms: WallClock, conflict_id: int) -> OutboxEntry | None:
    """Write my lost value again as a new local edit, and dismiss the conflict.

    For a delete/edit race (``field == DELETED``) "mine" is the delete, or the edit
    (the row's current fields written again, which brings the row back). Returns the
    new mutation, or None when the row already holds my side.

    Raises:
        NotFound: no such conflict, or its row is gone.
        ValidationFailed: my value no longer passes validation.
    """
    conflict = get(conn, conflict_id)
    collection = rows.collection_named(conflict.collection)
    current = rows.load(conn, collection, conflict.row_id)
    if current is None:
        raise NotFound(f"no {collection.name} row with id {conflict.row_id!r}")
    entry: OutboxEntry | None = None
    if conflict.field == DELETED:
        if conflict.my_value and not current.deleted:
            entry = write(conn, wall_ms, collection, current.id, "delete", {}, current)
        elif not conflict.my_value and current.deleted:
            values = validated(collection, current.fields, creating=True)
            entry = write(conn, wall_ms, collection, current.id, "upsert", values, current)
    else:
        values = validated(collection, {conflict.field: conflict.my_value}, creating=False)
        entry = write(conn, wall_ms, collection, current.id, "upsert", values, current)
    conn.execute(update(conflicts).where(conflicts.c.id == conflict_id).values(dismissed=True))
    return entry
