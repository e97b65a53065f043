"""Status frames under load: push latency and PostgreSQL commits per write.

Runs ``python -m server serve`` as a real process on a scratch PostgreSQL database,
opens ``--sockets`` raw WebSockets (one enrolled device each, no engines), and pushes
single mutations from one more device at ``--rate`` writes/s for ``--seconds``. Every
socket answers every ``changes`` frame with a ``status`` frame, as engines before
issue 11 did: the old fleet, the worst case the server must absorb. The engine since
issue 11 sends at most one per ``CoreConfig.status_interval`` (5 s), which the
``coalescing sockets`` variant does.

Reported per run: push latency p50/p99/max, and PostgreSQL commits per write (the
scratch database's ``pg_stat_database.xact_commit`` delta over the load window and the
server's shutdown, divided by the writes; the server is stopped before it is read so
every backend has flushed its counts).

Variants, in the same run, each on its own fresh database:

- ``before``: the server of ``--before REV`` (exported with ``git archive``), a status frame per change;
- ``after``: this tree's server, a status frame per change;
- ``after, coalescing sockets``: this tree's server, at most one status per socket per 5 s;
- ``floor``: this tree's server, sockets that never send a status frame.

Usage::

    python bench/status_load.py [--before e3c0b00] [--rates 5 20] [--seconds 15] [--sockets 200]

Goal: no errors; a status frame per change (the old fleet) costs at most one commit per
write more than the floor; with coalescing sockets (the new fleet) push p99 is under
100 ms and within 1.5x the floor's (+5 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop.sync.core import CoreConfig  # noqa: E402
from server.ops import admin  # noqa: E402
from server.store.engine import create_engine  # noqa: E402
from tests.support import postgres  # noqa: E402
from tests.support.devices import Device, protocol_headers  # noqa: E402
from tests.support.live_server import free_port  # noqa: E402
from tests.support.server_process import cli_env  # noqa: E402
from tests.support.sync_client import mutation, stamper  # noqa: E402

WS_PATH = "/api/v1/sync/ws"
P99_GOAL_MS = 100.0
STATUS_INTERVAL_S = CoreConfig().status_interval
"""How often the engine since issue 11 reports at most (``CoreConfig.status_interval``)."""
WARM_UP_S = 3.0
"""Writes at the measured rate before the window opens (not counted)."""
COMMITS_GOAL = 1.0
"""Commits per write that status frames may add to the floor's (before issue 11: one per socket)."""


@dataclass
class Result:
    name: str
    rate: float
    writes: int
    latencies: list[float]
    commits: int
    status_frames: int
    errors: int
    """Sockets the server dropped (its pings went unanswered: it was overloaded) and
    pushes that failed (HTTP error or none)."""

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


@contextlib.contextmanager
def exported(rev: str) -> Iterator[Path]:
    """The tree of ``rev`` in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="branchsync-before-") as tmp:
        archive = Path(tmp) / "tree.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "tree", filter="data")
        yield Path(tmp) / "tree"


@contextlib.contextmanager
def serving(tree: Path, database_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``python -m server serve`` from ``tree``; enrolment and rate limits opened for the bench."""
    port = free_port()
    env = cli_env(database_url, enroll_rate_per_min="100000", enroll_burst="10000", rate_burst="10000")
    env["PYTHONPATH"] = str(tree)
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        cwd=tree,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"server did not start: {log.read().decode()[-2000:]}")
            time.sleep(0.1)  # sleep-ok: polling a condition with a deadline
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


async def enrol(url: str, database_url: str, count: int) -> list[Device]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await admin.create_branch(conn, "Bench")
            codes = await admin.issue_codes(conn, "Bench", count)
    finally:
        await engine.dispose()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:

        async def one(n: int, code: str) -> Device:
            body = {"code": code, "device_name": f"PC {n:03}"}
            answer = await http.post("/api/v1/enroll", json=body, headers=protocol_headers())
            answer.raise_for_status()
            b = answer.json()
            token = b["token"]
            return Device(
                b["device_id"], token, b["branch"]["id"], "Bench", b["epoch"], protocol_headers(token)
            )

        return list(await asyncio.gather(*(one(n, c.code) for n, c in enumerate(codes))))


