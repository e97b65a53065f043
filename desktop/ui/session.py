"""Everything one window works with, opened together and closed together.

A window has one cache, a read-only connection for its lists, a counting thread, a
writes thread and a watcher. The demo opens two windows (two branches) in one
process, so none of these may be a module-level singleton.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject

from desktop.cache import Cache, SyncState
from desktop.ui.background import Background
from desktop.ui.models.columns import DisplayContext, branch_label
from desktop.ui.models.counting import Counter
from desktop.ui.models.reader import Reader
from desktop.ui.timefmt import Zone
from desktop.ui.watcher import CacheWatcher

__all__ = ["Session"]


class Session(QObject):
    """One installation's cache and the helpers that read and write it for a window.

    Args:
        cache: the open cache (the session does not close it; its opener does).
        zone: the branch's time zone (None: this computer's).
        branch_names: branch id -> name for branches other than this one (the
            server does not list them to devices yet; the demo knows its two).
        device_names: device id -> name, for the same reason (who won a conflict).
    """

    def __init__(
        self,
        cache: Cache,
        *,
        zone: Zone = None,
        branch_names: Mapping[str, str] | None = None,
        device_names: Mapping[str, str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache = cache
        self.zone = zone
        self.reader = Reader(cache.path)
        self.counter = Counter(cache.path, self)
        self.writes = Background("branchsync-writes", self)
        self.watcher = CacheWatcher(cache, self)
        self._extra_names = dict(branch_names or {})
        self.device_names = dict(device_names or {})
        self.state: SyncState = cache.state()
        self.context = self._context()

    def _context(self) -> DisplayContext:
        names = dict(self._extra_names)
        if self.state.branch_id and self.state.branch_name:
            names[self.state.branch_id] = self.state.branch_name
        return DisplayContext(zone=self.zone, branch_names=names, own_branch_id=self.state.branch_id)

    def reload_state(self) -> bool:
        """Read ``sync_state`` again (after enrolment); True when the branch changed."""
        before = self.state.branch_id
        self.state = self.cache.state()
        self.context = self._context()
        return self.state.branch_id != before

    def branches(self) -> list[tuple[str, str]]:
        """(id, label) of every branch known here: this one first, then those rows mention."""
        known = dict.fromkeys([self.state.branch_id] if self.state.branch_id else [])
        known.update(dict.fromkeys(self.context.branch_names))
        for collection, column in (("appointments", "branch_id"), ("clients", "home_branch_id")):
            known.update(dict.fromkeys(self.reader.distinct(collection, column)))
        return [(branch_id, self.branch_label(branch_id)) for branch_id in known if branch_id]

    def branch_label(self, branch_id: str) -> str:
        label = branch_label(branch_id, self.context)
        return f"{label} (this branch)" if branch_id == self.state.branch_id else label

    def close(self) -> None:
        """Stop the threads and close the read connection (the cache stays open)."""
        self.watcher.stop()
        self.writes.shutdown()
        self.counter.close()
        self.reader.close()
