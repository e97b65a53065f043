"""Noticing that the cache file changed, whoever changed it: one watcher for the UI and the engine.

Each ``Cache`` has one ``ChangeWatcher``. A write committed through that cache (a save
in the UI, a page the engine applied) wakes it at once; a write by another process
(``branchsync import`` while the app runs) is seen by looking at ``PRAGMA
data_version`` every ``interval`` seconds. Either way it checks the number once and,
when it moved, calls every listener once, however many commits that covers. The UI
turns the call into a Qt signal (``desktop.ui.watcher``), the engine into an event for
its core (``desktop.sync.runner``).

The watcher's thread starts with the first listener and stops with ``close``.
Listeners run on that thread: they must be quick and hand over to their own loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from desktop.cache.errors import StorageError

__all__ = ["ChangeWatcher", "Listener"]

log = logging.getLogger(__name__)

Listener = Callable[[], None]
"""Called (on the watcher's thread) after the cache changed."""


class ChangeWatcher:
    """Calls its listeners whenever the number ``token`` returns has moved.

    Args:
        token: reads the file's change number (``Database.change_token``).
        interval: seconds between looks when nothing wakes the watcher.
        name: the thread's name, for debuggers and logs.
    """

    def __init__(self, token: Callable[[], int], *, interval: float = 0.2, name: str = "branchsync-watch"):
        self._token = token
        self._interval = interval
        self._name = name
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._seen: int | None = None

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every change from now on; returns what stops that.

        A change committed after this returns is always reported, so a caller may read
        the cache right after subscribing without missing anything.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the cache is closed")
            self._listeners.append(listener)
            if self._thread is None:
                self._seen = self._read()  # here, not on the thread: the promise above
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def nudge(self) -> None:
        """Look now (this process just committed a write); safe from any thread."""
        self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        """Stop looking and calling; waits for the thread (idempotent)."""
        with self._lock:
            self._closed = True
            self._listeners.clear()
            thread, self._thread = self._thread, None
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _read(self) -> int | None:
        try:
            return self._token()
        except StorageError as exc:  # the disk failed: say nothing now, look again later
            log.info("could not read the cache's change number: %s", exc)
            return None

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._closed:
                return
            token = self._read()
            if token is None or token == self._seen:
                continue
            self._seen = token
            with self._lock:
                listeners = list(self._listeners)
            for listener in listeners:
                try:
                    listener()
                except Exception:
                    log.exception("a cache change listener failed; the others still hear")
