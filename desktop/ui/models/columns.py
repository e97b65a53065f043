"""Which columns each list shows and how a stored value reads in a cell (pure).

A column is a key (a field name, or ``CLIENT_NAME``) that is also what the list sorts
by when its header is clicked, a title, and a renderer from the stored value to
text. Rendering happens once per row when a page loads, not on every paint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from desktop.cache.listing import CLIENT_NAME
from desktop.ui.timefmt import Zone, format_when

__all__ = ["COLUMNS", "Column", "DisplayContext", "branch_label", "first_line"]


@dataclass(frozen=True, slots=True)
class DisplayContext:
    """What rendering needs beyond the row: the zone and the branch names known here."""

    zone: Zone = None
    branch_names: Mapping[str, str] = field(default_factory=dict)
    own_branch_id: str | None = None


Renderer = Callable[[Any, DisplayContext], str]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    render: Renderer
    numeric: bool = False


def _text(value: Any, context: DisplayContext) -> str:
    return "" if value is None else str(value)


def first_line(value: Any, context: DisplayContext | None = None) -> str:
    """The first line of a long text, for a one-line cell."""
    if not value:
        return ""
    line = str(value).strip().splitlines()[0] if str(value).strip() else ""
    return line if len(line) <= 80 else line[:79] + "…"


def _tags(value: Any, context: DisplayContext) -> str:
    return ", ".join(value) if value else ""


def _when(value: Any, context: DisplayContext) -> str:
    return format_when(value, context.zone)


def _minutes(value: Any, context: DisplayContext) -> str:
    return "" if value is None else f"{value} min"


def _status(value: Any, context: DisplayContext) -> str:
    return "" if value is None else str(value).replace("_", " ").capitalize()


def branch_label(branch_id: str | None, context: DisplayContext) -> str:
    """A branch's name when known here, else a short form of its id."""
    if not branch_id:
        return ""
    name = context.branch_names.get(branch_id)
    if name:
        return name
    return f"branch {branch_id[:8]}"


COLUMNS: dict[str, tuple[Column, ...]] = {
    "clients": (
        Column("name", "Name", _text),
        Column("phone", "Phone", _text),
        Column("email", "Email", _text),
        Column("tags", "Tags", _tags),
        Column("notes", "Notes", first_line),
    ),
    "appointments": (
        Column("starts_at", "When", _when),
        Column(CLIENT_NAME, "Client", _text),
        Column("service", "Service", _text),
        Column("duration_min", "Duration", _minutes, numeric=True),
        Column("status", "Status", _status),
        Column("branch_id", "Branch", branch_label),
    ),
}
"""The columns of each list, left to right."""
