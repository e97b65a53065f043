"""A tiny sync client for integration tests: builds mutations, pushes, pulls to the end.

It speaks the wire contract with httpx exactly as the desktop engine does, so the
tests exercise the server the way a branch PC would.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from protocol.hlc import HybridLogicalClock
from protocol.messages import Mutation
from tests.support.devices import Device

__all__ = ["mutation", "mutation_model", "pull_all", "push", "stamper"]


def stamper(device: Device | str) -> HybridLogicalClock:
    """A clock stamping as ``device`` (its id is the HLC node)."""
    return HybridLogicalClock(device if isinstance(device, str) else device.id)


def mutation(
    hlc: str,
    fields: dict[str, Any] | None = None,
    *,
    collection: str = "clients",
    row_id: uuid.UUID | str | None = None,
    op: str = "upsert",
    mutation_id: uuid.UUID | str | None = None,
) -> dict[str, Any]:
    """One mutation as JSON (new ids unless given)."""
    return {
        "id": str(mutation_id or uuid.uuid4()),
        "collection": collection,
        "row_id": str(row_id or uuid.uuid4()),
        "op": op,
        "fields": fields or {},
        "hlc": hlc,
    }


def mutation_model(hlc: str, fields: dict[str, Any] | None = None, **options: Any) -> Mutation:
    """``mutation`` as the server's model, for tests that call the write path directly."""
    return Mutation.model_validate(mutation(hlc, fields, **options))


async def push(client: httpx.AsyncClient, device: Device, mutations: list[dict[str, Any]]) -> dict[str, Any]:
    """Push a batch; returns the answer body (asserts 200)."""
    answer = await client.post("/api/v1/sync/push", json={"mutations": mutations}, headers=device.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def pull_all(
    client: httpx.AsyncClient, device: Device, since: int = 0, limit: int = 1000
) -> tuple[list[dict[str, Any]], int]:
    """Pull until caught up; returns every change and the final cursor."""
    changes: list[dict[str, Any]] = []
    cursor = since
    while True:
        answer = await client.get(
            "/api/v1/sync/pull", params={"since": cursor, "limit": limit}, headers=device.headers
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        changes.extend(body["changes"])
        cursor = body["cursor"]
        if not body["has_more"]:
            return changes, cursor