async def commits(conn: asyncpg.Connection, name: str) -> int:
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    value = await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", name)
    return int(value)


async def load(
    url: str,
    process: subprocess.Popen[bytes],
    database_url: str,
    args: argparse.Namespace,
    rate: float,
    answer: float | None,
) -> tuple[int, list[float], int, int, int]:
    """One load window; returns (writes, push latencies, commits, status frames sent, errors)."""
    devices = await enrol(url, database_url, args.sockets + 1)
    writer, watchers = devices[0], devices[1:]
    ws_url = url.replace("http://", "ws://") + WS_PATH
    sent = 0
    last_seen: list[int] = [0] * len(watchers)
    dropped: set[int] = set()

    async def report(ws: Any, cursor: int) -> None:
        nonlocal sent
        await ws.send(json.dumps({"type": "status", "cursor": cursor, "pending": 0}))
        sent += 1

    async def watch(n: int, ws: Any) -> None:
        try:
            async for text in ws:
                frame = json.loads(text)
                if frame.get("type") == "changes":
                    last_seen[n] = frame["to"]
                    if answer == 0:  # the engine before issue 11: one per change
                        await report(ws, frame["to"])
        except websockets.ConnectionClosed:
            dropped.add(n)  # an overloaded server stopped answering its pings

    async def coalesce(n: int, ws: Any, interval: float) -> None:
        """The engine since issue 11: at most one per ``interval``, when the cursor moved."""
        reported = 0
        await asyncio.sleep(interval * n / len(watchers))  # sleep-ok: sockets connected at once spread out
        while n not in dropped:
            if last_seen[n] != reported:
                reported = last_seen[n]
                with contextlib.suppress(websockets.ConnectionClosed):
                    await report(ws, reported)
            await asyncio.sleep(interval)  # sleep-ok: the engine's coalescing window

    name = database_url.rsplit("/", 1)[1]
    stats = await asyncpg.connect(database_url)
    async with contextlib.AsyncExitStack() as stack, httpx.AsyncClient(base_url=url, timeout=60) as http:
        sockets = []
        for first in range(0, len(watchers), 25):
            batch = watchers[first : first + 25]
            opened = await asyncio.gather(
                *(
                    websockets.connect(ws_url, additional_headers=d.headers, compression=None, proxy=None)
                    for d in batch
                )
            )
            for ws in opened:
                stack.push_async_callback(ws.close)
                sockets.append(ws)
        for ws in sockets:
            await ws.recv()  # hello
        tasks = [asyncio.create_task(watch(n, ws)) for n, ws in enumerate(sockets)]
        if answer:
            tasks += [asyncio.create_task(coalesce(n, ws, answer)) for n, ws in enumerate(sockets)]
        clock = stamper(writer)
        latencies: list[float] = []
        failed: list[int] = []
        head = 0

        async def write(n: int) -> None:
            nonlocal head
            body = {"mutations": [mutation(clock.now(), {"name": f"Client {n}"})]}
            started = time.perf_counter()
            try:
                reply = await http.post("/api/v1/sync/push", json=body, headers=writer.headers)
            except httpx.HTTPError:
                failed.append(n)
                return
            latencies.append(time.perf_counter() - started)
            if reply.status_code != 200:
                failed.append(n)
                return
            head = max(head, reply.json()["results"][0]["seq"])

        # warm up: the server's start-up rounds (housekeeping, presence) and the sockets'
        # handshakes are over, the writes and their status answers are flowing
        warm_up = round(rate * WARM_UP_S)
        for n in range(warm_up):
            await asyncio.gather(write(-1 - n), asyncio.sleep(1 / rate))  # sleep-ok: the write schedule
        latencies.clear()
        failed.clear()
        before = await commits(stats, name)
        writes = round(rate * args.seconds)
        start = time.perf_counter()
        pushes = []
        for n in range(writes):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # sleep-ok: the open-loop schedule of writes
            pushes.append(asyncio.create_task(write(n)))
        await asyncio.gather(*pushes)
        async with asyncio.timeout(60):  # every socket got the last write
            while any(seen < head for n, seen in enumerate(last_seen) if n not in dropped):
                await asyncio.sleep(0.01)  # sleep-ok: polling a condition with a deadline
        for task in tasks:
            task.cancel()
    # stop the server: its backends flush their statistics as they exit (and its last status flush counts)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    async with asyncio.timeout(30):
        while await stats.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
        ):
            await asyncio.sleep(0.05)  # sleep-ok: polling a condition with a deadline
    after = await commits(stats, name)
    await stats.close()
    return writes, latencies, after - before, sent, len(dropped) + len(failed)


