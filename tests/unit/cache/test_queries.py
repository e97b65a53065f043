"""Reads: instant search through FTS5, display order, paging, counts."""

from __future__ import annotations

from typing import Any

import pytest

from desktop.cache import Cache, UnknownCollection
from desktop.cache.listing import fts_query


@pytest.fixture
def clients(cache: Cache) -> dict[str, str]:
    people: dict[str, dict[str, Any]] = {
        "zoe": {"name": "Zoë Quinn", "email": "zoe@example.org", "tags": ["vip"]},
        "bob": {"name": "bob Stone", "phone": "+1 555 0100", "notes": "prefers mornings"},
        "ada": {"name": "Ada Lovelace", "email": "ada@math.example", "tags": ["new", "math club"]},
        "gone": {"name": "Adam Gone"},
    }
    ids = {key: cache.create("clients", fields) for key, fields in people.items()}
    cache.delete("clients", ids["gone"])
    return ids


def test_lists_sort_case_blind_by_name_and_leave_deleted_rows_out(
    cache: Cache, clients: dict[str, str]
) -> None:
    assert [r.fields["name"] for r in cache.list_rows("clients")] == [
        "Ada Lovelace",
        "bob Stone",
        "Zoë Quinn",
    ]
    assert [r.id for r in cache.list_rows("clients", limit=1, offset=1)] == [clients["bob"]]
    assert cache.count("clients") == 3
    assert len(cache.list_rows("clients", include_deleted=True)) == 4


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("ada", ["ada"]),  # "Adam Gone" is deleted
        ("LOVE ad", ["ada"]),  # every word, as a prefix, any case
        ("zoe", ["zoe"]),  # accents folded
        ("555-01", ["bob"]),  # phone digits as typed
        ("example", ["ada", "zoe"]),
        ("club", ["ada"]),  # tags
        ("morn", ["bob"]),  # notes
        ('"quinn', ["zoe"]),  # a stray quote is text, not syntax
        ("quinn OR stone", []),  # operators are words too
        ("( * -", ["ada", "bob", "zoe"]),  # nothing searchable left: everything
        ("near(", []),  # FTS5 syntax is just a word
        ("nobody", []),
    ],
)
def test_search_matches_every_typed_word_as_a_prefix(
    cache: Cache, clients: dict[str, str], search: str, expected: list[str]
) -> None:
    found = cache.list_rows("clients", search)
    assert sorted(key for key, row_id in clients.items() if row_id in {r.id for r in found}) == expected
    assert cache.count("clients", search) == len(expected)


def test_search_follows_edits(cache: Cache, clients: dict[str, str]) -> None:
    cache.update("clients", clients["bob"], {"name": "Robert Stone"})
    assert cache.count("clients", "bob") == 0 and cache.count("clients", "robert") == 1


def test_get_gives_none_for_missing_deleted_or_malformed_ids(cache: Cache, clients: dict[str, str]) -> None:
    assert cache.get("clients", clients["gone"]) is None
    assert cache.get("clients", "not-an-id") is None
    record = cache.get("clients", clients["ada"].upper())  # any UUID spelling
    assert record is not None and record.id == clients["ada"]
    with pytest.raises(UnknownCollection):
        cache.get("invoices", clients["ada"])


def test_appointments_sort_by_start_time(cache: Cache, clients: dict[str, str]) -> None:
    for start in ("2026-03-02T09:00:00+01:00", "2026-03-01T17:00:00-05:00", "2026-03-01T09:00:00+00:00"):
        cache.create("appointments", {"client_id": clients["ada"], "starts_at": start, "service": "Cut"})
    starts = [r.fields["starts_at"] for r in cache.list_rows("appointments")]
    assert starts == ["2026-03-01T09:00:00+00:00", "2026-03-01T22:00:00+00:00", "2026-03-02T08:00:00+00:00"]


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('ab "c d') == '"ab"* """c"* "d"*'
    assert fts_query(" - * ") is None
