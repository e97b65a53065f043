"""The SQL behind the lists: one page at a time, sorted, searched and filtered (pure).

Lists page by *keyset* (the sort value and ``pk`` of the last row shown), so the
200th page costs what the first does. Search is FTS5 prefix matching
(``fts_query``); appointments also match their client's name, phone, email and notes,
word by word.

The UI's lists read pages (``page_sql``) through ``desktop.cache.reader``; the cache's
own reads (``Cache.list_rows``, which the command line's ``export`` uses) take whole
stored rows (``rows_sql``) through ``desktop.cache.queries``: one set of conditions, so
a search or a list gives the same rows everywhere.

A search sorted by the natural column (clients by name) can run two ways, and the
faster one depends on how many rows match:

* *walk the index*: name the column's index (``INDEXED BY``) so SQLite reads rows in
  list order and stops after one page. Best for broad searches: at 100 000 clients a
  one-letter search drops from ~30 ms to ~10 ms. Worst when few rows match and they
  sort late (every "Émile" sits at the end): the walk then reads most of the index.
* *fetch the matches*: look the matching rows up and sort just them. Cost grows with
  the number of matches, so it wins below a few thousand.

``match_count_sql`` (an FTS5-only count, a millisecond or less for a word) decides;
``NARROW_MATCHES`` is where the two cost the same on the benchmark machine.

Nothing here runs a query: the functions return SQL text and parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from desktop.cache.schema import RECORD_TABLES, fts_name, sort_column
from protocol.collections import CLIENTS, Collection

__all__ = [
    "CLIENT_NAME",
    "NARROW_MATCHES",
    "Filters",
    "ListQuery",
    "Position",
    "Sql",
    "count_sql",
    "fts_query",
    "match_count_sql",
    "page_sql",
    "rows_sql",
    "selected_columns",
]

CLIENT_NAME = "client_name"
"""The extra column appointment lists carry: the name of the appointment's client."""

Sql = tuple[str, dict[str, Any]]

NARROW_MATCHES = 4000
"""Searches matching at most this many rows fetch the matches instead of walking the index."""


def fts_query(search: str) -> str | None:
    """An FTS5 query matching rows that have every typed word as a word prefix.

    Pure. Each word is quoted, so nothing typed can be read as FTS5 syntax; words
    without a letter or digit are ignored. None when nothing is left to search for.
    """
    words = [word for word in search.split() if any(ch.isalnum() for ch in word)]
    if not words:
        return None
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


@dataclass(frozen=True, slots=True)
class Filters:
    """Appointment filters; ``starts_from``/``starts_until`` are canonical UTC ISO text."""

    branch_id: str | None = None
    starts_from: str | None = None
    """Inclusive lower bound of ``starts_at``."""
    starts_until: str | None = None
    """Exclusive upper bound of ``starts_at``."""


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a list shows: a collection, a search, an order and filters."""

    collection: Collection
    search: str = ""
    sort: str | None = None
    """A field name, or ``CLIENT_NAME`` for appointments; None sorts by the natural column."""
    descending: bool = False
    filters: Filters = field(default_factory=Filters)
    include_deleted: bool = False
    """List deleted rows too (the cache's reads may; the UI's lists never do)."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ends: the last row's sort value and ``pk`` (the keyset)."""

    value: Any
    pk: int


def _joins_client(collection: Collection) -> bool:
    return collection.field("client_id") is not None


def selected_columns(collection: Collection) -> tuple[str, ...]:
    """The names of the columns a page row carries, after ``pk``, ``id`` and the sort value."""
    extra = (CLIENT_NAME,) if _joins_client(collection) else ()
    return (*collection.field_names, *extra)


def _natural(collection: Collection) -> str:
    return sort_column(collection)


def _sort_expression(query: ListQuery) -> tuple[str, bool]:
    """The SQL expression to order by and whether it can never be NULL."""
    collection = query.collection
    name = query.sort or _natural(collection)
    if name == CLIENT_NAME and _joins_client(collection):
        return "c.name", False
    spec = collection.field(name)
    if spec is None:
        raise ValueError(f"{collection.name} cannot be sorted by {name!r}")
    return f"t.{name}", spec.required


def _natural_index(collection: Collection) -> str | None:
    """The name of the single-column index on the natural sort column, if the schema has one."""
    column = _natural(collection)
    for index in RECORD_TABLES[collection.name].indexes:
        if [c.name for c in index.columns] == [column]:
            return str(index.name)
    return None


def _search_conditions(query: ListQuery, params: dict[str, Any]) -> list[str]:
    collection = query.collection
    own = fts_name(collection)
    if not _joins_client(collection):
        match = fts_query(query.search)
        if match is None:
            return []
        params["match"] = match
        return [f"t.pk IN (SELECT rowid FROM {own} WHERE {own} MATCH :match)"]
    clients = fts_name(CLIENTS)
    conditions = []
    for number, word in enumerate(query.search.split()):
        match = fts_query(word)
        if match is None:
            continue
        key = f"match{number}"
        params[key] = match
        matching_clients = f"SELECT rowid FROM {clients} WHERE {clients} MATCH :{key}"
        conditions.append(
            f"(t.pk IN (SELECT rowid FROM {own} WHERE {own} MATCH :{key}) OR t.client_id IN "
            f"(SELECT id FROM {CLIENTS.name} WHERE pk IN ({matching_clients})))"
        )
    return conditions


