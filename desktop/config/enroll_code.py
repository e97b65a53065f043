"""Remembering, in the user's data dir, which of IT's one-time enrolment codes were used.

The machine-wide file is read-only to the user, so the app cannot delete the code from
it. Instead it records a SHA-256 of each code it has used (never the code itself) in the
data dir; ``load_config`` then hands out a code only while it is unused there. A new
code that IT ships later (to re-enrol a PC whose device was revoked) is a different
hash, so it is used once again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["USED_CODES_FILENAME", "code_was_used", "mark_code_used"]

USED_CODES_FILENAME = "enroll-codes-used.json"


def code_was_used(data_dir: Path, code: str) -> bool:
    """Whether this data dir already used ``code`` (an unreadable record counts as "no")."""
    return _digest(code) in _read(data_dir / USED_CODES_FILENAME)


def mark_code_used(data_dir: Path, code: str) -> None:
    """Record that ``code`` was used, once the server answered it (accepted, used or expired).

    Written atomically (temporary file, then rename) and readable by the user only.
    """
    path = data_dir / USED_CODES_FILENAME
    used = _read(path)
    used.setdefault(_digest(code), datetime.now(UTC).isoformat(timespec="seconds"))
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".enroll-codes-", dir=data_dir)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump({"sha256": used}, file, indent=1, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def _read(path: Path) -> dict[str, str]:
    """The recorded digests and when each was used; {} when there is no usable record.

    A damaged record only means a code may be offered again, and the server refuses a
    used code anyway, so it is not worth stopping the app for.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    used = document.get("sha256") if isinstance(document, dict) else None
    if not isinstance(used, dict):
        return {}
    return {str(key): str(value) for key, value in used.items()}
