"""The I/O half of the chaos suite: real processes that a schedule from ``tests.support.chaos``
writes through and breaks.

A ``World`` is a private PostgreSQL cluster (never the shared one: the run stops it), one
``branchsync-server serve`` process on it, and branches: each an enrolled installation
whose cache this process writes to (as the UI would), whose engine runs in a process of
its own (``tests.support.chaos_engine``, so it can be killed with SIGKILL), and whose
link to the server goes through its own ``LinkProxy`` (cut, stalled, slowed). Every
process runs on this machine, so all share one clock. ``World.run`` carries a schedule
out, heals everything, waits (on a condition, with a deadline) until every cache equals
the server, then judges the final state with ``chaos.check``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import asyncpg

from desktop.cache import Cache, NotFound
from desktop.demo.link_proxy import Direction, LinkProxy
from protocol.hlc import system_wall_ms
from protocol.merge import DELETED
from tests.support.chaos import FIELDS, Fault, FaultKind, Heal, Ledger, Made, Step, Verdict, Write, check
from tests.support.desktop_engine import Installation, enrolled_installation, wait_until
from tests.support.live_server import free_port
from tests.support.private_postgres import PrivateCluster, private_cluster
from tests.support.server_process import ServerProcess, start_server, stop_process, wait_healthy
from tests.support.server_rows import server_count, server_rows

__all__ = ["Figures", "World", "chaos_world"]

SLOW_DELAY_S = 0.2
"""How late a slowed link delivers each chunk."""
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Figures:
    """What a run did and what its final state says."""

    writes: int
    skipped: int
    """Writes the schedule asked for that found their row gone when made (nothing written)."""
    faults: Counter[FaultKind]
    convergence_s: float | None
    """From the last heal until every cache equalled the server; None if that never came."""
    max_offset_ms: int
    """The largest clock correction any branch applied (the truth is 0: one machine)."""
    conflicts: int
    """Lost values recorded, all branches and runs: how much the writes really raced."""
    verdict: Verdict


class _Server:
    """``serve`` on a fixed port, killed with SIGKILL and started again there."""

    def __init__(self, database_url: str, log: IO[str]) -> None:
        self._database_url = database_url
        self._log = log
        self.port = free_port()
        self.current: ServerProcess | None = None

    def start(self) -> None:
        # it waits for PostgreSQL at start (the run may have it down) rather than giving up
        self.current = start_server(self._database_url, self.port, self._log, DB_START_WAIT_S="600")

    def wait_healthy(self) -> None:
        assert self.current is not None
        wait_healthy(self.current, self._log, START_TIMEOUT_S)

    def check_running(self) -> None:
        """AssertionError, with the log's last line, if the server exited without being killed."""
        assert self.current is not None
        code = self.current.process.poll()
        if code is not None:
            self._log.flush()
            self._log.seek(0)
            last = self._log.read().strip().rsplit("\n", 1)[-1]
            raise AssertionError(f"the server exited on its own with {code}: {last}")

    def kill(self) -> None:
        self.check_running()
        assert self.current is not None
        self.current.process.kill()
        self.current.process.wait()
        self.current = None

    def stop(self) -> None:
        if self.current is not None:
            stop_process(self.current.process)


@dataclass
class _Branch:
    """One branch PC: its cache (written here), its link, its engine process."""

    index: int
    installation: Installation
    proxy: LinkProxy
    log: IO[str]
    engine: subprocess.Popen[bytes] | None = None

    @property
    def cache(self) -> Cache:
        return self.installation.cache

    def start_engine(self) -> None:
        assert self.engine is None, "already running"
        command = [sys.executable, "-m", "tests.support.chaos_engine", str(self.installation.data_dir)]
        self.engine = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)

    def kill_engine(self) -> None:
        assert self.engine is not None
        os.kill(self.engine.pid, signal.SIGKILL)
        code = self.engine.wait(timeout=30)
        assert code == -signal.SIGKILL, f"branch {self.index}'s engine had exited with {code} before the kill"
        self.engine = None

    def exited(self) -> int | None:
        """The exit code of an engine that stopped on its own (None while it runs)."""
        return None if self.engine is None else self.engine.poll()

    def stop_engine(self) -> None:
        if self.engine is not None:
            stop_process(self.engine)
            self.engine = None

    def registers(self) -> dict[str, dict[str, Any]]:
        rows = self.cache.list_rows("clients", limit=None, include_deleted=True)
        return {r.id: {**{name: r.fields.get(name) for name in FIELDS}, DELETED: r.deleted} for r in rows}


