"""List queries against a real cache file: keyset pages, sorting with NULLs, search and filters."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from desktop.cache import Cache
from desktop.cache.listing import CLIENT_NAME, Filters, ListQuery, Position, match_count_sql, page_sql
from desktop.cache.reader import PageRow, Reader
from protocol.collections import APPOINTMENTS, CLIENTS
from tests.support.seeding import seed_clients, seed_rows

NAMES = [
    "Ada Andersen",
    "ada Bauer",
    "Émile Dubois",
    "Zofia Xu",
    "Bruno Quinn",
    "Chloé Rossi",
    "Ada Andersen",
]


def _nocase(text: str) -> bytes:
    """How SQLite's NOCASE orders text: ASCII letters folded, then bytes of UTF-8."""
    return "".join(ch.lower() if ch.isascii() else ch for ch in text).encode()


@pytest.fixture
def clients(cache: Cache) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for number in range(60):
        fields: dict[str, Any] = {"name": f"{NAMES[number % len(NAMES)]} {number:02d}"}
        if number % 3:
            fields["phone"] = f"+44 20 7946 {number % 7:04d}"
        if number % 4 == 0:
            fields["email"] = f"person{number}@example.com"
            fields["notes"] = "Prefers mornings"
        rows.append((str(uuid.uuid4()), fields))
    seed_rows(cache, "clients", rows)
    return rows


@pytest.fixture
def reader(cache: Cache) -> Any:
    with Reader(cache.path) as opened:
        yield opened


def _all_pages(reader: Reader, query: ListQuery, size: int) -> list[PageRow]:
    rows: list[PageRow] = []
    after: Position | None = None
    while True:
        page = reader.page(query, size, after)
        rows.extend(page)
        if len(page) < size:
            return rows
        after = page[-1].position


@pytest.mark.parametrize("sort", [None, "name", "phone", "email"])
@pytest.mark.parametrize("descending", [False, True])
def test_pages_together_list_every_row_once_in_order(
    reader: Reader, clients: list[tuple[str, dict[str, Any]]], sort: str | None, descending: bool
) -> None:
    query = ListQuery(CLIENTS, sort=sort, descending=descending)
    paged = _all_pages(reader, query, size=7)
    by_id = dict(clients)
    field = sort or "name"

    def key(row_id: str) -> tuple[bool, bytes]:
        value = by_id[row_id].get(field)
        return (value is not None, _nocase(value) if value is not None else b"")

    ids = [row.id for row in paged]
    assert sorted(ids) == sorted(by_id)
    keys = [key(row_id) for row_id in ids]
    assert keys == sorted(keys, reverse=descending)
    pks = [row.pk for row in paged]
    for before, after, pk_before, pk_after in zip(keys, keys[1:], pks, pks[1:], strict=False):
        if before == after:
            assert (pk_after > pk_before) != descending  # ties keep pk order
    assert reader.count(query) == len(clients)


def test_search_keeps_rows_with_every_word_as_a_prefix(reader: Reader, clients: list[Any]) -> None:
    found = {row.values["name"] for row in _all_pages(reader, ListQuery(CLIENTS, "ada and"), 100)}
    assert found and all(name.lower().startswith("ada andersen") for name in found)
    assert reader.count(ListQuery(CLIENTS, "ada and")) == len(found)


def test_search_ignores_accents_and_case_and_reads_every_searchable_field(
    reader: Reader, clients: list[Any]
) -> None:
    emile = _all_pages(reader, ListQuery(CLIENTS, "EMI"), 100)
    assert emile and all(row.values["name"].startswith("Émile") for row in emile)
    mornings = _all_pages(reader, ListQuery(CLIENTS, "prefers morn"), 100)
    assert len(mornings) == 15
    by_email = _all_pages(reader, ListQuery(CLIENTS, "person8"), 100)
    assert {row.values["email"] for row in by_email} >= {"person8@example.com"}


def test_what_cannot_be_searched_for_lists_everything(reader: Reader, clients: list[Any]) -> None:
    assert reader.count(ListQuery(CLIENTS, ' "*( ')) == len(clients)
    assert reader.page(ListQuery(CLIENTS, "nobody-by-that-name"), 10) == []


def test_deleted_rows_are_left_out(cache: Cache, reader: Reader, clients: list[Any]) -> None:
    cache.delete("clients", clients[0][0])
    ids = {row.id for row in _all_pages(reader, ListQuery(CLIENTS), 100)}
    assert clients[0][0] not in ids
    assert reader.count(ListQuery(CLIENTS)) == len(clients) - 1


def test_an_unknown_sort_field_is_refused(reader: Reader) -> None:
    with pytest.raises(ValueError, match="cannot be sorted"):
        reader.page(ListQuery(CLIENTS, sort="shoe_size"), 10)


@pytest.fixture
def appointments(cache: Cache) -> dict[str, Any]:
    client_ids = seed_clients(cache, 5, seed=3)
    north, south = str(uuid.uuid4()), str(uuid.uuid4())
    noon = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    rows = []
    for number in range(20):
        rows.append(
            (
                str(uuid.uuid4()),
                {
                    "client_id": client_ids[number % 5],
                    "branch_id": north if number % 2 else south,
                    "starts_at": (noon + timedelta(hours=6 * number)).isoformat(),
                    "service": "Massage" if number % 3 == 0 else "Haircut",
                },
            )
        )
    seed_rows(cache, "appointments", rows, first_seq=100)
    return {"rows": rows, "north": north, "south": south, "clients": client_ids, "noon": noon}