def _filter_conditions(query: ListQuery, params: dict[str, Any]) -> list[str]:
    conditions = [] if query.include_deleted else ["t.deleted = 0"]
    filters = query.filters
    fields = query.collection.field_names
    if filters.branch_id is not None and "branch_id" in fields:
        params["branch_id"] = filters.branch_id
        conditions.append("t.branch_id = :branch_id")
    if filters.starts_from is not None and "starts_at" in fields:
        params["starts_from"] = filters.starts_from
        conditions.append("t.starts_at >= :starts_from")
    if filters.starts_until is not None and "starts_at" in fields:
        params["starts_until"] = filters.starts_until
        conditions.append("t.starts_at < :starts_until")
    return conditions + _search_conditions(query, params)


def _after(
    expression: str, never_null: bool, descending: bool, after: Position, params: dict[str, Any]
) -> str:
    """The keyset condition: rows that sort after ``after``.

    SQLite sorts NULL first, so ascending lists start with the NULL run and descending
    ones end with it. The row-value comparison lets SQLite seek in the index.
    """
    params["after_pk"] = after.pk
    if after.value is None:
        if descending:
            return f"({expression} IS NULL AND t.pk < :after_pk)"
        return f"(({expression} IS NULL AND t.pk > :after_pk) OR {expression} IS NOT NULL)"
    params["after_value"] = after.value
    comparison = "<" if descending else ">"
    condition = f"({expression}, t.pk) {comparison} (:after_value, :after_pk)"
    if descending and not never_null:
        return f"({condition} OR {expression} IS NULL)"
    return condition


def _from_clause(query: ListQuery, expression: str, walk_index: bool) -> str:
    collection = query.collection
    table = collection.name
    hint = ""
    if walk_index and expression == f"t.{_natural(collection)}":
        index = _natural_index(collection)
        if index is not None:
            hint = f" INDEXED BY {index}"
    join = f" LEFT JOIN {CLIENTS.name} AS c ON c.id = t.client_id" if _joins_client(collection) else ""
    return f"FROM {table} AS t{hint}{join}"


def page_sql(query: ListQuery, limit: int, after: Position | None = None, *, walk_index: bool = True) -> Sql:
    """One page of rows in list order, starting after ``after`` (from the top when None).

    Each row is ``(pk, id, sort value, *selected_columns(collection))``.

    Args:
        walk_index: read rows in the natural column's index order (see the module
            docstring); False lets SQLite fetch the matches and sort them.
    """
    params: dict[str, Any] = {"limit": limit}
    expression, never_null = _sort_expression(query)
    conditions = _filter_conditions(query, params)
    if after is not None:
        conditions.append(_after(expression, never_null, query.descending, after, params))
    direction = " DESC" if query.descending else ""
    columns = ", ".join(f"t.{name}" for name in query.collection.field_names)
    if _joins_client(query.collection):
        columns += f", c.name AS {CLIENT_NAME}"
    sql = (
        f"SELECT t.pk, t.id, {expression}, {columns} {_from_clause(query, expression, walk_index)} "
        f"WHERE {_all(conditions)} "
        f"ORDER BY {expression}{direction}, t.pk{direction} LIMIT :limit"
    )
    return sql, params


def rows_sql(query: ListQuery, limit: int | None = None, offset: int = 0) -> Sql:
    """Whole stored rows (every column of the table, in its order) in list order, by offset.

    For reads that need the row itself (its clocks, its deleted flag), not a page of a list.
    """
    params: dict[str, Any] = {"limit": -1 if limit is None else limit, "offset": offset}
    expression, _ = _sort_expression(query)
    conditions = _filter_conditions(query, params)
    direction = " DESC" if query.descending else ""
    columns = ", ".join(f"t.{column.name}" for column in RECORD_TABLES[query.collection.name].columns)
    sql = (
        f"SELECT {columns} {_from_clause(query, expression, walk_index=False)} "
        f"WHERE {_all(conditions)} "
        f"ORDER BY {expression}{direction}, t.pk{direction} LIMIT :limit OFFSET :offset"
    )
    return sql, params


def _all(conditions: list[str]) -> str:
    return " AND ".join(conditions) or "1"


def match_count_sql(query: ListQuery) -> Sql | None:
    """How many rows the search's full-text index matches (deleted ones too), when that decides
    the plan: a search of a list without a client join, sorted by its natural column.

    None when the plan is clear without counting, e.g. a one-letter search: it matches
    most rows, so walking is right, and counting would cost ~10 ms at 100 000 rows.
    """
    natural = _natural(query.collection)
    if _joins_client(query.collection) or (query.sort or natural) != natural:
        return None
    if max((len(word) for word in query.search.split()), default=0) <= 1:
        return None
    match = fts_query(query.search)
    if match is None:
        return None
    fts = fts_name(query.collection)
    return f"SELECT count(*) FROM {fts} WHERE {fts} MATCH :match", {"match": match}


def count_sql(query: ListQuery) -> Sql:
    """How many rows the list has in all (for the count shown next to it)."""
    params: dict[str, Any] = {}
    conditions = _filter_conditions(query, params)
    return f"SELECT count(*) FROM {query.collection.name} AS t WHERE {_all(conditions)}", params
