"""Tables of the operations side: admin users and sessions, backup history, presence, and
the old ids of imported records.

Kept apart from ``server.store.tables`` (the sync schema) but on the same ``metadata``, so
Alembic sees one schema. Created by migration 0002.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from server.store.tables import metadata

__all__ = ["UNSAVED_TABLES", "admin_sessions", "admin_users", "backup_runs", "device_presence", "legacy_ids"]

admin_users = Table(
    "admin_users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("password_set_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""People who may open ``/admin``; ``password_hash`` is a salted scrypt hash."""

admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("admin_users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_admin_sessions_expires_at", "expires_at"),
)
"""Logged-in admin browsers; the cookie holds the token, the table only its hash."""

backup_runs = Table(
    "backup_runs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("ok", Boolean, nullable=False),
    Column("file", Text),
    Column("size_bytes", BigInteger),
    Column("error", Text),
    Index("ix_backup_runs_finished_at", "finished_at"),
)
"""Every backup and restore with its outcome, so every server process (its metrics and
dashboard) sees the last success and failure, whoever ran it."""

device_presence = Table(
    "device_presence",
    metadata,
    Column("process_id", Text, primary_key=True),
    Column("device_id", UUID(as_uuid=True), primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Which server process holds an open socket of which device, refreshed by heartbeat,
so the dashboard of one process knows about devices connected to another."""

legacy_ids = Table(
    "legacy_ids",
    metadata,
    Column("system", Text, nullable=False),
    Column("collection", Text, nullable=False),
    Column("legacy_id", Text, nullable=False),
    Column("record_id", UUID(as_uuid=True), nullable=False),
    Column("fields", JSONB, nullable=False),
    Column("first_imported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("imported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("system", "collection", "legacy_id", name="legacy_ids_pkey"),
    Index("ix_legacy_ids_record_id", "record_id"),
)
"""Each imported record's old id (per old ``system``) and, per field, the value an import
last wrote with its source and source time: a re-run writes only what changed at the
source since, and a copy older than the one imported before does not win. Created by 0008."""

UNSAVED_TABLES = ("admin_sessions", "device_presence")
"""Tables whose rows a backup leaves out: short-lived, and wrong after a restore."""
