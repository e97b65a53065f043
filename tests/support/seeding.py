"""Seeding a cache with rows as if pulled from the server (the sample data of the demo)."""

from __future__ import annotations

import uuid
from typing import Any

from desktop.cache import Cache
from desktop.demo.sample_data import pulled_changes, sample_clients

__all__ = ["seed_clients", "seed_rows"]


def seed_rows(
    cache: Cache, collection: str, rows: list[tuple[str, dict[str, Any]]], *, first_seq: int = 1
) -> None:
    """``rows`` (id, fields) as if pulled from the server, 5000 per transaction."""
    for start in range(0, len(rows), 5000):
        changes = pulled_changes(collection, rows[start : start + 5000], first_seq=first_seq + start)
        cache.apply_changes(changes, first_seq + start + len(changes) - 1)


def seed_clients(cache: Cache, count: int, *, seed: int = 0, first_seq: int = 1) -> list[str]:
    """``count`` sample clients as if pulled from the server; their ids, in creation order."""
    rows = [(str(uuid.uuid4()), fields) for fields in sample_clients(count, seed=seed)]
    seed_rows(cache, "clients", rows, first_seq=first_seq)
    return [row_id for row_id, _ in rows]
