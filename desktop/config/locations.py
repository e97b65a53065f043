"""Where the machine-wide and the per-user config files live.

IT ships the machine-wide file with the installer, in a place only an administrator
can write: ``/etc/branchsync/config.toml`` on Linux (the Debian convention, and a
conffile of the ``.deb``), platformdirs' site config dir elsewhere
(``C:\\ProgramData\\branchsync`` on Windows, ``/Library/Application Support/branchsync``
on macOS). The user's own file lives in platformdirs' user config dir.

Two environment variables point elsewhere, for tests and unusual installs. They are not
a way round IT's pins: whoever can set them for the app can run any program anyway.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import platformdirs

from desktop.config.paths import APP_NAME

__all__ = [
    "CONFIG_FILENAME",
    "MACHINE_CONFIG_ENV",
    "USER_CONFIG_ENV",
    "machine_config_path",
    "user_config_path",
]

CONFIG_FILENAME = "config.toml"
MACHINE_CONFIG_ENV = "BRANCHSYNC_MACHINE_CONFIG"
USER_CONFIG_ENV = "BRANCHSYNC_USER_CONFIG"
LINUX_MACHINE_DIR = Path("/etc") / APP_NAME


def machine_config_path(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> Path:
    """The machine-wide file IT ships (it may not exist)."""
    env = os.environ if environ is None else environ
    if env.get(MACHINE_CONFIG_ENV):
        return Path(env[MACHINE_CONFIG_ENV])
    if platform.startswith("linux"):
        return LINUX_MACHINE_DIR / CONFIG_FILENAME
    return platformdirs.site_config_path(APP_NAME, appauthor=False) / CONFIG_FILENAME


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The current user's file (it may not exist)."""
    env = os.environ if environ is None else environ
    if env.get(USER_CONFIG_ENV):
        return Path(env[USER_CONFIG_ENV])
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / CONFIG_FILENAME
