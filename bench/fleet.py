"""Fleet simulator: N branches of real engines with real caches against real servers.

Every branch is a real desktop installation: its own data dir and SQLite cache, enrolled
over HTTP with an enrolment code IT would issue, its own ``Runner`` (the engine of
``branchsync run``). The branches are spread over ``--workers`` OS processes, each running
its share of engines on one asyncio loop, against ``--servers`` processes of
``branchsync-server serve`` on one scratch PostgreSQL database.

The coordinator (this process) drives a realistic mix and times it:

* steady writes at ``--rate`` per second company-wide, each from a random branch, made
  through the cache as the UI makes them (``Cache.create``: outbox -> push);
* a burst of ``--burst`` edits from one branch;
* 5 % of the branches (``--cut-share``) cut off (a ``LinkProxy`` resets their link and
  refuses new connections), writing while cut, then returning;
* a restart of server 0 (SIGTERM, then started again on the same port).

Every write carries a unique marker (its client name); each worker watches its caches
(the cache's change watcher, as the UI does) and stamps when a marker is there. It reports:

* write -> applied in every other branch's cache (p50/p99/max of the last cache; and over
  every (write, cache) pair);
* push latency (the engine taking a batch from its outbox -> the server's answer applied);
* errors by kind (engine status outside the fault windows, rejections, crashes, the
  servers' 5xx answers from /metrics), and what the engines reported inside fault windows;
* catch-up of each returning branch (link restored -> online with an empty outbox);
* time back to steady state after the restart (SIGTERM -> every engine of that server online);
* CPU and RSS per process, PostgreSQL connections per server process;
* and finally whether every cache equals the server row for row (ids and field values,
  both collections).

Usage::

    python bench/fleet.py [--branches 200] [--rate 0.5] [--duration 120] [--workers 2]
                          [--servers 1] [--json FILE] [--admin-url URL | --database-url URL]

``--database-url`` uses an existing (empty or Branchsync) database; otherwise a scratch one
is made on the PostgreSQL at ``--admin-url`` (default: the one the tests find) and dropped
afterwards. The exit code is 0 when the fleet converged with no error; timing figures
are printed against the issue's goals, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402

from protocol.collections import COLLECTIONS  # noqa: E402

WATCH_INTERVAL_S = 5.0
"""How often each cache's watcher looks for writes by other processes. Nothing outside its
worker writes a simulated branch's cache (the steady writes go through the cache, which
wakes its watcher at once), and a branch PC's default look every 0.2 s becomes, with 100
engines in one process, 500 thread wake-ups a second competing for one interpreter lock."""
GOAL_PUSH_P99_MS = 100.0
GOAL_APPLIED_P99_MS = 1000.0
GOAL_RESTART_S = 10.0
MARK = "fleet-"


# ---- the worker process: engines on one loop ---------------------------------------


@dataclass
class EngineSpec:
    index: int
    name: str
    code: str
    server_url: str
    server: int
    proxied: bool
    """Behind its own LinkProxy (one of the branches that will be cut off)."""


def _normalise(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return str(value)


def rows_digest(rows: Mapping[str, Mapping[str, Any]]) -> str:
    """One hash of ``{row id: {field: value}}`` (empty fields left out), the same on both sides."""
    canonical = sorted(
        (str(row_id), sorted((k, _normalise(v)) for k, v in fields.items() if v is not None and v != []))
        for row_id, fields in rows.items()
    )
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


class _Engine:
    """One branch PC inside a worker: cache, optional link proxy, runner, marker watch."""

    def __init__(self, spec: EngineSpec, folder: Path, worker: _Worker) -> None:
        self.spec = spec
        self.folder = folder
        self.worker = worker
        self.proxy: Any = None
        self.cache: Any = None
        self.runner: Any = None
        self.task: asyncio.Task[Any] | None = None
        self.reader: sqlite3.Connection | None = None
        self.last_rowid = 0
        self.status: Any = None
        self.last_error: str | None = None
        self.online_since: float | None = None
        self.came_online: float | None = None
        """When the engine last turned online (kept while it is busy again: "back" after a fault)."""
        self.offline_since: float | None = None
        self.cut = False
        self.restored_at: float | None = None
        self.batch_started: dict[str, float] = {}
        """First mutation id of a batch read for pushing -> when it was read (one whose push
        failed stays until it is read again)."""
        self.rejected = 0
        self.halted: Any = None
        self.created: list[str] = []
        """Clients this branch created (edits pick one)."""

    # the two outbox calls the runner makes around a push: timed, then passed on (the
    # runner reads the next batch before recording the answer to the one before, so
    # batches are told apart by their first mutation)
    def next_push(self, *args: Any, **kwargs: Any) -> Any:
        batch = self.cache.next_push(*args, **kwargs)
        if batch.entries:
            self.batch_started[batch.entries[0].mutation_id] = time.time()
        return batch

    def apply_push_results(self, entries: Any, *args: Any, **kwargs: Any) -> Any:
        started = self.batch_started.pop(entries[0].mutation_id, None) if entries else None
        if started is not None:
            with self.worker.data_lock:
                self.worker.push_ms.append((time.time() - started) * 1000)
        return self.cache.apply_push_results(entries, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # every other CachePort method: the cache's own
        return getattr(self.cache, name)

    def on_status(self, status: Any) -> None:
        from desktop.sync.status import EngineState

        now = time.time()
        self.status = status
        if status.state is EngineState.ONLINE:
            if self.online_since is None:
                self.online_since = self.came_online = now
                self.offline_since = None
            if self.restored_at is not None and status.pending == 0:
                with self.worker.data_lock:
                    self.worker.catch_up.append(
                        {
                            "branch": self.spec.index,
                            "seconds": now - self.restored_at,
                            "cursor": status.cursor,
                        }
                    )
                self.restored_at = None
                self.cut = False
        else:
            if self.online_since is not None:
                self.offline_since = now
            self.online_since = None
        if status.last_error and status.last_error != self.last_error:
            in_fault = self.cut or self.worker.fault_servers.get(self.spec.server, False)
            kind = _kind(status.last_error)
            (self.worker.fault_errors if in_fault else self.worker.errors)[kind] += 1
        self.last_error = status.last_error
        if status.halted is not None and (self.halted is None or self.halted != status.halted):
            self.worker.errors[f"engine halted: {status.halted}"] += 1
        self.halted = status.halted
        if status.rejected > self.rejected:
            self.worker.errors["mutation rejected by the server"] += status.rejected - self.rejected
        self.rejected = status.rejected

    def scan(self) -> None:
        """Stamp every marker that arrived in this cache since the last look."""
        if self.reader is None:
            return
        now = time.time()
        rows = self.reader.execute(
            "SELECT rowid, name FROM clients WHERE rowid > ? ORDER BY rowid", (self.last_rowid,)
        ).fetchall()
        for rowid, name in rows:
            self.last_rowid = max(self.last_rowid, rowid)
            if isinstance(name, str) and name.startswith(MARK):
                with self.worker.data_lock:
                    self.worker.arrivals.append((name, self.spec.index, now))


def _kind(error: str) -> str:
    """An error's kind: its words without what varies (URLs, numbers), up to the first detail."""
    text = re.sub(r"\S+://\S+", "<url>", error)
    text = re.sub(r"\d+(\.\d+)?", "N", text)
    return text.split(": ")[0].split(" (")[0].strip()[:100]


