"""The main window: Clients, Appointments and Conflicts tabs over one branch's cache.

Every view reads the cache through its model; the window only wires signals: the
engine's status to the status bar, "the cache changed" to every list and the open
form, "the directory changed" to every place that shows a branch or device name or a
time, the keyboard shortcuts to the current tab. Geometry and splitter positions are
remembered per window (``QSettings``), so the demo's North and South windows each
come back where they were.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QMainWindow, QSizePolicy, QTabWidget, QToolBar, QWidget

from desktop.cache.listing import ListQuery
from desktop.ui.appointment_filters import AppointmentFilters
from desktop.ui.bridge import EngineBridge
from desktop.ui.conflicts_view import ConflictsView
from desktop.ui.forms.appointment_form import appointment_defaults, appointment_form
from desktop.ui.forms.client_form import client_form
from desktop.ui.forms.client_picker import client_label
from desktop.ui.forms.factory import EditorTools
from desktop.ui.list_page import ListPage
from desktop.ui.session import Session
from desktop.ui.status_bar import SyncStatusButton
from desktop.ui.sync_panel import SyncPanel
from protocol.collections import APPOINTMENTS, CLIENTS

__all__ = ["MainWindow"]


class MainWindow(QMainWindow):
    """One branch's window.

    Args:
        session: the cache and its helpers.
        bridge: the engine's signals (status, cache changes).
        settings_key: where geometry is remembered (one per window).
    """

    def __init__(
        self,
        session: Session,
        bridge: EngineBridge,
        *,
        settings_key: str = "main",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.bridge = bridge
        self._settings_key = settings_key
        self.sync_panel: SyncPanel | None = None
        self._update_title()
        self.tools = self._tools()
        self._build()
        self._wire()
        self._restore_geometry()

    def _tools(self) -> EditorTools:
        cache = self.session.cache

        def label_of(client_id: str) -> str | None:
            record = cache.get(CLIENTS.name, client_id)
            return client_label(dict(record.fields)) if record is not None else None

        return EditorTools(
            zone=lambda: self.session.zone,
            branches=lambda: self.session.branch_choices,
            reader=self.session.reader,
            client_label=label_of,
        )

    def _update_title(self) -> None:
        branch = self.session.state.branch_name
        self.setWindowTitle(f"Branchsync — {branch}" if branch else "Branchsync")

    # ---- layout --------------------------------------------------------------------

    def _build(self) -> None:
        session = self.session
        own = session.state.branch_id
        self.clients = ListPage(
            session, CLIENTS, client_form(session.cache, session.writes, self.tools), plural="clients"
        )
        self.filters = AppointmentFilters(session.branch_choices, own, session.zone)
        self.appointments = ListPage(
            session,
            APPOINTMENTS,
            appointment_form(session.cache, session.writes, self.tools),
            plural="appointments",
            defaults=lambda: appointment_defaults(own),
            query=ListQuery(APPOINTMENTS, filters=self.filters.filters()),
            filters=self.filters,
        )
        self.filters.changed.connect(self.appointments.model.set_filters)
        self.conflicts = ConflictsView(session)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.clients, "&Clients")
        self.tabs.addTab(self.appointments, "&Appointments")
        self.tabs.addTab(self.conflicts, "Co&nflicts")
        self.setCentralWidget(self.tabs)
        self.status_button = SyncStatusButton(session.zone)
        self.statusBar().addPermanentWidget(self.status_button, 1)
        self.statusBar().setSizeGripEnabled(True)
        self.toolbar = QToolBar("Main")
        self.toolbar.setObjectName("main_toolbar")
        self.toolbar.setMovable(False)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.new_action = self._action(
            "&New", QKeySequence.StandardKey.New, self.new_record, "New record (Ctrl+N)"
        )
        self.find_action = self._action(
            "&Find", QKeySequence.StandardKey.Find, self.focus_search, "Search (Ctrl+F)"
        )
        self.sync_action = self._action(
            "&Sync…", QKeySequence("Ctrl+Shift+S"), self.open_sync_panel, "Sync details"
        )
        quit_action = self._action("&Quit", QKeySequence.StandardKey.Quit, self.close, "Quit")
        for action in (self.new_action, self.find_action, self.sync_action):
            self.toolbar.addAction(action)
        menu = self.menuBar().addMenu("&File")
        for action in (self.new_action, self.find_action, self.sync_action, quit_action):
            menu.addAction(action)
        self._show_conflict_count(self.conflicts.model.rowCount())

    def _action(
        self, text: str, keys: QKeySequence | QKeySequence.StandardKey, slot: object, tip: str
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcut(keys)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def add_tool_widget(self, widget: QWidget) -> None:
        """Put ``widget`` at the right end of the toolbar (the demo's link switch)."""
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.toolbar.addWidget(spacer)
        self.toolbar.addWidget(widget)

    # ---- wiring --------------------------------------------------------------------

    def _wire(self) -> None:
        self.bridge.status_changed.connect(self.status_button.show_status)
        self.bridge.directory_changed.connect(self.show_directory)
        self.session.watcher.changed.connect(self.refresh)
        self.status_button.clicked.connect(self.open_sync_panel)
        self.conflicts.count_changed.connect(self._show_conflict_count)
        self.status_button.show_status(self.bridge.status)

    def refresh(self) -> None:
        """The cache changed: refresh every list in place and the open forms."""
        self.clients.refresh()
        self.appointments.refresh()
        self.conflicts.refresh()

    def show_directory(self) -> None:
        """The engine stored a new branch directory: show the names and the zone it gives."""
        session = self.session
        session.reload_directory()
        self._update_title()
        self.filters.set_zone(session.zone)
        self.filters.set_branches(session.branch_choices)
        for page in (self.clients, self.appointments):
            page.model.set_context(session.context)
        self.conflicts.refresh()
        self.status_button.set_zone(session.zone)

    def fit_columns(self) -> None:
        """Size every list's columns to what it shows now."""
        self.clients.fit_columns()
        self.appointments.fit_columns()

    def _show_conflict_count(self, count: int) -> None:
        index = self.tabs.indexOf(self.conflicts)
        self.tabs.setTabText(index, f"Co&nflicts ({count})" if count else "Co&nflicts")

    # ---- commands ------------------------------------------------------------------

    def _current_page(self) -> ListPage:
        current = self.tabs.currentWidget()
        if isinstance(current, ListPage):
            return current
        self.tabs.setCurrentWidget(self.clients)
        return self.clients

    def new_record(self) -> None:
        self._current_page().new_record()

    def focus_search(self) -> None:
        self._current_page().focus_search()

    def open_sync_panel(self) -> None:
        if self.sync_panel is None:
            self.sync_panel = SyncPanel(self.session, self.bridge, self.tools, self)
        self.sync_panel.refresh()
        self.sync_panel.show()
        self.sync_panel.raise_()
        self.sync_panel.activateWindow()

    # ---- geometry --------------------------------------------------------------------

    def _settings(self) -> QSettings:
        settings = QSettings()
        settings.beginGroup(f"windows/{self._settings_key}")
        return settings

    def _restore_geometry(self) -> None:
        settings = self._settings()
        geometry = settings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 760)
        state = settings.value("state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        for name, page in (("clients", self.clients), ("appointments", self.appointments)):
            splitter = settings.value(f"splitter_{name}")
            if isinstance(splitter, QByteArray):
                page.restore_splitter(splitter)

    def save_geometry(self) -> None:
        settings = self._settings()
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("state", self.saveState())
        for name, page in (("clients", self.clients), ("appointments", self.appointments)):
            settings.setValue(f"splitter_{name}", page.splitter.saveState())
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_geometry()
        super().closeEvent(event)