class World:
    """A private database, a server process and ``branches``, ready to run a schedule."""

    def __init__(
        self, cluster: PrivateCluster, database_url: str, server: _Server, branches: list[_Branch]
    ) -> None:
        self.cluster = cluster
        self.database_url = database_url
        self.server = server
        self.branches = branches
        self.ledger = Ledger()
        """Every write of every run in this world: each run is judged on the whole history."""
        self._steps = 0

    def run(self, steps: Sequence[Step], *, gap_s: float = 0.05, converge_timeout: float = 60) -> Figures:
        """Carry ``steps`` out, a write every ``gap_s`` seconds, then heal and judge the world.

        ``steps`` must heal every fault it makes (``chaos.schedule`` does). Runs may follow
        one another in one world; the figures count this run, the verdict all of them.
        """
        before = len(self.ledger.writes)
        faults: Counter[FaultKind] = Counter()
        skipped = 0
        for step in steps:
            match step:
                case Write():
                    self._steps += 1
                    made = self._write(self._steps, step)
                    if made is None:
                        skipped += 1
                    else:
                        self.ledger.record(made)
                    time.sleep(gap_s)  # sleep-ok: the gap that makes real-time order unambiguous
                case Fault():
                    self._inflict(step)
                    faults[step.kind] += 1
                case Heal(fault=fault):
                    self._heal(fault)
        healed = time.monotonic()
        convergence: float | None = None
        try:
            wait_until(self._converged, converge_timeout, "every cache equal to the server, nothing pending")
            convergence = time.monotonic() - healed
        except AssertionError:
            self._check_processes()  # a process that died says so; else the verdict says what differs
        offsets = [abs(branch.cache.state().clock_offset_ms) for branch in self.branches]
        writes = len(self.ledger.writes) - before
        conflicts = sum(len(branch.cache.conflicts(include_dismissed=True)) for branch in self.branches)
        verdict = self._judge(self.ledger)
        return Figures(writes, skipped, faults, convergence, max(offsets), conflicts, verdict)

    # ---- writes ------------------------------------------------------------------------

    def _write(self, seq: int, step: Write) -> Made | None:
        """Make ``step`` on its branch's cache; what it wrote, or None if its row went meanwhile."""
        cache = self.branches[step.branch].cache
        row_id = step.row(record.id for record in cache.list_rows("clients", limit=None))
        if row_id is None and step.kind != "create":
            step = Write(step.branch, "create", step.pick, FIELDS[:1])
        values = Ledger.values_for(seq, step)
        fields = {name: value for name, value in values.items() if name != DELETED}
        entry = None
        uncertainty, at_ms = cache.state().clock_uncertainty_ms, system_wall_ms()
        try:
            if row_id is None or step.kind == "create":
                row_id = cache.create("clients", fields)
            elif cache.get("clients", row_id) is None:
                return None
            else:
                # Stamp and base from the mutation itself, made in the write's own transaction:
                # the engine may apply a pulled change between a look at the row and the write,
                # and the write is then based on that change, not on what the look saw.
                with cache.batch() as writer:
                    if step.kind == "delete":
                        entry = writer.delete("clients", row_id)
                    else:
                        entry = writer.update("clients", row_id, fields)
        except NotFound:
            return None  # another branch's delete arrived between the look and the write
        if entry is None:  # a new row: its clocks are its stamp, it had no base
            after = cache.get("clients", row_id, include_deleted=True)
            assert after is not None
            stamps = {register: after.clocks[register] for register in values}
            bases: dict[str, str | None] = dict.fromkeys(values)
        else:
            stamps = dict.fromkeys(values, entry.hlc)
            bases = {register: (entry.base or {}).get(register) for register in values}
        return Made(seq, step.branch, row_id, values, stamps, bases, at_ms, uncertainty)

    # ---- faults ------------------------------------------------------------------------

    def _inflict(self, fault: Fault) -> None:
        match fault.kind:
            case FaultKind.CUT:
                self._branch(fault).proxy.cut()
            case FaultKind.STALL:
                self._branch(fault).proxy.stall(cast(Direction, fault.detail))
            case FaultKind.SLOW:
                self._branch(fault).proxy.slow(SLOW_DELAY_S)
            case FaultKind.KILL_ENGINE:
                self._branch(fault).kill_engine()
            case FaultKind.KILL_SERVER:
                self.server.kill()
            case FaultKind.RESTART_POSTGRES:
                self.cluster.stop(fault.detail)

    def _heal(self, fault: Fault) -> None:
        match fault.kind:
            case FaultKind.CUT | FaultKind.STALL | FaultKind.SLOW:
                self._branch(fault).proxy.restore()
            case FaultKind.KILL_ENGINE:
                self._branch(fault).start_engine()
            case FaultKind.KILL_SERVER:
                self.server.start()
            case FaultKind.RESTART_POSTGRES:
                self.cluster.start()

    def _branch(self, fault: Fault) -> _Branch:
        assert fault.branch is not None
        return self.branches[fault.branch]

    def explain(self, made: Made) -> list[str]:
        """What a lost write's row went through: every write to it, its final state, the conflicts."""
        lines = [f"row {made.row_id} on the server: {self._server_registers().get(made.row_id)}"]
        for other in self.ledger.writes:
            if other.row_id == made.row_id:
                lines.append(
                    f"  write {other.seq} by branch {other.branch} at {other.at_ms}: {dict(other.values)}"
                    f" stamps {dict(other.stamps)} bases {dict(other.bases)}"
                )
        for branch in self.branches:
            for c in branch.cache.conflicts(include_dismissed=True):
                if c.row_id == made.row_id:
                    lines.append(f"  conflict on branch {branch.index}: {c}")
        for stamp in set(made.stamps.values()):
            lines += [
                f"  the server's answer naming {stamp}: {answer}" for answer in self._answers_naming(stamp)
            ]
        return lines

    def _answers_naming(self, stamp: str) -> list[str]:
        async def fetch() -> list[str]:
            conn = await asyncpg.connect(self.database_url)
            try:
                query = "SELECT result::text AS r FROM applied_mutations WHERE result::text LIKE $1"
                return [row["r"] for row in await conn.fetch(query, f"%{stamp}%")]
            finally:
                await conn.close()

        return asyncio.run(fetch())

    # ---- the end -----------------------------------------------------------------------

    def _check_processes(self) -> None:
        """AssertionError if the server or an engine exited without being killed."""
        self.server.check_running()
        for branch in self.branches:
            code = branch.exited()
            assert code is None, f"branch {branch.index}'s engine exited on its own with {code}"

    def _converged(self) -> bool:
        self._check_processes()
        if any(branch.cache.counts().pending for branch in self.branches):
            return False
        server = self._server_registers()
        return all(_live(branch.registers()) == _live(server) for branch in self.branches)

    def _server_registers(self) -> dict[str, dict[str, Any]]:
        rows = server_rows(self.database_url, include_deleted=True)
        return {i: {**{name: r[name] for name in FIELDS}, DELETED: r["deleted"]} for i, r in rows.items()}

    def _judge(self, ledger: Ledger) -> Verdict:
        caches = [branch.cache for branch in self.branches]
        conflicts = [
            [(c.row_id, c.field, c.my_hlc) for c in cache.conflicts(include_dismissed=True)]
            for cache in caches
        ]
        counts = [cache.counts() for cache in caches]
        return check(
            ledger,
            self._server_registers(),
            [branch.registers() for branch in self.branches],
            conflicts,
            applied=server_count(self.database_url, "applied_mutations"),
            pending=[c.pending for c in counts],
            rejected=[c.rejected for c in counts],
        )


def _live(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row_id: registers for row_id, registers in rows.items() if not registers[DELETED]}


@contextmanager
def chaos_world(branches: int, folder: Path) -> Iterator[World]:
    """A started world in ``folder`` (logs and data dirs), torn down afterwards."""
    with ExitStack() as stack:
        cluster = stack.enter_context(private_cluster())
        database_url = cluster.create_database("branchsync")
        server = _Server(database_url, stack.enter_context((folder / "server.log").open("w+")))
        server.start()
        stack.callback(server.stop)
        server.wait_healthy()
        made: list[_Branch] = []
        for n in range(branches):
            proxy = stack.enter_context(LinkProxy("127.0.0.1", server.port))
            installation = stack.enter_context(
                enrolled_installation(proxy.url, database_url, folder / f"branch-{n}", f"Branch {n}")
            )
            branch = _Branch(
                n, installation, proxy, stack.enter_context((folder / f"engine-{n}.log").open("w"))
            )
            stack.callback(branch.stop_engine)
            branch.start_engine()
            made.append(branch)
        yield World(cluster, database_url, server, made)
