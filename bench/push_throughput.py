"""Push throughput: new-row mutations per second in 500-mutation pushes.

Runs ``branchsync-server serve`` (``python -m server``) as a real process on a scratch PostgreSQL database,
enrols a device and pushes batches of 500 new clients over HTTP, as a branch
replaying a long outbox does (the request bodies are encoded before the clock
starts, so the figure is the server's). Each push is one transaction: validation,
merge, change numbers under the write lock, typed rows, stored answers, ``NOTIFY``.

In the same run, the floor: the same rows written by a plain asyncpg ``executemany``
INSERT into the same table, one transaction per 500 rows — what PostgreSQL alone
costs, with no HTTP, JSON, validation or merge.

Usage::

    python bench/push_throughput.py [--pushes 40] [--batch 500] [--admin-url URL]

``--admin-url`` is a superuser URL of the PostgreSQL to use (default: the local
server at 127.0.0.1:5432, else an embedded one); a scratch database is made there and
dropped after. Goal: >= 5,000 new-row mutations/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _engine_setup import new_row  # noqa: E402

from protocol.hlc import HybridLogicalClock  # noqa: E402
from tests.support import postgres  # noqa: E402
from tests.support.devices import Device, enrolled_device  # noqa: E402
from tests.support.server_process import server_processes  # noqa: E402

GOAL = 5_000.0


def _fields(i: int) -> dict[str, Any]:
    return {
        "name": f"Client {i:07d}",
        "phone": f"+44 20 7946 {i % 10_000:04d}",
        "email": f"client{i}@example.com",
        "tags": ["bench", "new"],
    }


def _bodies(device: Device, pushes: int, batch: int, start: int) -> list[bytes]:
    """Encoded push bodies of ``batch`` new clients each."""
    clock = HybridLogicalClock(device.id)
    bodies = []
    for p in range(pushes):
        mutations = [new_row(clock, _fields(start + p * batch + i)) for i in range(batch)]
        bodies.append(json.dumps({"mutations": mutations}).encode())
    return bodies


async def _push_all(
    url: str, device: Device, bodies: list[bytes], concurrency: int
) -> tuple[float, list[float]]:
    """Send every body with ``concurrency`` pushes in flight; (seconds, per-push seconds)."""
    headers = {**device.headers, "content-type": "application/json"}
    queue = list(reversed(bodies))
    latencies: list[float] = []

    async def worker(http: httpx.AsyncClient) -> None:
        while queue:
            body = queue.pop()
            started = time.perf_counter()
            answer = await http.post("/api/v1/sync/push", content=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            answer.raise_for_status()
            statuses = {r["status"] for r in answer.json()["results"]}
            assert statuses == {"applied"}, statuses

    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        await http.get("/healthz")
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


async def _floor(database_url: str, device: Device, pushes: int, batch: int, start: int) -> float:
    """Rows/s of a raw asyncpg executemany INSERT of the same rows (one transaction per batch)."""
    stamp = HybridLogicalClock(device.id).now()
    conn = await asyncpg.connect(database_url)
    try:
        batches = [
            [
                (
                    uuid.uuid4(),
                    *(_fields(start + p * batch + i)[k] for k in ("name", "phone", "email", "tags")),
                    json.dumps(dict.fromkeys(("name", "phone", "email", "tags", "_deleted"), stamp)),
                    uuid.UUID(device.id),
                    uuid.UUID(device.branch_id),
                )
                for i in range(batch)
            ]
            for p in range(pushes)
        ]
        insert = (
            "INSERT INTO clients (id, name, phone, email, tags, clocks, deleted, seq,"
            " updated_by_device, updated_by_branch)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb, false, nextval('change_seq'), $7, $8)"
        )
        started = time.perf_counter()
        for rows in batches:
            async with conn.transaction():
                await conn.executemany(insert, rows)
        return pushes * batch / (time.perf_counter() - started)
    finally:
        await conn.close()


async def run(args: argparse.Namespace, admin: str) -> int:
    database_url = await postgres.create_database(admin)
    try:
        with server_processes(database_url) as (server,):
            url = server.url
            device = await enrolled_device(url, database_url, "Bench")
            await _push_all(url, device, _bodies(device, 2, args.batch, 0), 1)  # warm up
            results = {}
            offset = 2 * args.batch
            for concurrency in args.concurrency:
                bodies = _bodies(device, args.pushes, args.batch, offset)
                offset += args.pushes * args.batch
                results[concurrency] = await _push_all(url, device, bodies, concurrency)
        floor = await _floor(database_url, device, args.pushes, args.batch, offset)
    finally:
        await postgres.drop_database(admin, database_url)
    print(f"push throughput, {args.pushes} pushes of {args.batch} new clients each")
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    best = 0.0
    for concurrency, (seconds, latencies) in results.items():
        rate = args.pushes * args.batch / seconds
        best = max(best, rate)
        print(
            f"  branchsync, {concurrency} push(es) in flight: {rate:8,.0f} mutations/s"
            f"  (push p50 {statistics.median(latencies) * 1000:.0f} ms,"
            f" max {max(latencies) * 1000:.0f} ms)"
        )
    print(f"  floor, raw asyncpg executemany INSERT: {floor:8,.0f} rows/s")
    print(
        f"  goal >= {GOAL:,.0f}/s: {'met' if best >= GOAL else 'NOT met'}; "
        f"branchsync at {best / floor:.0%} of the floor"
    )
    return 0 if best >= GOAL else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pushes", type=int, default=40, help="pushes per measurement (default 40)")
    parser.add_argument("--batch", type=int, default=500, help="mutations per push (default 500)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2], help="pushes in flight")
    parser.add_argument("--admin-url", help="superuser URL of the PostgreSQL to use")
    args = parser.parse_args()
    if args.admin_url is not None:
        return asyncio.run(run(args, args.admin_url))
    with postgres.admin_url() as admin:
        return asyncio.run(run(args, admin))


if __name__ == "__main__":
    sys.exit(main())
