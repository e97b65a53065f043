"""Propagation latency: one device pushes, N devices' sockets receive the change.

Runs ``branchsync-server serve`` as a real process on a fresh PostgreSQL database,
enrols N + 1 devices, opens N sync sockets and pushes single-mutation writes one at a
time, measuring from just before the push request to the moment the LAST of the N
sockets has the ``changes`` frame. In the same run, write by write in turn with it,
the floor: a plain ``websockets`` server process whose asyncpg listener broadcasts
each raw PostgreSQL ``NOTIFY`` to another N sockets, measured from just before the
``NOTIFY``. Taking turns makes both see the same machine while other work on it
comes and goes.

Both sides use the same client code (one event loop holding every socket, each frame
parsed as JSON; uvloop where installed, as uvicorn uses), so the ratio shows what
Branchsync's path adds: HTTP, authentication, validation, merge, the durable commit,
reading the change back and the per-socket queues.

Usage::

    python bench/propagation.py [--sockets 200] [--writes 300] [--admin-url URL]

``--admin-url`` is a superuser URL of the PostgreSQL to use (default: the one the
tests find: the local server at 127.0.0.1:5432, else an embedded one); a scratch
database is made there and dropped after.
Goal: p99 under 40 ms at 200 sockets and within 3x of the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection, broadcast, serve

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from protocol.hlc import HybridLogicalClock  # noqa: E402
from tests.support import postgres  # noqa: E402
from tests.support.devices import Device, enrolled_device  # noqa: E402
from tests.support.live_server import free_port  # noqa: E402
from tests.support.server_process import server_processes  # noqa: E402
from tests.support.sync_socket import WS_PATH  # noqa: E402

T = TypeVar("T")

GOAL_P99_MS = 40.0
GOAL_RATIO = 3.0
FLOOR_CHANNEL = "bench_floor"


# ---- arrivals: when did the last socket get frame k? -------------------------------


class Arrivals:
    """Arrival times per frame key, and a way to wait until every socket has one."""

    def __init__(self, sockets: int) -> None:
        self.sockets = sockets
        self._times: dict[int, list[float]] = defaultdict(list)
        self._complete: dict[int, asyncio.Event] = defaultdict(asyncio.Event)

    def arrived(self, key: int) -> None:
        times = self._times[key]
        times.append(time.perf_counter())
        if len(times) == self.sockets:
            self._complete[key].set()

    async def last(self, key: int, timeout: float = 30.0) -> float:
        """When the last socket received frame ``key``."""
        await asyncio.wait_for(self._complete[key].wait(), timeout)
        return max(self._times.pop(key))


FrameKey = Callable[[dict[str, Any]], int | None]
"""Which write a received frame belongs to (None: not a frame we time)."""


async def _read(ws: ClientConnection, arrivals: Arrivals, key: FrameKey) -> None:
    async for message in ws:
        found = key(json.loads(message))
        if found is not None:
            arrivals.arrived(found)


@dataclass
class Target:
    """A system under measurement: how to make write ``i``, and what it measured."""

    write: Callable[[int], Awaitable[int]]
    """Makes write ``i`` and returns the key of the frame that carries it."""
    arrivals: Arrivals
    answered: list[float] = field(default_factory=list)
    """Milliseconds until the write itself returned."""
    received: list[float] = field(default_factory=list)
    """Milliseconds until the last socket had the frame."""
    server_fanout_ms: float | None = None
    """The server's own mean fan-out time per socket, when it reports one."""

    async def timed(self, i: int, measured: bool) -> None:
        started = time.perf_counter()
        key = await self.write(i)
        answered = time.perf_counter()
        done = await self.arrivals.last(key)
        if measured:
            self.answered.append((answered - started) * 1000)
            self.received.append((done - started) * 1000)


@asynccontextmanager
async def _listening(
    count: int, connect: Callable[[], Awaitable[ClientConnection]], key: FrameKey
) -> AsyncIterator[Arrivals]:
    """``count`` open sockets whose frames are timed as they arrive."""
    limit = asyncio.Semaphore(32)

    async def one() -> ClientConnection:
        async with limit:
            return await connect()

    sockets = list(await asyncio.gather(*(one() for _ in range(count))))
    arrivals = Arrivals(count)
    readers = [asyncio.create_task(_read(ws, arrivals, key)) for ws in sockets]
    try:
        yield arrivals
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        await asyncio.gather(*readers, return_exceptions=True)


