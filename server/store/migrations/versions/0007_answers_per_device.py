"""mutation answers per device, with the digest of what each wrote

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Mutation ids were global: a device pushing an id another device had used got that
device's answer, and its own write never existed. Now an answer is kept per
(device, mutation id), and with ``payload_sha256`` (``server.sync.write_plan.payload_digest``)
the same id arriving with a different write is refused instead of answered as a replay.
Answers of writes no device made are kept under the nil UUID. Answers stored before
this migration have no digest and are answered as replays, as before.

The primary key is rebuilt, which reads the whole table once (it holds the answers of
the last ``record_keep_days``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SERVER_SCOPE = "00000000-0000-0000-0000-000000000000"


def upgrade() -> None:
    op.execute(f"UPDATE applied_mutations SET device_id = '{_SERVER_SCOPE}' WHERE device_id IS NULL")
    op.alter_column("applied_mutations", "device_id", nullable=False)
    op.drop_constraint("applied_mutations_pkey", "applied_mutations", type_="primary")
    op.create_primary_key("applied_mutations_pkey", "applied_mutations", ["device_id", "id"])
    op.add_column("applied_mutations", sa.Column("payload_sha256", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("applied_mutations", "payload_sha256")
    op.drop_constraint("applied_mutations_pkey", "applied_mutations", type_="primary")
    # answers of one id from several devices cannot share the old global key: keep the first
    op.execute(
        "DELETE FROM applied_mutations a USING applied_mutations b"
        " WHERE a.id = b.id AND (a.applied_at, a.device_id) > (b.applied_at, b.device_id)"
    )
    op.create_primary_key("applied_mutations_pkey", "applied_mutations", ["id"])
    op.alter_column("applied_mutations", "device_id", nullable=True)
    op.execute(f"UPDATE applied_mutations SET device_id = NULL WHERE device_id = '{_SERVER_SCOPE}'")
