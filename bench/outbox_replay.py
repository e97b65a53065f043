"""Outbox replay: 10,000 edits made offline reach the server once the link is back.

A desktop installation (real SQLite cache, enrolled over HTTP with a real server
process on a scratch PostgreSQL database) makes ``--edits`` new clients while
offline. Then the sync engine starts, exactly as the app starts it (its own loop,
a socket, pushes of 500 in outbox order, each answer recorded in the cache) and the
clock runs until its status shows nothing pending: every edit is on the server.

In the same run, the floor: the same number of new clients pushed by a bare httpx
client from pre-encoded bodies (no cache, no engine): what the server alone costs.
The issue's reference: a PouchDB -> CouchDB replication of 10,000 docs took 6.4 s.

Usage::

    python bench/outbox_replay.py [--edits 10000] [--profile-server FILE] [--admin-url URL]

Goal (issue 11): under 1 s for 10,000 edits (>= 10,000 mutations/s); it was 3 s before.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from _engine_setup import (
    ROOT,
    bench_server,
    client_fields,
    machine_line,
    push_bodies,
    push_raw,
    run_bench,
    verdict,
)

sys.path.insert(0, str(ROOT))

from desktop.sync.enrollment import endpoint_for
from desktop.sync.runner import Runner
from desktop.sync.status import StatusSnapshot

GOAL_S = 1.0
POUCHDB_S = 6.4


async def run(args: argparse.Namespace, admin: str) -> int:
    async with bench_server(admin, args.profile_server) as bench:
        cache = await bench.installation("replay")
        try:
            started = time.perf_counter()
            with cache.batch() as writer:
                for i in range(args.edits):
                    writer.create("clients", client_fields(i))
            local_s = time.perf_counter() - started
            assert cache.counts().pending == args.edits

            drained = asyncio.Event()

            def on_status(status: StatusSnapshot) -> None:
                if status.pending == 0:
                    drained.set()

            runner = Runner(cache, endpoint_for(cache), on_status=on_status)
            started, cpu_started = time.perf_counter(), time.process_time()
            engine = asyncio.create_task(runner.run())
            await asyncio.wait_for(drained.wait(), 300)
            replay_s = time.perf_counter() - started
            engine_cpu_s = time.process_time() - cpu_started
            runner.stop()
            await engine
            assert cache.counts().pending == 0 and cache.counts().rejected == 0
        finally:
            cache.close()
        floor_device = await bench.device("floor")
        floor_s = await push_raw(bench.url, floor_device, push_bodies(floor_device, args.edits))

    rate = args.edits / replay_s
    print(f"outbox replay: {args.edits:,} offline edits (new clients) to the server")
    print(machine_line())
    print(f"  writing them offline (one transaction): {local_s:6.2f} s")
    print(f"  branchsync engine, start to nothing pending: {replay_s:6.2f} s  ({rate:,.0f} mutations/s)")
    print(f"  the engine's own CPU in that time (all its threads): {engine_cpu_s:6.2f} s")
    print(f"  floor, bare httpx pushes of the same size: {floor_s:6.2f} s  ({args.edits / floor_s:,.0f}/s)")
    print(f"  reference, PouchDB -> CouchDB, 10,000 docs: {POUCHDB_S:6.2f} s")
    goal = GOAL_S * args.edits / 10_000
    met = replay_s < goal
    return verdict(met, goal, floor_s / replay_s)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edits", type=int, default=10_000, help="offline edits to replay (default 10000)")
    parser.add_argument(
        "--profile-server",
        type=Path,
        metavar="FILE",
        help="run the Branchsync server under cProfile, writing its stats to FILE",
    )


def main() -> int:
    return run_bench(__doc__ or "", _arguments, run)


if __name__ == "__main__":
    sys.exit(main())
