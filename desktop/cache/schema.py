"""The SQLite schema of the local cache, as SQLAlchemy Core tables.

Record tables are derived from ``protocol.COLLECTIONS`` (one column per field, so a
new protocol field needs no hand-written column), plus the replicated state
``clocks`` and ``deleted``. Each also has an FTS5 index over its searchable fields,
kept in step by triggers so no write path can forget it. ``pk`` is an explicit
integer key because an FTS5 external-content table needs a rowid that never changes
(a ``VACUUM`` may renumber an implicit one).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Dialect,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from protocol.collections import COLLECTIONS, Collection, FieldKind

__all__ = [
    "MUTATION_COLUMNS",
    "RECORD_TABLES",
    "JsonText",
    "UtcDateTime",
    "branches",
    "conflicts",
    "devices",
    "epoch_pending",
    "fts_ddl",
    "fts_drop_ddl",
    "fts_name",
    "metadata",
    "outbox",
    "record_column_type",
    "rejected",
    "sort_column",
    "sync_state",
]

metadata = MetaData()

_RESERVED = frozenset({"pk", "id", "clocks", "deleted"})


class JsonText(TypeDecorator[Any]):
    """A JSON value stored as compact text; Python ``None`` is SQL NULL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime stored as ISO 8601 text (sorts as it reads)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs an aware datetime")
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)


def record_column_type(kind: FieldKind) -> TypeEngine[Any]:
    """The SQLite column type for a protocol field kind.

    Free text sorts and compares case-blind (``NOCASE``) because that is what a list
    of names should do; ids, dates and choices compare exactly.
    """
    if kind is FieldKind.TEXT:
        return Text(collation="NOCASE")
    if kind is FieldKind.INTEGER:
        return Integer()
    if kind is FieldKind.TAGS:
        return JsonText()
    return Text()


def sort_column(collection: Collection) -> str:
    """The column lists sort by: the first date-time field, else the first required one."""
    for field in collection.fields:
        if field.kind is FieldKind.DATETIME:
            return field.name
    for field in collection.fields:
        if field.required:
            return field.name
    return "id"


def _record_table(collection: Collection) -> Table:
    clash = _RESERVED.intersection(collection.field_names)
    if clash:
        raise ValueError(f"{collection.name} declares reserved column names {sorted(clash)}")
    indexed = {sort_column(collection)} | {f.name for f in collection.fields if f.kind is FieldKind.UUID}
    return Table(
        collection.name,
        metadata,
        Column("pk", Integer, primary_key=True),
        Column("id", Text, nullable=False, unique=True),
        *(Column(f.name, record_column_type(f.kind), nullable=True) for f in collection.fields),
        Column("clocks", JsonText, nullable=False),
        Column("deleted", Boolean, nullable=False, server_default="0"),
        *(Index(f"ix_{collection.name}_{name}", name) for name in sorted(indexed - {"id"})),
    )


RECORD_TABLES: dict[str, Table] = {name: _record_table(c) for name, c in COLLECTIONS.items()}
"""Collection name -> its table of rows."""

MUTATION_COLUMNS = ("mutation_id", "collection", "row_id", "op", "fields", "hlc", "before", "created_at")
"""The columns a queued mutation keeps when it moves from ``outbox`` to ``rejected``."""


def _mutation_columns(*, unique_id: bool) -> list[Column[Any]]:
    return [
        Column("mutation_id", Text, nullable=False, unique=unique_id),
        Column("collection", Text, nullable=False),
        Column("row_id", Text, nullable=False),
        Column("op", Text, nullable=False),
        Column("fields", JsonText, nullable=False),
        Column("hlc", Text, nullable=False),
        Column("before", JsonText, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
    ]


outbox = Table(
    "outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    *_mutation_columns(unique_id=True),
    Index("ix_outbox_row", "collection", "row_id"),
    sqlite_autoincrement=True,
)
"""Local writes the server has not answered yet, in the order they were made.

``before`` keeps the value and clock each key had before the write, so a mutation the
server refuses can be taken back out of the row when the user discards it.
"""

rejected = Table(
    "rejected",
    metadata,
    Column("id", Integer, primary_key=True),
    *_mutation_columns(unique_id=False),
    Column("code", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("field", Text),
    Column("rejected_at", UtcDateTime, nullable=False),
)
"""Mutations the server refused, kept for staff to fix, retry or discard."""

conflicts = Table(
    "conflicts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection", Text, nullable=False),
    Column("row_id", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("my_value", JsonText),
    Column("my_hlc", Text, nullable=False),
    Column("winning_value", JsonText),
    Column("winning_hlc", Text, nullable=False),
    Column("winning_device", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("dismissed", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("collection", "row_id", "field", "my_hlc", "winning_hlc"),
)
"""Local values that lost a last-write-wins race, for staff to see (one row per loss)."""

sync_state = Table(
    "sync_state",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text),
)
"""Key/value facts of this installation (see ``desktop.cache.state.Key``)."""

epoch_pending = Table(
    "epoch_pending",
    metadata,
    Column("collection", Text, primary_key=True),
    Column("row_id", Text, primary_key=True),
    Column("keys", JsonText),
)
"""During an epoch reset: rows whose keys (NULL = all) may be newer here than on the server."""

branches = Table(
    "branches",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("timezone", Text),
)
"""The branch directory: every branch the server lists (``timezone`` an IANA name or NULL)."""

devices = Table(
    "devices",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("branch_id", Text, nullable=False),
)
"""Every device the server lists, so a conflict can name the PC that won it."""


def fts_name(collection: Collection) -> str:
    return f"{collection.name}_fts"


def fts_ddl(collection: Collection) -> list[str]:
    """Statements creating the FTS5 index of ``collection`` and the triggers feeding it."""
    table, fts = collection.name, fts_name(collection)
    columns = [f.name for f in collection.fields if f.searchable]
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)
    insert = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.pk, {new});"
    remove = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.pk, {old});"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', content_rowid='pk', "
        "tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE ON {table} WHEN {changed} BEGIN {remove} {insert} END",
    ]


def fts_drop_ddl(collection: Collection) -> list[str]:
    """Statements removing the FTS5 index of ``collection`` and its triggers."""
    fts = fts_name(collection)
    return [f"DROP TRIGGER IF EXISTS {fts}_{suffix}" for suffix in ("ai", "ad", "au")] + [
        f"DROP TABLE IF EXISTS {fts}"
    ]