class _Worker:
    def __init__(self, worker_id: int, specs: list[EngineSpec], folder: Path, conn: Connection) -> None:
        self.id = worker_id
        self.specs = specs
        self.folder = folder
        self.conn = conn
        self.engines: dict[int, _Engine] = {}
        self.arrivals: list[tuple[str, int, float]] = []
        self.wrote: list[tuple[str, int, float]] = []
        self.push_ms: list[float] = []
        self.catch_up: list[dict[str, Any]] = []
        self.errors: Counter[str] = Counter()
        self.fault_errors: Counter[str] = Counter()
        self.fault_servers: dict[int, bool] = {}
        self.send_lock = threading.Lock()
        self.data_lock = threading.Lock()
        self.edits = 0
        self.edits_handled = 0

    def send(self, message: tuple[Any, ...]) -> None:
        with self.send_lock:
            self.conn.send(message)

    async def setup(self) -> None:
        from desktop.cache import Cache
        from desktop.demo.link_proxy import LinkProxy
        from desktop.sync.enrollment import enroll_device
        from desktop.sync.errors import RateLimited

        limit = asyncio.Semaphore(4)

        async def one(spec: EngineSpec) -> None:
            engine = _Engine(spec, self.folder / f"branch-{spec.index:05d}", self)
            url = spec.server_url
            if spec.proxied:
                host, port = url.removeprefix("http://").split(":")
                engine.proxy = LinkProxy(host, int(port)).start()
                url = engine.proxy.url
            engine.cache = Cache(engine.folder, watch_interval=WATCH_INTERVAL_S)
            async with limit:
                for attempt in range(20):
                    try:
                        await enroll_device(engine.cache, url, spec.code, spec.name)
                        break
                    except RateLimited as exc:  # set-up only: wait as the server asks
                        if attempt == 19:
                            raise
                        await asyncio.sleep(exc.retry_after or 1.0)  # sleep-ok: the server's Retry-After
            self.engines[spec.index] = engine

        await asyncio.gather(*(one(spec) for spec in self.specs))

    def start_engines(self) -> None:
        from desktop.sync.enrollment import endpoint_for
        from desktop.sync.runner import Runner

        loop = asyncio.get_running_loop()
        for engine in self.engines.values():
            engine.reader = sqlite3.connect(
                f"file:{engine.cache.path}?mode=ro", uri=True, check_same_thread=False
            )
            engine.cache.subscribe(lambda e=engine: loop.call_soon_threadsafe(e.scan))
            engine.runner = Runner(engine, endpoint_for(engine.cache), on_status=engine.on_status)
            engine.task = asyncio.create_task(engine.runner.run())
            engine.task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.errors[f"engine crashed: {type(task.exception()).__name__}"] += 1

    def write(self, index: int, markers: list[str]) -> None:
        """In a worker thread: the branch's staff save one new client per marker."""
        cache = self.engines[index].cache
        for marker in markers:
            started = time.time()
            row_id = cache.create(
                "clients", {"name": marker, "phone": "+44 20 7946 0000", "notes": f"from {index}"}
            )
            with self.data_lock:
                self.wrote.append((marker, index, started))
                self.engines[index].created.append(row_id)

    def edit(self, index: int, seed: int) -> None:
        """In a worker thread: the branch's staff edit one of the clients it created (untimed;
        the final comparison checks it arrived everywhere)."""
        engine = self.engines[index]
        try:
            with self.data_lock:
                if not engine.created:
                    return
                row_id = engine.created[seed % len(engine.created)]
            engine.cache.update(
                "clients", row_id, {"notes": f"edited {seed}", "phone": f"+44 20 7946 {seed % 10_000:04d}"}
            )
            with self.data_lock:
                self.edits += 1
        finally:
            with self.data_lock:
                self.edits_handled += 1

    def states(self) -> dict[str, Any]:
        from desktop.sync.status import EngineState

        return {
            str(i): {
                "online_since": e.online_since,
                "came_online": e.came_online,
                "synced": e.status is not None
                and e.status.state is EngineState.ONLINE
                and e.status.pending == 0,
                "cursor": e.status.cursor if e.status is not None else 0,
            }
            for i, e in self.engines.items()
        }

    def digests(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, engine in self.engines.items():
            per: dict[str, Any] = {}
            for name, collection in COLLECTIONS.items():
                rows = {
                    r.id: {f: r.fields.get(f) for f in collection.field_names}
                    for r in engine.cache.list_rows(name, limit=None)
                }
                per[name] = {"digest": rows_digest(rows), "count": len(rows)}
            out[str(i)] = per
        return out

    def flush(self) -> None:
        with self.data_lock:  # executor threads append to these
            arrivals, self.arrivals = self.arrivals, []
            wrote, self.wrote = self.wrote, []
            push_ms, self.push_ms = self.push_ms, []
            catch_up, self.catch_up = self.catch_up, []
        if arrivals or wrote or push_ms or catch_up:
            self.send(("data", arrivals, wrote, push_ms, catch_up))

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=16))
        inbox: asyncio.Queue[Any] = asyncio.Queue()

        def receive() -> None:
            while True:
                try:
                    message = self.conn.recv()
                except EOFError:
                    message = ("stop",)
                loop.call_soon_threadsafe(inbox.put_nowait, message)
                if message[0] == "stop":
                    return

        threading.Thread(target=receive, daemon=True).start()
        await self.setup()
        self.send(("ready", self.id))

        async def flusher() -> None:
            while True:
                await asyncio.sleep(0.2)  # sleep-ok: batching reports to the coordinator
                self.flush()

        flushing: asyncio.Task[None] | None = None
        while True:
            message = await inbox.get()
            match message:
                case ("start",):
                    self.start_engines()
                    flushing = asyncio.create_task(flusher())
                case ("write", index, markers):
                    asyncio.get_running_loop().run_in_executor(None, self.write, index, markers)
                case ("edit", index, seed):
                    asyncio.get_running_loop().run_in_executor(None, self.edit, index, seed)
                case ("cut", index):
                    engine = self.engines[index]
                    engine.cut = True
                    engine.proxy.cut()
                case ("restore", index):
                    engine = self.engines[index]
                    engine.restored_at = time.time()
                    engine.proxy.restore()
                case ("fault", server, on):
                    self.fault_servers[server] = on
                    self.send(("ok",))
                case ("states",):
                    self.send(("states", self.states(), self.edits_handled))
                case ("digests",):
                    self.flush()
                    digests = await asyncio.to_thread(self.digests)
                    self.send(("digests", digests))
                case ("stop",):
                    if flushing is not None:
                        flushing.cancel()
                    await self.shutdown()
                    self.flush()
                    self.send(("stopped", dict(self.errors), dict(self.fault_errors), self.edits))
                    return

    async def shutdown(self) -> None:
        for engine in self.engines.values():
            if engine.runner is not None:
                engine.runner.stop()
        tasks = [e.task for e in self.engines.values() if e.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=30)
        for engine in self.engines.values():
            if engine.reader is not None:
                engine.reader.close()
            if engine.cache is not None:
                engine.cache.close()
            if engine.proxy is not None:
                engine.proxy.close()


