"""What the desktop app and the server must agree on.

This package imports nothing from ``desktop`` or ``server``: collection schemas,
field validation, the hybrid logical clock, the per-field merge rule, telling a race
from a later edit, the wire messages of protocol version 1 (``messages``) and its
vocabulary (``wire``: paths, close codes, the frames and bodies both ends build).
"""

from protocol.collections import APPOINTMENTS, CLIENTS, COLLECTIONS, Collection, Field, FieldKind
from protocol.concurrency import Bases, bases_before, merge_bases, overwrote_unseen
from protocol.errors import ErrorCode, FieldError, ProtocolError
from protocol.hlc import HybridLogicalClock, Timestamp
from protocol.merge import CLEARED, DELETED, Lost, MergeResult, Row, compaction_row, merge, mutation_row
from protocol.validate import validate_fields
from protocol.version import (
    MAX_MUTATIONS_PER_PUSH,
    MAX_PUSH_BYTES,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
)

__all__ = [
    "APPOINTMENTS",
    "CLEARED",
    "CLIENTS",
    "COLLECTIONS",
    "DELETED",
    "MAX_MUTATIONS_PER_PUSH",
    "MAX_PUSH_BYTES",
    "PROTOCOL_HEADER",
    "PROTOCOL_VERSION",
    "Bases",
    "Collection",
    "ErrorCode",
    "Field",
    "FieldError",
    "FieldKind",
    "HybridLogicalClock",
    "Lost",
    "MergeResult",
    "ProtocolError",
    "Row",
    "Timestamp",
    "bases_before",
    "compaction_row",
    "merge",
    "merge_bases",
    "mutation_row",
    "overwrote_unseen",
    "validate_fields",
]
