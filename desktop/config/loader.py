"""Reading the two config files and combining them: the one call the engine and the UI make."""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from desktop.config.enroll_code import code_was_used
from desktop.config.errors import MalformedConfig
from desktop.config.locations import machine_config_path, user_config_path
from desktop.config.paths import resolve_data_dir
from desktop.config.settings import EffectiveConfig, Layer, Setting, merge_layers, parse_machine, parse_user
from desktop.config.tls import client_ssl_context

__all__ = ["load_config", "read_toml"]

log = logging.getLogger(__name__)


def load_config(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    machine_path: Path | None = None,
    user_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> EffectiveConfig:
    """The configuration this installation runs with.

    Args:
        data_dir: the installation's data dir (default as ``desktop.config.paths.resolve_data_dir``);
            IT's enrolment code is left out once this data dir has used it.
        machine_path, user_path: the files to read (default: ``desktop.config.locations``).
        environ: the environment for the defaults (default ``os.environ``).

    Raises:
        ConfigError: a file exists but is malformed, or a setting is invalid (the CA
            bundle is checked by loading it).
    """
    machine_file = machine_path or machine_config_path(environ)
    user_file = user_path or user_config_path(environ)
    config = merge_layers(_layer(machine_file, parse_machine), _layer(user_file, parse_user))
    if config.ignored:
        log.info(
            "%s: %s pinned by %s; the user's value is not used",
            user_file,
            ", ".join(sorted(config.ignored)),
            machine_file,
        )
    if config.ca_bundle is not None:
        client_ssl_context(config.ca_bundle, source=config.sources[Setting.CA_BUNDLE])
    code = config.enroll_code
    if code is not None and code_was_used(resolve_data_dir(data_dir, environ), code):
        config = replace(config, enroll_code=None)
    return config


def _layer(path: Path, parse: Callable[[Mapping[str, object], Path], Layer]) -> Layer:
    document = read_toml(path)
    return Layer() if document is None else parse(document, path)


def read_toml(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None when it does not exist.

    Raises:
        MalformedConfig: it exists but cannot be read, is not UTF-8 or is not TOML.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MalformedConfig(path, f"cannot read it: {exc.strerror or exc}") from exc
    try:
        return tomllib.loads(data.decode("utf-8-sig"))  # Windows tools like to start with a BOM
    except UnicodeDecodeError as exc:
        raise MalformedConfig(path, f"not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MalformedConfig(path, f"not valid TOML: {exc}") from exc
