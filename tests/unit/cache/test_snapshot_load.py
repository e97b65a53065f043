"""Loading a snapshot into a real SQLite cache: whole and searchable, or not at all."""

from __future__ import annotations

import uuid

import pytest

from desktop.cache import Cache, Key, SnapshotRefused
from protocol.collections import APPOINTMENTS, CLIENTS
from protocol.snapshot import SnapshotEncoder, SnapshotHeader, snapshot_columns

EPOCH = "epoch-1"
TOP = "001767346100000-000009-dev"
ADA, TAB = str(uuid.uuid4()), str(uuid.uuid4())


def _client(row_id: str, name: str, notes: str = "\\N", deleted: str = "0") -> bytes:
    fields = {"name": name, "phone": "\\N", "email": "\\N", "notes": notes, "home_branch_id": "\\N",
              "tags": '["vip"]'}  # fmt: skip
    clocks = '{"name": "001767346000000-000000-dev"}'
    return "\t".join([row_id, *(fields[f] for f in CLIENTS.field_names), clocks, deleted]).encode() + b"\n"


def _stream(
    clients: bytes, *, epoch: str = EPOCH, columns: tuple[str, ...] | None = None, extra: bool = False
) -> list[bytes]:
    collections = {
        "clients": columns or snapshot_columns(CLIENTS),
        "appointments": snapshot_columns(APPOINTMENTS),
    }
    if extra:
        collections["invoices"] = ("id", "total")
    encoder = SnapshotEncoder(SnapshotHeader(7, epoch, "001767346200000-000000-s", TOP, collections))
    chunks = [encoder.start(), encoder.rows(clients), encoder.end_section(), encoder.end_section()]
    if extra:
        chunks += [encoder.rows(b"x\t12\n"), encoder.end_section()]
    return [*chunks, encoder.finish()]


GOOD = _client(ADA, "Ada Lovelace") + _client(TAB, "Tab", notes="one\\ttwo\\\\", deleted="1")


@pytest.fixture
def blank(cache: Cache) -> Cache:
    cache.set_state({Key.EPOCH: EPOCH})
    return cache


def test_a_blank_cache_takes_every_row_and_moves_cursor_and_clock(blank: Cache) -> None:
    assert blank.snapshot_wanted()
    loaded = blank.load_snapshot(_stream(GOOD, extra=True))
    assert (loaded.rows, loaded.header.seq) == (2, 7)
    ada = blank.get("clients", ADA)
    assert ada is not None and dict(ada.fields) == {"name": "Ada Lovelace", "tags": ["vip"]}
    tab = blank.get("clients", TAB, include_deleted=True)
    assert tab is not None and tab.deleted and tab.fields["notes"] == "one\ttwo\\"
    assert blank.state().cursor == 7
    assert blank.state().hlc_observed == TOP
    assert blank.count("clients", search="lovel") == 1  # the search index was rebuilt
    later = blank.create("clients", {"name": "Grace Hopper"})  # and its trigger is back
    assert blank.count("clients", search="hopper") == 1
    assert later != ADA
    assert not blank.snapshot_wanted()


@pytest.mark.parametrize(
    ("chunks", "reason"),
    [
        (_stream(GOOD)[:-1], "unusable"),  # cut before the trailer: a crash of the link half-way
        ([b"garbage"], "unusable"),
        (_stream(GOOD, epoch="another"), "another server history"),
        (_stream(GOOD, columns=(*snapshot_columns(CLIENTS), "loyalty")), "does not know"),
    ],
)
def test_a_bad_snapshot_changes_nothing(blank: Cache, chunks: list[bytes], reason: str) -> None:
    with pytest.raises(SnapshotRefused, match=reason):
        blank.load_snapshot(chunks)
    assert blank.count("clients") == 0
    assert blank.state().cursor == 0
    blank.create("clients", {"name": "Grace Hopper"})
    assert blank.count("clients", search="hopper") == 1  # the search trigger was never lost


def test_a_stream_that_breaks_off_rolls_everything_back(blank: Cache) -> None:
    def broken() -> object:
        yield from _stream(GOOD)[:2]
        raise ConnectionError("the link dropped")

    with pytest.raises(SnapshotRefused, match="broke off"):  # not a StorageError: the disk is fine
        blank.load_snapshot(broken())  # type: ignore[arg-type]
    assert blank.count("clients") == 0 and blank.snapshot_wanted()


def test_local_work_is_never_overwritten(blank: Cache) -> None:
    mine = blank.create("clients", {"name": "Queued here"})
    assert not blank.snapshot_wanted()
    with pytest.raises(SnapshotRefused, match="not empty"):
        blank.load_snapshot(_stream(GOOD))
    assert blank.counts().pending == 1 and blank.get("clients", mine) is not None


def test_no_snapshot_before_the_history_is_known(cache: Cache) -> None:
    assert not cache.snapshot_wanted()
    with pytest.raises(SnapshotRefused, match="another server history"):
        cache.load_snapshot(_stream(GOOD))


def test_a_moved_cursor_is_not_blank(blank: Cache) -> None:
    blank.set_state({Key.CURSOR: 3})
    assert not blank.snapshot_wanted()
