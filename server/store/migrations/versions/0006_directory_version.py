"""directory version: a counter every change to the branch directory bumps, for its ETag

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

``GET /api/v1/branches`` answers with ``ETag: "<epoch>.<version>"`` and a 304 to a
matching ``If-None-Match``, so a reconnecting desktop fetches the directory (about
110 bytes per device) only when it changed. ``server_meta['directory_version']`` is
bumped by triggers, in the writer's own transaction, whoever writes (enrolment,
``branchsync-server`` admin commands, the admin web, plain SQL) and however many
server processes run: the counter commits with the rows it describes. Only the
columns the directory lists or orders by count; the presence and status columns
(``last_seen``, ``status_*``) that change all day do not fire it (the ``WHEN``
clause is checked before the trigger runs, so they cost nothing). A restore gives
the database a new epoch, so a version number seen before the restore never
matches again.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE FUNCTION branchsync_bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE server_meta SET value = (value::bigint + 1)::text WHERE key = 'directory_version';
    RETURN NULL;
END
$$
"""

_TRIGGERS = {
    "branches": ("id", "name", "timezone"),
    "devices": ("id", "name", "branch_id", "enrolled_at", "revoked_at"),
}


def upgrade() -> None:
    op.execute("INSERT INTO server_meta (key, value) VALUES ('directory_version', '1')")
    op.execute(_FUNCTION)
    for table, columns in _TRIGGERS.items():
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        op.execute(
            f"CREATE TRIGGER {table}_directory_update AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({changed}) EXECUTE FUNCTION branchsync_bump_directory_version()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_directory_rows AFTER INSERT OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION branchsync_bump_directory_version()"
        )


def downgrade() -> None:
    for table in _TRIGGERS:
        op.execute(f"DROP TRIGGER {table}_directory_update ON {table}")
        op.execute(f"DROP TRIGGER {table}_directory_rows ON {table}")
    op.execute("DROP FUNCTION branchsync_bump_directory_version()")
    op.execute("DELETE FROM server_meta WHERE key = 'directory_version'")