def test_appointments_filter_by_branch_and_day(reader: Reader, appointments: dict[str, Any]) -> None:
    noon: datetime = appointments["noon"]
    day = Filters(
        branch_id=appointments["north"],
        starts_from=noon.replace(hour=0).isoformat(),
        starts_until=(noon.replace(hour=0) + timedelta(days=2)).isoformat(),
    )
    rows = _all_pages(reader, ListQuery(APPOINTMENTS, filters=day), 3)
    starts = [row.values["starts_at"] for row in rows]
    assert starts == sorted(starts)
    assert all(row.values["branch_id"] == appointments["north"] for row in rows)
    assert day.starts_from is not None and day.starts_until is not None
    assert all(day.starts_from <= s < day.starts_until for s in starts)
    assert len(rows) == 3  # six-hourly from noon: 6 slots in the two days, every other one North's
    assert reader.count(ListQuery(APPOINTMENTS, filters=day)) == 3


def test_appointments_carry_and_sort_by_their_clients_name(
    cache: Cache, reader: Reader, appointments: dict[str, Any]
) -> None:
    rows = _all_pages(reader, ListQuery(APPOINTMENTS, sort=CLIENT_NAME), 6)
    names = [row.values[CLIENT_NAME] for row in rows]
    assert None not in names
    assert [_nocase(n) for n in names] == sorted(_nocase(n) for n in names)
    first = cache.get("clients", appointments["clients"][0])
    assert first is not None
    assert names.count(first.fields["name"]) >= 4


def test_appointments_match_their_clients_words_and_their_own(
    cache: Cache, reader: Reader, appointments: dict[str, Any]
) -> None:
    client = cache.get("clients", appointments["clients"][1])
    assert client is not None
    first_name = client.fields["name"].split()[0]
    rows = _all_pages(reader, ListQuery(APPOINTMENTS, f"{first_name} massage"), 50)
    assert rows
    for row in rows:
        owner = cache.get("clients", row.values["client_id"])
        assert owner is not None and owner.fields["name"].split()[0] == first_name
        assert row.values["service"] == "Massage"


def test_distinct_reads_an_id_column_and_refuses_other_names(
    reader: Reader, appointments: dict[str, Any]
) -> None:
    assert set(reader.distinct("appointments", "branch_id")) == {appointments["north"], appointments["south"]}
    with pytest.raises(ValueError, match="no column"):
        reader.distinct("appointments", "branch_id; DROP TABLE clients")


@pytest.mark.parametrize("search", ["ada", "ada and", "prefers", "person1", "zofia xu 03"])
def test_both_search_plans_list_the_same_rows(cache: Cache, clients: list[Any], search: str) -> None:
    query = ListQuery(CLIENTS, search)
    with sqlite3.connect(cache.path) as conn:
        walked = conn.execute(*page_sql(query, 500, walk_index=True)).fetchall()
        fetched = conn.execute(*page_sql(query, 500, walk_index=False)).fetchall()
    assert walked == fetched and walked
    assert (
        "INDEXED BY" in page_sql(query, 5)[0] and "INDEXED BY" not in page_sql(query, 5, walk_index=False)[0]
    )


def test_the_reader_fetches_the_matches_of_a_narrow_search_and_walks_for_a_broad_one(
    cache: Cache, reader: Reader, clients: list[Any]
) -> None:
    counting = match_count_sql(ListQuery(CLIENTS, "ada"))
    assert counting is not None
    with sqlite3.connect(cache.path) as conn:
        expected = sum(1 for _, fields in clients if fields["name"].lower().startswith("ada"))
        assert conn.execute(*counting).fetchone()[0] == expected
    assert match_count_sql(ListQuery(CLIENTS, "ada", sort="phone")) is None
    assert match_count_sql(ListQuery(CLIENTS, "a d")) is None  # one letter: broad, walk without counting
    assert match_count_sql(ListQuery(APPOINTMENTS, "ada")) is None
    assert reader.page(ListQuery(CLIENTS, "ada"), 5) == _all_pages(reader, ListQuery(CLIENTS, "ada"), 2)[:5]


@pytest.mark.parametrize("search", ["", "ada", "EMI", "prefers morn", "nobody-by-that-name"])
def test_the_cache_reads_the_same_rows_the_lists_show(
    cache: Cache, reader: Reader, clients: list[Any], search: str
) -> None:
    """One read path: ``Cache.list_rows`` (the command line's export) runs the lists' SQL."""
    listed = [row.id for row in _all_pages(reader, ListQuery(CLIENTS, search), 7)]
    assert [r.id for r in cache.list_rows("clients", search, limit=None)] == listed
    assert cache.count("clients", search) == reader.count(ListQuery(CLIENTS, search)) == len(listed)


def test_the_cache_finds_appointments_by_their_clients_words_as_the_list_does(
    cache: Cache, reader: Reader, appointments: dict[str, Any]
) -> None:
    client = cache.get("clients", appointments["clients"][1])
    assert client is not None
    search = f"{client.fields['name'].split()[0]} massage"
    listed = [row.id for row in _all_pages(reader, ListQuery(APPOINTMENTS, search), 50)]
    assert listed
    assert [r.id for r in cache.list_rows("appointments", search, limit=None)] == listed


def test_whole_rows_come_with_their_clocks_and_deleted_ones_on_request(
    cache: Cache, clients: list[Any]
) -> None:
    gone = clients[0][0]
    cache.delete("clients", gone)
    everything = cache.list_rows("clients", include_deleted=True, limit=None)
    assert len(everything) == len(clients)
    (deleted,) = [r for r in everything if r.id == gone]
    assert deleted.deleted and isinstance(deleted.clocks, dict) and deleted.clocks
    assert gone not in {r.id for r in cache.list_rows("clients", limit=None)}
