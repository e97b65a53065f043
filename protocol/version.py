"""Protocol version and the hard limits both ends enforce."""

PROTOCOL_VERSION = 1
"""Sent by every request and socket in the ``Branchsync-Protocol`` header."""

PROTOCOL_HEADER = "Branchsync-Protocol"

MAX_MUTATIONS_PER_PUSH = 500
MAX_PUSH_BYTES = 1024 * 1024
MAX_PULL_LIMIT = 5000
DEFAULT_PULL_LIMIT = 1000
MAX_QUERY_NUMBER = 2**63 - 1
"""The largest change number, cursor or offset a request may name: PostgreSQL's ``bigint``."""
