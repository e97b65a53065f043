"""Colours that mean something (an error, a warning), chosen to read on the system palette.

The window uses the system's palette as it is (light or dark); only the few colours
Qt has no role for are picked here, in a light and a dark variant, so an error in red
or an offline warning stays legible whichever the user runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

__all__ = ["Tones", "is_dark", "tones"]


@dataclass(frozen=True, slots=True)
class Tones:
    error_text: QColor
    warning_background: QColor
    warning_text: QColor
    busy_background: QColor
    notice_background: QColor
    """Behind a banner that needs attention but is not an error (a record changed elsewhere)."""


def is_dark(palette: QPalette) -> bool:
    """Whether the palette draws light text on a dark window."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def tones(palette: QPalette) -> Tones:
    if is_dark(palette):
        return Tones(
            error_text=QColor("#ff8a80"),
            warning_background=QColor("#8a4b00"),
            warning_text=QColor("#ffffff"),
            busy_background=QColor("#1d4f91"),
            notice_background=QColor("#4a4020"),
        )
    return Tones(
        error_text=QColor("#c62828"),
        warning_background=QColor("#b45309"),
        warning_text=QColor("#ffffff"),
        busy_background=QColor("#1d63c9"),
        notice_background=QColor("#fff3c4"),
    )
