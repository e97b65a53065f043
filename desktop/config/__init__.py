"""Configuration: the machine-wide file IT ships with the installer, and the user's own.

IT's file (``/etc/branchsync/config.toml`` on Linux) names the company's server, a
one-time enrolment code for unattended first start, a private CA bundle for the
server's certificate and a device name, and pins what the user may not change. The
engine and the UI call ``load_config`` once at start, ``client_ssl_context`` for every
connection, and ``mark_code_used`` after the server answered IT's code.
"""

from desktop.config.enroll_code import code_was_used, mark_code_used
from desktop.config.errors import ConfigError, InvalidSetting, MalformedConfig
from desktop.config.loader import load_config, read_toml
from desktop.config.locations import machine_config_path, user_config_path
from desktop.config.settings import EffectiveConfig, Setting
from desktop.config.tls import client_ssl_context, default_client_context

__all__ = [
    "ConfigError",
    "EffectiveConfig",
    "InvalidSetting",
    "MalformedConfig",
    "Setting",
    "client_ssl_context",
    "code_was_used",
    "default_client_context",
    "load_config",
    "machine_config_path",
    "mark_code_used",
    "read_toml",
    "user_config_path",
]
