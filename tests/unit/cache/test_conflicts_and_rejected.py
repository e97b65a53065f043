"""What staff do with lost values (keep mine, dismiss) and refused writes (retry, discard)."""

from __future__ import annotations

import pytest

from desktop.cache import Cache, NotFound, ValidationFailed
from desktop.cache.rejected import revert_row
from protocol.merge import Row
from protocol.messages import MutationResult
from tests.unit.cache.helpers import START_MS, FakeWall, change, stamp

REFUSED = {"code": "invalid_phone", "message": "phone is not a phone number", "field": "phone"}


def _lose_phone(cache: Cache) -> str:
    """A client whose queued phone edit lost to a later one from branch B."""
    row_id = cache.create("clients", {"name": "Ada", "phone": "+1 555 0100"})
    later = stamp(START_MS + 60_000, node="branch-b")
    cache.apply_changes([change(row_id, {"name": "Ada", "phone": "+1 555 0999"}, later)], 1)
    return row_id


def _refuse_all(cache: Cache) -> None:
    entries = cache.pending_batch()
    answers = [
        MutationResult.model_validate({"id": e.mutation_id, "status": "rejected", "error": REFUSED})
        for e in entries
    ]
    cache.apply_push_results(entries, answers)


def test_keep_mine_writes_my_value_again_so_it_wins_and_dismisses(cache: Cache, wall: FakeWall) -> None:
    row_id = _lose_phone(cache)
    [conflict] = cache.conflicts()

    cache.keep_mine(conflict.id)

    record = cache.get("clients", row_id)
    assert record is not None and record.fields["phone"] == "+1 555 0100"
    assert record.clocks["phone"] > conflict.winning_hlc
    assert dict(cache.pending_batch()[-1].fields) == {"phone": "+1 555 0100"}
    assert cache.conflicts() == []
    assert [c.dismissed for c in cache.conflicts(include_dismissed=True)] == [True]


def test_keep_mine_on_a_delete_race_brings_the_row_back(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    later = stamp(START_MS + 60_000, node="branch-b")
    cache.apply_changes([change(row_id, {}, later, deleted=True)], 1)
    [conflict] = cache.conflicts()

    cache.keep_mine(conflict.id)

    record = cache.get("clients", row_id)
    assert record is not None and record.fields == {"name": "Ada"}
    assert cache.pending_batch()[-1].op == "upsert"


def test_dismiss_hides_a_conflict_and_unknown_ids_are_refused(cache: Cache) -> None:
    _lose_phone(cache)
    [conflict] = cache.conflicts()

    cache.dismiss_conflict(conflict.id)

    assert cache.conflicts() == [] and cache.counts().conflicts == 0
    with pytest.raises(NotFound):
        cache.dismiss_conflict(999)
    with pytest.raises(NotFound):
        cache.keep_mine(999)


def test_discarding_a_refused_edit_restores_the_value_it_replaced(cache: Cache, wall: FakeWall) -> None:
    row_id = cache.create("clients", {"name": "Ada", "phone": "+1 555 0100"})
    before = cache.get("clients", row_id)
    cache.apply_push_results(
        cache.pending_batch(),
        [
            MutationResult.model_validate({"id": e.mutation_id, "status": "applied"})
            for e in cache.pending_batch()
        ],
    )
    wall.advance(1_000)
    cache.update("clients", row_id, {"phone": "+1 555 0111", "notes": "new"})
    _refuse_all(cache)
    [refused] = cache.rejected()

    cache.discard_rejected(refused.id)

    assert cache.get("clients", row_id) == before
    assert cache.rejected() == [] and cache.pending_count() == 0


def test_discarding_a_refused_create_removes_the_row(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    _refuse_all(cache)

    cache.discard_rejected(cache.rejected()[0].id)

    assert cache.get("clients", row_id, include_deleted=True) is None


def test_retry_queues_the_write_again_with_a_new_stamp_and_corrected_fields(
    cache: Cache, wall: FakeWall
) -> None:
    row_id = cache.create("clients", {"name": "Ada", "phone": "+1 555 0100"})
    _refuse_all(cache)
    [refused] = cache.rejected()
    wall.advance(5)

    cache.retry_rejected(refused.id, {"name": "Ada", "phone": "+1 555 0123"})

    [entry] = cache.pending_batch()
    assert entry.hlc > refused.hlc and entry.mutation_id != refused.mutation_id
    assert dict(entry.fields) == {"name": "Ada", "phone": "+1 555 0123"}
    record = cache.get("clients", row_id)
    assert record is not None and record.fields == {"name": "Ada", "phone": "+1 555 0123"}
    assert cache.rejected() == []


def test_a_retry_with_invalid_fields_changes_nothing(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    _refuse_all(cache)
    [refused] = cache.rejected()
    before = cache.get("clients", row_id)

    with pytest.raises(ValidationFailed):
        cache.retry_rejected(refused.id, {"name": ""})

    assert cache.rejected() == [refused]
    assert cache.get("clients", row_id) == before and cache.pending_count() == 0
    with pytest.raises(NotFound):
        cache.retry_rejected(999)


def test_revert_row_only_touches_keys_still_holding_the_refused_stamp() -> None:
    old, refused, later = stamp(1, "me"), stamp(2, "me"), stamp(3, "b")
    row = Row(
        {"name": "New", "phone": "2"},
        {"name": refused, "phone": later, "notes": refused, "_deleted": refused},
    )
    before = {"name": ("Old", old), "phone": ("1", old), "notes": (None, None), "_deleted": (False, old)}

    assert revert_row(row, before, refused) == Row(
        {"name": "Old", "phone": "2"}, {"name": old, "phone": later, "_deleted": old}, False
    )
