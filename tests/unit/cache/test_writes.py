"""Local writes: validated, stamped, merged into the row and queued, in one transaction."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from desktop.cache import Cache, NotFound, UnknownCollection, ValidationFailed
from desktop.cache.state import Key
from protocol.errors import ErrorCode
from protocol.hlc import Timestamp
from tests.unit.cache.helpers import START_MS, FakeWall


def test_create_stores_the_row_and_queues_one_upsert_with_the_same_stamp(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "  Ada Lovelace ", "email": "ada@example.org", "tags": ["vip"]})

    record = cache.get("clients", row_id)
    assert record is not None
    assert record.fields == {"name": "Ada Lovelace", "email": "ada@example.org", "tags": ["vip"]}
    [entry] = cache.pending_batch()
    assert (entry.collection, entry.row_id, entry.op) == ("clients", row_id, "upsert")
    assert entry.fields == {"name": "Ada Lovelace", "email": "ada@example.org", "tags": ["vip"]}
    assert set(record.clocks.values()) == {entry.hlc}
    assert set(record.clocks) == {"name", "email", "tags", "_deleted"}
    assert entry.to_wire()["id"] == entry.mutation_id


def test_an_update_that_changes_nothing_queues_nothing_and_one_that_does_sends_only_the_change(
    cache: Cache,
) -> None:
    row_id = cache.create("clients", {"name": "Ada", "phone": "+44 20 7946 0000", "tags": ["vip"]})
    before = cache.get("clients", row_id)

    with cache.batch() as writer:
        untouched = writer.update("clients", row_id, {"name": " Ada ", "tags": ["vip"], "email": None})
        edited = writer.update("clients", row_id, {"name": "Ada", "phone": "+44 20 7946 0001"})

    assert untouched is None  # the values it was given are the ones stored
    assert edited is not None and dict(edited.fields) == {"phone": "+44 20 7946 0001"}
    assert [dict(e.fields) for e in cache.pending_batch()][1:] == [{"phone": "+44 20 7946 0001"}]
    after = cache.get("clients", row_id)
    assert before is not None and after is not None
    assert after.clocks["name"] == before.clocks["name"]  # re-saved as it was: no newer stamp


def test_update_and_delete_queue_in_order_with_increasing_stamps(cache: Cache, wall: FakeWall) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    cache.update("clients", row_id, {"phone": "+44 20 7946 0000", "name": "Ada L."})
    cache.update("clients", row_id, {"phone": None})
    cache.delete("clients", row_id)

    entries = cache.pending_batch()
    assert [(e.op, dict(e.fields)) for e in entries] == [
        ("upsert", {"name": "Ada"}),
        ("upsert", {"phone": "+44 20 7946 0000", "name": "Ada L."}),
        ("upsert", {"phone": None}),
        ("delete", {}),
    ]
    stamps = [e.hlc for e in entries]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4  # the wall clock never moved
    assert cache.get("clients", row_id) is None
    gone = cache.get("clients", row_id, include_deleted=True)
    assert gone is not None and gone.deleted and "phone" not in gone.fields
    assert gone.clocks["phone"] == stamps[2] and gone.clocks["_deleted"] == stamps[3]


def test_each_mutation_carries_the_clocks_this_device_had_as_its_base(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    cache.update("clients", row_id, {"phone": "+44 20 7946 0000", "name": "Ada L."})
    cache.delete("clients", row_id)

    created, edited, deleted = cache.pending_batch()
    assert created.base == {"name": None, "_deleted": None}
    assert edited.base == {"name": created.hlc, "phone": None, "_deleted": created.hlc}
    assert deleted.base == {"_deleted": edited.hlc}
    assert [e.to_wire()["base"] for e in (created, edited, deleted)] == [
        e.base for e in (created, edited, deleted)
    ]


def test_invalid_fields_raise_with_every_field_error_and_save_nothing(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    before = (cache.state().hlc_last, cache.counts())

    with pytest.raises(ValidationFailed) as caught:
        cache.create("clients", {"email": "not-an-email", "colour": "red"})
    codes = {(e.field, e.code) for e in caught.value.errors}
    assert codes == {
        ("email", ErrorCode.INVALID_EMAIL),
        ("colour", ErrorCode.UNKNOWN_FIELD),
        ("name", ErrorCode.REQUIRED),
    }
    with pytest.raises(ValidationFailed, match="name is required"):
        cache.update("clients", row_id, {"name": "   "})

    assert (cache.state().hlc_last, cache.counts()) == before
    record = cache.get("clients", row_id)
    assert record is not None and record.fields == {"name": "Ada"}


def test_unknown_rows_and_collections_are_refused(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    cache.delete("clients", row_id)

    for missing in (row_id, "00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        with pytest.raises(NotFound):
            cache.update("clients", missing, {"name": "Bea"})
        with pytest.raises(NotFound):
            cache.delete("clients", missing)
    with pytest.raises(UnknownCollection, match="known: clients, appointments"):
        cache.create("invoices", {"name": "x"})
    assert cache.pending_count() == 2


def test_an_empty_edit_queues_nothing(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada"})
    cache.update("clients", row_id, {})
    assert cache.pending_count() == 1


def test_a_batch_skips_a_refused_write_and_keeps_the_others(cache: Cache) -> None:
    with cache.batch() as writer:
        first = writer.create("clients", {"name": "Ada"})
        with pytest.raises(ValidationFailed):
            writer.create("clients", {"name": "Bea", "email": "nope"})
        with pytest.raises(NotFound):
            writer.update("clients", "00000000-0000-0000-0000-000000000001", {"name": "Cy"})
        writer.update("clients", first, {"notes": "called"})

    assert [dict(e.fields) for e in cache.pending_batch()] == [{"name": "Ada"}, {"notes": "called"}]
    assert cache.count("clients") == 1


def test_the_clock_never_goes_back_across_restarts(data_dir: Path) -> None:
    wall = FakeWall()
    with Cache(data_dir, wall_ms=wall) as cache:
        cache.create("clients", {"name": "Ada"})
        first = cache.state().hlc_last
    wall.ms -= 86_400_000  # the PC's clock is set back a day
    with Cache(data_dir, wall_ms=wall) as cache:
        cache.create("clients", {"name": "Bea"})
        second = cache.state().hlc_last
    assert first is not None and second is not None and second > first
    assert Timestamp.parse(second).wall_ms == START_MS


def test_stamps_use_the_local_clock_corrected_by_the_measured_offset(cache: Cache, wall: FakeWall) -> None:
    cache.set_state({Key.CLOCK_OFFSET_MS: 86_400_000})  # the server is a day ahead of this PC
    cache.create("clients", {"name": "Ada"})
    [entry] = cache.pending_batch()
    assert Timestamp.parse(entry.hlc).wall_ms == wall.ms + 86_400_000


def test_the_node_is_the_device_id_once_enrolled(cache: Cache) -> None:
    cache.create("clients", {"name": "Ada"})
    cache.set_enrollment(device_id="dev-1", branch_id="b-1", branch_name="North", server_url="http://s")
    cache.create("clients", {"name": "Bea"})

    nodes = [Timestamp.parse(e.hlc).node for e in cache.pending_batch()]
    assert nodes == ["dev-1", "dev-1"]
    state = cache.state()
    assert (state.device_id, state.branch_name, state.server_url) == ("dev-1", "North", "http://s")


def test_writes_queued_before_enrolment_move_to_the_device_id_in_order(cache: Cache) -> None:
    """The server takes a stamp only from the device it names (issue 12): a write made
    before enrolment (or before a re-enrolment) is stamped again as the device, with
    its time and counter, and its row and the later edits' bases follow."""
    ada = cache.create("clients", {"name": "Ada"})
    cache.update("clients", ada, {"phone": "+44 20 7946 0000"})
    before = [Timestamp.parse(e.hlc) for e in cache.pending_batch()]

    cache.set_enrollment(device_id="dev-1", branch_id="b-1", branch_name="North", server_url="http://s")
    cache.set_enrollment(device_id="dev-2", branch_id="b-1", branch_name="North", server_url="http://s")

    entries = cache.pending_batch()
    after = [Timestamp.parse(e.hlc) for e in entries]
    assert [(t.wall_ms, t.counter) for t in after] == [(t.wall_ms, t.counter) for t in before]
    assert {t.node for t in after} == {"dev-2"}
    assert entries[1].base == {"phone": None, "_deleted": entries[0].hlc}  # follows the renamed create
    row = cache.get("clients", ada)
    assert row is not None and set(row.clocks.values()) <= {e.hlc for e in entries}


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from desktop.cache import Cache
    with Cache(Path(sys.argv[1])) as cache:
        for i in range(int(sys.argv[2])):
            cache.create("clients", {"name": f"other {i}"})
    """
)


def test_two_processes_writing_at_once_share_one_increasing_clock(data_dir: Path) -> None:
    count = 60
    with Cache(data_dir) as cache:
        other = subprocess.Popen([sys.executable, "-c", _WRITER, str(data_dir), str(count)])
        for i in range(count):
            cache.create("clients", {"name": f"mine {i}"})
        assert other.wait(timeout=60) == 0
        entries = cache.pending_batch()

    assert len(entries) == 2 * count
    stamps = [e.hlc for e in entries]  # outbox order is commit order
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
