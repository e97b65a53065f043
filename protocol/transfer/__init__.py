"""Moving records in and out: the old system's files, the mapping onto our records, and
how overlapping copies merge. Shared by ``branchsync-server import`` and the desktop's
``branchsync import``; pure apart from reading files, and it imports neither end."""
