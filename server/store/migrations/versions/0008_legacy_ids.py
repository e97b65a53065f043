"""the old ids of imported records

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

``branchsync-server import`` keeps, per old system and record type, which Branchsync
record each old id became and what it last wrote to it, so re-runs are idempotent and
appointments find their clients by the old system's ids.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legacy_ids",
        sa.Column("system", sa.Text(), nullable=False),
        sa.Column("collection", sa.Text(), nullable=False),
        sa.Column("legacy_id", sa.Text(), nullable=False),
        sa.Column("record_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("fields", postgresql.JSONB(), nullable=False),
        sa.Column(
            "first_imported_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("system", "collection", "legacy_id", name="legacy_ids_pkey"),
    )
    op.create_index("ix_legacy_ids_record_id", "legacy_ids", ["record_id"])


def downgrade() -> None:
    op.drop_index("ix_legacy_ids_record_id", table_name="legacy_ids")
    op.drop_table("legacy_ids")
