"""What every command prints the same way: one-line errors, JSON, and values for people."""

from __future__ import annotations

import json
import sys
from datetime import datetime

__all__ = ["PROG", "fail", "print_json", "say_error", "shown"]

PROG = "branchsync"


def say_error(message: str) -> None:
    """One line on stderr, named after the program (``branchsync: ...``)."""
    print(f"{PROG}: {message}", file=sys.stderr)


def fail(message: str, code: int) -> int:
    """Say ``message`` on stderr and return the exit code ``code``."""
    say_error(message)
    return code


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def print_json(value: object) -> None:
    """``value`` as indented JSON on stdout (datetimes in ISO 8601, text unescaped)."""
    print(json.dumps(value, ensure_ascii=False, indent=2, default=_json_default))


def shown(value: object) -> str:
    """A value as a person reads it: ``-`` for none, ``yes``/``no`` for booleans."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
