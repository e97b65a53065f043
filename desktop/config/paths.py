"""Where an installation keeps its data.

One directory per installation holds the SQLite cache (and, where no OS keyring is
available, the device token file). It is chosen, first match wins, by ``--data-dir``,
the ``BRANCHSYNC_DATA_DIR`` environment variable, or platformdirs' per-user data dir,
so IT scripts and tests can point several installations at separate folders.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

__all__ = ["APP_NAME", "DATABASE_FILENAME", "DATA_DIR_ENV", "database_path", "resolve_data_dir"]

APP_NAME = "branchsync"
DATA_DIR_ENV = "BRANCHSYNC_DATA_DIR"
DATABASE_FILENAME = "branchsync.sqlite3"


def resolve_data_dir(
    explicit: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The data directory to use, as an absolute path (not created here).

    Args:
        explicit: the ``--data-dir`` value, if one was given.
        environ: the environment to read ``BRANCHSYNC_DATA_DIR`` from (default ``os.environ``).
    """
    env = os.environ if environ is None else environ
    if explicit:
        chosen = Path(explicit)
    elif env.get(DATA_DIR_ENV):
        chosen = Path(env[DATA_DIR_ENV])
    else:
        chosen = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return chosen.expanduser().absolute()


def database_path(data_dir: Path) -> Path:
    """The SQLite cache file inside ``data_dir``."""
    return data_dir / DATABASE_FILENAME
