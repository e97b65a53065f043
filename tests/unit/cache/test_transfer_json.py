"""JSON import: parsing an export's shape (pure) and writing it into a real cache."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from desktop.cache import BadFile, Cache, StorageError, StorageProblem, transfer
from desktop.cache.transfer import (
    ImportReport,
    ParsedRow,
    Problem,
    export_json,
    import_file,
    import_json,
    parse_json,
)
from protocol.collections import APPOINTMENTS, CLIENTS

BERLIN = ZoneInfo("Europe/Berlin")
ROW_ID = "6f1c7e0a-3a57-4d0e-9d7e-1f2a3b4c5d6e"


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _enroll(cache: Cache, timezone: str) -> None:
    cache.set_enrollment(
        device_id="dev-1",
        branch_id="b-1",
        branch_name="North",
        server_url="https://s.example",
        branch_timezone=timezone,
    )


# ---- parse_json (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ([{"name": "Ada", "tags": ["vip"]}, {"id": ROW_ID, "phone": "+1 555"}], "[1]"),
        ({"clients": [{"name": "Ada", "tags": ["vip"]}, {"id": ROW_ID, "phone": "+1 555"}]}, "clients[1]"),
    ],
    ids=["list", "object"],
)
def test_a_list_of_objects_and_an_object_holding_it_under_the_collection_name_both_read(
    document: Any, where: str
) -> None:
    rows, problems = parse_json(CLIENTS, json.dumps(document), name="clients.json")

    assert problems == []
    assert [(row.line, row.row_id, row.fields) for row in rows] == [
        (1, None, {"name": "Ada", "tags": ["vip"]}),
        (2, ROW_ID, {"phone": "+1 555"}),
    ]
    assert rows[1].where == where  # the file's name is not repeated: the CLI puts it in front


def test_of_several_lists_the_one_named_after_the_collection_is_read() -> None:
    text = json.dumps({"appointments": [{"service": "cut"}], "clients": [{"name": "Ada"}]})

    rows, problems = parse_json(CLIENTS, text)

    assert problems == []
    assert [row.fields for row in rows] == [{"name": "Ada"}]


def test_null_and_empty_text_clear_fields_of_an_edited_row_but_are_absent_from_a_created_one() -> None:
    text = json.dumps(
        [
            {"id": ROW_ID, "name": "Ada", "phone": None, "notes": "", "tags": []},
            {"id": None, "name": "Bea", "phone": None, "notes": " ", "tags": []},
        ]
    )

    rows, _ = parse_json(CLIENTS, text)

    assert rows == [
        ParsedRow(1, ROW_ID, {"name": "Ada", "phone": None, "notes": None, "tags": None}, "[0]"),
        ParsedRow(2, None, {"name": "Bea"}, "[1]"),  # a null id creates
    ]


def test_naive_times_are_read_in_the_zone_given_and_aware_ones_keep_their_offset() -> None:
    items = [
        {"client_id": ROW_ID, "starts_at": "2026-03-01T09:30:00"},
        {"client_id": ROW_ID, "starts_at": "2026-07-01T09:30:00"},
        {"client_id": ROW_ID, "starts_at": "2026-03-01T09:30:00-05:00"},
    ]

    rows, problems = parse_json(APPOINTMENTS, json.dumps(items), zone=BERLIN)

    assert problems == []
    assert [row.fields["starts_at"] for row in rows] == [
        "2026-03-01T09:30:00+01:00",
        "2026-07-01T09:30:00+02:00",
        "2026-03-01T09:30:00-05:00",
    ]


def test_naive_times_are_utc_when_no_zone_is_given() -> None:
    rows, _ = parse_json(APPOINTMENTS, json.dumps([{"client_id": ROW_ID, "starts_at": "2026-03-01T09:30"}]))
    assert rows[0].fields["starts_at"] == "2026-03-01T09:30:00+00:00"


def test_an_item_that_cannot_be_read_is_a_problem_with_its_number_and_where_and_the_others_are_rows() -> None:
    items = [
        {"client_id": ROW_ID, "starts_at": "2026-03-01T09:30:00"},
        {"client_id": ROW_ID, "starts_at": "2026-03-29T02:30:00"},  # the hour Berlin skips
        {"client_id": ROW_ID, "starts_at": "2026-03-02T09:30:00", "duration_min": "an hour"},
        {"client_id": ROW_ID, "starts_at": "2026-03-03T09:30:00", "duration_min": "45 min"},
    ]

    rows, problems = parse_json(APPOINTMENTS, json.dumps({"appointments": items}), zone=BERLIN)

    assert [(row.line, row.fields.get("duration_min")) for row in rows] == [(1, None), (4, 45)]
    assert [(p.line, p.where) for p in problems] == [(2, "appointments[1]"), (3, "appointments[2]")]
    assert "does not exist in Europe/Berlin" in problems[0].message
    assert '"an hour" is not a whole number' in problems[1].message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "id,name\n,Ada\n",
            r"^clients\.json is not valid JSON: line 1 column 1: Expecting value \(at 'id,name'\)$",
        ),
        ('[{"name": "Ada"}', r"^clients\.json is not valid JSON: line 1 column 17: "),
        ("42", r"holds a number, not records"),
        ("{}", r"^clients\.json holds no list of clients: expected a JSON list of objects"),
        ('{"a": [{"name": "Ada"}], "b": [{"name": "Bea"}]}', r"or an object with a 'clients' list$"),
        (
            '[{"name": "Ada"}, {"name": "Bea", "colour": "red", "age": 3}]',
            r"^unknown key\(s\) 'age', 'colour' for clients "
            r"\(known: email, home_branch_id, id, name, notes, phone, tags\)$",
        ),
    ],
    ids=["not-json", "cut-short", "a-scalar", "no-list", "two-lists-none-named", "unknown-keys"],
)
def test_a_file_that_cannot_be_read_as_a_whole_is_refused(text: str, message: str) -> None:
    with pytest.raises(BadFile, match=message):
        parse_json(CLIENTS, text, name="clients.json")


# ---- import_json and import_file (a real cache) --------------------------------------------------


def test_an_export_imports_back_editing_rows_with_an_id_and_creating_rows_without(
    cache: Cache, tmp_path: Path
) -> None:
    ada = cache.create("clients", {"name": "Ada", "phone": "+1 555 0100", "tags": ["vip"]})
    bea = cache.create("clients", {"name": "Bea", "notes": "keep me"})
    out = io.StringIO()
    export_json(CLIENTS, cache.list_rows("clients"), out)
    exported = json.loads(out.getvalue())
    by_name = {row["name"]: row for row in exported}
    by_name["Ada"].update(name="Ada Lovelace", phone=None, tags=["vip", "math"])
    exported.append({"name": "Cy", "email": "cy@example.com"})
    source = _write(tmp_path / "clients.json", exported)

    report = import_json(cache, "clients", source)

    assert report == ImportReport(created=1, updated=1, unchanged=1, problems=[])  # Bea as she was
    edited = cache.get("clients", ada)
    assert edited is not None and dict(edited.fields) == {"name": "Ada Lovelace", "tags": ["vip", "math"]}
    kept = cache.get("clients", bea)
    assert kept is not None and dict(kept.fields) == {"name": "Bea", "notes": "keep me"}
    [new] = [r for r in cache.list_rows("clients") if r.id not in (ada, bea)]
    assert dict(new.fields) == {"name": "Cy", "email": "cy@example.com"}


def test_naive_appointment_times_are_taken_in_the_branch_zone_and_aware_ones_kept(
    cache: Cache, tmp_path: Path
) -> None:
    _enroll(cache, "Europe/Berlin")
    client = cache.create("clients", {"name": "Ada"})
    source = _write(
        tmp_path / "appointments.json",
        {
            "appointments": [
                {"client_id": client, "starts_at": "2026-03-01T09:30:00", "service": "winter"},
                {"client_id": client, "starts_at": "2026-07-01T09:30:00", "service": "summer"},
                {"client_id": client, "starts_at": "2026-03-01T09:30:00-05:00", "service": "aware"},
            ]
        },
    )

    report = import_json(cache, "appointments", source)

    assert (report.created, report.problems) == (3, [])
    stored = {r.fields["service"]: r.fields["starts_at"] for r in cache.list_rows("appointments")}
    assert stored == {
        "winter": "2026-03-01T08:30:00+00:00",
        "summer": "2026-07-01T07:30:00+00:00",
        "aware": "2026-03-01T14:30:00+00:00",
    }


def test_naive_times_are_utc_on_a_cache_that_knows_no_branch(cache: Cache, tmp_path: Path) -> None:
    client = cache.create("clients", {"name": "Ada"})
    source = _write(tmp_path / "a.json", [{"client_id": client, "starts_at": "2026-03-01T09:30:00"}])

    import_json(cache, "appointments", source)

    [appointment] = cache.list_rows("appointments")
    assert appointment.fields["starts_at"] == "2026-03-01T09:30:00+00:00"


def test_items_the_cache_refuses_are_problems_with_number_and_where_and_the_others_go_in(
    cache: Cache, tmp_path: Path
) -> None:
    missing = "0b7c0f4e-0000-4000-8000-000000000000"
    items = [
        {"name": "Bea", "email": "not an address"},  # refused when written
        {"name": ["Cy"]},  # refused when read: a list is not text
        {"name": "Di"},
        {"id": missing, "name": "Eve"},
    ]
    source = _write(tmp_path / "clients.json", {"clients": items})

    report = import_json(cache, "clients", source)

    assert (report.created, report.updated, report.failed) == (1, 0, 3)
    assert report.problems[0] == Problem(1, "'not an address' is not an email address", "clients[0]")
    assert (report.problems[1].line, report.problems[1].where) == (2, "clients[1]")
    assert "cannot be used as text" in report.problems[1].message
    assert report.problems[2] == Problem(4, f"no clients row with id '{missing}'", "clients[3]")
    assert [r.fields["name"] for r in cache.list_rows("clients")] == ["Di"]


def test_a_file_with_one_unknown_key_saves_nothing_not_even_the_items_before_it(
    cache: Cache, tmp_path: Path
) -> None:
    source = _write(tmp_path / "clients.json", [{"name": "Ada"}, {"name": "Bea", "colour": "red"}])

    with pytest.raises(BadFile, match="unknown key"):
        import_json(cache, "clients", source)

    assert cache.count("clients") == 0 and cache.pending_count() == 0


def test_a_file_that_is_not_utf8_or_cannot_be_read_is_refused(cache: Cache, tmp_path: Path) -> None:
    latin1 = tmp_path / "clients.json"
    latin1.write_bytes('[{"name": "Zoë"}]'.encode("latin-1"))

    with pytest.raises(BadFile, match=r"clients\.json is not UTF-8 text \(save it as UTF-8"):
        import_json(cache, "clients", latin1)
    with pytest.raises(BadFile, match="cannot read"):
        import_json(cache, "clients", tmp_path / "absent.json")
    assert cache.count("clients") == 0


def test_import_file_reads_json_by_its_suffix_and_anything_else_as_csv(cache: Cache, tmp_path: Path) -> None:
    as_json = _write(tmp_path / "clients.JSON", [{"name": "Ada"}])
    json_named_csv = _write(tmp_path / "clients.csv", [{"name": "Bea"}])
    csv_file = tmp_path / "more.csv"
    csv_file.write_text("name\nCy\n", encoding="utf-8")

    assert import_file(cache, "clients", as_json).created == 1
    assert import_file(cache, "clients", csv_file).created == 1
    with pytest.raises(BadFile, match="unknown column"):  # the CSV reader saw the JSON text
        import_file(cache, "clients", json_named_csv)
    assert sorted(r.fields["name"] for r in cache.list_rows("clients")) == ["Ada", "Cy"]


def test_a_disk_failure_part_way_says_how_many_rows_were_saved_before_it(
    cache: Cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _write(tmp_path / "clients.json", [{"name": "Ada"}, {"name": "Bea"}, {"name": "Cy"}])
    real_batch, batches = cache.batch, []

    @contextmanager
    def failing_second_batch() -> Iterator[Any]:
        batches.append(1)
        if len(batches) == 2:
            raise StorageError(StorageProblem.DISK_FULL, "the disk is full")
        with real_batch() as writer:
            yield writer

    monkeypatch.setattr(transfer, "_BATCH", 1)
    monkeypatch.setattr(cache, "batch", failing_second_batch)

    with pytest.raises(
        StorageError, match=r"^the disk is full \(1 rows were saved before this; the rest"
    ) as raised:
        import_json(cache, "clients", source)

    assert raised.value.problem is StorageProblem.DISK_FULL
    assert [r.fields["name"] for r in cache.list_rows("clients")] == ["Ada"]


def test_an_item_that_is_not_an_object_is_a_problem_not_silently_dropped() -> None:
    rows, problems = parse_json(CLIENTS, '[{"name": "Ada"}, 5, null]', name="c.json")

    assert [row.fields["name"] for row in rows] == ["Ada"]
    assert [(p.where, p.message) for p in problems] == [
        ("[1]", "skipped: [1] (a number, not a record)"),
        ("[2]", "skipped: [2] (null, not a record)"),
    ]


def test_a_file_holding_only_another_record_type_is_refused() -> None:
    with pytest.raises(BadFile, match="holds no list of clients"):
        parse_json(CLIENTS, '{"appointments": [{"name": "Ada"}]}', name="a.json")
