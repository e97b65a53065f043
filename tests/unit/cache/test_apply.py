"""Applying remote changes: per-field LWW, conflicts for queued local values, cursor in step."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.cache import Cache, Counts, EpochChanged
from protocol.errors import InvalidTimestamp
from protocol.hlc import Timestamp
from protocol.messages import MutationResult
from tests.unit.cache.helpers import START_MS, FakeWall, change, stamp

ROW = "6f1c7e0a-3a57-4d0e-9d7e-1f2a3b4c5d6e"


def test_new_rows_are_stored_searchable_and_the_cursor_and_epoch_move(cache: Cache) -> None:
    changes = [
        change(ROW, {"name": "Zoë Quinn", "phone": "+1 555 0100"}, stamp(START_MS - 5000), seq=7),
        change(str(uuid.uuid4()), {"name": "Bob"}, stamp(START_MS - 4000), seq=8),
    ]
    outcome = cache.apply_changes(changes, 8, "epoch-1")

    assert (outcome.changed_rows, outcome.conflicts, outcome.skipped, outcome.cursor) == (2, 0, 0, 8)
    state = cache.state()
    assert (state.cursor, state.epoch) == (8, "epoch-1")
    assert [r.fields["name"] for r in cache.list_rows("clients", "zoe")] == ["Zoë Quinn"]
    assert cache.count("clients", "555-01") == 1
    assert cache.pending_count() == 0  # remote changes are not queued back


def test_a_newer_remote_value_replaces_a_pushed_local_one_without_a_conflict(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada", "phone": "+1 555 0100"})
    [entry] = cache.pending_batch()
    cache.apply_push_results([entry], [MutationResult(id=uuid.UUID(entry.mutation_id), status="applied")])

    cache.apply_changes([change(row_id, {"name": "Ada B."}, stamp(START_MS + 60_000))], 1)

    record = cache.get("clients", row_id)
    assert record is not None and record.fields == {"name": "Ada B.", "phone": "+1 555 0100"}
    assert cache.conflicts() == []


def test_a_queued_local_edit_is_never_overwritten_by_an_older_remote_value(
    cache: Cache, wall: FakeWall
) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    wall.advance(10_000)
    cache.update("clients", row_id, {"phone": "+1 555 0199"})
    older = stamp(START_MS + 5_000, node="branch-b")

    cache.apply_changes([change(row_id, {"name": "Ada", "phone": "+1 555 0000", "notes": "hi"}, older)], 3)

    record = cache.get("clients", row_id)
    assert record is not None
    assert record.fields == {"name": "Ada", "phone": "+1 555 0199", "notes": "hi"}
    assert record.clocks["notes"] == older and record.clocks["phone"] > older
    assert cache.conflicts() == []  # my value won: nothing of mine was lost


def test_a_queued_local_value_that_loses_is_recorded_as_a_conflict(cache: Cache, wall: FakeWall) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    cache.update("clients", row_id, {"phone": "+1 555 0199"})
    [_, mine] = cache.pending_batch()
    later = stamp(START_MS + 60_000, node="branch-b")
    remote = change(row_id, {"name": "Ada", "phone": "+1 555 0000"}, later)

    outcome = cache.apply_changes([remote], 4)
    again = cache.apply_changes([remote], 4)  # a pull repeated after a crash

    assert (outcome.conflicts, again.conflicts) == (1, 0)  # name is equal; phone lost once
    record = cache.get("clients", row_id)
    assert record is not None and record.fields["phone"] == "+1 555 0000"
    conflicts = cache.conflicts()
    assert [
        (c.field, c.my_value, c.my_hlc, c.winning_value, c.winning_hlc, c.winning_device) for c in conflicts
    ] == [("phone", "+1 555 0199", mine.hlc, "+1 555 0000", later, "branch-b")]
    assert cache.counts().conflicts == 1
    assert (outcome.counts, again.counts) == (Counts(pending=2, rejected=0, conflicts=1),) * 2


def test_a_lost_value_is_one_conflict_however_often_and_against_whatever_it_is_seen(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada", "phone": "+1 555 0199"})
    [mine] = cache.pending_batch()
    first, newer = stamp(START_MS + 60_000, node="branch-b"), stamp(START_MS + 90_000, node="branch-c")
    cache.apply_changes([change(row_id, {"name": "Ada", "phone": "+1 555 0000"}, first)], 4)
    lost = {"field": "phone", "losing_value": "+1 555 0199", "losing_hlc": mine.hlc}
    winner = {"winning_value": "+1 555 0001", "winning_hlc": newer, "winner_device": "branch-c"}
    answer = MutationResult.model_validate(
        {"id": mine.mutation_id, "status": "applied", "seq": 5, "lost": [lost | winner]}
    )

    cache.apply_push_results([mine], [answer])  # by then the server had an even newer phone

    [conflict] = cache.conflicts()
    assert (conflict.my_hlc, conflict.winning_hlc) == (mine.hlc, first)
    record = cache.get("clients", row_id)
    assert record is not None and record.fields["phone"] == "+1 555 0001"


def test_a_later_remote_delete_over_a_queued_edit_is_a_conflict_on_the_deletion(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    later = stamp(START_MS + 60_000, node="branch-b")

    cache.apply_changes([change(row_id, {"name": "Ada"}, later, deleted=True, clocks={"name": stamp(1)})], 5)

    assert cache.get("clients", row_id) is None
    [conflict] = cache.conflicts()
    assert (conflict.field, conflict.my_value, conflict.winning_value) == ("_deleted", False, True)


def test_a_change_from_another_server_history_is_refused_whole(cache: Cache) -> None:
    cache.apply_changes([change(ROW, {"name": "Ada"}, stamp(START_MS))], 10, "epoch-1")

    with pytest.raises(EpochChanged):
        cache.apply_changes([change(ROW, {"name": "Eve"}, stamp(START_MS + 1))], 11, "epoch-2")

    record = cache.get("clients", ROW)
    assert record is not None and record.fields["name"] == "Ada"
    assert (cache.state().cursor, cache.state().epoch) == (10, "epoch-1")


def test_unknown_collections_and_fields_from_a_newer_server_are_skipped(cache: Cache) -> None:
    newer = change(ROW, {"name": "Ada", "loyalty_points": 3}, stamp(START_MS))
    outcome = cache.apply_changes(
        [newer, change(ROW, {"total": 9}, stamp(START_MS), collection="invoices")], 2
    )

    assert (outcome.changed_rows, outcome.skipped, outcome.cursor) == (1, 1, 2)
    record = cache.get("clients", ROW)
    assert record is not None and record.fields == {"name": "Ada"} and "loyalty_points" not in record.clocks


def test_a_bad_clock_applies_nothing(cache: Cache) -> None:
    with pytest.raises(InvalidTimestamp):
        cache.apply_changes([change(ROW, {"name": "Ada"}, "yesterday")], 1)
    assert cache.get("clients", ROW) is None and cache.state().cursor == 0


def test_received_stamps_push_the_local_clock_forward(cache: Cache) -> None:
    ahead = stamp(START_MS + 120_000, counter=7)
    cache.apply_changes([change(ROW, {"name": "Ada"}, ahead)], 1)
    cache.update("clients", ROW, {"notes": "after"})

    [entry] = cache.pending_batch()
    assert entry.hlc > ahead
    assert Timestamp.parse(entry.hlc).wall_ms == START_MS + 120_000
    assert cache.state().hlc_observed == ahead


_names = st.sampled_from(["Ada", "Bea", "Cy"])
_row_ids = st.sampled_from([ROW, "0d3c9a3e-2f6b-4c55-9a43-5c1e0b7f2a10"])
_changes = st.lists(st.tuples(_row_ids, _names, st.integers(0, 50), st.booleans()), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(history=_changes, split=st.integers(1, 12), data=st.data())
def test_any_order_and_batching_of_the_same_changes_converges(
    tmp_path_factory: pytest.TempPathFactory,
    history: list[tuple[str, str, int, bool]],
    split: int,
    data: st.DataObject,
) -> None:
    changes = [
        change(row_id, {"name": name}, stamp(START_MS + ms, node=f"n{i}"), deleted=deleted)
        for i, (row_id, name, ms, deleted) in enumerate(history)
    ]
    shuffled = data.draw(st.permutations(changes))
    results = []
    for order, batch_size in ((changes, len(changes)), (shuffled, split)):
        with Cache(tmp_path_factory.mktemp("c"), wall_ms=FakeWall()) as cache:
            for start in range(0, len(order), batch_size):
                cache.apply_changes(order[start : start + batch_size], start + batch_size)
            results.append(
                {
                    r.id: (dict(r.fields), dict(r.clocks), r.deleted)
                    for r in cache.list_rows("clients", include_deleted=True)
                }
            )
    assert results[0] == results[1]


def test_a_compacted_tombstone_clears_the_cached_values_and_a_later_change_brings_back_only_its_own(
    cache: Cache,
) -> None:
    written, deleted_at, later = stamp(START_MS - 9000), stamp(START_MS - 5000), stamp(START_MS + 1000)
    cache.apply_changes([change(ROW, {"name": "Zoë", "phone": "+1 555 0100"}, written)], 1)
    cache.apply_changes([change(ROW, {}, deleted_at, deleted=True)], 2)
    held = cache.get("clients", ROW, include_deleted=True)
    assert held is not None and held.fields == {"name": "Zoë", "phone": "+1 555 0100"}

    # as the server sends it (protocol.merge.wire_clocks): cleared fields null at the stamp
    cleared = {"_cleared": deleted_at, "name": deleted_at, "phone": deleted_at}
    outcome = cache.apply_changes([change(ROW, {}, deleted_at, deleted=True, clocks=cleared)], 3)

    assert outcome.changed_rows == 1
    tombstone = cache.get("clients", ROW, include_deleted=True)
    assert tombstone is not None and tombstone.fields == {}
    assert dict(tombstone.clocks) == {"_deleted": deleted_at, "_cleared": deleted_at}
    assert cache.list_rows("clients", "555", include_deleted=True) == []  # gone from the search index too

    revived = change(ROW, {"name": "Zoë Q"}, later, clocks={"_cleared": deleted_at, "phone": deleted_at})
    cache.apply_changes([revived], 4)
    record = cache.get("clients", ROW)
    assert record is not None and record.fields == {"name": "Zoë Q"}
    assert cache.conflicts() == []
