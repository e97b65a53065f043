"""branch time zone: the IANA zone a branch's appointments are shown and entered in

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

Adds the nullable ``branches.timezone`` (an IANA name such as ``Europe/Vienna``,
checked by ``protocol.timezones`` when IT sets it). Existing branches get NULL: their
desktops keep using the PC's own zone until IT sets one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("branches", sa.Column("timezone", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("branches", "timezone")
