"""Write lock ceiling: single-mutation pushes per second from many devices at once.

``--devices`` enrolled devices (default 200) each push ONE new client per request, as
fast as their answers come back, from ``--clients`` OS processes (each device its own
httpx client, so its own connection), against 1 and 2 ``branchsync-server serve``
processes on one scratch PostgreSQL database. Every push is a transaction that takes
change numbers; how those are ordered (a global lock held through the commit, or marks
that let commits overlap) is what this measures.

In the same run, the floor: the same rows written by plain asyncpg transactions (one
INSERT with ``nextval('change_seq')`` + COMMIT each, no lock), as many at once as the
servers have pooled connections: what PostgreSQL alone allows at that concurrency.

``--tree LABEL=PATH`` runs the servers from another source tree (the base commit's
worktree, say); several are measured alternately, round by round, in one session.

Usage::

    python bench/write_lock.py [--devices 200] [--clients 4] [--seconds 8] [--rounds 2]
        [--servers 1 2] [--tree before=/path/to/base --tree after=.] [--admin-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from multiprocessing.connection import Connection

import asyncpg
import httpx
from _engine_setup import ROOT, client_fields, machine_line, new_row, run_bench

from protocol.hlc import HybridLogicalClock
from server.store import migrate
from server.store.change_numbers import take_numbers
from server.store.engine import create_engine
from tests.support import postgres
from tests.support.devices import Device, enrolled_device
from tests.support.server_process import server_processes

POOL_SIZE = 10
"""The API pool of one server process (the default ``db_pool_size``): the floor's concurrency."""

LIMITS = {
    "rate_per_s": "100000",
    "rate_burst": "100000",
    "enroll_rate_per_min": "100000",
    "enroll_burst": "1000",
    "db_pool_size": str(POOL_SIZE),
}
"""This is not the rate limiter's bench: every device pushes as fast as it is answered."""


@dataclass(frozen=True)
class Figures:
    """What one measurement saw: completed pushes, their seconds, failures, wall time."""

    done: int
    latencies: list[float]
    errors: list[str]
    """Each failed push's kind (``HTTP 503``, ``ReadTimeout``, ...)."""
    seconds: float

    @property
    def rate(self) -> float:
        return self.done / self.seconds

    def ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def _mutation(clock: HybridLogicalClock, i: int) -> bytes:
    return json.dumps({"mutations": [new_row(clock, client_fields(i))]}).encode()


async def _device_loop(
    http: httpx.AsyncClient, device: Device, until: float, latencies: list[float], errors: list[str]
) -> None:
    clock = HybridLogicalClock(device.id)
    headers = {**device.headers, "content-type": "application/json"}
    i = 0
    while time.time() < until:
        body = _mutation(clock, i)
        i += 1
        started = time.perf_counter()
        try:
            answer = await http.post("/api/v1/sync/push", content=body, headers=headers)
            ok = answer.status_code == 200 and answer.json()["results"][0]["status"] == "applied"
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
            continue
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            errors.append(f"HTTP {answer.status_code}")


def _client_process(jobs: list[tuple[str, Device]], seconds: float, pipe: Connection) -> None:
    """One client OS process: its devices connect, say ready, and push from the start time
    the parent sends, for ``seconds``."""
    latencies: list[float] = []
    errors: list[str] = []

    async def main() -> None:
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=60))
                for url, _ in jobs
            ]
            await asyncio.gather(*(http.get("/healthz") for http in clients))  # connected
            pipe.send("ready")
            start_at: float = await asyncio.to_thread(pipe.recv)
            await asyncio.sleep(max(0.0, start_at - time.time()))  # sleep-ok: a common start time
            until = start_at + seconds
            await asyncio.gather(
                *(
                    _device_loop(http, d, until, latencies, errors)
                    for http, (_, d) in zip(clients, jobs, strict=True)
                )
            )

    asyncio.run(main())
    pipe.send((latencies, errors))
    pipe.close()


