"""``salvage`` and ``page_scan``: the queued writes and identity still readable in a damaged file."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.cache import Cache, OutboxEntry
from desktop.cache.salvage import entry_from_values, in_queue_order, salvage, salvage_bytes
from desktop.config.paths import database_path
from tests.support.damage import DAMAGES

DEVICE = "11111111-1111-4111-8111-111111111111"
ROWS = 200


def _queued(data_dir: Path) -> tuple[Path, list[OutboxEntry]]:
    """A closed, enrolled cache with ``ROWS`` creates queued (big enough for several pages)."""
    with Cache(data_dir) as cache:
        cache.set_enrollment(device_id=DEVICE, branch_id="b-1", branch_name="North", server_url="http://s")
        with cache.batch() as writer:
            for n in range(ROWS):
                writer.create("clients", {"name": f"client {n}", "notes": "n" * 300})
        return database_path(data_dir), cache.pending_batch(limit=ROWS)


def test_a_sound_file_gives_back_its_whole_outbox_and_identity(tmp_path: Path) -> None:
    path, queued = _queued(tmp_path / "data")

    found = salvage(path)

    assert found.complete
    assert found.entries == queued
    assert found.state["device_id"] == DEVICE
    assert found.state["server_url"] == "http://s"


def test_without_its_first_page_the_pages_still_give_every_queued_write(tmp_path: Path) -> None:
    path, queued = _queued(tmp_path / "data")
    DAMAGES["first-page"](path)

    found = salvage(path)

    assert not found.complete
    assert found.entries == queued  # same ids, stamps, fields, order
    assert found.state["device_id"] == DEVICE


@pytest.mark.parametrize("damage", ["truncated", "middle-pages"])
def test_a_partly_lost_file_gives_what_is_left_and_never_something_else(tmp_path: Path, damage: str) -> None:
    path, queued = _queued(tmp_path / "data")
    DAMAGES[damage](path)

    found = salvage(path)

    assert found.entries, "some pages of the outbox survive"
    assert all(entry in queued for entry in found.entries)
    if damage == "middle-pages":
        assert len(found.entries) >= ROWS - 20  # three pages hold a few rows each


def test_an_empty_or_garbage_file_gives_nothing_and_raises_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(bytes(range(256)) * 64)

    assert salvage(empty).entries == []
    assert salvage(garbage).entries == []
    assert salvage(tmp_path / "missing.sqlite3").entries == []


def test_the_wal_pages_are_read_too(tmp_path: Path) -> None:
    """A file whose last writes are still in its ``-wal`` (the process died): they are queued writes too."""
    path, _ = _queued(tmp_path / "data")
    copy = tmp_path / "copy.sqlite3"
    with Cache(tmp_path / "data") as cache:
        cache.create("clients", {"name": "late"})  # into the WAL while the cache is open
        shutil.copy(path, copy)
        shutil.copy(path.with_name(path.name + "-wal"), copy.with_name(copy.name + "-wal"))
        late = cache.pending_batch(limit=ROWS + 1)[-1]

    found = salvage_bytes(b"garbage" * 1000, copy.with_name(copy.name + "-wal").read_bytes())

    assert late in found.entries


@settings(max_examples=200)
@given(st.binary(max_size=20_000), st.binary(max_size=5_000))
def test_no_bytes_make_the_page_scan_fail(main: bytes, wal: bytes) -> None:
    found = salvage_bytes(main, wal)
    assert all(isinstance(entry, OutboxEntry) for entry in found.entries)


def test_a_row_that_is_not_a_whole_outbox_entry_is_refused() -> None:
    good = [
        3,
        "22222222-2222-4222-8222-222222222222",
        "clients",
        "33333333-3333-4333-8333-333333333333",
        "upsert",
        '{"name":"Ada"}',
        f"001760000000000-000000-{DEVICE}",
        '{"name":[null,null]}',
        "2026-12-03T13:00:00.000000+00:00",
    ]
    assert entry_from_values(good) is not None
    for index, bad in [(1, "not-a-uuid"), (2, "nonsense"), (4, "merge"), (5, "{"), (5, "[1]"), (6, "x")]:
        broken = list(good)
        broken[index] = bad
        assert entry_from_values(broken) is None, (index, bad)
    assert entry_from_values([*good[:8], "2026-12-03T13:00:00"]) is None  # no time zone
    assert entry_from_values(good[:8]) is None


def test_one_entry_per_queue_position_the_first_found_winning(tmp_path: Path) -> None:
    _, queued = _queued(tmp_path / "data")
    old = replace(
        queued[1], mutation_id="44444444-4444-4444-8444-444444444444"
    )  # a stale row at a reused place

    assert in_queue_order([queued[2], queued[1], old, queued[0]]) == queued[:3]
