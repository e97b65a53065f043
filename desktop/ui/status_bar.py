"""The sync status, always visible at the bottom of the window; a click opens the sync panel.

``describe`` (pure) turns a ``StatusSnapshot`` into the words, the tone and the
tooltip; ``SyncStatusButton`` only paints them. A warning colour marks the two states
staff must notice: offline (changes are queueing) and writes the server refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from desktop.sync.status import EngineState, Halt, StatusSnapshot
from desktop.ui.theme import tones
from desktop.ui.timefmt import Zone

__all__ = ["StatusView", "SyncStatusButton", "Tone", "describe"]


class Tone(Enum):
    NORMAL = "normal"
    BUSY = "busy"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class StatusView:
    text: str
    tone: Tone
    tooltip: str


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _since(moment: datetime | None, now: datetime, zone: Zone) -> str:
    if moment is None:
        return "never synced"
    local = moment.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return f"last sync {local:%H:%M}"
    return f"last sync {local:%d %b %H:%M}"


_HALTED = {
    Halt.REVOKED: "Stopped: this PC's access was revoked. Enrol it again to sync.",
    Halt.UPDATE_REQUIRED: "Stopped: the server needs a newer Branchsync. Update to sync.",
}


def describe(status: StatusSnapshot, *, now: datetime | None = None, zone: Zone = None) -> StatusView:
    """The status line for ``status``."""
    now = now or datetime.now(UTC)
    parts: list[str] = []
    if status.halted is not None:
        parts.append(_HALTED[status.halted])
    elif status.state is EngineState.OFFLINE:
        parts.append("Offline")
    elif status.state is EngineState.SYNCING:
        parts.append("Syncing…")
    else:
        parts.append("Online")
    if status.pending:
        waiting = "waiting" if status.state is EngineState.OFFLINE else "to send"
        parts.append(f"{_plural(status.pending, 'change')} {waiting}")
    elif status.state is EngineState.ONLINE:
        parts.append("all changes sent")
    if status.rejected:
        parts.append(f"{_plural(status.rejected, 'change')} refused")
    if status.conflicts:
        parts.append(_plural(status.conflicts, "conflict"))
    if status.state is EngineState.ONLINE and not status.lag and status.last_sync is not None:
        parts.append("up to date")  # connected and caught up: changes arrive as they happen
    else:
        parts.append(_since(status.last_sync, now, zone))
    warning = status.halted is not None or status.state is EngineState.OFFLINE or status.rejected > 0
    busy = status.state is EngineState.SYNCING
    tone = Tone.WARNING if warning else Tone.BUSY if busy else Tone.NORMAL
    tips = ["Click for the sync panel: pending and refused changes, errors, server and device."]
    if status.last_error:
        tips.insert(0, f"Last problem: {status.last_error}")
    if status.lag:
        tips.insert(0, f"{_plural(status.lag, 'change')} on the server not yet here.")
    return StatusView(" · ".join(parts), tone, "\n".join(tips))


class SyncStatusButton(QPushButton):
    """A flat button in the status bar showing the sync state.

    Signals:
        clicked(): inherited; the window opens the sync panel.
    """

    shown = Signal(object)
    """The ``StatusView`` just painted (for tests and the window title)."""

    def __init__(self, zone: Zone = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._zone = zone
        self.setFlat(True)
        self.setAutoFillBackground(True)
        self._status = StatusSnapshot()
        self.view = describe(self._status, zone=zone)
        self.show_status(self._status)

    def set_zone(self, zone: Zone) -> None:
        """Tell times in ``zone`` from now on."""
        self._zone = zone
        self.show_status(self._status)

    def show_status(self, status: StatusSnapshot) -> None:
        self._status = status
        self.view = describe(status, zone=self._zone)
        self.setText(self.view.text)
        self.setToolTip(self.view.tooltip)
        self.setAccessibleName(f"Sync status: {self.view.text}")
        palette = QApplication.palette(self)
        colours = tones(palette)
        if self.view.tone is Tone.WARNING:
            palette.setColor(QPalette.ColorRole.Button, colours.warning_background)
            palette.setColor(QPalette.ColorRole.Window, colours.warning_background)
            palette.setColor(QPalette.ColorRole.ButtonText, colours.warning_text)
        elif self.view.tone is Tone.BUSY:
            palette.setColor(QPalette.ColorRole.Button, colours.busy_background)
            palette.setColor(QPalette.ColorRole.Window, colours.busy_background)
            palette.setColor(QPalette.ColorRole.ButtonText, colours.warning_text)
        self.setPalette(palette)
        self.shown.emit(self.view)
