"""Local writes: validate, stamp, merge into the row and queue the mutation, in one transaction.

Every function here runs inside a caller's write transaction and checks everything
(validation, the row exists) before it changes anything, so a refused write leaves
the transaction as it found it: a batch (a CSV import) can skip a bad row and go on.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from desktop.cache import rows
from desktop.cache.clock import WallClock, stamp
from desktop.cache.errors import NotFound, ValidationFailed
from desktop.cache.outbox import Before, Op, OutboxEntry, append
from desktop.cache.rows import Record, collection_named, normalise_id
from protocol.collections import Collection
from protocol.merge import Row, merge, mutation_row
from protocol.validate import validate_fields

__all__ = ["create", "delete", "live_row", "update", "validated", "write"]


def validated(collection: Collection, fields: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """``fields`` normalised by ``protocol.validate_fields``.

    Raises:
        ValidationFailed: with every field's error; nothing is written.
    """
    clean, errors = validate_fields(collection, fields, creating=creating)
    if errors:
        raise ValidationFailed(errors)
    return clean


def live_row(conn: Connection, collection: Collection, row_id: str) -> Record:
    """The row ``row_id`` as stored, when it exists and is not deleted.

    Raises:
        NotFound: no such row here, or it is deleted.
    """
    found = rows.load(conn, collection, normalise_id(collection, row_id))
    if found is None or found.deleted:
        raise NotFound(f"no {collection.name} row with id {row_id!r}")
    return found


def write(
    conn: Connection,
    wall_ms: WallClock,
    collection: Collection,
    row_id: str,
    op: Op,
    fields: Mapping[str, Any],
    current: Record | None,
) -> OutboxEntry:
    """Stamp one checked mutation, merge it into the row and queue it.

    Args:
        current: the row as stored now (None when new), as the caller loaded it in
            this transaction.
    """
    (hlc,) = stamp(conn, wall_ms)
    base = current.row if current is not None else Row()
    incoming = mutation_row(op, fields, hlc)
    merged = merge(base, incoming).row
    before: Before = {
        key: (base.value(key) if key in base.clocks else None, base.clocks.get(key))
        for key in incoming.clocks
    }
    if current is None:
        rows.save_many(conn, collection, [(row_id, merged)], [])
    else:
        rows.save_many(conn, collection, [], [(row_id, merged)])
    return append(conn, collection.name, row_id, op, fields, hlc, before)


def create(conn: Connection, wall_ms: WallClock, collection_name: str, fields: Mapping[str, Any]) -> str:
    """Create a row with a new id and return the id.

    Raises:
        UnknownCollection, ValidationFailed: nothing is written.
    """
    collection = collection_named(collection_name)
    clean = validated(collection, fields, creating=True)
    row_id = str(uuid.uuid4())
    write(conn, wall_ms, collection, row_id, "upsert", clean, None)
    return row_id


def update(
    conn: Connection, wall_ms: WallClock, collection_name: str, row_id: str, fields: Mapping[str, Any]
) -> OutboxEntry | None:
    """Set some fields of a live row (``None`` clears one); None when none of ``fields``
    changes: a value saved as it already is queues nothing (a form saved untouched, a file
    of the cache's own rows imported again) and so wins no conflict it did not take part in.

    Raises:
        UnknownCollection, ValidationFailed, NotFound: nothing is written.
    """
    collection = collection_named(collection_name)
    clean = validated(collection, fields, creating=False)
    current = live_row(conn, collection, row_id)
    changed = {name: value for name, value in clean.items() if current.fields.get(name) != value}
    if not changed:
        return None
    return write(conn, wall_ms, collection, current.id, "upsert", changed, current)


def delete(conn: Connection, wall_ms: WallClock, collection_name: str, row_id: str) -> OutboxEntry:
    """Delete a live row.

    Raises:
        UnknownCollection, NotFound: nothing is written.
    """
    collection = collection_named(collection_name)
    current = live_row(conn, collection, row_id)
    return write(conn, wall_ms, collection, current.id, "delete", {}, current)
