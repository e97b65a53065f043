"""Mutations the server refused: kept out of the queue so the rest keep flowing.

A refused mutation is already merged into the local row, so the row shows a value
the server never took. Staff either retry (possibly with corrected values) or
discard; both first take the refused write back out of the row, using the
``before`` values the outbox kept, wherever no later write has replaced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, literal, select

from desktop.cache import rows
from desktop.cache.clock import WallClock
from desktop.cache.errors import NotFound
from desktop.cache.outbox import Before, LocalMutation, OutboxEntry
from desktop.cache.rows import dataclass_from
from desktop.cache.schema import MUTATION_COLUMNS, outbox, rejected
from desktop.cache.writes import validated, write
from protocol.merge import DELETED, Row
from protocol.messages import ErrorDetail

__all__ = ["RejectedMutation", "count", "discard", "get", "list_rejected", "move", "retry", "revert_row"]


@dataclass(frozen=True, slots=True)
class RejectedMutation(LocalMutation):
    """A refused local write with the server's reason."""

    id: int
    code: str
    message: str
    field: str | None
    rejected_at: datetime


def move(conn: Connection, seq: int, error: ErrorDetail) -> None:
    """Move outbox entry ``seq`` to ``rejected`` with the server's reason."""
    source = select(
        *(outbox.c[name] for name in MUTATION_COLUMNS),
        literal(error.code).label("code"),
        literal(error.message).label("message"),
        literal(error.field).label("field"),
        literal(datetime.now(UTC), rejected.c.rejected_at.type).label("rejected_at"),
    ).where(outbox.c.seq == seq)
    names = [*MUTATION_COLUMNS, "code", "message", "field", "rejected_at"]
    conn.execute(insert(rejected).from_select(names, source))
    conn.execute(delete(outbox).where(outbox.c.seq == seq))


def list_rejected(conn: Connection) -> list[RejectedMutation]:
    """Refused mutations, oldest first."""
    found = conn.execute(select(rejected).order_by(rejected.c.id)).mappings()
    return [dataclass_from(RejectedMutation, mapping) for mapping in found]


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(rejected)).scalar_one())


def get(conn: Connection, rejected_id: int) -> RejectedMutation:
    """Raises ``NotFound`` when there is no rejected mutation ``rejected_id``."""
    found = conn.execute(select(rejected).where(rejected.c.id == rejected_id)).mappings().first()
    if found is None:
        raise NotFound(f"no rejected change with id {rejected_id}")
    return dataclass_from(RejectedMutation, found)


def revert_row(row: Row, before: Before, hlc: str) -> Row:
    """``row`` without the write stamped ``hlc``, for each key no later write replaced.

    Pure: a key whose clock is still ``hlc`` gets its ``before`` value and clock back
    (or becomes unwritten when it had none).
    """
    values = dict(row.fields)
    clocks = dict(row.clocks)
    deleted = row.deleted
    for key, (value, clock) in before.items():
        if clocks.get(key) != hlc:
            continue
        if clock is None:
            clocks.pop(key)
        else:
            clocks[key] = clock
        if key == DELETED:
            deleted = bool(value) if clock is not None else False
        elif value is None or clock is None:
            values.pop(key, None)
        else:
            values[key] = value
    return Row(values, clocks, deleted)


def _take_back(conn: Connection, refused: RejectedMutation) -> rows.Record | None:
    """Revert ``refused`` in its row and drop it from the table; the row as it is now."""
    collection = rows.collection_named(refused.collection)
    conn.execute(delete(rejected).where(rejected.c.id == refused.id))
    current = rows.load(conn, collection, refused.row_id)
    if current is None:
        return None
    before = {key: (pair[0], pair[1]) for key, pair in refused.before.items()}
    reverted = revert_row(current.row, before, refused.hlc)
    if not reverted.clocks:
        rows.delete_row(conn, collection, current.id)
        return None
    rows.save_many(conn, collection, [], [(current.id, reverted)])
    return rows.Record(collection.name, current.id, reverted.fields, reverted.clocks, reverted.deleted)


def discard(conn: Connection, rejected_id: int) -> None:
    """Give up a refused write: drop it and take it back out of the local row.

    Raises:
        NotFound: no rejected mutation ``rejected_id``.
    """
    _take_back(conn, get(conn, rejected_id))


def retry(
    conn: Connection, wall_ms: WallClock, rejected_id: int, new_fields: Mapping[str, Any] | None = None
) -> OutboxEntry:
    """Queue a refused write again with a new stamp, optionally with corrected fields.

    Must run in its own write transaction: on ``ValidationFailed`` the caller's
    rollback undoes the revert as well.

    Raises:
        NotFound: no rejected mutation ``rejected_id``.
        ValidationFailed: the (corrected) fields do not pass validation.
    """
    refused = get(conn, rejected_id)
    collection = rows.collection_named(refused.collection)
    values = refused.fields if new_fields is None else new_fields
    current = _take_back(conn, refused)
    if refused.op == "upsert":
        values = validated(collection, values, creating=current is None)
    return write(conn, wall_ms, collection, refused.row_id, refused.op, values, current)
