"""PostgreSQL schema as SQLAlchemy Core tables.

Record tables get one typed column per protocol field, so people can query them
with plain SQL, plus the per-row sync metadata (``clocks``, ``bases``, ``deleted``,
``seq``, who changed it last). Alembic migrations are written against these definitions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Sequence,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.types import TypeEngine

from protocol.collections import COLLECTIONS, Collection, FieldKind

__all__ = [
    "CHANGE_SEQ",
    "RECORD_TABLES",
    "applied_mutations",
    "branches",
    "devices",
    "enroll_codes",
    "metadata",
    "rejections",
    "server_meta",
]

metadata = MetaData()

CHANGE_SEQ = Sequence("change_seq", metadata=metadata, start=1)
"""Change numbers; taken only by ``change_numbers.take_numbers``, which marks them in flight
until their transaction ends, so readers never pass one that commits late."""

server_meta = Table(
    "server_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
"""Key/value facts about this database: ``epoch`` (a random id, new on every restore)."""

branches = Table(
    "branches",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("timezone", Text),
)
"""``timezone``: the IANA name appointment times are shown in (NULL: each PC's own zone)."""

devices = Table(
    "devices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("branch_id", UUID(as_uuid=True), ForeignKey("branches.id"), nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("enrolled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("app_version", Text),
    Column("status_cursor", BigInteger),
    Column("status_pending", Integer),
    Column("status_at", DateTime(timezone=True)),
)

enroll_codes = Table(
    "enroll_codes",
    metadata,
    Column("code_hash", LargeBinary, primary_key=True),
    Column("branch_id", UUID(as_uuid=True), ForeignKey("branches.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("used_by_device", UUID(as_uuid=True)),
)

applied_mutations = Table(
    "applied_mutations",
    metadata,
    Column("device_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("result", JSONB, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now(), index=True),
    Column("payload_sha256", LargeBinary, nullable=True),
)
"""Every applied mutation with the answer it got, for idempotent replay: per device (the
nil UUID for writes no device made), with the digest of what it wrote, so a reused id
with another write is refused rather than answered as a replay."""

rejections = Table(
    "rejections",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("mutation_id", UUID(as_uuid=True), nullable=False),
    Column("device_id", UUID(as_uuid=True)),
    Column("collection", Text),
    Column("row_id", Text),
    Column("code", Text, nullable=False),
    Column("field", Text),
    Column("message", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Refused mutations, kept for monitoring (the branch keeps its own copy to fix)."""


def _column_type(kind: FieldKind) -> TypeEngine[Any]:
    mapping: dict[FieldKind, TypeEngine[Any]] = {
        FieldKind.TEXT: Text(),
        FieldKind.EMAIL: Text(),
        FieldKind.PHONE: Text(),
        FieldKind.CHOICE: Text(),
        FieldKind.UUID: UUID(as_uuid=False),
        FieldKind.DATETIME: DateTime(timezone=True),
        FieldKind.INTEGER: Integer(),
        FieldKind.TAGS: ARRAY(Text()),
    }
    return mapping[kind]


def _record_table(collection: Collection) -> Table:
    return Table(
        collection.name,
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        *(Column(f.name, _column_type(f.kind), nullable=True) for f in collection.fields),
        Column("clocks", JSONB, nullable=False),
        Column("bases", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("deleted", Boolean, nullable=False, server_default="false"),
        Column("seq", BigInteger, nullable=False),
        Column("updated_by_device", UUID(as_uuid=True)),
        Column("updated_by_branch", UUID(as_uuid=True)),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index(f"ix_{collection.name}_seq", "seq", unique=True),
    )


RECORD_TABLES: dict[str, Table] = {name: _record_table(c) for name, c in COLLECTIONS.items()}
"""Collection name -> its table with typed columns and sync metadata."""