async def run_one(
    admin_url: str, tree: Path, name: str, rate: float, answer: float | None, args: argparse.Namespace
) -> Result:
    database_url = await postgres.create_database(admin_url)
    try:
        with serving(tree, database_url) as (url, process):
            writes, latencies, commits_, sent, errors = await load(
                url, process, database_url, args, rate, answer
            )
    finally:
        await postgres.drop_database(admin_url, database_url)
    return Result(name, rate, writes, latencies, commits_, sent, errors)


async def run(args: argparse.Namespace, admin_url: str, before: Path | None) -> int:
    # (name, server tree, status frames: 0 one per change, s at most one per s seconds, None none)
    variants: list[tuple[str, Path, float | None]] = []
    if before is not None:
        variants.append((f"before ({args.before})", before, 0.0))
    variants += [
        ("after", ROOT, 0.0),
        ("after, coalescing sockets", ROOT, STATUS_INTERVAL_S),
        ("floor (no status frames)", ROOT, None),
    ]
    results = []
    for rate in args.rates:
        for name, tree, answer in variants:
            results.append(await run_one(admin_url, tree, name, rate, answer, args))
    print(f"status load: {args.sockets} raw sockets, one writer, {args.seconds:.0f} s per run")
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    ok = True
    for rate in args.rates:
        floor = next(r for r in results if r.rate == rate and r.name.startswith("floor"))
        for r in (r for r in results if r.rate == rate):
            per_write = r.commits / r.writes
            print(
                f"  {rate:g} writes/s, {r.name:26} push p50 {r.quantile(0.5):6.1f} ms"
                f"  p99 {r.quantile(0.99):7.1f} ms"
                f"  max {max(r.latencies) * 1000:7.1f} ms  commits/write {per_write:6.1f}"
                f"  status frames {r.status_frames}  errors {r.errors}"
            )
            floor_commits = floor.commits / floor.writes
            if r.name == "after":  # the old fleet: its frames must not cost the database
                ok = ok and r.errors == 0 and per_write <= floor_commits + COMMITS_GOAL
            elif r.name.startswith("after, coalescing"):  # the new fleet: pushes as fast as the floor
                p99 = r.quantile(0.99)
                ok = ok and r.errors == 0 and p99 < P99_GOAL_MS and p99 <= 1.5 * floor.quantile(0.99) + 5
    print(
        f"  goal: no errors; a status per change costs at most {COMMITS_GOAL:.0f} commit/write more than"
        f" the floor; with coalescing sockets push p99 < {P99_GOAL_MS:.0f} ms and within 1.5x the"
        f" floor's (+5 ms): {'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--before", help="a git revision to measure as 'before' (e.g. the commit before status work)"
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[5.0, 20.0], help="writes/s (default 5 20)")
    parser.add_argument("--seconds", type=float, default=15.0, help="load window per run (default 15)")
    parser.add_argument("--sockets", type=int, default=200, help="raw sockets (default 200)")
    parser.add_argument("--admin-url", help="superuser URL of the PostgreSQL to use")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        before = stack.enter_context(exported(args.before)) if args.before else None
        admin_url = args.admin_url or stack.enter_context(postgres.admin_url())
        return asyncio.run(run(args, admin_url, before))


if __name__ == "__main__":
    sys.exit(main())
