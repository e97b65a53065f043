"""The settings, their checks, and how the machine-wide and user layers combine (pure).

The machine-wide file may set every setting plus ``pinned``, the list of settings the
user may not change; without ``pinned``, everything the file sets is pinned. The user's
file may set ``server_url``, ``ca_bundle`` and ``display_name``; a value IT pinned wins
and the user's is reported as ignored. ``enroll_code`` comes only from IT: it is a
one-time secret for unattended first start, not a preference. An empty string means
"not set", so templates that fill in blanks stay valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from desktop.config.errors import InvalidSetting

__all__ = ["EffectiveConfig", "Layer", "Setting", "merge_layers", "parse_machine", "parse_user"]

PINNED_KEY = "pinned"
MAX_CODE = 100
MAX_NAME = 200
"""The longest enrolment code and device name the server accepts (``protocol.messages.EnrollRequest``)."""


class Setting(StrEnum):
    """The settings a config file may hold."""

    SERVER_URL = "server_url"
    """Base URL of the company's server, ``https://…`` (``http://`` for a local demo)."""
    ENROLL_CODE = "enroll_code"
    """One-time enrolment code: used at first start, then forgotten (machine file only)."""
    CA_BUNDLE = "ca_bundle"
    """PEM file of the CA(s) that signed the server's certificate; when set, the only ones trusted."""
    DISPLAY_NAME = "display_name"
    """The device name the server shows (default: the computer's name)."""


NAMES = frozenset(setting.value for setting in Setting)
USER_SETTINGS = frozenset({Setting.SERVER_URL, Setting.CA_BUNDLE, Setting.DISPLAY_NAME})

Value = str | Path


@dataclass(frozen=True, slots=True)
class Layer:
    """The settings one file gave, checked; ``source`` is None for a file that does not exist."""

    source: Path | None = None
    values: Mapping[Setting, Value] = field(default_factory=dict)
    pinned: frozenset[Setting] = frozenset()


@dataclass(frozen=True, slots=True)
class EffectiveConfig:
    """What the app runs with: IT's pinned values, then the user's, then IT's defaults."""

    server_url: str | None = None
    enroll_code: str | None = None
    """None once this data dir has used the code (see ``desktop.config.enroll_code``)."""
    ca_bundle: Path | None = None
    display_name: str | None = None
    pinned: frozenset[Setting] = frozenset()
    """Settings the user may not change (a UI shows them read-only)."""
    ignored: frozenset[Setting] = frozenset()
    """Settings the user's file sets but IT pinned: the user's value was not used."""
    sources: Mapping[Setting, Path] = field(default_factory=dict)
    """The file each value came from."""
    machine_file: Path | None = None
    user_file: Path | None = None
    """The files that were read (None when absent)."""

    def is_pinned(self, setting: Setting) -> bool:
        return setting in self.pinned


def parse_machine(document: Mapping[str, object], source: Path) -> Layer:
    """Check the machine-wide file's contents (``ca_bundle`` relative to the file's folder)."""
    values = _parse_values(document, source, allowed=frozenset(Setting), extra={PINNED_KEY})
    pinned = _parse_pinned(document[PINNED_KEY], source) if PINNED_KEY in document else frozenset(values)
    return Layer(source, values, pinned)


def parse_user(document: Mapping[str, object], source: Path) -> Layer:
    """Check the user's file's contents."""
    return Layer(source, _parse_values(document, source, allowed=USER_SETTINGS, extra=set()))


def merge_layers(machine: Layer, user: Layer) -> EffectiveConfig:
    """Combine the two layers: a pinned machine value always wins; otherwise the user's."""
    chosen: dict[Setting, Value] = dict(machine.values)
    sources: dict[Setting, Path | None] = dict.fromkeys(machine.values, machine.source)
    ignored: set[Setting] = set()
    for setting, value in user.values.items():
        if setting in machine.pinned:
            ignored.add(setting)
        else:
            chosen[setting] = value
            sources[setting] = user.source
    bundle = chosen.get(Setting.CA_BUNDLE)
    return EffectiveConfig(
        server_url=_text(chosen.get(Setting.SERVER_URL)),
        enroll_code=_text(chosen.get(Setting.ENROLL_CODE)),
        ca_bundle=bundle if isinstance(bundle, Path) else None,
        display_name=_text(chosen.get(Setting.DISPLAY_NAME)),
        pinned=machine.pinned,
        ignored=frozenset(ignored),
        sources={setting: path for setting, path in sources.items() if path is not None},
        machine_file=machine.source,
        user_file=user.source,
    )


def _text(value: Value | None) -> str | None:
    return value if isinstance(value, str) else None


def _parse_values(
    document: Mapping[str, object], source: Path, *, allowed: frozenset[Setting], extra: set[str]
) -> dict[Setting, Value]:
    values: dict[Setting, Value] = {}
    for key, raw in document.items():
        if key in extra:
            continue
        if key not in NAMES or Setting(key) not in allowed:
            known = ", ".join(sorted([*map(str, allowed), *extra]))
            raise InvalidSetting(source, key, f"not a setting this file may hold (known: {known})")
        setting = Setting(key)
        if not isinstance(raw, str):
            raise InvalidSetting(source, key, f"must be a string, not {type(raw).__name__}")
        text = raw.strip()
        if text:
            values[setting] = _PARSERS[setting](text, source, key)
    return values


def _parse_pinned(raw: object, source: Path) -> frozenset[Setting]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise InvalidSetting(source, PINNED_KEY, "must be a list of setting names")
    unknown = sorted(set(raw) - NAMES)
    if unknown:
        raise InvalidSetting(source, PINNED_KEY, f"unknown setting(s) {', '.join(unknown)}")
    return frozenset(Setting(item) for item in raw)


def _server_url(text: str, source: Path, key: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidSetting(source, key, f"{text!r} is not an https:// (or http://) URL with a host")
    if parts.query or parts.fragment:
        raise InvalidSetting(source, key, f"{text!r} must not have a query or fragment")
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number in range)
    except ValueError as exc:
        raise InvalidSetting(source, key, f"{text!r}: {exc}") from exc
    return text.rstrip("/")


def _limited(longest: int) -> Callable[[str, Path, str], str]:
    """A check that refuses text longer than the server accepts (``protocol.messages``)."""

    def check(text: str, source: Path, key: str) -> str:
        if len(text) > longest:
            raise InvalidSetting(source, key, f"longer than {longest} characters")
        return text

    return check


def _path(text: str, source: Path, key: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else source.parent / path


_PARSERS: dict[Setting, Callable[[str, Path, str], Value]] = {
    Setting.SERVER_URL: _server_url,
    Setting.ENROLL_CODE: _limited(MAX_CODE),
    Setting.CA_BUNDLE: _path,
    Setting.DISPLAY_NAME: _limited(MAX_NAME),
}
