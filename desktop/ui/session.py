"""Everything one window works with, opened together and closed together.

A window has one cache, a read-only connection for its lists, a counting thread, a
writes thread and a watcher. The demo opens two windows (two branches) in one
process, so none of these may be a module-level singleton.

Names and the time zone come from the cache's branch directory: this branch's own
from enrolment, the others' once the engine has fetched the server's list. Until
then (or with a server too old to list them) other branches show as short ids and
times in this PC's zone.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from desktop.cache import Cache, Directory, SyncState
from desktop.cache.reader import Reader
from desktop.ui.background import Background
from desktop.ui.models.columns import DisplayContext, branch_label
from desktop.ui.models.counting import Counter
from desktop.ui.timefmt import Zone
from desktop.ui.watcher import CacheWatcher
from protocol.timezones import zone_or_none

__all__ = ["Session"]


class Session(QObject):
    """One installation's cache and the helpers that read and write it for a window.

    Args:
        cache: the open cache (the session does not close it; its opener does).

    Attributes:
        zone: this branch's time zone (None: this PC's own, when unset or unknown here).
        device_names: device id -> "name (branch)", for who won a conflict.
        context: what list cells render with (zone, branch names).
        branch_choices: (id, label) of every branch known here, this one first.
    """

    def __init__(self, cache: Cache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.reader = Reader(cache.path)
        self.counter = Counter(cache.path, self)
        self.writes = Background("branchsync-writes", self)
        self.watcher = CacheWatcher(cache, self)
        self.reload_directory()

    def reload_directory(self) -> None:
        """Read ``sync_state`` and the branch directory again (after the engine stored a new one)."""
        self.state: SyncState = self.cache.state()
        directory = self.cache.directory()
        own = directory.branch(self.state.branch_id)
        self.zone: Zone = zone_or_none(own.timezone if own else None)
        self.device_names = directory.device_labels()
        names = directory.branch_names()
        if self.state.branch_id and self.state.branch_name:
            names[self.state.branch_id] = self.state.branch_name
        self.context = DisplayContext(zone=self.zone, branch_names=names, own_branch_id=self.state.branch_id)
        self.branch_choices = self._branches(directory)

    def _branches(self, directory: Directory) -> list[tuple[str, str]]:
        """This branch first, then the listed ones by name, then ids only rows mention."""
        known = dict.fromkeys([self.state.branch_id] if self.state.branch_id else [])
        known.update(dict.fromkeys(b.id for b in directory.branches))
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
