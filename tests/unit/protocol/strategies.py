"""Hypothesis strategies and helpers shared by the protocol tests.

Clocks and values are drawn from deliberately tiny ranges (three nodes, a few
milliseconds, a handful of values) so that equal stamps, equal values and
stamp ties between nodes happen often: those are the cases a merge gets wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import settings
from hypothesis import strategies as st

from protocol import Row, Timestamp, compaction_row, merge, mutation_row

__all__ = [
    "FAST",
    "NODES",
    "WriteSpec",
    "compacted_rows",
    "fold",
    "hlcs",
    "mutations",
    "rows",
    "timestamps",
    "writes",
]

FAST = settings(max_examples=200, deadline=None)
"""Enough examples to find ordering bugs, few enough to keep the suite quick."""

NODES = ("dev-a", "dev-b", "server")
FIELD_NAMES = ("name", "phone", "notes")

timestamps = st.builds(
    Timestamp,
    wall_ms=st.integers(min_value=1, max_value=4),
    counter=st.integers(min_value=0, max_value=2),
    node=st.sampled_from(NODES),
)
hlcs = timestamps.map(str)
values: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.sampled_from(["", "a", "b", "Ada"]),
    st.integers(min_value=0, max_value=2),
    st.lists(st.sampled_from(["vip", "new"]), max_size=2),
)


@dataclass(frozen=True)
class WriteSpec:
    """One mutation as drawn: kept apart from its ``Row`` so failures print readably."""

    op: Literal["upsert", "delete", "clear"]
    fields: dict[str, Any]
    hlc: str

    def row(self) -> Row:
        if self.op == "clear":
            return compaction_row(self.hlc)
        return mutation_row(self.op, self.fields, self.hlc)


writes = st.builds(
    WriteSpec,
    op=st.sampled_from(["upsert", "upsert", "delete"]),
    fields=st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=3),
    hlc=hlcs,
)
mutations = writes.map(WriteSpec.row)


def fold(parts: list[Row], start: Row | None = None) -> Row:
    """Merge ``parts`` one after another into ``start`` (an empty row by default)."""
    row = Row() if start is None else start
    for part in parts:
        row = merge(row, part).row
    return row


rows = st.one_of(
    mutations,
    st.lists(mutations, min_size=0, max_size=4).map(fold),
)
"""Raw mutation rows (which may hold explicit ``None``) and merged states."""

writes_and_clears = st.one_of(writes, st.builds(WriteSpec, op=st.just("clear"), fields=st.just({}), hlc=hlcs))
"""Mutations and the server's compaction writes (``CLEARED``)."""
compacted_rows = st.lists(writes_and_clears.map(WriteSpec.row), min_size=0, max_size=5).map(fold)
"""Merged states, some of them cleared up to a stamp."""
