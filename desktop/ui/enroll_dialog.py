"""First run: enrol this PC with the company's server.

IT's machine-wide config may name the server and an enrolment code; the dialog then
enrols at once, with no questions, and only shows its fields if that fails. Otherwise
staff type the server address and the code IT gave them. Enrolment runs on a
background thread (it waits for the network), and every failure is put in words:
an unreachable server, a code that is wrong, used or expired.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.cache import Cache, StorageError
from desktop.config import EffectiveConfig, Setting
from desktop.config.credentials import CredentialsError
from desktop.sync.enrollment import Enrolled, enroll_device
from desktop.sync.errors import AlreadyEnrolled, EnrollmentRefused, SyncError, TransportError
from desktop.ui.background import Background
from desktop.ui.forms.field_rows import paint_error

__all__ = ["EnrollDialog", "explain_failure"]

_REFUSED = {
    "enroll_code_invalid": "The server does not know that enrolment code. Check it, or ask IT for a new one.",
    "enroll_code_used": "That enrolment code was already used. Ask IT for a new one.",
    "enroll_code_expired": "That enrolment code has expired. Ask IT for a new one.",
}


def explain_failure(error: BaseException) -> str:
    """What went wrong, in words for the person at the PC."""
    if isinstance(error, EnrollmentRefused):
        return _REFUSED.get(error.code, f"The server refused the code: {error}")
    if isinstance(error, TransportError):
        return f"Could not enrol: {error}"
    if isinstance(error, AlreadyEnrolled | ValueError | SyncError | StorageError | CredentialsError):
        return str(error)
    return f"Could not enrol: {error}"


class EnrollDialog(QDialog):
    """Asks for the server and code (pre-filled from IT's config) and enrols.

    Signals:
        enrolled(object): the ``Enrolled`` answer; the dialog then accepts.
    """

    enrolled = Signal(object)

    def __init__(
        self,
        cache: Cache,
        config: EffectiveConfig | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect this PC to Branchsync")
        self.setModal(True)  # nothing else can be done before this PC is enrolled
        self._cache = cache
        self._config = config or EffectiveConfig()
        self._ssl_context = ssl_context
        self._background = Background("branchsync-enroll", self)
        intro = QLabel(
            "Enter the address of your company's Branchsync server and the enrolment code IT gave you. "
            "This is needed once per PC."
        )
        intro.setWordWrap(True)
        self.server = QLineEdit(self._config.server_url or "")
        self.server.setPlaceholderText("https://sync.example.com")
        self.server.setReadOnly(self._config.is_pinned(Setting.SERVER_URL) and bool(self._config.server_url))
        self.code = QLineEdit(self._config.enroll_code or "")
        self.code.setPlaceholderText("e.g. 7KQ2-M9XD")
        self.name = QLineEdit(self._config.display_name or socket.gethostname() or "Branch PC")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        form = QFormLayout()
        form.addRow("Server:", self.server)
        form.addRow("Enrolment code:", self.code)
        form.addRow("This PC's name:", self.name)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.enroll_button = self.buttons.addButton("Enrol", QDialogButtonBox.ButtonRole.AcceptRole)
        # Enter means Enrol: Cancel must never be the button Enter falls back to (Qt made it
        # the default, and Enter quit the app with nothing enrolled); busy, Enter does nothing
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAutoDefault(False)
        cancel.setDefault(False)
        self.enroll_button.setAutoDefault(True)
        self.enroll_button.setDefault(True)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

    @property
    def unattended(self) -> bool:
        """IT provided both the server and a code: enrol without asking."""
        return bool(self._config.server_url and self._config.enroll_code)

    def start(self) -> None:
        """Show the dialog; with IT's server and code, enrol straight away."""
        self.show()
        if self.unattended:
            self.submit()

    def submit(self) -> None:
        server, code, name = self.server.text().strip(), self.code.text().strip(), self.name.text().strip()
        missing = [
            label
            for label, value in (("the server", server), ("the code", code), ("a name", name))
            if not value
        ]
        if missing:
            self._say(f"Please enter {' and '.join(missing)}.", error=True)
            return
        self._busy(True)
        self._say(f"Enrolling with {server}…", error=False)
        cache, context = self._cache, self._ssl_context
        self._background.submit(
            lambda: asyncio.run(enroll_device(cache, server, code, name, ssl_context=context)),
            self._succeeded,
            self._failed,
        )

    def _busy(self, busy: bool) -> None:
        for widget in (self.server, self.code, self.name, self.enroll_button):
            widget.setEnabled(not busy)

    def _say(self, text: str, *, error: bool) -> None:
        if error:
            paint_error(self.message, self)
        else:
            self.message.setPalette(self.palette())
        self.message.setText(text)
        self.message.show()

    def _succeeded(self, enrolled: Enrolled) -> None:
        self._busy(False)
        self._say(f"Enrolled in branch {enrolled.branch_name}.", error=False)
        self.enrolled.emit(enrolled)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._busy(False)
        self._say(explain_failure(error), error=True)
        if isinstance(error, EnrollmentRefused):
            self.code.setFocus(Qt.FocusReason.OtherFocusReason)
            self.code.selectAll()
        else:
            self.server.setFocus(Qt.FocusReason.OtherFocusReason)

    def done(self, result: int) -> None:
        self._background.shutdown(wait=False)  # a cancelled enrolment must not hold the window
        super().done(result)
