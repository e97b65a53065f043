"""Enrolled devices for integration tests, made the way IT makes them.

The branch and code come from ``server.ops.admin`` (what the CLI runs); the device is then
enrolled over HTTP against the live server, exactly as the desktop app does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx

from protocol.version import PROTOCOL_HEADER, PROTOCOL_VERSION
from server.ops import admin
from server.store.engine import create_engine

__all__ = [
    "Device",
    "enrolled_device",
    "enrolled_device_sync",
    "issue_code",
    "protocol_headers",
    "set_branch_zones",
]


def protocol_headers(token: str | None = None) -> dict[str, str]:
    """The headers every client request carries (with the bearer token when given)."""
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


@dataclass(frozen=True)
class Device:
    """An enrolled device: ``headers`` authenticate it and name the protocol version."""

    id: str
    token: str
    branch_id: str
    branch: str
    epoch: str
    headers: dict[str, str] = field(repr=False)


async def issue_code(database_url: str, branch: str = "North") -> str:
    """A fresh enrolment code for ``branch``, creating the branch when it does not exist."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            if await admin.find_branch(conn, branch) is None:
                await admin.create_branch(conn, branch)
            (issued,) = await admin.issue_codes(conn, branch)
    finally:
        await engine.dispose()
    return issued.code


async def set_branch_zones(database_url: str, zones: dict[str, str]) -> None:
    """Give existing branches their time zones, as ``branchsync-server branch update --timezone`` does."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for name, zone in zones.items():
                await admin.update_branch(conn, name, timezone=zone)
    finally:
        await engine.dispose()


async def enrolled_device(
    server_url: str, database_url: str, branch: str = "North", name: str = "Front desk"
) -> Device:
    """Enrol a new device of ``branch`` on the server at ``server_url``.

    The server must be running (it migrates the database on start).
    """
    code = await issue_code(database_url, branch)
    async with httpx.AsyncClient(base_url=server_url, timeout=10) as client:
        answer = await client.post(
            "/api/v1/enroll", json={"code": code, "device_name": name}, headers=protocol_headers()
        )
    answer.raise_for_status()
    body = answer.json()
    return Device(
        id=body["device_id"],
        token=body["token"],
        branch_id=body["branch"]["id"],
        branch=body["branch"]["name"],
        epoch=body["epoch"],
        headers=protocol_headers(body["token"]),
    )


def enrolled_device_sync(
    server_url: str, database_url: str, branch: str = "North", name: str = "Front desk"
) -> Device:
    """``enrolled_device`` for synchronous tests (no event loop may be running)."""
    return asyncio.run(enrolled_device(server_url, database_url, branch, name))