def worker_main(worker_id: int, specs: list[EngineSpec], folder: str, conn: Connection) -> None:
    import logging

    logging.basicConfig(level=logging.CRITICAL)
    asyncio.run(_Worker(worker_id, specs, Path(folder), conn).serve())


# ---- servers --------------------------------------------------------------------------


class Server:
    """One ``branchsync-server serve`` process on a fixed port, restartable in place."""

    def __init__(self, index: int, database_url: str, port: int, settings: dict[str, str]) -> None:
        self.index = index
        self.database_url = database_url
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.settings = settings
        self.process: subprocess.Popen[str] | None = None
        self.log: IO[str] | None = None
        self.cpu_before_restart = 0.0
        self.metrics_before_restart: dict[str, float] = {}
        self.logged: Counter[str] = Counter()

    def start(self) -> None:
        from tests.support.server_process import CLI, cli_env

        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (kept open while the process lives)
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", str(self.port)],
            env=cli_env(self.database_url, **self.settings),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_healthy(self, timeout: float = 60) -> None:
        assert self.process is not None and self.log is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"serve exited early: {self.log.read()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.05)  # sleep-ok: polling a condition with a deadline
        raise TimeoutError(f"serve on {self.url} did not become healthy in {timeout} s")

    def scan_log(self) -> None:
        """Count the problems the process logged so far (kept across restarts)."""
        if self.log is None:
            return
        self.log.seek(0)
        for line in self.log:
            if line.startswith("Traceback"):
                self.logged["traceback"] += 1
            elif " ERROR " in line or line.startswith("ERROR"):
                self.logged["ERROR line"] += 1
        self.log.close()
        self.log = None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def metrics(self) -> dict[str, float]:
        """The server's counters that matter here (HTTP answers by status, push histogram)."""
        try:
            text = httpx.get(f"{self.url}/metrics", timeout=5).text
        except httpx.TransportError:
            return {}
        out: dict[str, float] = {}
        for line in text.splitlines():
            if (
                line.startswith(
                    (
                        "branchsync_http_responses_total",
                        "branchsync_push_duration_seconds_",
                        "branchsync_pull_duration_seconds_",
                    )
                )
                and "_bucket" not in line
            ):
                name, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    out[name] = float(value)
        return out

    def cpu_seconds(self) -> float:
        if self.process is None or self.process.poll() is not None:
            return 0.0
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(self.process.pid).cpu_times()
            return float(t.user + t.system)
        return 0.0

    def restart(self) -> float:
        """SIGTERM, then start again on the same port; returns seconds until healthy."""
        self.metrics_before_restart = _merge(self.metrics_before_restart, self.metrics())
        self.cpu_before_restart += self.cpu_seconds()
        started = time.time()
        self.stop()
        self.scan_log()
        self.start()
        self.wait_healthy()
        return time.time() - started


