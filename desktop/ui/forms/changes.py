"""What a form must save, and what to do when its record changed underneath (pure).

Kept apart from the widgets so the rules can be tested by calling them: which fields
a save writes (only those that differ from the stored record), and how a remote
change meets unsaved edits (untouched fields take the new value; touched ones that
now differ are the user's to decide).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from protocol.collections import Collection
from protocol.validate import validate_value

__all__ = ["RemoteChange", "edits_to_save", "meet_remote_change", "same_value"]


def _normalised(collection: Collection, name: str, value: Any) -> Any:
    spec = collection.field(name)
    if spec is None:
        return value
    clean, error = validate_value(spec, value)
    return value if error is not None else clean


def same_value(collection: Collection, name: str, typed: Any, stored: Any) -> bool:
    """Whether what the editor holds is what is stored, once both are normalised."""
    typed, stored = _normalised(collection, name, typed), _normalised(collection, name, stored)
    if typed in (None, []) and stored in (None, []):
        return True
    return bool(typed == stored)


def edits_to_save(
    collection: Collection, typed: Mapping[str, Any], stored: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The fields a save writes: every filled one for a new record, else those that differ."""
    if stored is None:
        return {name: value for name, value in typed.items() if value not in (None, [])}
    return {
        name: value
        for name, value in typed.items()
        if not same_value(collection, name, value, stored.get(name))
    }


@dataclass(frozen=True, slots=True)
class RemoteChange:
    """How a change from elsewhere meets the form."""

    taken: tuple[str, ...]
    """Fields the user had not touched: the form now shows their new value."""
    disputed: tuple[str, ...]
    """Fields the user changed that now hold another new value: keep mine or take theirs."""


def meet_remote_change(
    collection: Collection,
    names: Iterable[str],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    typed: Mapping[str, Any],
    touched: Iterable[str],
) -> RemoteChange:
    """Sort the fields the remote change touched into taken and disputed ones.

    Args:
        names: the fields the form shows.
        before, after: the stored values when the form loaded and now.
        typed: what the editors hold.
        touched: the fields the user edited.
    """
    touched = set(touched)
    taken: list[str] = []
    disputed: list[str] = []
    for name in names:
        if same_value(collection, name, before.get(name), after.get(name)):
            continue
        if name not in touched:
            taken.append(name)
        elif not same_value(collection, name, typed.get(name), after.get(name)):
            disputed.append(name)
    return RemoteChange(tuple(taken), tuple(disputed))
