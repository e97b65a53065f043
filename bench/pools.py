"""Connection pools under a burst: connection churn, 503s and latency, per pool setting.

Runs ``branchsync-server serve`` as a real process on a scratch database, enrols
``--devices`` devices, then has them all push one mutation and pull, as fast as they can,
for ``--seconds``: many more requests at once than the pool has connections. Measured
per configuration, in the same run:

* ``overflow`` -- the pool as it was before issue 11: 10 connections + 10 overflow,
  a 30 s pool timeout (overflow connections are opened and closed at every peak);
* ``fixed`` -- the defaults now: 10 connections, no overflow, a 2 s pool timeout;
* ``pgbouncer`` -- ``fixed`` through a private PgBouncer in transaction mode (5 server
  connections), LISTEN and background direct.

Printed for each: requests answered, by status; push latency p50/p99/max; new PostgreSQL
sessions opened during the burst (``pg_stat_database.sessions``, the churn; measured after
a 2 s warm-up burst that fills the pools) and the most connections held at once. Floors:
zero 500s, and ``fixed`` opens no new session during the burst (``overflow`` is the
comparison: its extra connections are opened and closed again at every peak).

Usage::

    python bench/pools.py [--devices 60] [--seconds 10] [--admin-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._engine_setup import machine_line, run_bench  # noqa: E402
from protocol.hlc import HybridLogicalClock  # noqa: E402
from server.store.engine import asyncpg_url  # noqa: E402
from tests.support import postgres  # noqa: E402
from tests.support.devices import Device, enrolled_device  # noqa: E402
from tests.support.pgbouncer import pgbouncer  # noqa: E402
from tests.support.server_process import server_processes  # noqa: E402

CONFIGS: dict[str, dict[str, str]] = {
    "overflow": {"DB_POOL_SIZE": "10", "DB_MAX_OVERFLOW": "10", "DB_POOL_TIMEOUT_S": "30"},
    "fixed": {"DB_POOL_SIZE": "10", "DB_MAX_OVERFLOW": "0", "DB_POOL_TIMEOUT_S": "2"},
    "pgbouncer": {"DB_POOL_SIZE": "10", "DB_MAX_OVERFLOW": "0", "DB_POOL_TIMEOUT_S": "2"},
}


WARM_UP_S = 2.0
"""A first burst, not measured, so every pool holds its fixed connections before counting."""


@dataclass
class Result:
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    """Requests that got no answer (reset, closed), by httpx's name for it."""
    push_s: list[float] = field(default_factory=list)
    new_sessions: int = 0
    peak_connections: int = 0


async def _sessions(conn: asyncpg.Connection) -> int:
    value: int = await conn.fetchval(
        "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
    )
    return value


async def _connections(conn: asyncpg.Connection) -> int:
    value: int = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return value


async def _burst(url: str, devices: list[Device], seconds: float, result: Result) -> None:
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=len(devices) * 2, max_keepalive_connections=len(devices) * 2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:

        async def one(device: Device) -> None:
            clock = HybridLogicalClock(device.id)
            headers = {**device.headers, "content-type": "application/json"}
            while time.monotonic() < deadline:
                body = {
                    "mutations": [
                        {
                            "id": str(uuid.uuid4()),
                            "collection": "clients",
                            "row_id": str(uuid.uuid4()),
                            "op": "upsert",
                            "fields": {"name": "burst"},
                            "hlc": clock.now(),
                        }
                    ]
                }
                started = time.perf_counter()
                try:
                    answer = await http.post("/api/v1/sync/push", content=json.dumps(body), headers=headers)
                    result.push_s.append(time.perf_counter() - started)
                    result.statuses[answer.status_code] += 1
                    if answer.status_code == 503:
                        await asyncio.sleep(
                            float(answer.headers.get("Retry-After", "1"))
                        )  # sleep-ok: as told
                        continue
                    pulled = await http.get(
                        "/api/v1/sync/pull", params={"since": 0, "limit": 1}, headers=headers
                    )
                    result.statuses[pulled.status_code] += 1
                except httpx.TransportError as exc:
                    result.transport_errors[type(exc).__name__] += 1

        await asyncio.gather(*(one(device) for device in devices))


async def _measure(name: str, admin_url: str, devices: int, seconds: float) -> Result:
    database_url = await postgres.create_database(admin_url)
    result = Result()
    try:
        with ExitStack() as stack:
            settings = {**CONFIGS[name], "ENROLL_BURST": "1000"}
            api_url = database_url
            if name == "pgbouncer":
                bouncer = stack.enter_context(pgbouncer(database_url, pool_size=5))
                api_url = bouncer.url_for(database_url)
                settings |= {"LISTEN_DATABASE_URL": database_url, "DB_PREPARED_STATEMENTS": "false"}
            (server,) = stack.enter_context(server_processes(api_url, 1, **settings))
            enrolled = [
                await enrolled_device(server.url, database_url, "Bench", f"PC {n}") for n in range(devices)
            ]
            await _burst(server.url, enrolled, WARM_UP_S, Result())  # the pools fill up
            watcher = await asyncpg.connect(asyncpg_url(database_url))
            try:
                before = await _sessions(watcher)
                burst = asyncio.create_task(_burst(server.url, enrolled, seconds, result))
                while not burst.done():
                    result.peak_connections = max(result.peak_connections, await _connections(watcher))
                    await asyncio.wait([burst], timeout=0.1)
                await burst
                await asyncio.sleep(1.5)  # sleep-ok: backends report their session counts about once a second
                result.new_sessions = await _sessions(watcher) - before
            finally:
                await watcher.close()
    finally:
        await postgres.drop_database(admin_url, database_url)
    return result


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _run(args: argparse.Namespace, admin_url: str) -> int:
    print(machine_line())
    print(f"{args.devices} devices, each push 1 mutation + pull in a loop for {args.seconds:.0f} s; pool 10")
    failed = False
    for name in args.configs:
        result = await _measure(name, admin_url, args.devices, args.seconds)
        statuses = ", ".join(
            [f"{status}: {n}" for status, n in sorted(result.statuses.items())]
            + [f"{kind}: {n}" for kind, n in sorted(result.transport_errors.items())]
        )
        p50 = statistics.median(result.push_s) * 1000 if result.push_s else 0.0
        print(
            f"  {name:<10} {statuses}; push p50 {p50:.0f} ms, p99 {_ms(result.push_s, 0.99):.0f} ms,"
            f" max {max(result.push_s, default=0) * 1000:.0f} ms;"
            f" new PostgreSQL sessions {result.new_sessions}, peak connections {result.peak_connections}"
        )
        if result.statuses[500] or result.transport_errors:
            print(
                f"    FLOOR NOT MET: {result.statuses[500]} answers were 500;"
                f" unanswered: {dict(result.transport_errors)}"
            )
            failed = True
        if name == "fixed" and result.new_sessions > 0:
            print(f"    FLOOR NOT MET: {result.new_sessions} connections opened during the burst")
            failed = True
    print(
        "  floors: no 500 and no unanswered request anywhere;"
        " 'fixed' opens no new sessions during the burst, 'overflow' does"
    )
    return 1 if failed else 0


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))


if __name__ == "__main__":
    raise SystemExit(run_bench(__doc__ or "", _arguments, _run))
