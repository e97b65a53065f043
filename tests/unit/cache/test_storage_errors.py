"""When the environment fails: a clear ``StorageError`` and a database that stays consistent.

The disk-full and read-only cases run on a real, tiny tmpfs (the suite runs as root).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc

from desktop.cache import Cache, StorageError, StorageProblem
from desktop.cache.db import Database
from desktop.cache.errors import classify
from desktop.config.paths import database_path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, unmounted afterwards."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def _integrity(path: Path) -> tuple[str, int, int]:
    conn = sqlite3.connect(path)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        rows = conn.execute("SELECT count(*) FROM clients").fetchone()[0]
        queued = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        return check, rows, queued
    finally:
        conn.close()


def test_a_full_disk_refuses_the_write_clearly_and_loses_nothing_written_before(small_disk: Path) -> None:
    filler = small_disk / "filler"
    with Cache(small_disk / "data") as cache:
        filler.write_bytes(bytes(300 * 1024))  # room we can give back later
        saved = 0
        with pytest.raises(StorageError, match=r"disk .* is full") as caught:
            for saved in range(1_000):
                cache.create("clients", {"name": f"Client {saved}", "notes": "x" * 9_000})
        assert caught.value.problem is StorageProblem.DISK_FULL
        assert str(database_path(small_disk / "data")) in str(caught.value)
        assert 0 < saved < 1_000
        assert cache.counts().pending == saved == cache.count("clients")  # the failed write left no half

        filler.unlink()
        cache.create("clients", {"name": "After the clean-up"})
        assert cache.count("clients") == saved + 1

    assert _integrity(database_path(small_disk / "data")) == ("ok", saved + 1, saved + 1)


def test_a_read_only_disk_is_reported_at_open(small_disk: Path) -> None:
    Cache(small_disk / "data").close()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)

    with pytest.raises(StorageError, match="cannot be opened") as opened:
        Cache(small_disk / "data")
    with pytest.raises(StorageError, match="Read-only file system") as created:
        Cache(small_disk / "elsewhere")

    assert opened.value.problem is StorageProblem.CANNOT_OPEN
    assert created.value.problem is StorageProblem.READ_ONLY


def test_a_lock_held_too_long_is_a_storage_error_and_the_next_write_works(data_dir: Path) -> None:
    with Cache(data_dir, busy_timeout_ms=50) as cache:
        other = sqlite3.connect(database_path(data_dir), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageError, match="locked") as caught:
            cache.create("clients", {"name": "Ada"})
        assert caught.value.problem is StorageProblem.LOCKED
        other.execute("ROLLBACK")
        other.close()

        cache.create("clients", {"name": "Ada"})
        assert cache.counts().pending == 1


def test_a_damaged_file_and_a_file_in_place_of_the_folder_are_reported(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    database_path(damaged).write_bytes(b"not a database at all " * 200)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")

    db = Database(database_path(damaged))  # below the Cache, which would rebuild it (test_recovery)
    try:
        with pytest.raises(StorageError, match="not a Branchsync database") as bad_file, db.read() as conn:
            conn.exec_driver_sql("SELECT * FROM sqlite_master")
    finally:
        db.close()
    with pytest.raises(StorageError, match="data folder cannot be used"):
        Cache(not_a_folder)

    assert bad_file.value.problem is StorageProblem.DAMAGED


def test_our_own_sql_mistakes_are_not_dressed_up_as_storage_errors(data_dir: Path) -> None:
    Cache(data_dir).close()
    db = Database(database_path(data_dir))
    try:
        with pytest.raises(sa_exc.OperationalError), db.read() as conn:
            conn.exec_driver_sql("SELEC nonsense")
        with db.read() as conn:  # the connection went back to the pool clean
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        db.close()
    assert classify(ValueError("bug")) is None


def test_a_new_cache_file_is_readable_by_its_user_only_even_in_an_open_folder(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    previous = os.umask(0o022)
    try:
        cache = Cache(folder)
        try:
            cache.create("clients", {"name": "Ada Private"})
            files = [database_path(folder), *folder.glob("*-wal"), *folder.glob("*-shm")]
            assert len(files) == 3
            assert {path.name: oct(path.stat().st_mode & 0o777) for path in files} == {
                path.name: oct(0o600) for path in files
            }
        finally:
            cache.close()
    finally:
        os.umask(previous)
