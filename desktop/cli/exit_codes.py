"""The exit codes of ``branchsync``: IT scripts branch on them, so each keeps its meaning.

=====  ==================================================================================
code   meaning
=====  ==================================================================================
0      done
1      refused: bad input (a bad file, an unknown id, rows that failed to import), or the
       server refused (bad enrolment code, device revoked, update required)
2      bad usage or a missing part: bad arguments, not enrolled, bad configuration, a
       build without the sync engine
3      the server cannot be reached (or ``sync --once`` did not finish in time); changes
       stay queued
4      the disk or the data folder failed
70     internal error (a bug)
130    interrupted (Ctrl+C)
=====  ==================================================================================
"""

from __future__ import annotations

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_STORAGE",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
]

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_STORAGE = 4
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
