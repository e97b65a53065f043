"""``plan_compaction``: only deleted, not yet cleared rows change; bases of cleared values go."""

from __future__ import annotations

import uuid

from protocol import CLEARED, DELETED, Row, Timestamp, merge, mutation_row
from server.sync.write_plan import RowKey, plan_compaction

WRITTEN, DELETED_AT, LATER = (str(Timestamp(ms, 0, "dev-a")) for ms in (1, 2, 3))


def _key() -> RowKey:
    return ("clients", uuid.uuid4())


def test_a_deleted_row_is_cleared_at_its_own_delete_stamp_and_loses_the_bases_of_its_values() -> None:
    tombstone = merge(
        mutation_row("upsert", {"name": "Ada", "phone": "1"}, WRITTEN), mutation_row("delete", {}, DELETED_AT)
    ).row
    live = mutation_row("upsert", {"name": "Bo"}, LATER)
    cleared = merge(tombstone, Row({}, {CLEARED: DELETED_AT})).row
    deleted, alive, done = _key(), _key(), _key()
    bases = {deleted: {"name": WRITTEN, DELETED: WRITTEN, "phone": None}}

    plan = plan_compaction({deleted: tombstone, alive: live, done: cleared}, bases)

    assert plan.rows == {deleted: Row({}, {DELETED: DELETED_AT, CLEARED: DELETED_AT}, deleted=True)}
    assert plan.bases == {deleted: {DELETED: WRITTEN}}
    assert plan.outcomes == []
