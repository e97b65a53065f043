"""The cache's reads of whole rows: get, list with instant search, count.

Search goes through the FTS5 index (prefix match of every word typed, in any
searchable field), so it stays instant at 100 000 rows; lists sort by the
collection's natural column (``schema.sort_column``), which is indexed. The SQL is
``desktop.cache.listing``'s, the same the UI's lists run, so both show the same rows.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from desktop.cache import rows
from desktop.cache.errors import NotFound
from desktop.cache.listing import ListQuery, count_sql, rows_sql
from desktop.cache.rows import Record, collection_named, from_mapping, table_of

__all__ = ["count_rows", "get", "list_rows"]


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
    sql, params = rows_sql(
        ListQuery(collection, search or "", include_deleted=include_deleted), limit, offset
    )
    typed = text(sql).columns(*table_of(collection).columns)  # JSON and boolean columns decoded
    return [from_mapping(collection, m) for m in conn.execute(typed, params).mappings()]


def count_rows(
    conn: Connection, collection_name: str, search: str | None = None, *, include_deleted: bool = False
) -> int:
    """How many rows ``list_rows`` would give without a limit."""
    collection = collection_named(collection_name)
    sql, params = count_sql(ListQuery(collection, search or "", include_deleted=include_deleted))
    return int(conn.execute(text(sql), params).scalar_one())
