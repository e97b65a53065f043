"""Between wire values and the typed columns of the record tables, both ways.

The wire (and ``protocol.merge``) speak canonical JSON values; PostgreSQL stores
typed columns. Every reader and writer of record rows goes through these functions,
so a value read back compares equal to the value validated on the way in (the merge
would otherwise see a conflict where there is none).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from protocol.collections import Collection, FieldKind
from protocol.merge import Row

__all__ = ["from_db", "row_state", "row_values", "to_db", "wire_fields"]


def to_db(kind: FieldKind, value: Any) -> Any:
    """A validated wire value as its column wants it (None stays None)."""
    if value is None:
        return None
    if kind is FieldKind.DATETIME:
        return datetime.fromisoformat(value)
    return value


def from_db(kind: FieldKind, value: Any) -> Any:
    """A column value as the wire (and ``protocol.validate``'s canonical form) has it."""
    if value is None:
        return None
    if kind is FieldKind.DATETIME:
        assert isinstance(value, datetime)
        if value.tzinfo is None:  # asyncpg's datetime.min / max, its ±infinity: the first and last instants
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if kind is FieldKind.UUID:
        return str(value)
    if kind is FieldKind.TAGS:
        return list(value)
    return value


def wire_fields(collection: Collection, columns: Mapping[Any, Any], *, prefix: str = "") -> dict[str, Any]:
    """The non-null fields of one stored row, as wire values.

    Args:
        collection: whose fields to read.
        columns: a result row mapping (column label -> value).
        prefix: prepended to each field name to find its column label.
    """
    fields: dict[str, Any] = {}
    for spec in collection.fields:
        value = columns[prefix + spec.name]
        if value is not None:
            fields[spec.name] = from_db(spec.kind, value)
    return fields


def row_state(collection: Collection, columns: Mapping[Any, Any]) -> Row:
    """A stored row as the merge sees it."""
    return Row(wire_fields(collection, columns), dict(columns["clocks"]), bool(columns["deleted"]))


def row_values(collection: Collection, row_id: uuid.UUID, row: Row) -> dict[str, Any]:
    """The columns that store ``row`` (typed fields, clocks and the deletion flag)."""
    values: dict[str, Any] = {"id": row_id, "clocks": dict(row.clocks), "deleted": row.deleted}
    for spec in collection.fields:
        values[spec.name] = to_db(spec.kind, row.fields.get(spec.name))
    return values
