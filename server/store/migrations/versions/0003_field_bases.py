"""field bases: per field, what the author of its current value had seen

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Adds ``bases`` to the record tables (see ``protocol.concurrency``). Existing rows get
``{}``: nothing is known about who had seen their values, so receivers treat them as
they did before (a conflict only for a value still waiting to be pushed). Adding a
column with a constant default does not rewrite the table in PostgreSQL 11+.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TABLES = ("clients", "appointments")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(
            table,
            sa.Column(
                "bases",
                postgresql.JSONB(astext_type=sa.Text()),
                server_default=sa.text("'{}'::jsonb"),
                nullable=False,
            ),
        )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_column(table, "bases")
