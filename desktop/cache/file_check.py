"""Is the cache file sound? Decided before it is opened, from its header and ``quick_check``.

A file is *missing*, *empty* (0 bytes: SQLite would take it for a new database), or
*damaged*: not an SQLite header, shorter than its header says (truncated), or a
``PRAGMA quick_check`` that finds broken pages. ``header_verdict`` is the pure part
(bytes in, verdict out); ``check_file`` adds the reads. ``quick_check`` reads every
page, so it runs only on files up to ``QUICK_CHECK_LIMIT``, and only while no other
connection has the file open (no ``-wal`` beside it: the last connection to close
removes it): a quick_check from a second process while another has the file open
was seen to keep that one's ``PRAGMA data_version`` from noticing the next commits,
which the change watcher relies on. A file skipped relies on the header here and on
the storage errors of later reads (``StorageProblem.DAMAGED``).
Only SQLite's own "corrupt" and "not a database" answers count as damage: a file that
cannot be read for another reason (locked, permissions) is left to the normal open,
whose error says so, and never moved aside.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

__all__ = [
    "HEADER",
    "HEADER_BYTES",
    "QUICK_CHECK_LIMIT",
    "FileState",
    "Verdict",
    "check_file",
    "header_verdict",
    "page_size_of",
]

HEADER = b"SQLite format 3\x00"
HEADER_BYTES = 100
QUICK_CHECK_LIMIT = 256 * 1024 * 1024
"""Files up to this size are checked page by page at start (measured: 0.16 s for 100 MB with
the file in the OS cache, so at most about half a second)."""

_CORRUPT = 11
_NOTADB = 26


class FileState(StrEnum):
    MISSING = "missing"
    EMPTY = "empty"
    SOUND = "sound"
    DAMAGED = "damaged"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a look at the file found, and in words why (for the log and support)."""

    state: FileState
    reason: str = ""


def page_size_of(header: bytes) -> int | None:
    """The page size an SQLite header declares, or None when it declares none that is valid."""
    if len(header) < 18:
        return None
    raw = int.from_bytes(header[16:18], "big")
    size = 65536 if raw == 1 else raw
    if size < 512 or size & (size - 1):
        return None
    return size


def header_verdict(header: bytes, size: int) -> Verdict:
    """Judge a file by its first ``HEADER_BYTES`` bytes and its size; SOUND means "looks whole".

    Args:
        header: the first bytes of the file (fewer when the file is shorter).
        size: the file's length in bytes.
    """
    if size == 0:
        return Verdict(FileState.EMPTY, "the file is empty (0 bytes)")
    if size < HEADER_BYTES or not header.startswith(HEADER):
        return Verdict(FileState.DAMAGED, "the file does not start with an SQLite header")
    page_size = page_size_of(header)
    if page_size is None:
        return Verdict(FileState.DAMAGED, "the SQLite header names no valid page size")
    if size % page_size:
        return Verdict(FileState.DAMAGED, f"the file ends inside a page ({size} bytes, pages of {page_size})")
    pages = int.from_bytes(header[28:32], "big")
    counter_valid = header[24:28] == header[92:96]
    if counter_valid and pages and pages * page_size > size:
        return Verdict(
            FileState.DAMAGED, f"the file is truncated ({size // page_size} of its {pages} pages are left)"
        )
    return Verdict(FileState.SOUND)


def quick_check(path: Path) -> Verdict:
    """``PRAGMA quick_check`` on ``path``; DAMAGED only on SQLite's own word for it."""
    try:
        conn = sqlite3.connect(path)
    except sqlite3.Error:
        return Verdict(FileState.SOUND)  # cannot even open: the normal open will say why
    try:
        answers = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.Error as exc:
        if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF in (_CORRUPT, _NOTADB):
            return Verdict(FileState.DAMAGED, f"SQLite cannot read it: {exc}")
        return Verdict(FileState.SOUND)
    finally:
        conn.close()
    if answers == ["ok"]:
        return Verdict(FileState.SOUND)
    return Verdict(FileState.DAMAGED, _first_problem(answers))


def _first_problem(answers: list[str]) -> str:
    """``quick_check``'s answer as a reason in one line (the user reads it in one sentence):
    its first problem, without the ``*** in database main ***`` heading."""
    lines = [line.strip() for answer in answers for line in answer.splitlines()]
    problems = [line for line in lines if line and not line.startswith("***")]
    first = problems[0] if problems else "no detail"
    return f"SQLite's check found damage: {first[:200]}"


def check_file(path: Path, quick_check_limit: int = QUICK_CHECK_LIMIT) -> Verdict:
    """Look at the cache file at ``path`` (header always, ``quick_check`` when small enough).

    Raises:
        OSError: the file exists but cannot be read at all (permissions, I/O).
    """
    try:
        with path.open("rb") as file:
            header = file.read(HEADER_BYTES)
            size = file.seek(0, 2)
    except FileNotFoundError:
        return Verdict(FileState.MISSING, "the file is missing")
    verdict = header_verdict(header, size)
    in_use = path.with_name(path.name + "-wal").exists()
    if verdict.state is not FileState.SOUND or size > quick_check_limit or in_use:
        return verdict
    return quick_check(path)
