"""The appointment list's filters: which branch and which days (default: this branch, today)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QPushButton, QWidget

from desktop.cache.listing import Filters
from desktop.ui.timefmt import Zone, day_range, today

__all__ = ["ALL_BRANCHES", "AppointmentFilters"]

ALL_BRANCHES = "*"
"""The branch choice that filters nothing."""


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


class AppointmentFilters(QWidget):
    """Branch and date-range pickers.

    Signals:
        changed(object): the new ``Filters``.
    """

    changed = Signal(object)

    def __init__(
        self,
        branches: Sequence[tuple[str, str]],
        own_branch_id: str | None,
        zone: Zone,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._zone = zone
        self.branch = QComboBox()
        self.branch.setToolTip("Branch")
        self.branch.addItem("All branches", ALL_BRANCHES)
        self.set_branches(branches)
        if own_branch_id is not None:
            self.branch.setCurrentIndex(max(self.branch.findData(own_branch_id), 0))
        now = today(zone)
        self.first = QDateEdit(_qdate(now))
        self.last = QDateEdit(_qdate(now))
        for edit in (self.first, self.last):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("d MMM yyyy")
        self.today_button = QPushButton("Today")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.branch)
        layout.addWidget(QLabel("from"))
        layout.addWidget(self.first)
        layout.addWidget(QLabel("to"))
        layout.addWidget(self.last)
        layout.addWidget(self.today_button)
        self.branch.currentIndexChanged.connect(self._emit)
        self.first.dateChanged.connect(self._first_moved)
        self.last.dateChanged.connect(self._last_moved)
        self.today_button.clicked.connect(self.show_today)

    def set_branches(self, branches: Sequence[tuple[str, str]]) -> None:
        """Offer ``branches`` (id, label), keeping the current choice."""
        current = self.branch.currentData()
        self.branch.blockSignals(True)
        while self.branch.count() > 1:
            self.branch.removeItem(1)
        for branch_id, label in branches:
            self.branch.addItem(label, branch_id)
        self.branch.setCurrentIndex(max(self.branch.findData(current), 0))
        self.branch.blockSignals(False)

    def set_zone(self, zone: Zone) -> None:
        """Read the chosen days in ``zone`` from now on (the branch's zone became known)."""
        if zone != self._zone:
            self._zone = zone
            self._emit()

    def filters(self) -> Filters:
        branch = self.branch.currentData()
        starts_from, starts_until = day_range(_day(self.first.date()), _day(self.last.date()), self._zone)
        return Filters(
            branch_id=None if branch in (None, ALL_BRANCHES) else branch,
            starts_from=starts_from,
            starts_until=starts_until,
        )

    def show_today(self) -> None:
        now = _qdate(today(self._zone))
        self.first.blockSignals(True)
        self.first.setDate(now)
        self.first.blockSignals(False)
        self.last.setDate(now)
        self._emit()

    def _first_moved(self, value: QDate) -> None:
        if self.last.date() < value:
            self.last.setDate(value)  # emits through _last_moved
        else:
            self._emit()

    def _last_moved(self, value: QDate) -> None:
        if self.first.date() > value:
            self.first.blockSignals(True)
            self.first.setDate(value)
            self.first.blockSignals(False)
        self._emit()

    def _emit(self) -> None:
        self.changed.emit(self.filters())
