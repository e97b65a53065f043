"""Starting the desktop app: the Qt application, first-run enrolment, and a branch's window.

``run_app`` is what ``branchsync`` (no command) runs. ``BranchWindow`` puts one
installation on screen (session, engine bridge, window, first-sync progress); the
demo opens two of them side by side in one process.
"""

from __future__ import annotations

import gc
import logging
import ssl
import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from desktop import __version__
from desktop.cache import Cache, StorageError
from desktop.config import ConfigError, EffectiveConfig, Setting, client_ssl_context, load_config
from desktop.config.credentials import CredentialsError
from desktop.sync.enrollment import endpoint_for
from desktop.sync.errors import NotEnrolled
from desktop.sync.runner import Runner, RunnerConfig
from desktop.ui.bridge import EngineBridge, Problem
from desktop.ui.collector import GuiThreadCollector
from desktop.ui.enroll_dialog import EnrollDialog
from desktop.ui.first_sync_dialog import FirstSyncDialog
from desktop.ui.main_window import MainWindow
from desktop.ui.session import Session
from desktop.ui.startup_probe import install_ready_probe

__all__ = ["BranchWindow", "NotStarted", "application", "freeze_startup_objects", "run_app"]

log = logging.getLogger(__name__)


class NotStarted(Enum):
    """Why ``run_app`` opened no window (the user was told in a dialog); the command line
    turns it into its exit code (``desktop.cli.exit_codes``)."""

    BAD_CONFIG = "the configuration cannot be used"
    NO_STORAGE = "the data folder cannot be opened"


def application(argv: Sequence[str] | None = None) -> QApplication:
    """The process's ``QApplication`` (made once), named so ``QSettings`` finds its file.

    High-DPI scaling is on in Qt 6; fractional factors (125 %, 150 %) are passed
    through unrounded so text stays crisp. The style and palette are the system's,
    light or dark. From here on, reference cycles are collected on the GUI thread
    (``desktop.ui.collector``).
    """
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    QCoreApplication.setOrganizationName("Branchsync")
    QCoreApplication.setApplicationName("Branchsync")
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication(list(argv if argv is not None else sys.argv[:1]))
    app.setApplicationDisplayName("Branchsync")
    # cycles holding Qt objects must die on this thread, never on an engine's (collector.py)
    GuiThreadCollector(app).start()
    install_ready_probe(app)  # BRANCHSYNC_EXIT_WHEN_READY: smoke tests of built apps (installers/)
    return app


def freeze_startup_objects() -> None:
    """Keep what start-up made (modules, Qt wrappers, the window) out of later garbage collections.

    A full collection walks every tracked object: with PySide6, SQLAlchemy and pydantic
    loaded that is 40-50 ms, long enough to be felt on the keystroke it lands on.
    Frozen objects are skipped, which makes those collections a few milliseconds.
    """
    gc.freeze()


class BranchWindow:
    """One installation on screen: its session, its engine (on its own thread) and its window.

    Args:
        cache: the installation's open cache (enrolled or not; unenrolled runs offline).
        ssl_context: for the server connection (IT's CA bundle), None for the system's.
        settings_key: where this window's geometry is remembered.
        runner_config: the engine's tunables (tests shorten its timeouts).
    """

    def __init__(
        self,
        cache: Cache,
        *,
        ssl_context: ssl.SSLContext | None = None,
        settings_key: str = "main",
        runner_config: RunnerConfig | None = None,
    ) -> None:
        self.cache = cache
        self.session = Session(cache)
        self.bridge = EngineBridge()
        self.window = MainWindow(self.session, self.bridge, settings_key=settings_key)
        self.first_sync: FirstSyncDialog | None = None
        self.recovery_box: QMessageBox | None = None
        """Shown over the window when this open rebuilt a damaged cache (``Cache.recovery``)."""
        self._ssl_context = ssl_context
        self._runner_config = runner_config
        if cache.recovery is not None:
            self.bridge.problems.append(Problem.now(cache.recovery.notice))
        self.start_engine()

    def start_engine(self) -> bool:
        """Start syncing in the background; False (and a problem shown) when it cannot."""
        try:
            endpoint = endpoint_for(self.cache, self._ssl_context)
        except (NotEnrolled, CredentialsError) as exc:
            self.bridge.problems.append(Problem.now(str(exc)))
            return False
        runner = Runner(self.cache, endpoint, config=self._runner_config, on_status=self.bridge.on_status)
        self.bridge.start(runner)
        return True

    def show(self) -> None:
        """Show the window, with first-sync progress over it when nothing was pulled yet."""
        self.window.show()
        if self.session.state.enrolled and self.session.state.cursor == 0:
            self.first_sync = FirstSyncDialog(self.session, self.bridge, self.window)
            self.first_sync.finished.connect(self.window.activateWindow)  # keys go back to the window
            self.first_sync.finished_sync.connect(self.window.fit_columns)  # names arrived: widths to match
            self.first_sync.show()
        if self.cache.recovery is not None:
            self.recovery_box = QMessageBox(
                QMessageBox.Icon.Warning, "Branchsync data", self.cache.recovery.notice, parent=self.window
            )
            self.recovery_box.setTextFormat(Qt.TextFormat.PlainText)
            self.recovery_box.open()  # over the window, without blocking: the engine and first sync go on

    def close(self) -> None:
        """Stop the engine, close the window, and stop the session's threads (the cache stays open)."""
        if not self.bridge.stop():
            log.warning("the sync engine did not stop in time")
        self.window.close()
        self.session.close()


def _tell(title: str, text: str) -> None:
    QMessageBox.critical(None, title, text)


def _ssl_context(config: EffectiveConfig) -> ssl.SSLContext:
    return client_ssl_context(config.ca_bundle, source=config.sources.get(Setting.CA_BUNDLE))


def run_app(data_dir: Path, argv: Sequence[str] | None = None) -> int | NotStarted:
    """The desktop app: enrol on first run, then the branch's window until it is closed.

    Returns Qt's exit status (0 also when the user declined to enrol), or why it could not start.
    """
    app = application(argv)
    try:
        config = load_config(data_dir)
        context = _ssl_context(config)
    except ConfigError as exc:
        _tell("Branchsync configuration", f"The configuration cannot be used:\n{exc}")
        return NotStarted.BAD_CONFIG
    try:
        cache = Cache(data_dir)
    except StorageError as exc:
        _tell("Branchsync data", str(exc))
        return NotStarted.NO_STORAGE
    with cache:
        if not cache.state().enrolled:
            dialog = EnrollDialog(cache, config, ssl_context=context)
            dialog.start()
            if dialog.exec() != QDialog.DialogCode.Accepted:
                print(
                    "branchsync: this PC is not enrolled yet; start Branchsync again to connect it",
                    file=sys.stderr,
                )
                return 0
        branch = BranchWindow(cache, ssl_context=context)
        branch.show()
        freeze_startup_objects()
        try:
            return app.exec()
        finally:
            branch.close()
