"""``python -m tests.support.chaos_engine DATA_DIR``: the engine of ``branchsync run`` in a process
of its own, with the fault tests' quick timeouts and backoff (``FAST``).

The chaos harness kills it with SIGKILL mid-sync and starts it again; ``branchsync run``
itself would wait up to a minute between attempts (the product's backoff), which makes
a seeded run slow, not different. Prints one line per change of state for the run log.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from desktop.cache import Cache
from desktop.sync.enrollment import endpoint_for
from desktop.sync.events import Mode
from desktop.sync.runner import Runner
from desktop.sync.status import StatusSnapshot
from tests.support.desktop_engine import FAST


class _Printer:
    """One line per change of state or error, not per snapshot."""

    def __init__(self) -> None:
        self._last: tuple[object, ...] | None = None

    def __call__(self, status: StatusSnapshot) -> None:
        if (status.state, status.last_error) != self._last:
            self._last = (status.state, status.last_error)
            error = f" ({status.last_error})" if status.last_error else ""
            print(
                f"{status.state.value}: cursor {status.cursor}, {status.pending} pending{error}", flush=True
            )


def main(data_dir: Path) -> None:
    with Cache(data_dir) as cache:
        runner = Runner(cache, endpoint_for(cache), mode=Mode.CONTINUOUS, config=FAST, on_status=_Printer())
        asyncio.run(runner.run())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