def _merge(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + v
    return out


# ---- the coordinator -----------------------------------------------------------------


@dataclass
class Figures:
    config: dict[str, Any]
    applied_last_ms: list[float] = field(default_factory=list)
    applied_all_ms: list[float] = field(default_factory=list)
    applied_fault_ms: list[float] = field(default_factory=list)
    push_ms: list[float] = field(default_factory=list)
    catch_up: list[dict[str, Any]] = field(default_factory=list)
    restart: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    fault_errors: dict[str, int] = field(default_factory=dict)
    server_log: dict[str, int] = field(default_factory=dict)
    server_side: dict[str, Any] = field(default_factory=dict)
    """The servers' own /metrics: pushes and pulls answered and their mean time, answers by status."""
    """Problems the server processes logged (tracebacks, ERROR lines), over the whole run."""
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    pg_connections: dict[str, Any] = field(default_factory=dict)
    writes: int = 0
    edits: int = 0
    """Edits of existing clients (``--edit-share``): not timed, checked by the final comparison."""
    missing: int = 0
    verification: dict[str, Any] = field(default_factory=dict)
    converged: bool = False


class Fleet:
    def __init__(self, args: argparse.Namespace, database_url: str, folder: Path) -> None:
        self.args = args
        self.database_url = database_url
        self.folder = folder
        self.rng = random.Random(args.seed)
        self.servers: list[Server] = []
        self.workers: list[tuple[Any, Connection]] = []
        self.owner: dict[int, int] = {}
        """branch index -> worker index"""
        self.server_of: dict[int, int] = {}
        self.wrote: dict[str, tuple[int, float]] = {}
        self.arrivals: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.windows: list[tuple[float, float]] = []
        """Fault windows (a cut, a restart): writes made inside them are timed apart."""
        self.push_ms: list[float] = []
        self.catch_up: list[dict[str, Any]] = []
        self.replies: dict[int, list[Any]] = defaultdict(list)
        self.lock = threading.Lock()
        self.reply_ready = threading.Condition(self.lock)
        self.markers = 0
        self.pg_max: dict[str, int] = defaultdict(int)
        self.send_locks: list[threading.Lock] = []
        self.ask_lock = threading.Lock()
        self.cut_window = [math.inf, math.inf]
        self.pg_sampler: asyncio.AbstractEventLoop | None = None
        self.pg_conn: Any = None
        self.backend_cpu: dict[int, float] = {}
        self.backend_cpu_start: dict[int, float] = {}
        self.sessions_start = 0
        self.edits_sent = 0
        self.edits_handled = 0

    # -- plumbing
    def _listen(self, w: int, conn: Connection) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            with self.lock:
                if message[0] == "data":
                    _, arrivals, wrote, push_ms, catch_up = message
                    for marker, branch, t in wrote:
                        self.wrote[marker] = (branch, t)
                    for marker, branch, t in arrivals:
                        self.arrivals[marker].append((branch, t))
                    self.push_ms.extend(push_ms)
                    self.catch_up.extend(catch_up)
                else:
                    self.replies[w].append(message)
                    self.reply_ready.notify_all()

    def _broadcast(self, message: tuple[Any, ...]) -> None:
        for w in range(len(self.workers)):
            self._to(w, message)

    def _to(self, w: int, message: tuple[Any, ...]) -> None:
        with self.send_locks[w]:
            self.workers[w][1].send(message)

    def _ask_all(self, message: tuple[Any, ...], timeout: float = 120) -> list[Any]:
        with self.ask_lock:
            return self._ask_all_unlocked(message, timeout)

    def _ask_all_unlocked(self, message: tuple[Any, ...], timeout: float) -> list[Any]:
        self._broadcast(message)
        deadline = time.monotonic() + timeout
        with self.lock:
            while not all(self.replies[w] for w in range(len(self.workers))):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"workers did not answer {message[0]!r} in {timeout} s")
                self.reply_ready.wait(left)
            return [self.replies[w].pop(0) for w in range(len(self.workers))]

    def _send(self, branch: int, message: tuple[Any, ...]) -> None:
        self._to(self.owner[branch], message)

    def states(self) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        handled = 0
        for reply in self._ask_all(("states",)):
            out.update({int(k): v for k, v in reply[1].items()})
            handled += reply[2]
        self.edits_handled = handled
        return out

    def wait_for(
        self, condition: Callable[[dict[int, dict[str, Any]]], bool], timeout: float
    ) -> float | None:
        """Seconds until ``condition(states)`` held, or None after ``timeout``."""
        started = time.time()
        while time.time() - started < timeout:
            if condition(self.states()):
                return time.time() - started
            time.sleep(0.1)  # sleep-ok: polling a condition with a deadline
        return None

    # -- set-up
    async def make_codes(self, count: int) -> list[str]:
        from server.ops import admin
        from server.store.engine import create_engine

        engine = create_engine(self.database_url, pool_size=1)
        codes = []
        try:
            async with engine.begin() as conn:
                for i in range(count):
                    name = f"Branch {i:05d}"
                    if await admin.find_branch(conn, name) is None:
                        await admin.create_branch(conn, name)
                    (issued,) = await admin.issue_codes(conn, name)
                    codes.append(issued.code)
        finally:
            await engine.dispose()
        return codes

    def start_servers(self) -> None:
        from tests.support.live_server import free_port

        # every branch enrols from this one address at set-up: lift the per-address enrolment
        # limit (a guard against floods, not what is measured here); the rest stays as shipped
        settings = {"enroll_rate_per_min": "100000", "enroll_burst": "1000"}
        settings.update(dict(self.args.server_setting or []))
        for i in range(self.args.servers):
            server = Server(i, self.database_url, free_port(), settings)
            server.start()
            self.servers.append(server)
        for server in self.servers:
            server.wait_healthy()

    def start_workers(self) -> None:
        n = self.args.branches
        cut = max(1, math.ceil(n * self.args.cut_share)) if self.args.cut_share > 0 else 0
        self.cut_branches = sorted(self.rng.sample(range(1, n), min(cut, n - 1))) if cut else []
        codes = asyncio.run(self.make_codes(n))
        specs: list[list[EngineSpec]] = [[] for _ in range(self.args.workers)]
        for i in range(n):
            s = i % len(self.servers)
            self.server_of[i] = s
            w = i % self.args.workers
            self.owner[i] = w
            specs[w].append(
                EngineSpec(i, f"Branch {i:05d} PC", codes[i], self.servers[s].url, s, i in self.cut_branches)
            )
        ctx = multiprocessing.get_context("spawn")
        for w in range(self.args.workers):
            mine, theirs = ctx.Pipe()
            process = ctx.Process(
                target=worker_main, args=(w, specs[w], str(self.folder), theirs), daemon=True
            )
            process.start()
            self.workers.append((process, mine))
            self.send_locks.append(threading.Lock())
            threading.Thread(target=self._listen, args=(w, mine), daemon=True).start()

    # -- the run
    def write(self, branch: int, count: int = 1) -> None:
        markers = []
        for _ in range(count):
            self.markers += 1
            markers.append(f"{MARK}{self.markers:07d}")
        self._send(branch, ("write", branch, markers))

    def sample(self, figures: Figures) -> None:
        """CPU/RSS is read at the end; here: PostgreSQL connections per server process, and the
        CPU each PostgreSQL backend of this database has used (the most seen per backend)."""
        if self.pg_sampler is not None:
            with contextlib.suppress(Exception):
                for pid in self.pg_sampler.run_until_complete(self.pg_conn.fetch(_BACKENDS)):
                    cpu = _cpu(int(pid["pid"]))
                    self.backend_cpu[int(pid["pid"])] = max(self.backend_cpu.get(int(pid["pid"]), 0.0), cpu)
        for server in self.servers:
            if server.process is None or server.process.poll() is not None:
                continue
            with contextlib.suppress(psutil.Error):
                conns = psutil.Process(server.process.pid).net_connections(kind="tcp")
                n = sum(1 for c in conns if c.raddr and c.raddr.port == self.pg_port)
                key = f"server {server.index}"
                self.pg_max[key] = max(self.pg_max[key], n)

    def run(self) -> Figures:
        args = self.args
        figures = Figures(
            config={k: v for k, v in vars(args).items() if k not in ("admin_url", "database_url", "json")}
        )
        self.pg_port = int(asyncio.run(_pg_port(self.database_url)))
        self.start_servers()
        setup_started = time.time()
        self.start_workers()
        self._wait_ready()
        self._broadcast(("start",))
        n = args.branches
        took = self.wait_for(lambda s: len(s) == n and all(v["synced"] for v in s.values()), 300)
        if took is None:
            raise RuntimeError("the fleet did not come online")
        print(f"  {n} engines enrolled and online in {time.time() - setup_started:.1f} s", flush=True)
        cpu_start = self.cpu_snapshot()
        self.pg_sampler = asyncio.new_event_loop()
        self.pg_conn = self.pg_sampler.run_until_complete(asyncpg.connect(self.database_url))
        sessions_start = self.pg_sampler.run_until_complete(self.pg_conn.fetchval(_SESSIONS))
        self.backend_cpu_start = {}
        self.sample(figures)
        self.backend_cpu_start = dict(self.backend_cpu)
        self.sessions_start = int(sessions_start or 0)

        duration = args.duration
        start = time.time()
        events = [
            (0.25, "burst"),
            (0.35, "cut"),
            (0.55, "restore"),
            (0.65, "restart"),
        ]
        next_write = start
        interval = 1.0 / args.rate
        next_sample = start
        restarting: threading.Thread | None = None
        while time.time() - start < duration:
            now = time.time()
            while events and now - start >= events[0][0] * duration:
                _, what = events.pop(0)
                if what == "burst" and args.burst:
                    print(f"  t+{now - start:5.1f} s: burst of {args.burst} edits from branch 0", flush=True)
                    self.write(0, args.burst)
                elif what == "cut" and self.cut_branches:
                    self.cut_window = [time.time(), math.inf]
                    print(
                        f"  t+{now - start:5.1f} s: cutting {len(self.cut_branches)} branches off", flush=True
                    )
                    for b in self.cut_branches:
                        self._send(b, ("cut", b))
                elif what == "restore" and self.cut_branches:
                    print(f"  t+{now - start:5.1f} s: restoring them", flush=True)
                    self.cut_window[1] = time.time()
                    for b in self.cut_branches:
                        self._send(b, ("restore", b))
                elif what == "restart" and args.restart:
                    print(f"  t+{now - start:5.1f} s: restarting server 0 (writes go on)", flush=True)

                    def restart() -> None:
                        figures.restart = self.restart(0)
                        print(
                            f"  server 0 healthy in {figures.restart['healthy_s']:.1f} s, all its engines"
                            f" back online {figures.restart['steady_s']} s after SIGTERM",
                            flush=True,
                        )

                    restarting = threading.Thread(target=restart, daemon=True)
                    restarting.start()
                now = time.time()
            if now >= next_write:
                branch = self.rng.randrange(n)
                if self.rng.random() < args.edit_share:
                    self.edits_sent += 1
                    self._send(branch, ("edit", branch, self.rng.randrange(1_000_000)))
                else:
                    self.write(branch)
                next_write += self.rng.expovariate(1.0 / interval) if args.poisson else interval
            if now >= next_sample:
                self.sample(figures)
                next_sample += 2.0
            time.sleep(max(0.0, min(next_write, next_sample) - time.time()))  # sleep-ok: pacing the writes
        print(f"  writes stopped after {time.time() - start:.1f} s; waiting for convergence", flush=True)
        if restarting is not None:
            restarting.join()
        self.converge(figures, cpu_start)
        return figures

    def _wait_ready(self) -> list[Any]:
        deadline = time.monotonic() + 600
        with self.lock:
            while not all(self.replies[w] for w in range(len(self.workers))):
                if any(not p.is_alive() for p, _ in self.workers):
                    raise RuntimeError("a worker died during set-up")
                self.reply_ready.wait(min(1.0, max(0.0, deadline - time.monotonic())))
                if time.monotonic() > deadline:
                    raise TimeoutError("workers did not enrol their engines in time")
            return [self.replies[w].pop(0) for w in range(len(self.workers))]

    def restart(self, index: int) -> dict[str, Any]:
        server = self.servers[index]
        mine = [b for b, s in self.server_of.items() if s == index]
        self._ask_all(("fault", index, True))  # every worker knows before the first socket drops
        sigterm = time.time()
        healthy_s = server.restart()

        # Back = reconnected and caught up once since the SIGTERM (online, nothing in flight);
        # "all online at one instant" would wait for a moment when none of 200 engines is
        # pushing or pulling, which at 5 writes/s is luck.
        def back(states: dict[int, dict[str, Any]]) -> bool:
            return all((since := states[b]["came_online"]) is not None and since > sigterm for b in mine)

        waited = self.wait_for(back, 60)
        states = self.states()
        back_s = [
            since - sigterm
            for b in mine
            if (since := states[b]["came_online"]) is not None and since > sigterm
        ]
        self._ask_all(("fault", index, False))
        self.windows.append((sigterm, time.time()))
        return {
            "server": index,
            "engines": len(mine),
            "healthy_s": round(healthy_s, 2),
            "steady_s": None if waited is None else round(healthy_s + waited, 2),
            "engine_back_s": {"p50": round(_pct(back_s, 0.5), 2), "p90": round(_pct(back_s, 0.9), 2)}
            if back_s
            else None,
        }

    def cpu_snapshot(self) -> dict[str, float]:
        out: dict[str, float] = {"coordinator": _cpu(os.getpid())}
        for w, (process, _) in enumerate(self.workers):
            out[f"worker {w}"] = _cpu(process.pid)
        for server in self.servers:
            out[f"server {server.index}"] = server.cpu_before_restart + server.cpu_seconds()
        return out

    def converge(self, figures: Figures, cpu_start: dict[str, float]) -> None:
        n = self.args.branches
        written = self.markers

        def everywhere(states: dict[int, dict[str, Any]]) -> bool:
            with self.lock:
                arrived = len(self.wrote) == written and all(
                    sum(1 for b, _ in self.arrivals.get(m, ()) if b != w[0]) >= n - 1
                    for m, w in self.wrote.items()
                )
            return (
                arrived
                and self.edits_handled == self.edits_sent
                and all(v["synced"] for v in states.values())
                and len({v["cursor"] for v in states.values()}) == 1
            )

        settle_until = time.time() + self.args.settle
        took = self.wait_for(everywhere, self.args.settle)
        with self.lock:
            back = max((c["seconds"] for c in self.catch_up), default=0.0)
        self.windows.append((self.cut_window[0], self.cut_window[1] + back))
        figures.converged = took is not None
        cpu_end = self.cpu_snapshot()
        for key, end in cpu_end.items():
            figures.processes[key] = {"cpu_s": round(end - cpu_start.get(key, 0.0), 1)}
        for w, (process, _) in enumerate(self.workers):
            figures.processes[f"worker {w}"]["rss_mib"] = _rss(process.pid)
        figures.processes["coordinator"]["rss_mib"] = _rss(os.getpid())
        for server in self.servers:
            if server.process is not None:
                figures.processes[f"server {server.index}"]["rss_mib"] = _rss(server.process.pid)
        self.sample(figures)
        sampler, self.pg_sampler = self.pg_sampler, None
        assert sampler is not None
        sessions = int(sampler.run_until_complete(self.pg_conn.fetchval(_SESSIONS)) or 0)
        sampler.run_until_complete(self.pg_conn.close())
        sampler.close()
        backend_cpu = sum(cpu - self.backend_cpu_start.get(pid, 0.0) for pid, cpu in self.backend_cpu.items())
        figures.processes["postgres backends"] = {"cpu_s": round(backend_cpu, 1)}
        figures.pg_connections = {
            "sessions opened during the run": sessions - self.sessions_start,
            "max per server process": dict(self.pg_max),
            "database now": asyncio.run(_pg_activity(self.database_url)),
        }
        # verification: equal row for row, once everything settled (an edit counted by the
        # engine a moment late is waited for, up to the same limit)
        while True:
            digests: dict[str, Any] = {}
            for reply in self._ask_all(("digests",)):
                digests.update(reply[1])
            server_side = asyncio.run(_server_digests(self.database_url))
            mismatched = sorted(
                int(b)
                for b, per in digests.items()
                if any(per[c]["digest"] != server_side[c]["digest"] for c in per)
            )
            if not mismatched or time.time() > settle_until:
                break
            time.sleep(0.5)  # sleep-ok: a late edit lands before the next comparison
            self.wait_for(everywhere, max(1.0, settle_until - time.time()))
        figures.verification = {
            "server_rows": {c: v["count"] for c, v in server_side.items()},
            "caches_checked": len(digests),
            "caches_differing": mismatched,
        }
        # timings
        with self.lock:
            figures.writes = len(self.wrote)
            for marker, (branch, t0) in self.wrote.items():
                times = [t for b, t in self.arrivals.get(marker, []) if b != branch]
                in_fault = any(start <= t0 <= end for start, end in self.windows)
                if len(times) < n - 1:
                    figures.missing += 1
                elif in_fault:
                    figures.applied_fault_ms.append((max(times) - t0) * 1000)
                else:
                    figures.applied_all_ms.extend((t - t0) * 1000 for t in times)
                    figures.applied_last_ms.append((max(times) - t0) * 1000)
            figures.push_ms = list(self.push_ms)
            figures.catch_up = list(self.catch_up)
        for reply in self._ask_all(("stop",)):
            _, errors, fault_errors, edits = reply
            figures.edits += edits
            for k, v in errors.items():
                figures.errors[k] = figures.errors.get(k, 0) + v
            for k, v in fault_errors.items():
                figures.fault_errors[k] = figures.fault_errors.get(k, 0) + v
        metrics: dict[str, float] = {}
        for server in self.servers:
            metrics = _merge(metrics, _merge(server.metrics_before_restart, server.metrics()))
        for name, value in metrics.items():
            if name.startswith("branchsync_http_responses_total") and 'status="5' in name and value:
                figures.errors[f"server answered {name.split('status=')[1][1:4]}"] = int(value)
        for kind, plural in (("push", "pushes"), ("pull", "pulls")):
            count = metrics.get(f"branchsync_{kind}_duration_seconds_count", 0.0)
            total = metrics.get(f"branchsync_{kind}_duration_seconds_sum", 0.0)
            figures.server_side[f"{plural} answered"] = int(count)
            figures.server_side[f"{kind} mean ms"] = round(total / count * 1000, 1) if count else None
        figures.server_side["answers by status"] = {
            name.split('status="')[1][:3]: int(value)
            for name, value in metrics.items()
            if name.startswith("branchsync_http_responses_total")
        }
        if mismatched:
            figures.errors["cache differs from the server"] = len(mismatched)
        if figures.missing:
            figures.errors["write missing from some cache"] = figures.missing
        if len(self.catch_up) < len(self.cut_branches):
            figures.errors["returning branch never caught up"] = len(self.cut_branches) - len(self.catch_up)
        if self.args.restart and figures.restart.get("steady_s") is None:
            figures.errors["engines not back after the restart"] = 1
        if not figures.converged:
            figures.errors["did not converge"] = 1

    def close(self) -> None:
        for process, conn in self.workers:
            with contextlib.suppress(OSError):
                conn.send(("stop",))
            process.join(30)
            if process.is_alive():
                process.kill()
        for server in self.servers:
            server.stop()
            server.scan_log()

    def server_log(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for server in self.servers:
            total.update(server.logged)
        return dict(total)


_BACKENDS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'"
)
_SESSIONS = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"


