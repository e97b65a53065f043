"""Alembic environment: runs on the connection ``server.store.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from server.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via server.store.migrate
    raise RuntimeError("run migrations with `branchsync-server migrate`")

context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
