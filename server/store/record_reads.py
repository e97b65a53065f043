"""Reads of the REST resources, straight from the typed record tables.

Writes do not live here: they go through ``server.sync.write_path`` like every push.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from protocol.collections import Collection, FieldKind
from server.store.row_codec import from_db
from server.store.tables import RECORD_TABLES

__all__ = ["MAX_SEARCH_WORDS", "get_record", "list_records", "search_condition"]

MAX_SEARCH_WORDS = 8
"""Words of ``q=`` that are matched; more add little and cost a scan each."""

_TEXT_KINDS = {FieldKind.TEXT, FieldKind.EMAIL, FieldKind.PHONE, FieldKind.CHOICE}


def _record(collection: Collection, row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored row as the resource's Out model has it (every field, null when unset)."""
    record: dict[str, Any] = {"id": row["id"]}
    for spec in collection.fields:
        record[spec.name] = from_db(spec.kind, row[spec.name])
    for key in ("deleted", "seq", "updated_at", "updated_by_device", "updated_by_branch"):
        record[key] = row[key]
    return record


async def get_record(
    conn: AsyncConnection, collection: Collection, row_id: uuid.UUID
) -> dict[str, Any] | None:
    """One row, deleted or not; None when no write ever reached it."""
    table = RECORD_TABLES[collection.name]
    row = (await conn.execute(select(table).where(table.c.id == row_id))).mappings().one_or_none()
    return None if row is None else _record(collection, row)


def _like(text: str) -> str:
    """A case-insensitive 'contains' pattern for ``text`` (its wildcards taken literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_condition(collection: Collection, table: Table, q: str) -> ColumnElement[bool]:
    """Every word of ``q`` appears in some searchable field (case-insensitive)."""
    columns: list[ColumnElement[Any]] = []
    for spec in collection.fields:
        if not spec.searchable:
            continue
        column = table.c[spec.name]
        if spec.kind is FieldKind.TAGS:
            columns.append(func.array_to_string(column, " "))
        elif spec.kind in _TEXT_KINDS:
            columns.append(column)
    words = q.split()[:MAX_SEARCH_WORDS]
    if not columns:
        return false()
    return and_(*(or_(*(column.ilike(_like(word), escape="\\") for column in columns)) for word in words))


async def list_records(
    conn: AsyncConnection,
    collection: Collection,
    *,
    q: str | None = None,
    updated_since: int | None = None,
    include_deleted: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """One page of rows in change-number order, and how many match in all.

    Ordering by ``seq`` makes ``updated_since`` paging exact: a mirror that asks for
    rows after the last ``seq`` it saw misses nothing.
    """
    table = RECORD_TABLES[collection.name]
    conditions: list[ColumnElement[bool]] = []
    if not include_deleted:
        conditions.append(table.c.deleted.is_(False))
    if updated_since is not None:
        conditions.append(table.c.seq > updated_since)
    if q and q.split():
        conditions.append(search_condition(collection, table, q))
    where = and_(true(), *conditions)
    total = (await conn.execute(select(func.count()).select_from(table).where(where))).scalar_one()
    query = select(table).where(where).order_by(table.c.seq).limit(limit).offset(offset)
    rows = (await conn.execute(query)).mappings().all()
    return [_record(collection, row) for row in rows], int(total)
