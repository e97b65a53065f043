"""The file itself: pragmas, schema version, columns derived from the protocol, upgrades."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop.cache import Cache, StorageError, StorageProblem, writes
from desktop.cache.db import Database
from desktop.cache.migrations import SCHEMA_VERSION, STEPS
from desktop.cache.state import Key, write_values
from desktop.config.paths import database_path
from protocol.collections import COLLECTIONS
from protocol.messages import BranchInfo, DirectoryResponse
from tests.unit.cache.helpers import FakeWall


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def test_a_new_file_is_wal_full_sync_versioned_and_mirrors_the_protocol(cache: Cache) -> None:
    conn = sqlite3.connect(cache.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        for name, collection in COLLECTIONS.items():
            assert _columns(conn, name) == ["pk", "id", *collection.field_names, "clocks", "deleted"]
            searchable = [f.name for f in collection.fields if f.searchable]
            assert _columns(conn, f"{name}_fts") == searchable
        assert {"outbox", "rejected", "conflicts", "sync_state"} <= {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    finally:
        conn.close()
    db = Database(cache.path)
    try:
        with db.read() as session:
            assert session.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
            assert session.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert session.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000
    finally:
        db.close()


def test_reopening_keeps_rows_queue_and_identity(data_dir: Path) -> None:
    with Cache(data_dir, wall_ms=FakeWall()) as cache:
        row_id = cache.create("clients", {"name": "Ada"})
        node = cache.state().local_node
    with Cache(data_dir, wall_ms=FakeWall()) as cache:
        assert cache.get("clients", row_id) is not None
        assert cache.pending_count() == 1 and cache.state().local_node == node


def test_a_file_from_a_newer_version_is_refused_untouched(data_dir: Path) -> None:
    Cache(data_dir).close()
    path = database_path(data_dir)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()

    with pytest.raises(StorageError, match="newer version") as caught:
        Cache(data_dir)

    assert caught.value.problem is StorageProblem.TOO_NEW
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    conn.close()


def test_record_tables_catch_up_with_fields_the_protocol_gained(data_dir: Path) -> None:
    with Cache(data_dir) as cache:
        row_id = cache.create("clients", {"name": "Ada", "notes": "likes tea"})
    conn = sqlite3.connect(database_path(data_dir))  # make it look like an older release's file
    conn.executescript(
        """
        DROP TRIGGER clients_fts_ai; DROP TRIGGER clients_fts_ad; DROP TRIGGER clients_fts_au;
        DROP TABLE clients_fts;
        CREATE VIRTUAL TABLE clients_fts USING fts5(name, content='clients', content_rowid='pk');
        DROP INDEX ix_clients_home_branch_id;
        ALTER TABLE clients DROP COLUMN home_branch_id;
        """
    )
    conn.close()

    with Cache(data_dir) as cache:
        assert cache.count("clients", "tea") == 1  # the index was rebuilt with every searchable field
        cache.update("clients", row_id, {"home_branch_id": "6f1c7e0a-3a57-4d0e-9d7e-1f2a3b4c5d6e"})
        record = cache.get("clients", row_id)
        assert (
            record is not None and record.fields["home_branch_id"] == "6f1c7e0a-3a57-4d0e-9d7e-1f2a3b4c5d6e"
        )
    conn = sqlite3.connect(database_path(data_dir))
    indexes = {row[1] for row in conn.execute("PRAGMA index_list(clients)")}
    conn.close()
    assert "ix_clients_home_branch_id" in indexes


def test_a_version_1_file_gains_the_directory_and_keeps_everything(data_dir: Path) -> None:
    data_dir.mkdir()
    db = Database(database_path(data_dir))  # a file as the first release left it
    try:
        with db.write() as conn:
            STEPS[0](conn)
            conn.exec_driver_sql("PRAGMA user_version = 1")
            write_values(conn, {Key.LOCAL_NODE: "local-1", Key.CURSOR: 7, Key.BRANCH_NAME: "North"})
            row_id = writes.create(conn, FakeWall(), "clients", {"name": "Ada"})
    finally:
        db.close()

    with Cache(data_dir, wall_ms=FakeWall()) as cache:
        state = cache.state()
        assert (state.local_node, state.cursor, state.branch_name) == ("local-1", 7, "North")
        assert cache.get("clients", row_id) is not None and cache.pending_count() == 1
        assert cache.directory().branches == ()
        cache.replace_directory(
            DirectoryResponse(branches=[BranchInfo(id="b-1", name="North", timezone="UTC")])
        )
        assert cache.directory().branch_names() == {"b-1": "North"}
    conn = sqlite3.connect(database_path(data_dir))
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert _columns(conn, "branches") == ["id", "name", "timezone"]
        assert _columns(conn, "devices") == ["id", "name", "branch_id"]
    finally:
        conn.close()


def test_a_write_the_server_can_give_again_skips_the_flush_and_the_next_write_flushes_again(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "cache.sqlite3")
    level = "PRAGMA synchronous"
    try:
        with db.write(durable=False) as session:
            assert session.exec_driver_sql(level).scalar_one() == 1  # NORMAL: no flush at commit
        with db.write() as session:
            assert session.exec_driver_sql(level).scalar_one() == 2  # FULL again on the pooled connection
        with pytest.raises(RuntimeError), db.write(durable=False):
            raise RuntimeError("a failed apply")
        with db.read() as session:
            assert session.exec_driver_sql(level).scalar_one() == 2
    finally:
        db.close()
