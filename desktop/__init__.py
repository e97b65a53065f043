"""The Branchsync desktop app: a local SQLite cache with an outbox, a sync engine and a Qt UI.

Packages, each importing only those before it (``tests/unit/test_desktop_layers.py``):

* ``config``: where the data lives, IT's and the user's settings, the device token;
* ``cache``: the SQLite file, its outbox, and every read (the lists' SQL included);
* ``sync``: the sans-I/O engine and the adapters that talk to the server;
* ``ui``: the Qt window;
* ``demo``: ``branchsync demo`` (a local server, two branches, a link relay to cut);
* ``cli``: the ``branchsync`` command line and its exit codes.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["__version__"]

try:
    __version__ = metadata.version("branchsync")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
