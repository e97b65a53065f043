"""The engine on its own thread: start it, stop it cleanly, learn how it ended.

The thread runs its own asyncio loop (nothing of it touches the caller's thread), so
a GUI never waits for the network. ``on_status`` is called on the engine's thread;
the UI's bridge turns it into a Qt signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from desktop.config.tls import default_client_context
from desktop.sync.actions import Outcome
from desktop.sync.runner import Runner

__all__ = ["SyncThread"]


class SyncThread:
    """Runs a ``Runner`` until ``stop()`` (or until a ``Mode.ONCE`` run is done).

    Args:
        runner: the runner to drive; it must not have been run before.
        name: the thread's name, for debuggers and logs.
    """

    def __init__(self, runner: Runner, *, name: str = "branchsync-sync") -> None:
        self._runner = runner
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._outcome: Outcome | None = None
        self._error: BaseException | None = None

    @property
    def outcome(self) -> Outcome | None:
        """How a ``Mode.ONCE`` run ended (None while running, or for a continuous run)."""
        return self._outcome

    @property
    def error(self) -> BaseException | None:
        """What stopped the engine unexpectedly (a ``StorageError``, or a bug), if anything did."""
        return self._error

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        """Start the engine's thread; returns at once."""
        # The process's shared TLS context is built here, once, on the caller's thread, so the
        # engine's start does not spend its first moments parsing certificates.
        default_client_context()
        self._thread.start()
        self._started.wait()

    def stop(self, timeout: float = 15.0) -> bool:
        """Ask the engine to close everything and wait for its thread; True when it ended in time."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(self._runner.stop)
        return self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the engine's thread to end; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        try:
            asyncio.run(self._amain())
        except BaseException as exc:  # reported through ``error``: a thread cannot raise to its owner
            self._error = exc
        finally:
            self._started.set()

    async def _amain(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._started.set()
        self._outcome = await self._runner.run()
