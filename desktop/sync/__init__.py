"""The sync engine: replays the outbox, pulls changes, keeps a socket open, reports status.

``core`` decides (events in, actions out, no I/O), its states and their transition
tables in ``phases``; ``runner`` carries the decisions out on its own asyncio loop in
its own thread, talking to the cache only through ``ports.CachePort``. Events and
actions are the closed sets in ``events`` and ``actions``; the UI only ever sees
``StatusSnapshot`` values.
"""

from desktop.sync.core import CoreConfig, Phase, SyncCore
from desktop.sync.errors import SyncError
from desktop.sync.status import EngineState, Halt, StatusSnapshot

__all__ = ["CoreConfig", "EngineState", "Halt", "Phase", "StatusSnapshot", "SyncCore", "SyncError"]
