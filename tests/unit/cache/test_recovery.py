"""``recovery``: a damaged cache is moved aside and rebuilt as the same device, its queue kept."""

from __future__ import annotations

import logging
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import Connection

from desktop.cache import Cache, Key, OutboxEntry, StorageError, StorageProblem
from desktop.cache import recovery as recovery_module
from desktop.cache.db import Database, damage_mark
from desktop.cache.recovery import notice_for
from desktop.config.identity import Identity, identity_path, load_identity
from desktop.config.paths import database_path
from tests.support.damage import DAMAGES

DEVICE = "11111111-1111-4111-8111-111111111111"
NORTH = Identity(DEVICE, "http://s", "b-1", "North", None)
ROWS = 200


def _enrolled(data_dir: Path) -> list[str]:
    """A closed, enrolled cache with ``ROWS`` creates queued; their mutation ids."""
    with Cache(data_dir) as cache:
        cache.set_enrollment(device_id=DEVICE, branch_id="b-1", branch_name="North", server_url="http://s")
        with cache.batch() as writer:
            for n in range(ROWS):
                writer.create("clients", {"name": f"client {n}", "notes": "n" * 300})
        return [entry.mutation_id for entry in cache.pending_batch(limit=ROWS)]


def _aside(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob("*.damaged-*"))


def test_enrolment_writes_the_identity_record_beside_the_cache(tmp_path: Path) -> None:
    _enrolled(tmp_path / "data")

    assert load_identity(tmp_path / "data") == NORTH
    assert stat.S_IMODE(identity_path(tmp_path / "data").stat().st_mode) == 0o600


def test_an_installation_enrolled_before_the_record_existed_gets_one_at_its_next_open(tmp_path: Path) -> None:
    _enrolled(tmp_path / "data")
    identity_path(tmp_path / "data").unlink()

    Cache(tmp_path / "data").close()

    assert load_identity(tmp_path / "data") == NORTH


