"""Shared set-up of the engine benchmarks: a scratch database, a real server process, desktop PCs.

Not a benchmark itself (the leading underscore keeps it apart from the scripts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop.cache import Cache  # noqa: E402
from desktop.sync.enrollment import enroll_device  # noqa: E402
from protocol.hlc import HybridLogicalClock  # noqa: E402
from tests.support import postgres  # noqa: E402
from tests.support.devices import Device, enrolled_device, issue_code  # noqa: E402
from tests.support.server_process import server_processes  # noqa: E402

__all__ = [
    "Bench",
    "bench_server",
    "client_fields",
    "machine_line",
    "push_bodies",
    "push_raw",
    "run_bench",
    "verdict",
]


@dataclass
class Bench:
    """A running server on a scratch database, and a folder for desktop data dirs."""

    url: str
    database_url: str
    folder: Path

    async def installation(self, name: str) -> Cache:
        """A new desktop installation, enrolled (its cache; close it when done)."""
        cache = Cache(self.folder / name)
        await enroll_device(cache, self.url, await issue_code(self.database_url, "Bench"), name)
        return cache

    async def device(self, name: str) -> Device:
        """A bare enrolled device, for pushing or pulling without the engine."""
        return await enrolled_device(self.url, self.database_url, "Bench", name)


@asynccontextmanager
async def bench_server(admin_url: str, profile: Path | None = None) -> AsyncIterator[Bench]:
    """``branchsync-server serve`` as a real process on a scratch database, dropped afterwards.

    With ``profile``, the server runs under cProfile and writes its stats there when it stops.
    """
    database_url = await postgres.create_database(admin_url)
    options = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
    try:
        with (
            server_processes(database_url, python_options=options) as (server,),
            tempfile.TemporaryDirectory() as folder,
        ):
            yield Bench(server.url, database_url, Path(folder))
    finally:
        await postgres.drop_database(admin_url, database_url)


def client_fields(i: int) -> dict[str, Any]:
    return {
        "name": f"Client {i:07d}",
        "phone": f"+44 20 7946 {i % 10_000:04d}",
        "email": f"client{i}@example.com",
    }


def new_row(clock: HybridLogicalClock, fields: dict[str, Any]) -> dict[str, Any]:
    """A create as a desktop pushes it: its base says no key had a value yet."""
    return {
        "id": str(uuid.uuid4()),
        "collection": "clients",
        "row_id": str(uuid.uuid4()),
        "op": "upsert",
        "fields": fields,
        "hlc": clock.now(),
        "base": dict.fromkeys([*fields, "_deleted"]),
    }


def push_bodies(device: Device, count: int, batch: int = 500) -> list[bytes]:
    """Pre-encoded push bodies creating ``count`` new clients, ``batch`` per push."""
    clock = HybridLogicalClock(device.id)
    bodies = []
    for start in range(0, count, batch):
        mutations = [
            {
                "id": str(uuid.uuid4()),
                "collection": "clients",
                "row_id": str(uuid.uuid4()),
                "op": "upsert",
                "fields": client_fields(i),
                "hlc": clock.now(),
            }
            for i in range(start, min(count, start + batch))
        ]
        bodies.append(json.dumps({"mutations": mutations}).encode())
    return bodies


async def push_raw(url: str, device: Device, bodies: list[bytes]) -> float:
    """Seconds to push ``bodies`` one after the other with a bare httpx client."""
    headers = {**device.headers, "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        started = time.perf_counter()
        for body in bodies:
            answer = await http.post("/api/v1/sync/push", content=body, headers=headers)
            answer.raise_for_status()
        return time.perf_counter() - started


def run_bench(
    doc: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace, str], Coroutine[Any, Any, int]],
) -> int:
    """Parse the arguments (``--admin-url`` included) and run ``run(args, admin_url)``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--admin-url", help="superuser URL of the PostgreSQL to use (default: the local one)")
    args = parser.parse_args()
    if args.admin_url is not None:
        return asyncio.run(run(args, args.admin_url))
    with postgres.admin_url() as admin:
        return asyncio.run(run(args, admin))


def verdict(met: bool, goal_s: float, share_of_floor: float) -> int:
    """Print whether the goal was met; the exit code says it too."""
    print(
        f"  goal < {goal_s:.1f} s: {'met' if met else 'NOT met'}; engine at {share_of_floor:.0%} of the floor"
    )
    return 0 if met else 1


def machine_line() -> str:
    return (
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
