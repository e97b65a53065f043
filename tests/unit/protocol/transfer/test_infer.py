"""``import --infer``: the mapping guessed from the old system's tables, its notes and its YAML."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from protocol.collections import COLLECTIONS
from protocol.transfer import infer
from protocol.transfer.infer import InferredMapping, infer_mapping
from protocol.transfer.mapping import parse_mapping
from protocol.transfer.sources import SourceRecord, SourceTable

READ_AT = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
NAIVE_NOTE = (
    "Times without a UTC offset ({}) are read in the time zone of the record's branch (else the default "
    "branch's); set `timezone` at the top if the old system kept another one."
)


def table(source: str, name: str, *rows: dict[str, Any]) -> SourceTable:
    records = tuple(SourceRecord(dict(row), f"{source}: record {i}") for i, row in enumerate(rows))
    return SourceTable(source=source, name=name, records=records, file_time=READ_AT)


def round_trips(result: InferredMapping) -> str:
    """The YAML, after checking it reads back as the document and the loader accepts that."""
    text = result.to_yaml()
    assert yaml.safe_load(text) == result.document
    return text


def appointments(*starts: Any, **extra: Any) -> SourceTable:
    """An appointments table whose ``start`` field holds ``starts``."""
    rows = [{"id": f"a{i}", "clientId": "c1", "start": start, **extra} for i, start in enumerate(starts)]
    return table("book.json", "appointments", *rows)


# --- the realistic exports -------------------------------------------------------------

ENGLISH = [
    table(
        "soho-localstorage.json",
        "salonbook:clients",
        {"id": "c1", "fullName": "Alice Smith", "phone": "+44 7700 900123", "email": "alice@example.com",
         "notes": "Prefers mornings", "tags": "vip, colour", "salon": "Soho", "updatedAt": 1764664800000,
         "colour": "red", "createdBy": "admin"},
        {"id": "c2", "fullName": "Bob Jones", "phone": "+44 7700 900456", "email": None, "notes": "",
         "tags": "new", "salon": "Soho", "updatedAt": 1764668400000, "colour": None, "createdBy": "admin"},
    ),
    table(
        "soho-localstorage.json",
        "salonbook:appointments",
        {"id": "a1", "clientId": "c1", "salon": "Soho", "start": "2026-12-02T13:00:00Z", "duration": 45,
         "service": "Cut", "status": "booked", "updatedAt": 1764664800000},
        {"id": "a2", "clientId": "c2", "salon": "Soho", "start": "2026-12-03T09:30:00+00:00", "duration": 30,
         "service": "Colour", "status": "No-Show", "updatedAt": 1764668400000},
        {"id": "a3", "clientId": "c2", "salon": "Soho", "start": 1764750600000, "duration": 30,
         "service": "Colour", "status": "Booked ", "updatedAt": 1764668400000},
        {"id": "a4", "clientId": "c1", "salon": "Soho", "start": "2026-12-05T10:00:00Z", "duration": 60,
         "service": "Cut", "status": "completed", "updatedAt": 1764668400000},
        {"id": "a5", "clientId": "c1", "salon": "Soho", "start": "2026-12-06T10:00:00Z", "duration": 60,
         "service": "Cut", "status": "Cancelled", "updatedAt": 1764668400000},
    ),
]  # fmt: skip

GERMAN = [
    table(
        "export.xlsx",
        "Kunden",
        {"Kundennummer": 1001, "Vorname": "Anna", "Nachname": "Müller", "Telefon": "0151 2345678",
         "E-Mail": "anna@example.de", "Bemerkung": "Latexallergie", "Notiz": "Stammkundin",
         "Kategorien": "Stamm; VIP", "Filiale": "Berlin Mitte", "Geändert am": "01.12.2026 09:30",
         "Geburtstag": datetime(1990, 5, 17)},
        {"Kundennummer": 1002, "Vorname": "Ben", "Nachname": "Schulz", "Telefon": "030 1234567",
         "E-Mail": None, "Bemerkung": None, "Notiz": None, "Kategorien": None, "Filiale": "Berlin Mitte",
         "Geändert am": "02.12.2026 10:00", "Geburtstag": None},
    ),
    table(
        "export.xlsx",
        "Termine",
        {"Nr": 1, "KundenNr": 1001, "Filiale": "Berlin Mitte", "Beginn": "02.12.2026 13:00", "Dauer": 60,
         "Leistung": "Färben", "Status": "Gebucht", "Raum": "2"},
        {"Nr": 2, "KundenNr": 1002, "Filiale": "Berlin Mitte", "Beginn": "03.12.2026 09:00", "Dauer": 30,
         "Leistung": "Schnitt", "Status": "Warteliste", "Raum": "1"},
        {"Nr": 3, "KundenNr": 1002, "Filiale": "Berlin Mitte", "Beginn": "04.12.2026 09:00", "Dauer": 30,
         "Leistung": "Schnitt", "Status": "Nicht erschienen", "Raum": None},
        {"Nr": 4, "KundenNr": 1001, "Filiale": "Berlin Mitte", "Beginn": "05.12.2026 09:00", "Dauer": 30,
         "Leistung": "Schnitt", "Status": "erledigt", "Raum": None},
    ),
    table("export.xlsx", "Produkte", {"SKU": "SH-1", "Titel": "Shampoo", "Preis": 12.5}),
]  # fmt: skip


def test_an_english_local_storage_export_needs_no_notes() -> None:
    result = infer_mapping(ENGLISH)

    assert result.document == {
        "system": "salonbook",
        "records": {
            "clients": {
                "from": "salonbook:clients",
                "legacy_id": "id",
                "updated_at": "updatedAt",
                "fields": {
                    "name": "fullName",
                    "phone": "phone",
                    "email": "email",
                    "notes": "notes",
                    "home_branch_id": {"from": "salon", "link": "branches"},
                    "tags": {"from": "tags", "split": ","},
                },
            },
            "appointments": {
                "from": "salonbook:appointments",
                "legacy_id": "id",
                "updated_at": "updatedAt",
                "fields": {
                    "client_id": {"from": "clientId", "link": "clients"},
                    "branch_id": {"from": "salon", "link": "branches"},
                    "starts_at": "start",
                    "duration_min": "duration",
                    "service": "service",
                    "status": {
                        "from": "status",
                        "values": {"booked": "booked", "No-Show": "no_show", "completed": "done",
                                   "Cancelled": "cancelled"},
                        "default": "booked",
                    },
                },
            },
        },
    }  # fmt: skip
    assert result.notes == []
    assert result.unmapped == {"clients": ["colour", "createdBy"], "appointments": []}
    assert result.sources == ["soho-localstorage.json"]
    text = round_trips(result)
    assert "  clients:\n    # unmapped: colour, createdBy\n    from: salonbook:clients\n" in text
    assert "  appointments:\n    # unmapped: none\n" in text
    assert "# Notes: none; still check every guess.\n" in text
    assert text.startswith(
        "# Branchsync import mapping, guessed by `branchsync-server import --infer`.\n"
        "# Read from: soho-localstorage.json.\n"
    )
    parse_mapping(result.document)


def test_a_german_export_gets_its_date_layout_statuses_and_notes() -> None:
    result = infer_mapping(GERMAN)

    assert result.document == {
        "system": "legacy",
        "records": {
            "clients": {
                "from": "Kunden",
                "legacy_id": "Kundennummer",
                "updated_at": "Geändert am",
                "updated_at_format": "%d.%m.%Y %H:%M",
                "fields": {
                    "name": {"from": ["Vorname", "Nachname"]},
                    "phone": "Telefon",
                    "email": "E-Mail",
                    "notes": {"from": ["Bemerkung", "Notiz"], "join": "\n"},
                    "home_branch_id": {"from": "Filiale", "link": "branches"},
                    "tags": "Kategorien",
                },
            },
            "appointments": {
                "from": "Termine",
                "legacy_id": "Nr",
                "fields": {
                    "client_id": {"from": "KundenNr", "link": "clients"},
                    "branch_id": {"from": "Filiale", "link": "branches"},
                    "starts_at": {"from": "Beginn", "format": "%d.%m.%Y %H:%M"},
                    "duration_min": "Dauer",
                    "service": "Leistung",
                    "status": {
                        "from": "Status",
                        "values": {"Gebucht": "booked", "Warteliste": None, "Nicht erschienen": "no_show",
                                   "erledigt": "done"},
                        "default": "booked",
                    },
                },
            },
        },
    }  # fmt: skip
    assert result.notes == [
        "export.xlsx: the table 'Produkte' (fields: SKU, Titel, Preis) looks like neither clients nor "
        "appointments and is left out; add it to a record type's `from` if it is one.",
        "Kunden.Telefon: 2 of 2 numbers are written without +country (such as '0151 2345678'); set "
        "`country` at the top (GB, DE, ...) so they are normalised.",
        "Termine.Status: value 'Warteliste' has no match; mapped to null — edit `values`.",
        NAIVE_NOTE.format("Kunden.Geändert am, Termine.Beginn"),
    ]
    assert result.unmapped == {"clients": ["Geburtstag"], "appointments": ["Raum"]}
    text = round_trips(result)
    assert "# Notes, to check before importing:\n# - export.xlsx: the table 'Produkte'" in text
    assert "# - Termine.Status: value 'Warteliste' has no match; mapped to null — edit `values`.\n" in text
    assert "    # unmapped: Geburtstag\n" in text
    assert "    # unmapped: Raum\n" in text
    parse_mapping(result.document)


def test_a_record_type_without_an_id_field_is_left_out_with_a_note() -> None:
    no_id = table("old.csv", "customers", {"Name": "Ann", "Phone": "+44 20 7946 0000"})

    result = infer_mapping([no_id])

    assert result.document == {"system": "legacy", "records": {}}
    assert result.notes == [
        "clients (customers): no id field (such as id, ID, Nr, uuid, clientId), so they are left out; the "
        "import needs the field that identifies a record (`legacy_id`) to make re-runs safe: add the entry "
        "by hand."
    ]
    assert result.unmapped == {}
    assert "\nsystem: legacy\nrecords: {}\n" in round_trips(result)


def test_nothing_to_read_still_gives_a_header_and_a_document() -> None:
    result = infer_mapping([])

    assert result.document == {"system": "legacy", "records": {}}
    assert "\n# Read from: no files.\n" in result.to_yaml()
    assert InferredMapping({"system": "x"}, []).to_yaml().endswith("\nsystem: x\n")


# --- tables and record types -----------------------------------------------------------


def test_tables_of_one_type_share_an_entry_and_their_fields_are_united() -> None:
    first = table("a.csv", "customers", {"id": "1", "name": "Ann"}, {"id": "2", "name": "Bo"})
    second = table("b.json", "salonbook:clients", {"id": "1", "email": "ann@example.com", "__problem__": "x"})
    third = table("c.csv", "customers", {"id": "3", "name": "Cy", "colour": "red"})

    result = infer_mapping([first, second, third])

    assert result.document["system"] == "legacy"  # the tables do not share one prefix
    assert result.document["records"] == {
        "clients": {
            "from": ["customers", "salonbook:clients"],  # ids repeat across tables: copies to merge
            "legacy_id": "id",
            "fields": {"name": "name", "email": "email"},
        }
    }
    assert result.unmapped == {"clients": ["colour"]}  # the reader's __problem__ is no field
    assert result.sources == ["a.csv", "b.json", "c.csv"]
    round_trips(result)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Kunden", "clients"), ("salonbook:customers", "clients"), ("Patienten", "clients"),
        ("client_list_export", None), ("Termine", "appointments"), ("salonbook:bookings", "appointments"),
        ("Kunden-Termine", "appointments"), ("Reservations", "appointments"), ("Mitarbeiter", None),
    ],
)  # fmt: skip
def test_a_table_s_name_says_its_record_type(name: str, kind: str | None) -> None:
    result = infer_mapping([table("x.json", name, {"id": 1, "colour": "red"})])

    assert list(result.document["records"]) == ([kind] if kind else [])


def test_a_table_without_a_telling_name_is_typed_by_its_fields() -> None:
    visits = table("book.xlsx", "Sheet1", {"id": 1, "Kunde": 7, "Datum": "02.12.2026", "Uhrzeit": "13:00"})
    people = table("book.xlsx", "Sheet2", {"ID": 7, "Vorname": "Anna", "E-Mail": "a@example.de"})
    prices = table("book.xlsx", "Sheet3", {"ID": 1, "Name": "Cut", "Price": 30})

    result = infer_mapping([visits, people, prices])

    assert result.document["records"] == {
        "clients": {"from": "Sheet2", "legacy_id": "ID", "fields": {"name": "Vorname", "email": "E-Mail"}},
        "appointments": {
            "from": "Sheet1",
            "legacy_id": "id",
            "fields": {
                "client_id": {"from": "Kunde", "link": "clients"},
                "starts_at": {"from": "Datum", "format": "%d.%m.%Y"},
            },
        },
    }
    assert result.notes == [
        "book.xlsx: the table 'Sheet3' (fields: ID, Name, Price) looks like neither clients nor appointments "
        "and is left out; add it to a record type's `from` if it is one.",
        "Sheet1.Datum: date and time are separate fields (Datum, Uhrzeit); starts_at reads only Datum, so "
        "every appointment would start at midnight. Use `from: [Datum, Uhrzeit]` with a `format` for the "
        'joined text (such as "%d.%m.%Y %H:%M"), or drop the `format` if both are ISO.',
        NAIVE_NOTE.format("Sheet1.Datum"),
    ]
    assert result.unmapped == {"clients": [], "appointments": ["Uhrzeit"]}
    assert "(fields: none)" in infer_mapping([table("x.json", "empty")]).notes[0]


def test_a_date_alone_is_the_start_without_a_note() -> None:
    result = infer_mapping(
        [table("b.csv", "Termine", {"Nr": "1", "Kunde": "7", "Datum": "2026-12-02T13:00Z"})]
    )

    assert result.document["records"]["appointments"]["fields"]["starts_at"] == "Datum"
    assert result.notes == []


# --- ids ---------------------------------------------------------------------------------


def test_the_id_whose_values_are_unique_wins_over_a_likelier_name() -> None:
    rows = [{"id": "same", "uuid": "u1", "name": "A"}, {"id": "same", "uuid": "u2", "name": "B"}]

    result = infer_mapping([table("c.json", "clients", *rows)])

    assert result.document["records"]["clients"]["legacy_id"] == "uuid"
    assert result.unmapped == {"clients": ["id"]}
    assert result.notes == []


def test_an_id_that_repeats_is_still_used_with_a_note() -> None:
    rows = [{"Nr": 1, "key": None, "_id": [1], "name": "A"}, {"Nr": 1.0, "_id": [1], "name": "B"}]

    result = infer_mapping([table("c.json", "clients", *rows)])

    assert result.document["records"]["clients"]["legacy_id"] == "_id"  # id-like before Nr; key is empty
    assert result.notes == [
        "clients._id: used as `legacy_id`, but some values repeat within a table; records with one id are "
        "merged as copies of one record (the newest value of each field wins): check that they are copies."
    ]


def test_an_id_every_copy_carries_wins_over_a_unique_one_only_some_carry() -> None:
    north = table("north.json", "clients", {"id": "c-1", "name": "A"}, {"id": "c-1", "name": "A"})
    south = table("south.json", "clients", {"id": "c-1", "_key": "c-1", "name": "A"})

    result = infer_mapping([north, south])

    assert result.document["records"]["clients"]["legacy_id"] == "id"
    assert "clients.id: used as `legacy_id`, but some values repeat" in result.notes[0]


def test_an_id_some_records_lack_is_used_with_a_note() -> None:
    result = infer_mapping([table("c.json", "clients", {"id": "c-1", "name": "A"}, {"name": "B"})])

    assert result.document["records"]["clients"]["legacy_id"] == "id"
    assert result.notes == [
        "clients.id: used as `legacy_id`, but some records have no value in it; they will be refused: "
        "check it."
    ]


@pytest.mark.parametrize(
    ("name", "fields", "legacy_id"),
    [("Kunden", ["kundenId", "name"], "kundenId"), ("Kunden", ["KundenNr"], "KundenNr"),
     ("Kunden", ["Kundennummer"], "Kundennummer"), ("clients", ["_key"], "_key"),
     ("Kunden", ["Nummer"], "Nummer"),
     ("Termine", ["KundenNr", "TerminNr"], "TerminNr"), ("Termine", ["KundenNr"], None),
     ("bookings", ["clientId", "bookingId"], "bookingId")],
)  # fmt: skip
def test_the_type_s_own_id_names_are_ids_and_a_client_link_is_not(
    name: str, fields: list[str], legacy_id: str | None
) -> None:
    result = infer_mapping([table("k.json", name, dict.fromkeys(fields, "1"))])

    entries = list(result.document["records"].values())
    assert [entry["legacy_id"] for entry in entries] == ([legacy_id] if legacy_id else [])


# --- fields ------------------------------------------------------------------------------


def test_of_several_candidates_for_one_field_the_likeliest_is_mapped_with_a_note() -> None:
    row = {"id": 1, "Name": "Ann", "Vorname": "Ann", "Mobile": "+44 7700 900123", "Phone": "+44 20 7946 0000",
           "Memo": "a", "Notes": "b", "Tags": ["vip"], "Labels": "x"}  # fmt: skip

    result = infer_mapping([table("c.json", "clients", row)])

    assert result.document["records"]["clients"]["fields"] == {
        "name": "Name",
        "phone": "Phone",
        "notes": {"from": ["Memo", "Notes"], "join": "\n"},  # in the old system's order
        "tags": "Tags",  # a list stays a list: no split
    }
    assert result.notes == [
        "clients.phone: read from Phone; also possible, and left unmapped: Mobile.",
        "clients.tags: read from Tags; also possible, and left unmapped: Labels.",
    ]
    assert result.unmapped == {"clients": ["Vorname", "Mobile", "Labels"]}


def test_a_required_field_without_a_source_is_noted() -> None:
    result = infer_mapping([table("c.json", "clients", {"id": 1, "email": "a@example.com"})])

    assert result.document["records"]["clients"]["fields"] == {"email": "email"}
    assert result.notes == [
        "clients.name: no source field found, and it is required; map one under `fields`."
    ]


@pytest.mark.parametrize(
    ("tags", "split"),
    [(["a, b", "c"], ","), (["a, b", "c; d"], None), (["a;b"], None), ([None, ""], None)],
)
def test_tags_are_split_on_commas_only_when_no_semicolon_appears(tags: list[Any], split: str | None) -> None:
    rows = [{"id": i, "name": "A", "tags": value} for i, value in enumerate(tags)]

    spec = infer_mapping([table("c.json", "clients", *rows)]).document["records"]["clients"]["fields"]["tags"]

    assert spec == ({"from": "tags", "split": split} if split else "tags")


@pytest.mark.parametrize(
    ("phones", "note"),
    [
        (["+49 30 1234567", "0049 30 7654321", "030 1234567"], False),
        (["07700 900123", "+44 7700 900456", "7700 900789"], True),
        ([None, 4930123456], False),  # a number (Excel) is no text to look at
    ],
)
def test_phones_without_country_ask_for_one(phones: list[Any], note: bool) -> None:
    rows = [{"id": i, "name": "A", "phone": phone} for i, phone in enumerate(phones)]

    result = infer_mapping([table("c.json", "clients", *rows)])

    assert result.notes == (
        ["clients.phone: 2 of 3 numbers are written without +country (such as '07700 900123'); set `country` "
         "at the top (GB, DE, ...) so they are normalised."] if note else []
    )  # fmt: skip


def test_status_words_are_matched_and_the_unknown_ones_listed() -> None:
    statuses = ["Bestätigt", "abgesagt", "Abgeschlossen", "no show", "Warteliste", "verschoben", 3, None]

    rows = [{"id": i, "clientId": "c", "start": 1764664800, "state": s} for i, s in enumerate(statuses)]
    result = infer_mapping([table("b.json", "bookings", *rows)])

    assert result.document["records"]["appointments"]["fields"]["status"] == {
        "from": "state",
        "values": {"Bestätigt": "booked", "abgesagt": "cancelled", "Abgeschlossen": "done",
                   "no show": "no_show", "Warteliste": None, "verschoben": None, "3": None},
        "default": "booked",
    }  # fmt: skip
    assert result.notes == [
        "bookings.state: values 'Warteliste', 'verschoben', '3' have no match; mapped to null — "
        "edit `values`."
    ]


def test_a_status_field_that_is_always_empty_gets_only_the_default() -> None:
    result = infer_mapping([appointments(1764664800, status=None)])

    assert result.document["records"]["appointments"]["fields"]["status"] == {
        "from": "status",
        "default": "booked",
    }
    parse_mapping(result.document)


# --- date and time layouts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts", "layout", "notes"),
    [
        (["2026-12-02T13:00:00Z", 1764664800000, 1764664800.5, "1764664800",
          datetime(2026, 12, 2, tzinfo=UTC)], None, []),
        (["2026-12-02 13:00", "2026-12-03"], None, [NAIVE_NOTE.format("appointments.start")]),
        ([datetime(2026, 12, 2, 13, 0)], None, [NAIVE_NOTE.format("appointments.start")]),
        (["25/12/2026 13:00", "03/11/2026 09:00"], "%d/%m/%Y %H:%M",
         [NAIVE_NOTE.format("appointments.start")]),
        (["12/25/2026 1:00 PM", "03/11/2026 9:30 AM"], "%m/%d/%Y %I:%M %p",
         [NAIVE_NOTE.format("appointments.start")]),
        (["02/12/2026 13:00:00", "03/11/2026 09:00:00"], "%d/%m/%Y %H:%M:%S",
         ["appointments.start: every date read by '%d/%m/%Y %H:%M:%S' could also be month first (US); it is "
          "read day first (UK). If the old system wrote US dates, use '%m/%d/%Y %H:%M:%S'.",
          NAIVE_NOTE.format("appointments.start")]),
        (["02.12.2026 13:00", "03.12.2026", "2026-12-04 10:00", "04.12.26 10:00", "05.12.2026 14:00"],
         ["%d.%m.%Y %H:%M", "%d.%m.%Y", "%d.%m.%y %H:%M"], [NAIVE_NOTE.format("appointments.start")]),
        (["2026/12/02 13:00", "morgen", True, "2026-12-02T10:00:00Z"], "%Y/%m/%d %H:%M",
         ["appointments.start: 2 of 4 sampled values are in no known date layout (such as 'morgen'); add "
          "their strptime format to `format`.", NAIVE_NOTE.format("appointments.start")]),
    ],
)  # fmt: skip
def test_the_start_s_layout_is_read_from_its_values(starts: list[Any], layout: Any, notes: list[str]) -> None:
    result = infer_mapping([appointments(*starts)])

    spec = result.document["records"]["appointments"]["fields"]["starts_at"]
    assert spec == ({"from": "start", "format": layout} if layout else "start")
    assert result.notes == notes
    parse_mapping(result.document)


def test_a_long_table_is_sampled_across_its_records() -> None:
    starts = ["gestern"] + ["02.12.2026 13:00"] * 399

    result = infer_mapping([appointments(*starts)])

    assert result.document["records"]["appointments"]["fields"]["starts_at"]["format"] == "%d.%m.%Y %H:%M"
    assert result.notes[0] == (
        "appointments.start: 1 of 200 sampled values are in no known date layout (such as 'gestern'); add "
        "their strptime format to `format`."
    )


# --- the YAML ----------------------------------------------------------------------------


def test_awkward_names_and_values_survive_the_yaml_and_stay_out_of_comments() -> None:
    row = {"id": "1", "clientId": "c", "start": "yes", "status": "a\u2028b", "two\nlines": 1,
           "sep\u2028arated": 2, "null": None, "true": "%x", "'quoted'": '"',
           "# hash": ": colon"}  # fmt: skip
    rows = [row, {**row, "id": "2", "status": "x\n\ny"}, {**row, "id": "3", "status": "no"}]
    result = infer_mapping([table("w.json", "termine", *rows)])

    text = round_trips(result)

    comment = next(line for line in text.splitlines() if line.startswith("    # unmapped:"))
    assert comment == "    # unmapped: two lines, sep arated, null, true, 'quoted', # hash"
    assert all(line.startswith(("#", " ", "system", "records")) or not line for line in text.splitlines())


def test_long_notes_are_wrapped_as_comments() -> None:
    notes = ["word " * 60]

    text = InferredMapping({"system": "legacy", "records": {}}, notes, sources=["a.json"]).to_yaml()

    bullet = [line for line in text.splitlines() if line.startswith(("# - ", "#   "))]
    assert len(bullet) == 4 and all(len(line) <= 100 for line in bullet)
    assert yaml.safe_load(text) == {"system": "legacy", "records": {}}


# --- the tables themselves ---------------------------------------------------------------


@pytest.mark.parametrize("kind", list(infer._RULES))
def test_the_rules_follow_the_collection_s_fields(kind: str) -> None:
    assert [rule.target for rule in infer._RULES[kind]] == list(COLLECTIONS[kind].field_names)


@pytest.mark.parametrize("kind", list(infer._RULES))
def test_no_source_name_is_claimed_twice_within_a_record_type(kind: str) -> None:
    ids = (
        *infer._ID_NAMES,
        *infer._NUMBER_NAMES,
        *(s + x for s in infer._ID_STEMS[kind] for x in infer._ID_SUFFIXES),
    )
    fallbacks = (
        (infer._FIRST_NAMES, infer._LAST_NAMES)
        if kind == "clients"
        else (infer._DATE_NAMES, infer._TIME_NAMES)
    )
    groups = [
        set(ids),
        set(infer._UPDATED_NAMES),
        *(set(r.names) for r in infer._RULES[kind]),
        *map(set, fallbacks),
    ]
    seen: set[str] = set()
    for names in groups:
        assert not names & seen, names & seen
        seen |= names