def test_a_sound_file_is_left_alone(tmp_path: Path) -> None:
    _enrolled(tmp_path / "data")

    with Cache(tmp_path / "data") as cache:
        assert cache.recovery is None
        assert cache.state().recovery_notice is None
    assert _aside(tmp_path / "data") == []


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_file_is_kept_aside_and_rebuilt_as_the_same_device_with_its_queue(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    queued = _enrolled(data_dir)
    DAMAGES[damage](database_path(data_dir))
    damaged_bytes = database_path(data_dir).read_bytes()

    with caplog.at_level(logging.WARNING, "desktop.cache.recovery"), Cache(data_dir) as cache:
        recovery, state = cache.recovery, cache.state()
        kept = [entry.mutation_id for entry in cache.pending_batch(limit=ROWS)]
        rows = cache.count("clients")

    assert recovery is not None
    assert _aside(data_dir) == [recovery.kept_as]
    assert recovery.kept_as is not None and recovery.kept_as.read_bytes() == damaged_bytes  # kept as it was
    assert (state.device_id, state.server_url, state.branch_id) == (DEVICE, "http://s", "b-1")
    assert state.cursor == 0  # everything comes again from the server
    assert state.recovery_notice == recovery.notice
    assert [r.getMessage() for r in caplog.records] == [recovery.notice]
    assert recovery.notice.startswith("Branchsync found its local data damaged")
    assert rows == len(kept)  # each saved create shows in the list before any sync
    assert all(mutation_id in queued for mutation_id in kept)
    assert recovery.requeued == len(kept)
    expected = {"empty": 0, "truncated": 1, "first-page": ROWS, "middle-pages": ROWS - 20}[damage]
    assert len(kept) >= expected
    assert kept == sorted(kept, key=queued.index)  # queue order kept


def test_a_new_write_after_a_rebuild_is_stamped_after_the_saved_ones(tmp_path: Path) -> None:
    _enrolled(tmp_path / "data")
    DAMAGES["first-page"](database_path(tmp_path / "data"))

    with Cache(tmp_path / "data") as cache:
        cache.create("clients", {"name": "after"})
        stamps = [entry.hlc for entry in cache.pending_batch(limit=ROWS + 1)]

    assert stamps[-1] > max(stamps[:-1])


def test_an_empty_file_of_a_new_installation_stays_a_new_installation(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    database_path(data_dir).write_bytes(b"")

    with Cache(data_dir) as cache:
        assert cache.recovery is None
        assert not cache.state().enrolled
    assert _aside(data_dir) == []


def test_a_missing_file_of_an_enrolled_installation_is_rebuilt_enrolled(tmp_path: Path) -> None:
    _enrolled(tmp_path / "data")
    database_path(tmp_path / "data").unlink()

    with Cache(tmp_path / "data") as cache:
        assert cache.recovery is not None and cache.recovery.kept_as is None
        assert cache.state().device_id == DEVICE


def test_damage_a_read_found_is_rebuilt_at_the_next_open_however_big_the_file(tmp_path: Path) -> None:
    queued = _enrolled(tmp_path / "data")
    path = database_path(tmp_path / "data")
    db = Database(path)
    corrupt = sqlite3.DatabaseError("database disk image is malformed")
    corrupt.sqlite_errorcode = 11  # SQLITE_CORRUPT, as a read of a broken page raises it
    try:
        with pytest.raises(StorageError) as caught, db.read():
            raise corrupt
    finally:
        db.close()
    assert caught.value.problem is StorageProblem.DAMAGED
    assert damage_mark(path).exists()

    with Cache(tmp_path / "data") as cache:
        assert cache.recovery is not None
        assert "a read found it damaged" in cache.recovery.reason
        assert [entry.mutation_id for entry in cache.pending_batch(limit=ROWS)] == queued
    assert not damage_mark(path).exists()


def test_a_damaged_file_that_does_not_say_its_server_is_left_for_it(tmp_path: Path) -> None:
    """No identity record and only a device id in the salvage: refused, nothing moved."""
    data_dir = tmp_path / "data"
    with Cache(data_dir) as cache:
        cache.set_state({Key.DEVICE_ID: DEVICE})
    identity_path(data_dir).unlink(missing_ok=True)
    DAMAGES["first-page"](database_path(data_dir))
    before = database_path(data_dir).read_bytes()

    with pytest.raises(StorageError, match="does not say which server") as caught:
        Cache(data_dir)

    assert caught.value.problem is StorageProblem.DAMAGED
    assert database_path(data_dir).read_bytes() == before
    assert _aside(data_dir) == []


def test_an_unreadable_identity_record_falls_back_to_what_the_file_says(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queued = _enrolled(tmp_path / "data")
    identity_path(tmp_path / "data").write_text("{ not json")
    DAMAGES["first-page"](database_path(tmp_path / "data"))

    with caplog.at_level(logging.WARNING, "desktop.cache.recovery"), Cache(tmp_path / "data") as cache:
        assert cache.state().device_id == DEVICE
        assert len(cache.pending_batch(limit=ROWS)) == len(queued)
    assert any("identity record cannot be used" in r.getMessage() for r in caplog.records)
    assert load_identity(tmp_path / "data") == NORTH  # written again from the rebuilt cache


def test_the_notice_is_one_sentence_that_says_what_happened() -> None:
    kept = Path("/data/branchsync.sqlite3.damaged-20261203T130000Z")

    text = notice_for("the file is empty (0 bytes)", kept, 3, 1, enrolled=True)

    assert text.endswith(f"{kept}.") and "\n" not in text and ". " not in text  # one sentence
    assert "3 unsent change(s) were saved" in text and "1 could not be read" in text and str(kept) in text
    assert "enrol this PC again" in notice_for("x", None, 0, 0, enrolled=False)
    assert "no unsent changes could be read" in notice_for("x", None, 0, 0, enrolled=True)


def test_a_cache_still_opens_when_its_identity_record_cannot_be_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _enrolled(tmp_path / "data")
    identity_path(tmp_path / "data").unlink()
    identity_path(tmp_path / "data").mkdir()  # in the way of the record

    with caplog.at_level(logging.WARNING, "desktop.cache.cache"), Cache(tmp_path / "data") as cache:
        assert cache.state().device_id == DEVICE
    assert any("identity record could not be written" in r.getMessage() for r in caplog.records)


def test_an_empty_file_beside_a_token_but_no_record_is_told_of_not_taken_for_new(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Enrolled by a version before the identity record: who it was is lost, but not silently."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    database_path(data_dir).write_bytes(b"")
    (data_dir / "device-token").write_text("secret")

    with caplog.at_level(logging.WARNING, "desktop.cache.recovery"), Cache(data_dir) as cache:
        assert cache.recovery is not None and not cache.recovery.enrolled
        assert "enrol this PC again" in cache.recovery.notice
        assert cache.state().recovery_notice == cache.recovery.notice
    assert len(_aside(data_dir)) == 1


def test_a_rebuild_that_fails_puts_the_damaged_file_back_for_the_next_try(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    queued = _enrolled(data_dir)
    DAMAGES["first-page"](database_path(data_dir))
    damaged_bytes = database_path(data_dir).read_bytes()
    real_requeue = recovery_module._requeue

    def disk_full(conn: Connection, entries: list[OutboxEntry]) -> None:
        raise StorageError(StorageProblem.DISK_FULL, "the disk holding the Branchsync data is full")

    monkeypatch.setattr(recovery_module, "_requeue", disk_full)
    with pytest.raises(StorageError, match="full"):
        Cache(data_dir)
    assert database_path(data_dir).read_bytes() == damaged_bytes
    assert _aside(data_dir) == []

    monkeypatch.setattr(recovery_module, "_requeue", real_requeue)  # room again
    with Cache(data_dir) as cache:
        assert [entry.mutation_id for entry in cache.pending_batch(limit=ROWS)] == queued
