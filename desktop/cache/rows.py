"""Moving replicated rows (``protocol.Row``) in and out of the record tables."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, RowMapping, Table, bindparam, delete, insert, select, update

from desktop.cache.errors import NotFound, UnknownCollection
from desktop.cache.schema import RECORD_TABLES
from protocol.collections import COLLECTIONS, Collection
from protocol.merge import Row

__all__ = [
    "Record",
    "collection_named",
    "dataclass_from",
    "delete_row",
    "field_names",
    "from_mapping",
    "load",
    "load_many",
    "normalise_id",
    "save_many",
    "table_of",
]

_T = TypeVar("_T")

_CHUNK = 500
"""Ids per ``IN (...)`` query: well under SQLite's variable limit."""


@dataclass(frozen=True, slots=True)
class Record:
    """One stored row: its id, set field values, per-key clocks and deletion flag.

    ``fields`` holds only fields with a value; a field that is absent is empty.
    """

    collection: str
    id: str
    fields: Mapping[str, Any]
    clocks: Mapping[str, str]
    deleted: bool

    @property
    def row(self) -> Row:
        """The replicated state, as ``protocol.merge`` takes it."""
        return Row(dict(self.fields), dict(self.clocks), self.deleted)


def dataclass_from(cls: type[_T], mapping: RowMapping | Mapping[str, Any]) -> _T:
    """An instance of the dataclass ``cls`` from a selected row with a column per field."""
    return cls(**{f.name: mapping[f.name] for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def collection_named(name: str) -> Collection:
    """The protocol collection called ``name``.

    Raises:
        UnknownCollection: there is none.
    """
    try:
        return COLLECTIONS[name]
    except KeyError:
        known = ", ".join(COLLECTIONS)
        raise UnknownCollection(f"unknown collection {name!r} (known: {known})") from None


def table_of(collection: Collection) -> Table:
    return RECORD_TABLES[collection.name]


def normalise_id(collection: Collection, row_id: str) -> str:
    """``row_id`` in canonical UUID form.

    Raises:
        NotFound: it is not a UUID, so no row can have it.
    """
    try:
        return str(uuid.UUID(str(row_id).strip()))
    except ValueError:
        raise NotFound(f"no {collection.name} row with id {row_id!r}") from None


_FIELD_NAMES = {name: c.field_names for name, c in COLLECTIONS.items()}
"""Looked up per row in bulk loads, so computed once."""


def field_names(collection: Collection) -> tuple[str, ...]:
    """``collection.field_names``, without rebuilding the tuple on every call."""
    return _FIELD_NAMES.get(collection.name) or collection.field_names


def from_mapping(collection: Collection, mapping: RowMapping | Mapping[str, Any]) -> Record:
    """A ``Record`` from a selected table row."""
    fields = {name: mapping[name] for name in field_names(collection) if mapping[name] is not None}
    return Record(collection.name, mapping["id"], fields, mapping["clocks"], bool(mapping["deleted"]))


def _columns(collection: Collection, row: Row) -> dict[str, Any]:
    values: dict[str, Any] = {name: row.fields.get(name) for name in field_names(collection)}
    values["clocks"] = dict(row.clocks)
    values["deleted"] = row.deleted
    return values


# Built once per table: these run in every local write, where building would dominate.
_SELECT_ONE = {name: select(t).where(t.c.id == bindparam("row_id")) for name, t in RECORD_TABLES.items()}
_INSERT = {name: insert(t) for name, t in RECORD_TABLES.items()}
_UPDATE = {name: update(t).where(t.c.id == bindparam("row_id")) for name, t in RECORD_TABLES.items()}
_SELECT_MANY = {
    name: select(t).where(t.c.id.in_(bindparam("row_ids", expanding=True)))
    for name, t in RECORD_TABLES.items()
}


def load(conn: Connection, collection: Collection, row_id: str) -> Record | None:
    """The stored row ``row_id`` (deleted or not), or None when it was never written here."""
    found = conn.execute(_SELECT_ONE[collection.name], {"row_id": row_id}).mappings().first()
    return None if found is None else from_mapping(collection, found)


def load_many(conn: Connection, collection: Collection, row_ids: Iterable[str]) -> dict[str, Record]:
    """The stored rows among ``row_ids``, by id."""
    query = _SELECT_MANY[collection.name]
    wanted = list(dict.fromkeys(row_ids))
    found: dict[str, Record] = {}
    for start in range(0, len(wanted), _CHUNK):
        for mapping in conn.execute(query, {"row_ids": wanted[start : start + _CHUNK]}).mappings():
            found[mapping["id"]] = from_mapping(collection, mapping)
    return found


def save_many(
    conn: Connection,
    collection: Collection,
    inserts: Sequence[tuple[str, Row]],
    updates: Sequence[tuple[str, Row]],
) -> None:
    """Insert rows new to this cache and overwrite existing ones, each in one statement."""
    if inserts:
        values = [{"id": row_id, **_columns(collection, row)} for row_id, row in inserts]
        conn.execute(_INSERT[collection.name], values)
    if updates:
        values = [{"row_id": row_id, **_columns(collection, row)} for row_id, row in updates]
        conn.execute(_UPDATE[collection.name], values)


def delete_row(conn: Connection, collection: Collection, row_id: str) -> None:
    """Remove a row this cache made up and the server never saw (a discarded create)."""
    table = table_of(collection)
    conn.execute(delete(table).where(table.c.id == row_id))
