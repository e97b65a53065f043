"""A new PC's first sync from the server's bulk snapshot, against a real server and real SQLite."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from desktop.cache import Key
from desktop.sync.actions import Outcome
from desktop.sync.enrollment import endpoint_for
from protocol.snapshot import SnapshotDecoder
from protocol.wire import SNAPSHOT_PATH
from server.settings import Settings
from tests.support.desktop_engine import Installation, enrolled_installation, wait_until
from tests.support.live_server import LiveServer, live_server

SNAPSHOT_LOG = "from the server's snapshot"


def _rows(installation: Installation, collection: str) -> dict[str, tuple[object, ...]]:
    return {
        record.id: (dict(record.fields), dict(record.clocks), record.deleted)
        for record in installation.cache.list_rows(collection, limit=None, include_deleted=True)
    }


def test_a_new_pc_loads_the_snapshot_then_pulls_what_came_after(
    north: Installation, south: Installation, caplog: pytest.LogCaptureFixture
) -> None:
    ada = north.cache.create(
        "clients", {"name": "Ada Lovelace", "phone": "+44 20 7946 0000", "tags": ["vip", "née"]}
    )
    gone = north.cache.create("clients", {"name": "Gone Soon", "notes": "tab\there\nline \\ back"})
    north.cache.create(
        "appointments",
        {"client_id": ada, "starts_at": "2026-12-02T09:30:00+00:00", "duration_min": 30, "service": "Cut"},
    )
    north.cache.delete("clients", gone)
    assert north.sync_once() is Outcome.SYNCED
    with caplog.at_level(logging.INFO, logger="desktop.sync.bootstrap"):
        assert south.sync_once() is Outcome.SYNCED
    assert any(SNAPSHOT_LOG in r.getMessage() for r in caplog.records)
    for collection in ("clients", "appointments"):
        assert _rows(south, collection) == _rows(north, collection)
    assert south.cache.state().cursor == north.cache.state().cursor
    assert south.cache.count("clients", search="lovelace") == 1


def test_a_new_pc_running_continuously_starts_from_the_snapshot(
    north: Installation, south: Installation, caplog: pytest.LogCaptureFixture
) -> None:
    with north.cache.batch() as writer:
        for n in range(300):
            writer.create("clients", {"name": f"client {n}"})
    assert north.sync_once() is Outcome.SYNCED
    with caplog.at_level(logging.INFO, logger="desktop.sync.bootstrap"):
        south.start()
        south.wait_synced(cursor=300)
    assert any(SNAPSHOT_LOG in r.getMessage() for r in caplog.records)
    assert south.cache.count("clients") == 300
    row_id = north.cache.create("clients", {"name": "After the snapshot"})
    north.start()
    wait_until(lambda: south.cache.get("clients", row_id) is not None, 10, "a live change after it")


def test_rows_that_change_while_the_snapshot_streams_come_with_the_next_pull(
    north: Installation, south: Installation, sync_server: LiveServer
) -> None:
    """The snapshot holds every row as of its ``seq``, whatever commits while it streams (the
    server may have read them before or after those commits: REPEATABLE READ answers the
    same); the pull from its ``seq`` then brings exactly those commits, nothing skipped or
    doubled."""
    keep, edit, drop = (north.cache.create("clients", {"name": f"Before {n}"}) for n in range(3))
    assert north.sync_once() is Outcome.SYNCED
    endpoint = endpoint_for(south.cache)
    decoder, chunks = SnapshotDecoder(), []
    headers = {"Authorization": f"Bearer {endpoint.token}"}
    with (
        httpx.Client(base_url=sync_server.url, headers=headers, timeout=30) as http,
        http.stream("GET", SNAPSHOT_PATH) as answer,
    ):
        stream = answer.iter_raw()
        for chunk in stream:
            chunks.append(chunk)
            if decoder.feed(chunk) and decoder.header is not None:
                break  # the server holds its snapshot now: commit during the stream
        north.cache.update("clients", edit, {"name": "After"})
        north.cache.delete("clients", drop)
        added = north.cache.create("clients", {"name": "New"})
        assert north.sync_once() is Outcome.SYNCED
        chunks.extend(stream)
    header = decoder.header
    assert header is not None and header.seq == 3
    south.cache.set_state({Key.EPOCH: header.epoch})  # what the engine's first answer sets
    loaded = south.cache.load_snapshot(chunks)
    assert loaded.rows == 3
    assert south.cache.get("clients", edit).fields["name"] == "Before 1"  # type: ignore[union-attr]
    assert south.cache.get("clients", added) is None
    assert south.sync_once() is Outcome.SYNCED  # not blank any more: pulls from 3
    for collection in ("clients", "appointments"):
        assert _rows(south, collection) == _rows(north, collection)
    assert south.cache.get("clients", drop) is None and south.cache.get("clients", keep) is not None
    assert south.cache.state().cursor == north.cache.state().cursor == 6


def test_a_server_without_snapshots_fills_a_new_pc_page_by_page(
    north: Installation, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    north.cache.create("clients", {"name": "Ada Lovelace"})
    assert north.sync_once() is Outcome.SYNCED
    older = Settings(database_url=database_url, snapshot_enabled=False)  # answers 404, as before it
    with (
        live_server(older) as server,
        enrolled_installation(server.url, database_url, tmp_path / "late", "South") as late,
        caplog.at_level(logging.INFO, logger="desktop.sync.bootstrap"),
    ):
        assert late.sync_once() is Outcome.SYNCED
        assert _rows(late, "clients") == _rows(north, "clients")
    messages = [r.getMessage() for r in caplog.records]
    assert any("no snapshot from the server (this server offers none" in m for m in messages), messages
    assert not any(SNAPSHOT_LOG in m for m in messages)
