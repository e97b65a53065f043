"""Helpers of the UI tests: reading what a model shows (seeding a cache: ``tests.support.seeding``)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel

__all__ = ["column_texts", "ids_of"]


def column_texts(model: QAbstractItemModel, column: int = 0) -> list[str]:
    """What one column of ``model`` shows, top to bottom (loaded rows only)."""
    return [model.index(row, column).data() for row in range(model.rowCount())]


def ids_of(model: QAbstractItemModel, role: int) -> list[str]:
    return [model.index(row, 0).data(role) for row in range(model.rowCount())]