def _pushes(urls: Sequence[str], devices: Sequence[Device], clients: int, seconds: float) -> Figures:
    """Every device pushing from ``clients`` processes at once, devices spread over ``urls``."""
    jobs = [(urls[i % len(urls)], d) for i, d in enumerate(devices)]
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for c in range(clients):
        mine, theirs = context.Pipe()
        process = context.Process(target=_client_process, args=(jobs[c::clients], seconds, theirs))
        process.start()
        pipes.append(mine)
        processes.append(process)
    for pipe in pipes:
        assert pipe.recv() == "ready"
    start_at = time.time() + 0.5
    for pipe in pipes:
        pipe.send(start_at)
    latencies: list[float] = []
    errors: list[str] = []
    for pipe in pipes:
        part_latencies, part_errors = pipe.recv()
        latencies += part_latencies
        errors += part_errors
    for process in processes:
        process.join()
    return Figures(len(latencies), latencies, errors, seconds)


async def _floor(database_url: str, device: Device, concurrency: int, seconds: float) -> Figures:
    """The same rows written by ``concurrency`` plain transactions at once, for ``seconds``."""
    stamp = HybridLogicalClock(device.id).now()
    clocks = json.dumps(dict.fromkeys(("name", "phone", "email", "_deleted"), stamp))
    insert = (
        "INSERT INTO clients (id, name, phone, email, clocks, deleted, seq,"
        " updated_by_device, updated_by_branch)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, false, nextval('change_seq'), $6, $7)"
    )
    latencies: list[float] = []
    until = time.time() + seconds

    async def writer(conn: asyncpg.Connection, w: int) -> None:
        i = 0
        while time.time() < until:
            fields = client_fields(w * 1_000_000 + i)
            i += 1
            started = time.perf_counter()
            async with conn.transaction():
                await conn.execute(
                    insert,
                    uuid.uuid4(),
                    fields["name"],
                    fields["phone"],
                    fields["email"],
                    clocks,
                    uuid.UUID(device.id),
                    uuid.UUID(device.branch_id),
                )
            latencies.append(time.perf_counter() - started)

    conns = [await asyncpg.connect(database_url) for _ in range(concurrency)]
    try:
        await asyncio.gather(*(writer(conn, w) for w, conn in enumerate(conns)))
    finally:
        for conn in conns:
            await conn.close()
    return Figures(len(latencies), latencies, [], seconds)


async def _measure(admin: str, tree: str, servers: int, args: argparse.Namespace) -> tuple[Figures, Figures]:
    """One measurement on a fresh scratch database: the pushes, then the floor."""
    database_url = await postgres.create_database(admin)
    os.environ["PYTHONPATH"] = tree  # the server processes run this tree's code
    try:
        with server_processes(database_url, servers, **LIMITS) as running:
            urls = [s.url for s in running]
            first = await enrolled_device(urls[0], database_url, "Bench", "PC 0")  # creates the branch
            limit = asyncio.Semaphore(16)

            async def one(i: int) -> Device:
                async with limit:
                    return await enrolled_device(urls[i % len(urls)], database_url, "Bench", f"PC {i}")

            devices = [first, *await asyncio.gather(*(one(i) for i in range(1, args.devices)))]
            pushes = await asyncio.to_thread(_pushes, urls, devices, args.clients, args.seconds)
        floor = await _floor(database_url, first, servers * POOL_SIZE, args.seconds)
    finally:
        await postgres.drop_database(admin, database_url)
    return pushes, floor


_GLOBAL_LOCK = """
SELECT nextval('change_seq')
FROM (SELECT pg_advisory_xact_lock(107614500692840)) AS write_lock, generate_series(1, 1)
"""
"""The base commit's numbering statement (``0x6272616E6368``, held through the commit)."""


async def _statements(database_url: str, scheme: str, concurrency: int, seconds: float) -> Figures:
    """The write path's statements alone, ``concurrency`` transactions at once: number the
    change (``scheme``), INSERT the row, INSERT the answer with ``NOTIFY``, COMMIT."""
    insert = "INSERT INTO clients (id, name, clocks, deleted, seq) VALUES ($1, $2, '{}'::jsonb, false, $3)"
    answer = (
        "WITH a AS (INSERT INTO applied_mutations (id, result) VALUES ($1, '{}'::jsonb))"
        " SELECT pg_notify('branchsync_changes', $2::text)"
    )
    latencies: list[float] = []
    until = time.time() + seconds

    async def writer(conn: asyncpg.Connection) -> None:
        while time.time() < until:
            started = time.perf_counter()
            async with conn.transaction():
                if scheme == "marks":
                    [seq] = await take_numbers(conn, 1)
                else:
                    seq = await conn.fetchval(_GLOBAL_LOCK)
                await conn.execute(insert, uuid.uuid4(), "Client", seq)
                await conn.execute(answer, uuid.uuid4(), str(seq))
            latencies.append(time.perf_counter() - started)

    conns = [await asyncpg.connect(database_url) for _ in range(concurrency)]
    try:
        await asyncio.gather(*(writer(conn) for conn in conns))
    finally:
        for conn in conns:
            await conn.close()
    return Figures(len(latencies), latencies, [], seconds)


