"""Real-time fan-out of committed changes to this process's WebSockets.

PLACEHOLDER being replaced by the fan-out implementation (LISTEN connection, bounded
per-socket queues, resync of slow sockets).
"""

from __future__ import annotations

from server.state import ServerState

__all__ = ["Fanout"]


class Fanout:
    """One per process: listens for change notifications and feeds the sockets."""

    def __init__(self, state: ServerState) -> None:
        self._state = state

    async def start(self) -> None:
        """Connect the LISTEN connection and start broadcasting."""

    async def stop(self) -> None:
        """Close every socket and the listener."""
