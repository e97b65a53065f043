"""The installed PySide6 keeps Python's reference counts right when a signal is emitted.

PySide6 6.12.0 on Python 3.11 returns ``True`` from ``SignalInstance.emit`` without a
reference of its own, so every emit takes one away and the interpreter aborts after a
few hundred (``bool_dealloc``). pyproject pins a release without the bug; this test
fails at once if a release with it is ever installed.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(int)


def test_emitting_keeps_the_reference_count_of_true() -> None:
    emitter = _Emitter()
    received: list[int] = []
    emitter.fired.connect(received.append)
    before = sys.getrefcount(True)
    for number in range(200):
        emitter.fired.emit(number)
    assert len(received) == 200
    assert sys.getrefcount(True) >= before - 5