def _changes_to(frame: dict[str, Any]) -> int | None:
    return int(frame["to"]) if frame.get("type") == "changes" else None


# ---- Branchsync --------------------------------------------------------------------


async def _enrol(server_url: str, database_url: str, count: int) -> list[Device]:
    limit = asyncio.Semaphore(8)  # each enrolment opens its own admin connection

    async def one(i: int) -> Device:
        async with limit:
            return await enrolled_device(server_url, database_url, branch="Bench", name=f"PC {i}")

    first = await one(0)  # creates the branch
    return [first, *await asyncio.gather(*(one(i) for i in range(1, count)))]


ENROL_ALL_AT_ONCE = {"enroll_rate_per_min": "100000", "enroll_burst": "1000"}
"""Set-up enrols every socket's device from this one address at once: lift the per-address
enrolment limit (a real fleet enrols from many addresses, over days)."""


@asynccontextmanager
async def branchsync(database_url: str, args: argparse.Namespace) -> AsyncIterator[Target]:
    """A real ``branchsync-server`` process, N device sockets and a pushing device."""
    profile = ["-m", "cProfile", "-o", str(args.profile_server)] if args.profile_server else []
    # one writer pushes as fast as it can: lift its rate limit (this is not the limiter's bench)
    limits = {"rate_per_s": "1000", "rate_burst": "1000", **ENROL_ALL_AT_ONCE}
    with server_processes(database_url, python_options=profile, **limits) as (server,):
        writer, *readers = await _enrol(server.url, database_url, args.sockets + 1)
        tokens = iter(readers)

        def connect() -> Awaitable[ClientConnection]:
            url, headers = server.ws_url + WS_PATH, next(tokens).headers
            return websockets.connect(
                url, additional_headers=headers, compression=args.compression, proxy=None
            )

        clock = HybridLogicalClock(writer.id)
        async with (
            _listening(args.sockets, connect, _changes_to) as arrivals,
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        ):

            async def write(i: int) -> int:
                mutation = {
                    "id": str(uuid.uuid4()),
                    "collection": "clients",
                    "row_id": str(uuid.uuid4()),
                    "op": "upsert",
                    "fields": {"name": f"Client {i}", "phone": "+44 20 7946 0000", "tags": ["bench"]},
                    "hlc": clock.now(),
                }
                answer = await http.post(
                    "/api/v1/sync/push", json={"mutations": [mutation]}, headers=writer.headers
                )
                answer.raise_for_status()
                seq: int = answer.json()["results"][0]["seq"]
                return seq

            target = Target(write, arrivals)
            yield target
            target.server_fanout_ms = await _mean_fanout_ms(http)


async def _mean_fanout_ms(http: httpx.AsyncClient) -> float | None:
    """The server's own mean time from a commit's notification to a frame handed to a
    socket (its ``branchsync_fanout_latency_seconds`` histogram), if it exposes it."""
    answer = await http.get("/metrics")
    if answer.status_code != 200:
        return None
    values = dict(
        line.split(" ", 1)
        for line in answer.text.splitlines()
        if line.startswith("branchsync_fanout_latency_")
    )
    count = float(values.get("branchsync_fanout_latency_seconds_count", 0))
    return float(values["branchsync_fanout_latency_seconds_sum"]) / count * 1000 if count else None


# ---- the floor: NOTIFY -> asyncpg listener -> websockets.broadcast -----------------


async def floor_server(port: int, database_url: str) -> None:
    """A plain websockets server broadcasting every NOTIFY on ``FLOOR_CHANNEL``."""
    clients: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    def health(connection: ServerConnection, request: Any) -> Any:
        return connection.respond(200, "ok\n") if request.path == "/healthz" else None

    listener = await asyncpg.connect(database_url)
    await listener.add_listener(FLOOR_CHANNEL, lambda _c, _p, _ch, payload: broadcast(clients, payload))
    async with serve(handler, "127.0.0.1", port, process_request=health):
        await asyncio.Future()


@contextmanager
def _floor_process(database_url: str) -> Iterator[str]:
    """The floor server in its own process, as Branchsync's server is; yields its URL."""
    port = free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--floor-server", str(port), database_url]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not _answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"the floor server did not start: {log.read().decode()[-2000:]}")
                time.sleep(0.05)  # waiting for a process to come up
            yield f"ws://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@asynccontextmanager