def _cpu(pid: int) -> float:
    with contextlib.suppress(psutil.Error):
        p = psutil.Process(pid)
        t = p.cpu_times()
        return float(t.user + t.system + t.children_user + t.children_system)
    return 0.0


def _rss(pid: int) -> float:
    with contextlib.suppress(psutil.Error):
        return round(float(psutil.Process(pid).memory_info().rss) / 2**20, 1)
    return 0.0


async def _pg_port(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT current_setting('port')"))
    finally:
        await conn.close()


async def _pg_activity(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT coalesce(state, '?') AS state, count(*) AS n FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1"
        )
        return {r["state"]: int(r["n"]) for r in rows}
    finally:
        await conn.close()


async def _server_digests(database_url: str) -> dict[str, dict[str, Any]]:
    conn = await asyncpg.connect(database_url)
    try:
        out = {}
        for name, collection in COLLECTIONS.items():
            rows = await conn.fetch(f"SELECT * FROM {name} WHERE NOT deleted")
            table = {str(r["id"]): {f: r[f] for f in collection.field_names} for r in rows}
            out[name] = {"digest": rows_digest(table), "count": len(table)}
        return out
    finally:
        await conn.close()


# ---- report ----------------------------------------------------------------------------


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _line(label: str, values: Sequence[float], unit: str = "ms", goal: str = "") -> str:
    if not values:
        return f"  {label:<44} (none)"
    return (
        f"  {label:<44} p50 {_pct(values, 0.5):8.1f}  p99 {_pct(values, 0.99):8.1f}"
        f"  max {max(values):8.1f} {unit}  (n={len(values)}){goal}"
    )


def report(f: Figures) -> None:
    c = f.config
    print(
        f"\nfleet: {c['branches']} branches in {c['workers']} worker processes, {c['servers']} server"
        f" process(es); {c['rate']} writes/s company-wide for {c['duration']} s, {f.writes} new clients"
        f" timed, {f.edits} edits"
    )
    print(
        _line(
            "write -> applied in every other cache",
            f.applied_last_ms,
            goal=f"  goal p99 < {GOAL_APPLIED_P99_MS:.0f} ms",
        )
    )
    print(_line("write -> applied, every (write, cache) pair", f.applied_all_ms))
    print(_line("write in a fault window -> in every cache", f.applied_fault_ms))
    print(
        _line(
            "push (outbox batch -> answer applied)", f.push_ms, goal=f"  goal p99 < {GOAL_PUSH_P99_MS:.0f} ms"
        )
    )
    print(_line("returning branch: link back -> caught up", [x["seconds"] for x in f.catch_up], "s"))
    if f.restart:
        back = f.restart.get("engine_back_s") or {}
        print(
            f"  restart of server {f.restart['server']} ({f.restart['engines']} engines): healthy in"
            f" {f.restart['healthy_s']} s, every engine back online {f.restart['steady_s']} s after"
            f" SIGTERM (goal < {GOAL_RESTART_S:.0f} s); one engine back after p50 / p90"
            f" {back.get('p50')} / {back.get('p90')} s"
        )
    print("  errors by kind:" + ("" if f.errors else " none"))
    for kind, count in sorted(f.errors.items()):
        print(f"    {count:6d}  {kind}")
    if f.fault_errors:
        print("  reported by engines inside fault windows (cut link, restarting server):")
        for kind, count in sorted(f.fault_errors.items()):
            print(f"    {count:6d}  {kind}")
    print("  processes (CPU over the measured run, RSS at the end):")
    for name, p in f.processes.items():
        rss = f"  rss {p['rss_mib']:7.1f} MiB" if "rss_mib" in p else ""
        print(f"    {name:<18} cpu {p['cpu_s']:7.1f} s{rss}")
    print(f"  PostgreSQL connections: {f.pg_connections}")
    print(f"  server side (/metrics, every process and restart): {f.server_side}")
    print(f"  server logs: {f.server_log or 'no traceback, no ERROR line'}")
    v = f.verification
    differing = v.get("caches_differing")
    verdict = f"DIFFERING: {differing}" if differing else "every cache equals the server"
    print(
        f"  verification: {v.get('caches_checked')} caches against {v.get('server_rows')} server rows:"
        f" {verdict}"
    )
    print(f"  converged: {f.converged}; errors: {sum(f.errors.values())}")


def summary(f: Figures) -> dict[str, Any]:
    def stats(values: Sequence[float]) -> dict[str, float] | None:
        if not values:
            return None
        return {
            "p50": round(_pct(values, 0.5), 1),
            "p99": round(_pct(values, 0.99), 1),
            "max": round(max(values), 1),
            "mean": round(statistics.fmean(values), 1),
            "n": len(values),
        }

    out = asdict(f)
    for key in ("applied_last_ms", "applied_all_ms", "applied_fault_ms", "push_ms"):
        out[key] = stats(out[key])
    out["error_count"] = sum(f.errors.values())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--branches", type=int, default=200, help="branches, one engine each (default 200)")
    parser.add_argument(
        "--rate", type=float, default=0.5, help="writes per second company-wide (default 0.5)"
    )
    parser.add_argument("--duration", type=float, default=120, help="seconds of writing (default 120)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="worker processes (default: cores)"
    )
    parser.add_argument("--servers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument(
        "--burst", type=int, default=100, help="edits in the one-branch burst (default 100; 0: none)"
    )
    parser.add_argument(
        "--cut-share", type=float, default=0.05, help="share of branches cut off (default 0.05)"
    )
    parser.add_argument("--no-restart", dest="restart", action="store_false", help="no server restart")
    parser.add_argument(
        "--edit-share",
        type=float,
        default=0.0,
        help="share of steady writes that edit a client the branch made (untimed; default 0)",
    )
    parser.add_argument("--poisson", action="store_true", help="random (Poisson) gaps between writes")
    parser.add_argument("--settle", type=float, default=120, help="seconds allowed to converge (default 120)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--server-setting",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="a BRANCHSYNC_<NAME> setting for the servers (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="save the figures to this file")
    parser.add_argument("--database-url", help="an existing database to use (default: a scratch one)")
    parser.add_argument("--admin-url", help="superuser URL of the PostgreSQL for the scratch database")
    args = parser.parse_args()

    from tests.support import postgres

    with contextlib.ExitStack() as stack:
        database_url = args.database_url
        if database_url is None:
            admin = args.admin_url or stack.enter_context(postgres.admin_url())
            database_url = asyncio.run(postgres.create_database(admin))
            stack.callback(lambda: asyncio.run(postgres.drop_database(admin, database_url)))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fleet-")))
        fleet = Fleet(args, database_url, folder)
        stack.callback(fleet.close)
        figures = fleet.run()
        fleet.close()
        figures.server_log = fleet.server_log()
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(summary(figures), indent=2, default=str))
    return 0 if figures.converged and not figures.errors else 1


if __name__ == "__main__":
    sys.exit(main())
