"""The parts of a large import, run by worker processes at once.

An import is mostly Python (mapping, merging, planning, the write path's checks), so one
process uses one core however many the machine has. Here each core gets a process with
one part of the records (``server.ops.importing.part``), its own connections and its own
server clock. This process only relays: progress, the links the parts share before each
record type is written, and their results.

A worker never outlives this process: it ignores Ctrl+C (this process stops them), and
exits at once if this process dies, even by ``kill -9``. Either way the batches in flight
roll back, and the same command again finishes the run.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from server.errors import AdminError
from server.ops.importing.part import ImportRequest, Part, PartResult, run_part
from server.ops.importing.plan import Links
from server.ops.importing.writing import WRITERS, NotCounted, Progress

__all__ = ["run_in_workers"]

_READING = "reading"


async def run_in_workers(
    database_url: str, max_clock_skew_s: float, request: ImportRequest, count: int, progress: Progress
) -> list[PartResult]:
    """Run the ``count`` parts of ``request`` in as many processes; their results, in order.

    Raises:
        AdminError: a part found a source it cannot read (then no part has written).
        RuntimeError: a worker failed or died.
    """
    context = multiprocessing.get_context("spawn")  # no copy of this process's loop and pool
    pipes: list[Connection] = []
    processes = []
    try:
        for index in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=work_on_part,
                args=(theirs, database_url, max_clock_skew_s, request, Part(index, count)),
                name=f"import part {index + 1} of {count}",
                daemon=True,
            )
            process.start()
            theirs.close()
            pipes.append(ours)
            processes.append(process)
        return await _relay(pipes, _Combined(progress, count))
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # interrupted, or another part failed
        for process in processes:
            process.join()
        for pipe in pipes:
            pipe.close()


async def _relay(pipes: Sequence[Connection], progress: _Combined) -> list[PartResult]:
    results: dict[int, PartResult] = {}
    links: dict[int, Links] = {}
    while len(results) < len(pipes):
        waiting = [pipe for index, pipe in enumerate(pipes) if index not in results]
        index, message = await asyncio.to_thread(_next_message, waiting)
        index = pipes.index(waiting[index])
        match message:
            case ("progress", *update):
                progress.update(index, *update)
            case ("links", Links() as planned):
                links[index] = planned
                if len(links) == len(pipes):  # every part planned this record type
                    union = Links()
                    for part in links.values():
                        union.update(part)
                    reply = pickle.dumps(("links", union))
                    for pipe in pipes:
                        pipe.send_bytes(reply)
                    links.clear()
            case ("done", PartResult() as result):
                results[index] = result
            case ("failed", str(why), bool(admin)):
                raise AdminError(why) if admin else RuntimeError(f"import part {index + 1} failed:\n{why}")
            case _:
                raise RuntimeError(f"import part {index + 1} stopped without an answer")
    return [results[index] for index in range(len(pipes))]


def _next_message(pipes: Sequence[Connection]) -> tuple[int, Any]:
    """The next message from any worker (blocking: run in a thread)."""
    ready = multiprocessing.connection.wait(pipes)
    pipe = ready[0]
    assert isinstance(pipe, Connection)
    try:
        return pipes.index(pipe), pipe.recv()
    except EOFError:
        return pipes.index(pipe), None


class _Combined:
    """The workers' progress as one bar: every part's counts of a phase added up, shown
    once every part has started it (each part reads every file: the first one's count)."""

    def __init__(self, progress: Progress, parts: int) -> None:
        self._progress = progress
        self._parts = parts
        self._phases: dict[str, dict[int, list[int]]] = {}
        self._shown: str | None = None

    def update(self, index: int, kind: str, *args: Any) -> None:
        if kind == "start":
            phase, total = args
            self._phases.setdefault(phase, {})[index] = [total, 0]
            counts = self._phases[phase]
            if len(counts) == self._parts and phase != self._shown:
                self._shown = phase
                self._progress.start(phase, self._sum(phase, 0))
        else:
            phase = next((p for p, counts in reversed(self._phases.items()) if index in counts), None)
            if phase is None:
                return
            self._phases[phase][index][1] = args[0]
            if phase == self._shown:
                self._progress.advance(self._sum(phase, 1))

    def _sum(self, phase: str, column: int) -> int:
        counts = self._phases[phase]
        if phase == _READING:
            return counts[min(counts)][column]
        return sum(entry[column] for entry in counts.values())


# ---- in the worker ------------------------------------------------------------------------


def work_on_part(
    pipe: Connection, database_url: str, max_clock_skew_s: float, request: ImportRequest, part: Part
) -> None:
    """A worker process's body: run ``part`` and send its result (or why it failed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the run through the parent
    _exit_with_parent()
    try:
        result = asyncio.run(_work(pipe, database_url, max_clock_skew_s, request, part))
    except AdminError as exc:
        pipe.send(("failed", str(exc), True))
    except Exception:  # the parent reports it: a worker has no one else to tell
        pipe.send(("failed", traceback.format_exc(), False))
    else:
        pipe.send(("done", result))
    finally:
        pipe.close()


async def _work(
    pipe: Connection, database_url: str, max_clock_skew_s: float, request: ImportRequest, part: Part
) -> PartResult:
    from server.api.runtime import new_server_clock
    from server.store.engine import create_engine
    from server.sync.write_path import Writer

    engine = create_engine(database_url, pool_size=WRITERS)
    try:
        writer = Writer(engine, new_server_clock(), max_clock_skew_s, NotCounted())
        return await run_part(engine, writer, request, part, _PipeExchange(pipe), _PipeProgress(pipe))
    finally:
        await engine.dispose()


def _exit_with_parent() -> None:
    """Exit as soon as the parent process is gone (killed, say), not some batches later."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


class _PipeExchange:
    def __init__(self, pipe: Connection) -> None:
        self._pipe = pipe

    async def share(self, links: Links) -> Links:
        self._pipe.send(("links", links))
        message = await asyncio.to_thread(self._pipe.recv)
        union: Links = message[1]
        return union


class _PipeProgress:
    def __init__(self, pipe: Connection) -> None:
        self._pipe = pipe

    def start(self, phase: str, total: int) -> None:
        self._pipe.send(("progress", "start", phase, total))

    def advance(self, done: int) -> None:
        self._pipe.send(("progress", "advance", done))
