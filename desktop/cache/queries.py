"""Reads for the command line and the UI: get, list with instant search, count.

Search goes through the FTS5 index (prefix match of every word typed, in any
searchable field), so it stays instant at 100 000 rows; lists sort by the
collection's natural column (``schema.sort_column``), which is indexed.
"""

from __future__ import annotations

from sqlalchemy import Connection, Integer, Select, column, func, select, text
from sqlalchemy.sql.elements import ColumnElement

from desktop.cache import rows
from desktop.cache.errors import NotFound
from desktop.cache.rows import Record, collection_named, from_mapping, table_of
from desktop.cache.schema import fts_name, sort_column
from protocol.collections import Collection

__all__ = ["count_rows", "fts_query", "get", "list_rows"]


def fts_query(search: str) -> str | None:
    """An FTS5 query matching rows that have every typed word as a word prefix.

    Pure. Each word is quoted, so nothing typed can be read as FTS5 syntax; words
    without a letter or digit are ignored. None when nothing is left to search for.
    """
    words = [word for word in search.split() if any(ch.isalnum() for ch in word)]
    if not words:
        return None
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


def _filters(collection: Collection, search: str | None, include_deleted: bool) -> list[ColumnElement[bool]]:
    table = table_of(collection)
    conditions: list[ColumnElement[bool]] = []
    if not include_deleted:
        conditions.append(table.c.deleted.is_(False))
    match = fts_query(search) if search else None
    if match is not None:
        fts = fts_name(collection)
        matching = text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :match").bindparams(match=match)
        conditions.append(table.c.pk.in_(matching.columns(column("rowid", Integer))))
    return conditions


def get(
    conn: Connection, collection_name: str, row_id: str, *, include_deleted: bool = False
) -> Record | None:
    """The row ``row_id``, or None when there is none (or it is deleted).

    Raises:
        UnknownCollection: no such collection.
    """
    collection = collection_named(collection_name)
    try:
        canonical = rows.normalise_id(collection, row_id)
    except NotFound:
        return None
    found = rows.load(conn, collection, canonical)
    if found is None or (found.deleted and not include_deleted):
        return None
    return found


def list_rows(
    conn: Connection,
    collection_name: str,
    search: str | None = None,
    *,
    limit: int | None = 100,
    offset: int = 0,
    include_deleted: bool = False,
) -> list[Record]:
    """Rows in display order, optionally only those matching ``search``.

    Raises:
        UnknownCollection: no such collection.
    """
    collection = collection_named(collection_name)
    table = table_of(collection)
    query: Select[tuple[object, ...]] = (
        select(table)
        .where(*_filters(collection, search, include_deleted))
        .order_by(table.c[sort_column(collection)], table.c.pk)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [from_mapping(collection, m) for m in conn.execute(query).mappings()]


def count_rows(
    conn: Connection, collection_name: str, search: str | None = None, *, include_deleted: bool = False
) -> int:
    """How many rows ``list_rows`` would give without a limit."""
    collection = collection_named(collection_name)
    table = table_of(collection)
    query = select(func.count()).select_from(table).where(*_filters(collection, search, include_deleted))
    return int(conn.execute(query).scalar_one())
