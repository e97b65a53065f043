"""Two branches edit the same client offline: whoever lost the race sees it once, in any order.

North and South both change Ada's phone while offline; South's edit is later, so it
wins everywhere. Whatever order they reconnect in, North must end with exactly one
conflict (its phone lost to South's) and South with none. An edit made by someone
who had already seen the other value is an ordinary later edit, not a conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop.cache import Cache
from tests.unit.cache.helpers import START_MS, FakeWall
from tests.unit.cache.relay import Relay

NORTH, SOUTH = "north-pc", "south-pc"
OLD, NORTHS, SOUTHS = "+1 555 0100", "+1 555 0111", "+1 555 0122"


@dataclass(frozen=True)
class Branches:
    """North and South, enrolled, each with the wall clock the test drives."""

    north: Cache
    south: Cache
    north_wall: FakeWall
    south_wall: FakeWall
    relay: Relay

    def cache(self, name: str) -> Cache:
        return self.north if name == NORTH else self.south

    def shared_client(self) -> str:
        """A client North made and both branches have, as it stood before the outage."""
        row_id = self.north.create("clients", {"name": "Ada", "phone": OLD})
        self.relay.sync(self.north)
        self.relay.sync(self.south)
        return row_id

    def both_edit_offline(
        self, row_id: str, north: dict[str, str] | None = None, south: dict[str, str] | None = None
    ) -> None:
        """North edits first, South later (its stamp is greater, so South wins a shared field)."""
        self.north_wall.ms = START_MS + 10_000
        self.north.update("clients", row_id, north or {"phone": NORTHS})
        self.south_wall.ms = START_MS + 20_000
        self.south.update("clients", row_id, south or {"phone": SOUTHS})

    def settle(self) -> None:
        """A few more rounds, as the engines would run: nothing new may appear."""
        for _ in range(2):
            self.relay.sync(self.north)
            self.relay.sync(self.south)


@pytest.fixture
def branches(tmp_path: Path) -> Iterator[Branches]:
    with ExitStack() as stack:
        walls = FakeWall(), FakeWall()
        caches = []
        for name, wall in zip((NORTH, SOUTH), walls, strict=True):
            cache = stack.enter_context(Cache(tmp_path / name, wall_ms=wall))
            cache.set_enrollment(device_id=name, branch_id=name, branch_name=name, server_url="http://relay")
            caches.append(cache)
        yield Branches(caches[0], caches[1], walls[0], walls[1], Relay())


Step = Callable[[Branches], None]


def _sync(name: str) -> Step:
    return lambda b: b.relay.sync(b.cache(name))


def _push(name: str) -> Step:
    return lambda b: b.relay.push(b.cache(name))


def _pull(name: str) -> Step:
    return lambda b: b.relay.pull(b.cache(name))


ORDERINGS = {
    "north pushes first": [_sync(NORTH), _sync(SOUTH), _sync(NORTH)],
    "south pushes first": [_sync(SOUTH), _sync(NORTH), _sync(SOUTH)],
    "both push then both pull": [_push(NORTH), _push(SOUTH), _pull(NORTH), _pull(SOUTH)],
    "north pulls before it pushes": [_sync(SOUTH), _pull(NORTH), _push(NORTH), _pull(NORTH)],
}


def _losses(cache: Cache) -> list[tuple[str, object, object, str]]:
    return [(c.field, c.my_value, c.winning_value, c.winning_device) for c in cache.conflicts()]


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_the_branch_whose_phone_lost_sees_one_conflict_and_the_winner_none(
    branches: Branches, ordering: str
) -> None:
    row_id = branches.shared_client()
    branches.both_edit_offline(row_id)

    for step in ORDERINGS[ordering]:
        step(branches)
    branches.settle()

    for cache in (branches.north, branches.south):
        record = cache.get("clients", row_id)
        assert record is not None and record.fields["phone"] == SOUTHS
        assert cache.pending_count() == 0
    assert _losses(branches.north) == [("phone", NORTHS, SOUTHS, SOUTH)]
    assert _losses(branches.south) == []


def test_an_edit_made_after_seeing_the_other_value_is_not_a_conflict(branches: Branches) -> None:
    north, south, relay = branches.north, branches.south, branches.relay
    row_id = branches.shared_client()
    north.update("clients", row_id, {"phone": NORTHS})
    relay.sync(north)
    relay.sync(south)  # South now shows North's phone
    branches.south_wall.ms = START_MS + 20_000
    south.update("clients", row_id, {"phone": SOUTHS})

    relay.sync(south)
    relay.sync(north)
    branches.settle()

    record = north.get("clients", row_id)
    assert record is not None and record.fields["phone"] == SOUTHS
    assert (_losses(north), _losses(south)) == ([], [])


def test_edits_of_different_fields_are_both_kept_without_conflicts(branches: Branches) -> None:
    row_id = branches.shared_client()
    branches.both_edit_offline(row_id, north={"phone": NORTHS}, south={"notes": "prefers mornings"})

    branches.relay.sync(branches.north)
    branches.relay.sync(branches.south)
    branches.settle()

    for cache in (branches.north, branches.south):
        record = cache.get("clients", row_id)
        assert record is not None
        assert (record.fields["phone"], record.fields["notes"]) == (NORTHS, "prefers mornings")
    assert (_losses(branches.north), _losses(branches.south)) == ([], [])


def test_a_delete_undone_by_a_later_concurrent_edit_is_a_conflict_for_the_deleter(branches: Branches) -> None:
    north, south = branches.north, branches.south
    row_id = branches.shared_client()
    branches.north_wall.ms = START_MS + 10_000
    north.delete("clients", row_id)
    branches.south_wall.ms = START_MS + 20_000
    south.update("clients", row_id, {"phone": SOUTHS})

    branches.relay.sync(north)
    branches.relay.sync(south)
    branches.settle()

    assert north.get("clients", row_id) is not None  # the later edit brought it back
    assert _losses(north) == [("_deleted", True, False, SOUTH)]
    assert _losses(south) == []


def test_a_lost_push_answer_does_not_make_a_later_edit_a_conflict(branches: Branches) -> None:
    north, south, relay = branches.north, branches.south, branches.relay
    row_id = branches.shared_client()
    north.update("clients", row_id, {"phone": NORTHS})
    relay.push(north, answer=False)  # the server took it, the answer never arrived: still queued
    relay.sync(south)
    branches.south_wall.ms = START_MS + 20_000
    south.update("clients", row_id, {"phone": SOUTHS})  # South saw North's phone and changed it
    relay.sync(south)

    relay.pull(north)  # North's edit is still queued, yet South's writer had seen it
    relay.sync(north)  # the replay is answered as a duplicate

    record = north.get("clients", row_id)
    assert record is not None and record.fields["phone"] == SOUTHS
    assert (_losses(north), _losses(south), north.pending_count()) == ([], [], 0)


NOTES_N, NOTES_S = "call before noon", "prefers email"

EDIT_DELETE_ORDERINGS: dict[str, list[Step]] = {
    "north pushes both, then pulls": [_sync(SOUTH), _sync(NORTH)],
    "south first, north pushes both": [_sync(SOUTH), _push(NORTH), _pull(NORTH)],
    "north pulls before it pushes": [_sync(SOUTH), _pull(NORTH), _push(NORTH), _pull(NORTH)],
    "north's answer lost, then pulls": [
        lambda b: b.relay.push(b.north, answer=False),
        _sync(SOUTH),
        _pull(NORTH),
        _sync(NORTH),
    ],
}


@pytest.mark.parametrize("acknowledged", [True, False], ids=["notes acknowledged", "notes queued"])
@pytest.mark.parametrize("ordering", EDIT_DELETE_ORDERINGS)
def test_an_edit_then_a_delete_undone_by_an_unseen_edit_are_both_lost_on_their_branch(
    branches: Branches, ordering: str, acknowledged: bool
) -> None:
    """The chaos soak's open finding, in two branches: North sets the notes, then deletes the
    client; South, which saw neither, sets the notes later and brings it back. North must
    hold both losses (its notes and its delete), whatever order things arrive in."""
    north, south, relay = branches.north, branches.south, branches.relay
    row_id = branches.shared_client()
    branches.north_wall.ms = START_MS + 10_000
    north.update("clients", row_id, {"notes": NOTES_N})
    if acknowledged:
        relay.push(north)
    branches.north_wall.ms = START_MS + 15_000
    north.delete("clients", row_id)
    branches.south_wall.ms = START_MS + 20_000
    south.update("clients", row_id, {"notes": NOTES_S})

    for step in EDIT_DELETE_ORDERINGS[ordering]:
        step(branches)
    branches.settle()

    for cache in (north, south):
        record = cache.get("clients", row_id)
        assert record is not None and not record.deleted and record.fields["notes"] == NOTES_S
    assert sorted(_losses(north)) == [("_deleted", True, False, SOUTH), ("notes", NOTES_N, NOTES_S, SOUTH)]
    assert _losses(south) == []


def test_an_edit_made_on_a_pulled_edit_replaces_it_knowingly_while_the_unseen_delete_is_lost(
    branches: Branches,
) -> None:
    """What the chaos soak's "notes overwritten without a conflict" was: South's cache had
    pulled North's notes (not yet its delete) between the driver's look at the row and its
    write, so the write's base is North's notes and no conflict is owed for them; only the
    delete was lost unseen. The write's own mutation names the base it carried."""
    north, south, relay = branches.north, branches.south, branches.relay
    row_id = branches.shared_client()
    branches.north_wall.ms = START_MS + 10_000
    north.update("clients", row_id, {"notes": NOTES_N})
    relay.sync(north)
    edited = north.get("clients", row_id)
    assert edited is not None
    relay.pull(south)  # South now holds North's notes, not the delete to come
    branches.north_wall.ms = START_MS + 15_000
    north.delete("clients", row_id)
    relay.sync(north)
    branches.south_wall.ms = START_MS + 20_000
    with south.batch() as writer:
        entry = writer.update("clients", row_id, {"notes": NOTES_S})
    assert entry is not None
    assert entry.base == {"notes": edited.clocks["notes"], "_deleted": edited.clocks["_deleted"]}

    relay.sync(south)
    relay.sync(north)
    branches.settle()

    record = north.get("clients", row_id)
    assert record is not None and not record.deleted and record.fields["notes"] == NOTES_S
    assert _losses(north) == [("_deleted", True, False, SOUTH)]
    assert _losses(south) == []
