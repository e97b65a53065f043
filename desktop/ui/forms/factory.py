"""The editor for a protocol field, chosen by its kind and limits.

Forms name their fields and labels; which widget edits a value follows from
``protocol.collections`` (a long text gets a multi-line box, an integer with limits a
spin box, a client id the client picker), so a field added to the protocol gets a
fitting editor without new UI code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from desktop.cache.reader import Reader
from desktop.ui.forms.client_picker import ClientPicker
from desktop.ui.forms.editors import (
    BranchEditor,
    ChoiceEditor,
    Editor,
    NotesEditor,
    NumberEditor,
    TagsEditor,
    TextEditor,
    WhenEditor,
)
from desktop.ui.forms.field_rows import FormField
from desktop.ui.timefmt import Zone
from protocol.collections import Collection, Field, FieldKind

__all__ = ["EditorTools", "editor_for", "form_fields"]

LONG_TEXT = 1000
"""Text fields allowed more characters than this get a multi-line editor."""


def _no_zone() -> Zone:
    return None


@dataclass(frozen=True)
class EditorTools:
    """What some editors need: the zone, the known branches, client lookups.

    The zone and the branches are functions, asked whenever a form shows a record:
    the branch directory can name them while a form is open.
    """

    zone: Callable[[], Zone] = _no_zone
    branches: Callable[[], Sequence[tuple[str, str]]] = tuple
    reader: Reader | None = None
    client_label: Callable[[str], str | None] = field(default=lambda _: None)


def editor_for(spec: Field, tools: EditorTools, placeholder: str = "") -> Editor:
    """A fitting editor for ``spec``."""
    kind = spec.kind
    if kind is FieldKind.TEXT and (spec.max_length or 0) > LONG_TEXT:
        return NotesEditor()
    if kind is FieldKind.TAGS:
        return TagsEditor()
    if kind is FieldKind.CHOICE:
        return ChoiceEditor(spec.choices)
    if kind is FieldKind.DATETIME:
        return WhenEditor(tools.zone)
    if kind is FieldKind.INTEGER and spec.minimum is not None and spec.maximum is not None:
        return NumberEditor(spec.minimum, spec.maximum, " min" if spec.name.endswith("_min") else "")
    if kind is FieldKind.UUID and spec.name == "client_id" and tools.reader is not None:
        return ClientPicker(tools.reader, tools.client_label)
    if kind is FieldKind.UUID and spec.name.endswith("branch_id"):
        return BranchEditor(tools.branches)
    return TextEditor(spec.max_length, placeholder)


def form_fields(
    collection: Collection,
    labels: Sequence[tuple[str, str]],
    tools: EditorTools,
    placeholders: dict[str, str] | None = None,
) -> list[FormField]:
    """``FormField`` values for (name, label) pairs of ``collection``, in that order.

    Raises:
        ValueError: a name is not a field of ``collection``.
    """
    fields = []
    for name, label in labels:
        spec = collection.field(name)
        if spec is None:
            raise ValueError(f"{collection.name} has no field {name!r}")
        fields.append(FormField(name, label, editor_for(spec, tools, (placeholders or {}).get(name, ""))))
    return fields
