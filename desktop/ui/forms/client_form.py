"""The client form: name, phone, email, tags, home branch and notes."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from desktop.cache import Cache, Record
from desktop.ui.background import Background
from desktop.ui.forms.factory import EditorTools, form_fields
from desktop.ui.forms.record_form import RecordForm
from protocol.collections import CLIENTS

__all__ = ["client_form", "describe_client"]

LABELS = (
    ("name", "Name"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("tags", "Tags"),
    ("home_branch_id", "Home branch"),
    ("notes", "Notes"),
)
PLACEHOLDERS = {"name": "First and last name", "phone": "+44 20 7946 0000", "email": "name@example.com"}


def describe_client(record: Record) -> str:
    return str(record.fields.get("name") or "Client")


def client_form(
    cache: Cache, writes: Background, tools: EditorTools, parent: QWidget | None = None
) -> RecordForm:
    """A form for clients (``tools.branches`` offers the home branches)."""
    fields = form_fields(CLIENTS, LABELS, tools, PLACEHOLDERS)
    return RecordForm(CLIENTS, fields, cache, writes, describe=describe_client, noun="client", parent=parent)
