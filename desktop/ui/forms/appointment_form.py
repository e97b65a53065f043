"""The appointment form: client (searched as you type), when, duration, service, status, branch, notes."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from desktop.cache import Cache, Record
from desktop.ui.background import Background
from desktop.ui.forms.factory import EditorTools, form_fields
from desktop.ui.forms.record_form import RecordForm
from desktop.ui.timefmt import format_when
from protocol.collections import APPOINTMENTS

__all__ = ["DEFAULT_DURATION_MIN", "appointment_defaults", "appointment_form"]

DEFAULT_DURATION_MIN = 30
LABELS = (
    ("client_id", "Client"),
    ("starts_at", "When"),
    ("duration_min", "Duration"),
    ("service", "Service"),
    ("status", "Status"),
    ("branch_id", "Branch"),
    ("notes", "Notes"),
)


def appointment_defaults(own_branch_id: str | None) -> dict[str, Any]:
    """What a new appointment starts with: this branch, the next quarter hour, 30 min, booked."""
    return {"branch_id": own_branch_id, "duration_min": DEFAULT_DURATION_MIN, "status": "booked"}


def appointment_form(
    cache: Cache, writes: Background, tools: EditorTools, parent: QWidget | None = None
) -> RecordForm:
    """A form for appointments; times are shown and typed in the zone ``tools.zone()`` gives."""

    def describe(record: Record) -> str:
        service = record.fields.get("service") or "Appointment"
        return f"{service}, {format_when(record.fields.get('starts_at'), tools.zone())}"

    fields = form_fields(APPOINTMENTS, LABELS, tools, {"service": "e.g. Haircut"})
    return RecordForm(
        APPOINTMENTS, fields, cache, writes, describe=describe, noun="appointment", parent=parent
    )