async def floor(database_url: str, args: argparse.Namespace) -> AsyncIterator[Target]:
    """The floor server process, N sockets, and a connection that NOTIFYs."""
    with _floor_process(database_url) as url:
        notifier = await asyncpg.connect(database_url)
        # a frame shaped and sized like Branchsync's for one new client
        change = {
            "seq": 0,
            "collection": "clients",
            "row_id": str(uuid.uuid4()),
            "fields": {"name": "Client 0", "phone": "+44 20 7946 0000", "tags": ["bench"]},
            "clocks": dict.fromkeys(("name", "phone", "tags", "_deleted"), "0" * 15 + "-000000-" + "d" * 36),
            "deleted": False,
        }

        async def write(i: int) -> int:
            frame = {"type": "changes", "from": i, "to": i + 1, "changes": [{**change, "seq": i + 1}]}
            await notifier.execute("SELECT pg_notify($1, $2)", FLOOR_CHANNEL, json.dumps(frame))
            return i + 1

        def connect() -> Awaitable[ClientConnection]:
            return websockets.connect(url, compression=args.compression, proxy=None)

        try:
            async with _listening(args.sockets, connect, _changes_to) as arrivals:
                yield Target(write, arrivals)
        finally:
            await notifier.close()


# ---- the run -----------------------------------------------------------------------


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def _figures(label: str, samples: list[float]) -> str:
    return (
        f"{label:<44} p50 {statistics.median(samples):6.1f} ms   p99 {_p99(samples):6.1f} ms"
        f"   max {max(samples):6.1f} ms   (n={len(samples)})"
    )


async def run(args: argparse.Namespace, admin_url: str) -> int:
    url = await postgres.create_database(admin_url)
    try:
        async with branchsync(url, args) as ours, floor(url, args) as bare:
            # interleaved, so both see the same machine (other work on it comes and goes)
            for i in range(args.warmup + args.writes):
                for target in (ours, bare):
                    await target.timed(i, measured=i >= args.warmup)
                    await asyncio.sleep(args.pause)  # writes come one at a time, as from people typing
    finally:
        await postgres.drop_database(admin_url, url)
    p99, floor_p99 = _p99(ours.received), _p99(bare.received)
    print(
        f"# propagation, {args.sockets} sockets, {args.writes} single-mutation writes"
        f" (compression: {args.compression or 'off'})"
    )
    machine = f"{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"# {datetime.now(UTC):%Y-%m-%d} {machine}")
    print(_figures("Branchsync push -> last socket received", ours.received))
    print(_figures("  writer had its push answer", ours.answered))
    if ours.server_fanout_ms is not None:
        print(
            "  server's fan-out, notification -> frame handed to a socket:"
            f" mean {ours.server_fanout_ms:.1f} ms"
        )
    print(_figures("floor: NOTIFY -> listener -> ws broadcast", bare.received))
    print(
        f"p99 ratio to the floor: {p99 / floor_p99:.2f}x (goal <= {GOAL_RATIO}x);"
        f" p99 {p99:.1f} ms (goal < {GOAL_P99_MS} ms)"
    )
    return 0 if p99 < GOAL_P99_MS and p99 / floor_p99 <= GOAL_RATIO else 1


def _run(main: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is there (uvicorn serves Branchsync on it), so the floor
    server and the clients get the same event loop as the server being measured."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    result: T = uvloop.run(main)
    return result


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--floor-server":
        _run(floor_server(int(sys.argv[2]), sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=200, help="receiving devices (default 200)")
    parser.add_argument("--writes", type=int, default=300, help="measured writes (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="writes before measuring (default 20)")
    parser.add_argument("--pause", type=float, default=0.01, help="seconds between writes (default 0.01)")
    parser.add_argument(
        "--compression",
        choices=["deflate"],
        default=None,
        help="negotiate permessage-deflate on every socket (default: off)",
    )
    parser.add_argument(
        "--profile-server",
        type=Path,
        metavar="FILE",
        help="run the Branchsync server under cProfile, writing its stats to FILE",
    )
    parser.add_argument("--admin-url", help="superuser URL of the PostgreSQL to use (default: as the tests)")
    args = parser.parse_args()
    if args.admin_url is not None:
        return _run(run(args, args.admin_url))
    with postgres.admin_url() as admin:
        return _run(run(args, admin))


if __name__ == "__main__":
    sys.exit(main())
