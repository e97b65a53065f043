"""Exceptions of the configuration loader.

Exception tree::

    ConfigError            root: a config file IT or the user wrote cannot be used
     ├── MalformedConfig   the file cannot be read as TOML (bad syntax, not UTF-8, unreadable)
     └── InvalidSetting    the file parses but a setting is unknown, of the wrong type or
                           points at something unusable (a CA bundle that is not PEM)

Every one names the file (and the setting) so the person who wrote it can fix it; the
app shows the message and starts no sync until the file is fixed. Nothing else is a
config problem: any other exception is a bug.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConfigError", "InvalidSetting", "MalformedConfig"]


class ConfigError(Exception):
    """Root of the configuration errors.

    Attributes:
        path: the file at fault.
    """

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class MalformedConfig(ConfigError):
    """The file exists but is not readable TOML."""


class InvalidSetting(ConfigError):
    """One setting of a well-formed file is wrong.

    Attributes:
        key: the setting's name as written in the file.
    """

    def __init__(self, path: Path, key: str, message: str) -> None:
        super().__init__(path, f"{key}: {message}")
        self.key = key
