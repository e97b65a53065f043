"""A new PC's first sync from the server's bulk snapshot, against a real server and real SQLite."""

from __future__ import annotations

import logging

import pytest

from desktop.sync.actions import Outcome
from tests.support.desktop_engine import Installation

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
