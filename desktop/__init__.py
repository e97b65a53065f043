"""The Branchsync desktop app: a local SQLite cache with an outbox, a sync engine and a Qt UI.

``desktop.cache`` owns the SQLite file, ``desktop.sync`` talks to the server,
``desktop.ui`` shows it all; ``desktop.cli`` is the ``branchsync`` command line.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["__version__"]

try:
    __version__ = metadata.version("branchsync")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
