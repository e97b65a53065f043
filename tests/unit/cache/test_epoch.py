"""Epoch reset: after a server restore, local values newer than the backup are pushed back."""

from __future__ import annotations

import uuid

from desktop.cache import Cache
from desktop.cache.epoch import plan_push_back
from protocol.collections import CLIENTS
from protocol.merge import Row
from protocol.messages import MutationResult
from tests.unit.cache.helpers import START_MS, FakeWall, change, stamp


def _push_all(cache: Cache) -> None:
    entries = cache.pending_batch()
    cache.apply_push_results(
        entries, [MutationResult(id=uuid.UUID(e.mutation_id), status="applied") for e in entries]
    )


def test_plan_pushes_each_stamp_once_oldest_first_and_leaves_queued_ones_to_the_outbox() -> None:
    s1, s2, s3 = stamp(10, "me"), stamp(20, "me"), stamp(30, "me")
    row = Row(
        {"name": "Ada", "phone": "+1 555", "notes": "n"},
        {"name": s1, "phone": s2, "notes": s3, "_deleted": s3},
    )

    assert plan_push_back(CLIENTS, row, ["phone", "notes", "_deleted"], set()) == [
        ("upsert", {"phone": "+1 555"}, s2),
        ("upsert", {"notes": "n"}, s3),
    ]
    assert plan_push_back(CLIENTS, row, ["phone", "notes", "_deleted"], {s3}) == [
        ("upsert", {"phone": "+1 555"}, s2)
    ]


def test_plan_for_a_row_the_server_never_saw_creates_it_first() -> None:
    s1, s2, s3 = stamp(10, "me"), stamp(20, "me"), stamp(30, "me")
    row = Row({"name": "Ada B.", "phone": "+1 555"}, {"phone": s1, "name": s2, "_deleted": s3}, deleted=True)

    assert plan_push_back(CLIENTS, row, None, set()) == [
        ("upsert", {"phone": "+1 555", "name": "Ada B."}, s1),  # name rides along so the row can exist
        ("upsert", {"name": "Ada B."}, s2),
        ("delete", {}, s3),
    ]


def test_a_reset_pulls_from_zero_then_queues_newer_local_values_ahead_of_the_outbox(
    cache: Cache, wall: FakeWall
) -> None:
    kept = cache.create("clients", {"name": "Ada"})  # the backup has this row as it is
    edited = cache.create("clients", {"name": "Bea"})
    lost_row = cache.create("clients", {"name": "Cy"})  # created after the backup was taken
    _push_all(cache)
    cache.apply_changes([], 9, "epoch-1")
    wall.advance(1_000)
    cache.update("clients", edited, {"phone": "+1 555 0100"})  # pushed too, lost in the restore
    _push_all(cache)
    wall.advance(1_000)
    cache.update("clients", kept, {"notes": "still queued"})
    kept_clocks, edited_row, lost_clocks = (cache.get("clients", i) for i in (kept, edited, lost_row))
    assert kept_clocks is not None and edited_row is not None and lost_clocks is not None

    cache.start_epoch_reset("epoch-2")
    # The queue stays as it was: holding pushes back until the push-back is queued is the
    # sync core's decision (tests/unit/sync/transcripts.py, "a new epoch in hello ...").
    assert [e.row_id for e in cache.pending_batch()] == [kept]
    assert (cache.state().cursor, cache.state().epoch, cache.state().epoch_reset) == (0, "epoch-2", True)
    backup = [
        change(kept, {"name": "Ada"}, kept_clocks.clocks["name"], seq=1),
        change(edited, {"name": "Bea"}, edited_row.clocks["name"], seq=2),
        change(str(uuid.uuid4()), {"name": "Only on server"}, stamp(START_MS - 1), seq=3),
    ]
    cache.apply_changes(backup, 3, "epoch-2")
    finished = cache.finish_epoch_reset()
    queued = finished.queued
    assert finished.counts == cache.counts()

    entries = cache.pending_batch()
    assert queued == 2
    pushed_back = sorted((e.row_id, dict(e.fields), e.hlc) for e in entries[:2])
    assert pushed_back == sorted(
        [
            (edited, {"phone": "+1 555 0100"}, edited_row.clocks["phone"]),  # with its original stamp
            (lost_row, {"name": "Cy"}, lost_clocks.clocks["name"]),
        ]
    )
    assert [(e.row_id, dict(e.fields)) for e in entries[2:]] == [(kept, {"notes": "still queued"})]
    assert ["base" in e.to_wire() for e in entries] == [False, False, True]  # re-sent values: no base
    assert entries[0].seq < entries[1].seq < entries[2].seq
    assert cache.state().epoch_reset is False
    assert cache.count("clients") == 4


def test_a_reset_with_nothing_newer_here_queues_nothing(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    record = cache.get("clients", row_id)
    assert record is not None
    _push_all(cache)

    cache.start_epoch_reset("epoch-2")
    cache.apply_changes([change(row_id, {"name": "Ada"}, record.clocks["name"])], 1, "epoch-2")

    assert cache.finish_epoch_reset().queued == 0
    assert cache.pending_batch() == []


def test_a_value_another_branch_wrote_is_pushed_back_as_this_device_at_its_time(cache: Cache) -> None:
    """The server takes a stamp only from the device it names (issue 12): a value another
    branch wrote after the backup goes back re-stamped with this device as node, at the
    same wall time and counter, and the local row takes that stamp too."""
    cache.set_enrollment(device_id="dev-here", branch_id="b-1", branch_name="North", server_url="http://s")
    row_id = str(uuid.uuid4())
    theirs = stamp(START_MS + 5_000, node="dev-south", counter=3)
    cache.apply_changes([change(row_id, {"name": "From South"}, theirs, seq=1)], 1, "epoch-1")

    cache.start_epoch_reset("epoch-2")
    cache.apply_changes([], 0, "epoch-2")  # the backup never saw the row
    assert cache.finish_epoch_reset().queued == 1

    [entry] = cache.pending_batch()
    assert (dict(entry.fields), entry.hlc) == ({"name": "From South"}, stamp(START_MS + 5_000, "dev-here", 3))
    record = cache.get("clients", row_id)
    assert record is not None and record.clocks["name"] == entry.hlc
