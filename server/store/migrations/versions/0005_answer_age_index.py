"""index applied_mutations by age, for housekeeping

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

``server.ops.housekeeping`` deletes mutation answers older than ``record_keep_days`` every hour;
without this index each sweep would scan the whole table, which gains a row per write.
(``rejections`` is already indexed by ``at``.)
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_applied_mutations_applied_at", "applied_mutations", ["applied_at"])


def downgrade() -> None:
    op.drop_index("ix_applied_mutations_applied_at", table_name="applied_mutations")
