"""Branch directory per reconnect: bytes and time, the whole list against a 304.

Every desktop asks for ``GET /api/v1/branches`` each time its socket (re)connects. Before
the ETag, each ask carried the whole directory, which grows with the fleet; now a desktop
sends ``If-None-Match`` with the tag it stored and, when nothing changed, gets
``304 Not Modified`` with no body.

Runs ``branchsync-server serve`` as a real process on a scratch PostgreSQL database with
``--branches`` branches and ``--devices`` devices (default 200 and 2,000, written
straight into the tables), and measures, from the desktop's own HTTP client
(``SyncHttpClient``, answers parsed as the engine parses them):

- before: the whole list (what every reconnect cost before, and what a desktop without
  a stored tag, or an old desktop, still gets);
- after: the same request with ``If-None-Match`` (a 304);
- floor, in the same run: ``GET /healthz`` on the same connection, the least any request
  to this server costs (no token check, no database).

and, in-process on one database connection, the server's cost of producing the tag
against reading the list. Medians of ``--requests`` requests each; bytes are the answer's
status line, headers and body as received.

Usage::

    python bench/directory.py [--devices 2000] [--branches 200] [--requests 200] [--admin-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop.sync.http_client import SyncHttpClient  # noqa: E402
from protocol.wire import BRANCHES_PATH  # noqa: E402
from server.identity.branch_directory import directory_etag, read_directory  # noqa: E402
from server.store.engine import create_engine  # noqa: E402
from tests.support import postgres  # noqa: E402
from tests.support.devices import Device, enrolled_device  # noqa: E402
from tests.support.server_process import server_processes  # noqa: E402

ZONES = ["Europe/Vienna", "Europe/London", "America/New_York", "Asia/Tokyo", None]
ROLES = ["Reception PC", "Front desk", "Back office", "Till", "Manager laptop"]


async def _seed(database_url: str, branches: int, devices: int) -> None:
    """``branches`` branches and ``devices`` devices (one in 20 revoked), as a fleet that grew."""
    conn = await asyncpg.connect(database_url)
    try:
        branch_ids = [uuid.uuid4() for _ in range(branches)]
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO branches (id, name, timezone) VALUES ($1, $2, $3)",
                [(b, f"Branch {i + 2:04d}", ZONES[i % len(ZONES)]) for i, b in enumerate(branch_ids)],
            )
            await conn.executemany(
                "INSERT INTO devices (id, name, branch_id, token_hash, revoked_at)"
                " VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)",
                [
                    (
                        uuid.uuid4(),
                        f"{ROLES[i % len(ROLES)]} {i // len(ROLES) + 1}",
                        branch_ids[i % branches],
                        hashlib.sha256(f"bench-{i}".encode()).digest(),
                        i % 20 == 19,
                    )
                    for i in range(devices)
                ],
            )
    finally:
        await conn.close()


def _wire_bytes(answer: httpx.Response) -> int:
    status_line = len(f"HTTP/1.1 {answer.status_code} {answer.reason_phrase}\r\n")
    headers = sum(len(k) + len(v) + 4 for k, v in answer.headers.raw) + 2
    return status_line + headers + len(answer.content)


async def _median_ms(requests: int, call: Callable[[], Awaitable[object]]) -> float:
    for _ in range(5):  # warm up: connection, caches
        await call()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def _over_http(url: str, device: Device, requests: int) -> dict[str, tuple[float, int]]:
    """Per request kind: (median ms from the desktop's client, bytes received)."""
    async with (
        SyncHttpClient(url, device.token) as client,
        httpx.AsyncClient(base_url=url, headers=device.headers) as raw,
    ):
        whole = await client.directory_if_changed(None)
        assert whole.directory is not None and whole.etag is not None
        tag = whole.etag

        async def full() -> None:
            assert (await client.directory_if_changed(None)).directory is not None

        async def conditional() -> None:
            assert (await client.directory_if_changed(tag)).directory is None

        async def floor() -> None:
            assert (await client._client.get("/healthz")).status_code == 200  # the same pool

        sizes = {
            "full": _wire_bytes(await raw.get(BRANCHES_PATH)),
            "304": _wire_bytes(await raw.get(BRANCHES_PATH, headers={"If-None-Match": tag})),
            "floor": _wire_bytes(await raw.get("/healthz")),
        }
        results = {}
        for name, call in (("full", full), ("304", conditional), ("floor", floor)):
            results[name] = (await _median_ms(requests, call), sizes[name])
        return results


async def _in_process(database_url: str, requests: int) -> tuple[float, float]:
    """Median ms on one connection: (producing the tag, reading the whole list)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:

            async def tag() -> None:
                await directory_etag(conn)

            async def listing() -> None:
                (await read_directory(conn)).model_dump_json()

            return await _median_ms(requests, tag), await _median_ms(requests, listing)
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace, admin: str) -> int:
    database_url = await postgres.create_database(admin)
    try:
        with server_processes(database_url, rate_per_s="1000000", rate_burst="1000000") as (server,):
            device = await enrolled_device(server.url, database_url, "Branch 0001", "Bench PC")
            await _seed(database_url, args.branches - 1, args.devices - 1)
            http = await _over_http(server.url, device, args.requests)
        tag_ms, list_ms = await _in_process(database_url, args.requests)
    finally:
        await postgres.drop_database(admin, database_url)
    print(f"branch directory per reconnect, {args.branches:,} branches, {args.devices:,} devices")
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"load {os.getloadavg()[0]:.1f}; medians of {args.requests} requests"
    )
    labels = {
        "full": "before: whole list (no If-None-Match)",
        "304": "after: If-None-Match, unchanged (304)",
        "floor": "floor: GET /healthz, same connection",
    }
    for name, (ms, size) in http.items():
        print(f"  {labels[name]:<40} {ms:8.2f} ms  {size:>9,} bytes")
    full_ms, full_bytes = http["full"]
    ms304, bytes304 = http["304"]
    print(
        f"  a reconnect costs {ms304 / full_ms:.1%} of the time and {bytes304 / full_bytes:.2%} of the "
        f"bytes it did; the 304 is {ms304 / http['floor'][0]:.1f}x the floor"
    )
    herd = args.devices
    print(
        f"  a herd of {herd:,} reconnecting: {herd * full_bytes / 2**20:,.1f} MiB before, "
        f"{herd * bytes304 / 2**20:,.2f} MiB after"
    )
    print(
        f"  server side, one connection: producing the tag {tag_ms:.2f} ms, "
        f"reading and encoding the list {list_ms:.2f} ms"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=2000, help="devices in the directory (default 2000)")
    parser.add_argument("--branches", type=int, default=200, help="branches (default 200)")
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement (default 200)")
    parser.add_argument("--admin-url", help="superuser URL of the PostgreSQL to use")
    args = parser.parse_args()
    if args.admin_url is not None:
        return asyncio.run(run(args, args.admin_url))
    with postgres.admin_url() as admin:
        return asyncio.run(run(args, admin))


if __name__ == "__main__":
    sys.exit(main())
