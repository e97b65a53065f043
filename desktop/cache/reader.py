"""A read-only connection to the cache file for the lists (one per thread that reads).

The lists run a query per keystroke and per scroll step, so they bypass SQLAlchemy and
keep one plain ``sqlite3`` connection opened read-only (``mode=ro``): it can never
write, and in WAL mode it never waits for the engine's writes. SQLite errors are
sorted by ``desktop.cache.errors`` like every other read (environment vs bug).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from desktop.cache.errors import storage_errors
from desktop.cache.listing import (
    NARROW_MATCHES,
    ListQuery,
    Position,
    count_sql,
    match_count_sql,
    page_sql,
    selected_columns,
)
from desktop.cache.schema import RECORD_TABLES
from protocol.collections import FieldKind

__all__ = ["PageRow", "Reader"]

PLANS_KEPT = 64


@dataclass(frozen=True, slots=True)
class PageRow:
    """One list row: its keys, its sort value and its values by column name."""

    pk: int
    id: str
    sort_value: Any
    values: dict[str, Any]

    @property
    def position(self) -> Position:
        return Position(self.sort_value, self.pk)


class Reader:
    """Read-only queries for one thread (``sqlite3`` connections stay in their thread).

    Args:
        path: the cache file (it must exist: ``desktop.cache.Cache`` creates it).

    Raises:
        StorageError: the file cannot be opened.
    """

    def __init__(self, path: Path) -> None:
        with storage_errors():
            self._conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        self._plans: dict[tuple[str, str], bool] = {}

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def page(self, query: ListQuery, limit: int, after: Position | None = None) -> list[PageRow]:
        """Up to ``limit`` rows of ``query`` after ``after`` (see ``listing.page_sql``)."""
        sql, params = page_sql(query, limit, after, walk_index=self._walk_index(query))
        names = selected_columns(query.collection)
        tags = {f.name for f in query.collection.fields if f.kind is FieldKind.TAGS}
        with storage_errors():
            found = self._conn.execute(sql, params).fetchall()
        rows = []
        for pk, row_id, sort_value, *values in found:
            by_name = dict(zip(names, values, strict=True))
            for name in tags:
                if by_name[name] is not None:
                    by_name[name] = json.loads(by_name[name])
            rows.append(PageRow(pk, row_id, sort_value, by_name))
        return rows

    def _walk_index(self, query: ListQuery) -> bool:
        """Whether the search is broad enough to walk the index (remembered for its next pages).

        A decision gone stale (rows arrived since) costs speed, never correctness.
        """
        counting = match_count_sql(query)
        if counting is None:
            return True
        key = (query.collection.name, query.search)
        if key not in self._plans:
            with storage_errors():
                matches = int(self._conn.execute(*counting).fetchone()[0])
            if len(self._plans) >= PLANS_KEPT:
                self._plans.pop(next(iter(self._plans)))
            self._plans[key] = matches > NARROW_MATCHES
        return self._plans[key]

    def count(self, query: ListQuery) -> int:
        """How many rows ``query`` has in all."""
        sql, params = count_sql(query)
        with storage_errors():
            return int(self._conn.execute(sql, params).fetchone()[0])

    def distinct(self, collection: str, column: str) -> list[str]:
        """The distinct non-empty values of an indexed column (e.g. branch ids), deleted rows too.

        Only the index is read (no row lookups), so this stays a few ms at 100 000 rows.
        """
        if column not in RECORD_TABLES[collection].c:
            raise ValueError(f"{collection} has no column {column!r}")
        sql = f"SELECT DISTINCT {column} FROM {collection} WHERE {column} IS NOT NULL"
        with storage_errors():
            return [value for (value,) in self._conn.execute(sql)]