async def _statements_only(admin: str, args: argparse.Namespace) -> None:
    """Both numbering schemes and the floor, alternately, on one migrated scratch database."""
    database_url = await postgres.create_database(admin)
    try:
        engine = create_engine(database_url, pool_size=1)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()
        device = Device(str(uuid.uuid4()), "", str(uuid.uuid4()), "Bench", "", {})
        concurrency = max(args.servers) * POOL_SIZE
        print(f"the write path's statements alone, {concurrency} transactions at once, no HTTP:")
        for r in range(1, args.rounds + 1):
            for scheme in ("global lock", "marks"):
                f = await _statements(database_url, scheme, concurrency, args.seconds)
                print(f"  round {r}, " + _line(scheme, f), flush=True)
            print(
                f"  round {r}, "
                + _line("floor", await _floor(database_url, device, concurrency, args.seconds))
            )
    finally:
        await postgres.drop_database(admin, database_url)


def _line(label: str, f: Figures) -> str:
    kinds = ", ".join(f"{n} {kind}" for kind, n in Counter(f.errors).most_common())
    errors = f", errors: {kinds}" if f.errors else ""
    return f"{label}: {f.rate:7,.0f}/s  p50 {f.ms(0.5):6.1f} ms  p99 {f.ms(0.99):6.1f} ms{errors}"


async def run(args: argparse.Namespace, admin: str) -> int:
    trees = dict(item.split("=", 1) for item in args.tree) if args.tree else {"this tree": str(ROOT)}
    trees = {label: str(os.path.abspath(path)) for label, path in trees.items()}
    print(
        f"write lock ceiling: {args.devices} devices pushing one new client per request from"
        f" {args.clients} processes, {args.seconds:.0f} s per measurement, {args.rounds} round(s)"
    )
    print(machine_line())
    if args.statements:
        await _statements_only(admin, args)
    ratios: dict[tuple[str, int], list[float]] = {}
    rates: dict[tuple[str, int], list[float]] = {}
    for r in range(1, args.rounds + 1 if args.http else 1):
        for servers in args.servers:
            for label, tree in trees.items():
                pushes, floor = await _measure(admin, tree, servers, args)
                ratio = pushes.rate / floor.rate
                ratios.setdefault((label, servers), []).append(ratio)
                rates.setdefault((label, servers), []).append(pushes.rate)
                print(f"round {r}, {servers} server process(es), {label}:")
                print("  " + _line("pushes", pushes))
                print("  " + _line(f"floor, {servers * POOL_SIZE} plain INSERT+COMMIT txns at once", floor))
                print(f"  pushes at {ratio:.0%} of the floor", flush=True)
    if ratios:
        print("medians:")
    for (label, servers), values in ratios.items():
        rate = statistics.median(rates[(label, servers)])
        print(
            f"  {servers} server process(es), {label}: {rate:7,.0f} pushes/s,"
            f" {statistics.median(values):.0%} of the floor"
        )
    return 0


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=200, help="devices pushing at once (default 200)")
    parser.add_argument("--clients", type=int, default=4, help="client OS processes (default 4)")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per measurement (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every tree and server count")
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 2], help="server process counts")
    parser.add_argument("--tree", action="append", help="LABEL=PATH: a source tree to run the servers from")
    parser.add_argument("--no-http", dest="http", action="store_false", help="skip the servers")
    parser.add_argument(
        "--no-statements", dest="statements", action="store_false", help="skip the statements-only part"
    )


def main() -> int:
    return run_bench(__doc__ or "", _arguments, run)


if __name__ == "__main__":
    raise SystemExit(main())
