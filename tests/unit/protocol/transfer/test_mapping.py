"""The mapping file: what ``load_mapping`` accepts and refuses (with the key's path), and
what ``map_record`` makes of one source record."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from protocol.collections import APPOINTMENTS, CLIENTS, FieldKind
from protocol.transfer.mapping import (
    PROBLEM_KEY,
    FieldRule,
    Link,
    MappedRecord,
    Mapping,
    MappingError,
    RecordRule,
    Refusal,
    identity_rule,
    load_mapping,
    map_record,
    parse_mapping,
)
from protocol.transfer.sources import SourceRecord, SourceTable

BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
FILE_TIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

SPEC_EXAMPLE = """\
system: salonbook          # namespace of the old ids
timezone: Europe/Berlin
country: DE
branch: Berlin Mitte
records:
  clients:
    from: [customers, "salonbook:clients"]
    legacy_id: id
    updated_at: updatedAt
    updated_at_format: "%d.%m.%Y %H:%M"
    fields:
      name: fullName
      phone: {from: tel}
      email: {from: mail}
      notes: {from: [memo, allergies], join: "\\n"}
      tags: {from: labels, split: ","}
      home_branch_id: {from: salon, link: branches}
  appointments:
    from: Termine
    legacy_id: ID
    fields:
      client_id: {from: clientId, link: clients}
      branch_id: {from: Filiale, link: branches}
      starts_at: {from: Beginn, format: "%d.%m.%Y %H:%M"}
      duration_min: {from: Dauer}
      service: {from: Leistung}
      status: {from: Status, values: {Gebucht: booked, Erledigt: done, Storniert: cancelled,
                                      "Nicht erschienen": no_show}, default: booked}
      notes: {constant: "imported from Salonbook"}
"""

SPEC_EXAMPLE_TOML = """\
system = "salonbook"
timezone = "Europe/Berlin"
country = "DE"
branch = "Berlin Mitte"

[records.clients]
from = ["customers", "salonbook:clients"]
legacy_id = "id"
updated_at = "updatedAt"
updated_at_format = "%d.%m.%Y %H:%M"

[records.clients.fields]
name = "fullName"
phone = { from = "tel" }
email = { from = "mail" }
notes = { from = ["memo", "allergies"], join = "\\n" }
tags = { from = "labels", split = "," }
home_branch_id = { from = "salon", link = "branches" }

[records.appointments]
from = "Termine"
legacy_id = "ID"

[records.appointments.fields]
client_id = { from = "clientId", link = "clients" }
branch_id = { from = "Filiale", link = "branches" }
starts_at = { from = "Beginn", format = "%d.%m.%Y %H:%M" }
duration_min = { from = "Dauer" }
service = { from = "Leistung" }

[records.appointments.fields.status]
from = "Status"
values = { Gebucht = "booked", Erledigt = "done", Storniert = "cancelled", "Nicht erschienen" = "no_show" }
default = "booked"

[records.appointments.fields.notes]
constant = "imported from Salonbook"
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _clients(fields: dict[str, Any], **record: Any) -> dict[str, Any]:
    """A mapping document with one clients entry."""
    return {"records": {"clients": {"from": "customers", "legacy_id": "id", "fields": fields, **record}}}


def _refused(document: Any) -> str:
    with pytest.raises(MappingError) as caught:
        parse_mapping(document)
    return str(caught.value)


# ---- loading ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".YAML"])
def test_the_spec_example_loads_from_yaml(tmp_path: Path, suffix: str) -> None:
    mapping = load_mapping(_write(tmp_path, f"mapping{suffix}", SPEC_EXAMPLE))

    assert (mapping.system, mapping.timezone, mapping.country, mapping.branch) == (
        "salonbook",
        "Europe/Berlin",
        "DE",
        "Berlin Mitte",
    )
    clients, appointments = mapping.records
    assert clients.collection is CLIENTS
    assert clients.tables == ("customers", "salonbook:clients")
    assert (clients.legacy_id, clients.updated_at, clients.updated_at_formats) == (
        "id",
        "updatedAt",
        ("%d.%m.%Y %H:%M",),
    )
    by_name = {rule.target: rule for rule in clients.fields}
    assert list(by_name) == ["name", "phone", "email", "notes", "tags", "home_branch_id"]
    assert by_name["name"].sources == ("fullName",)
    assert by_name["name"].kind is FieldKind.TEXT
    assert (by_name["notes"].sources, by_name["notes"].join) == (("memo", "allergies"), "\n")
    assert by_name["tags"].split == ","
    assert by_name["home_branch_id"].link == "branches"
    assert clients.branch_field is by_name["home_branch_id"]

    assert appointments.collection is APPOINTMENTS
    assert appointments.tables == ("Termine",)
    status = next(rule for rule in appointments.fields if rule.target == "status")
    assert status.values == {
        "Gebucht": "booked",
        "Erledigt": "done",
        "Storniert": "cancelled",
        "Nicht erschienen": "no_show",
    }
    assert status.default == "booked"
    starts = next(rule for rule in appointments.fields if rule.target == "starts_at")
    assert starts.formats == ("%d.%m.%Y %H:%M",)
    notes = next(rule for rule in appointments.fields if rule.target == "notes")
    assert (notes.constant, notes.sources) == ("imported from Salonbook", ())


def test_a_mapping_maps_the_same_after_a_trip_to_another_process(tmp_path: Path) -> None:
    """An import's worker processes get the mapping pickled: a field without a ``constant``
    must still read its source there (a plain ``object()`` sentinel would not survive)."""
    mapping = load_mapping(_write(tmp_path, "mapping.yaml", SPEC_EXAMPLE))
    copy = pickle.loads(pickle.dumps(mapping))
    record = SourceRecord({"id": 7, "fullName": "Anna Berg", "memo": "VIP"}, "old.json: customers[0]")
    table = _table()

    assert copy == mapping
    assert map_record(copy, copy.records[0], table, record, _Zones()) == map_record(
        mapping, mapping.records[0], table, record, _Zones()
    )
    assert copy.records[0].fields[0].constant is mapping.records[0].fields[0].constant


def test_toml_with_the_same_keys_gives_an_equal_mapping(tmp_path: Path) -> None:
    from_yaml = load_mapping(_write(tmp_path, "mapping.yaml", SPEC_EXAMPLE))
    from_toml = load_mapping(_write(tmp_path, "mapping.toml", SPEC_EXAMPLE_TOML))

    assert from_toml == from_yaml


def test_a_byte_order_mark_is_read_past(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_bytes("\ufeff".encode() + SPEC_EXAMPLE.encode())

    assert load_mapping(path).system == "salonbook"


def test_defaults_when_the_top_level_keys_are_left_out() -> None:
    mapping = parse_mapping(_clients({"name": "fullName"}))

    assert (mapping.system, mapping.timezone, mapping.country, mapping.branch) == ("legacy", None, None, None)
    (rule,) = mapping.records
    assert (rule.updated_at, rule.updated_at_formats, rule.branch_field) == (None, (), None)
    (name,) = rule.fields
    assert name == FieldRule(target="name", kind=FieldKind.TEXT, sources=("fullName",))


def test_names_and_zones_are_cleaned_up() -> None:
    mapping = parse_mapping(
        {
            "system": "  salonbook ",
            "timezone": " europe/berlin ",
            "country": "de",
            "records": {
                "clients": {
                    "from": [" customers "],
                    "legacy_id": " id ",
                    "fields": {"name": " fullName ", "phone": {"from": "tel", "country": "gb"}},
                }
            },
        }
    )

    assert (mapping.system, mapping.timezone, mapping.country) == ("salonbook", "Europe/Berlin", "DE")
    (rule,) = mapping.records
    assert (rule.tables, rule.legacy_id) == (("customers",), "id")
    assert rule.fields[0].sources == ("fullName",)
    assert rule.fields[1].country == "GB"


def test_separators_keep_their_spaces() -> None:
    mapping = parse_mapping(
        _clients({"notes": {"from": ["a", "b"], "join": " / "}, "tags": {"from": "t", "split": " "}})
    )

    notes, tags = mapping.records[0].fields
    assert (notes.join, tags.split) == (" / ", " ")


def test_value_map_keys_become_text() -> None:
    document = {
        "records": {
            "appointments": {
                "from": "T",
                "legacy_id": "ID",
                "fields": {"status": {"from": "S", "values": {1: "booked", 2: "done"}}},
            }
        }
    }

    assert parse_mapping(document).records[0].fields[0].values == {"1": "booked", "2": "done"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"records": {"clients": {}}, "colour": "red"},
            "the mapping: unknown key 'colour' (known: branch, country, records, system, timezone)",
        ),
        (["records"], "the mapping: expected a table of keys, found a list"),
        ({}, "records: expected a table of keys, found nothing"),
        ({"records": "clients"}, "records: expected a table of keys, found the text 'clients'"),
        ({"records": {}}, "records: name at least one record type (clients, appointments)"),
        (
            {"records": {"staff": {}}},
            "records: unknown key 'staff' (known: appointments, clients)",
        ),
        ({"records": {"clients": None}}, "records.clients: expected a table of keys, found nothing"),
        ({"records": {"clients": 5}}, "records.clients: expected a table of keys, found the number 5"),
        (
            {"records": {"clients": {"form": "x"}}},
            "records.clients: unknown key 'form' (known: fields, from, legacy_id, updated_at, "
            "updated_at_format)",
        ),
        (
            {"records": {"clients": {"from": "c", "legacy_id": "id"}}},
            "records.clients.fields: expected a table of keys, found nothing",
        ),
        (
            {"records": {"clients": {"from": "c", "legacy_id": "id", "fields": ["name"]}}},
            "records.clients.fields: expected a table of keys, found a list",
        ),
        (
            {"records": {"clients": {"from": "c", "legacy_id": "id", "fields": {}}}},
            "records.clients.fields: map at least one field",
        ),
        (
            {"records": {"clients": {"from": "c", "legacy_id": "id", "fields": {"fone": "tel"}}}},
            "records.clients.fields: unknown key 'fone' (known: email, home_branch_id, name, notes, "
            "phone, tags)",
        ),
        (
            {"records": {"clients": {"from": "c", "fields": {"name": "n"}}}},
            "records.clients.legacy_id: name the source field that holds the old id (re-runs need it)",
        ),
        (
            {"records": {"clients": {"from": "c", "legacy_id": 7, "fields": {"name": "n"}}}},
            "records.clients.legacy_id: expected text, found the number 7",
        ),
        (
            {"records": {"clients": {"from": "c", "legacy_id": "  ", "fields": {"name": "n"}}}},
            "records.clients.legacy_id: expected text, found empty text",
        ),
        (
            {"records": {"clients": {"legacy_id": "id", "fields": {"name": "n"}}}},
            "records.clients.from: expected a name or a list of names, found nothing",
        ),
        (
            {"records": {"clients": {"from": [], "legacy_id": "id", "fields": {"name": "n"}}}},
            "records.clients.from: expected a name or a list of names, found a list",
        ),
        (
            {"records": {"clients": {"from": ["a", 3], "legacy_id": "id", "fields": {"name": "n"}}}},
            "records.clients.from: expected a name or a list of names, found a list",
        ),
        (
            {"records": {"clients": {"from": {"a": 1}, "legacy_id": "id", "fields": {"name": "n"}}}},
            "records.clients.from: expected a name or a list of names, found a table",
        ),
        (
            _clients({"name": "n"}, updated_at=True),
            "records.clients.updated_at: expected text, found true",
        ),
        (
            _clients({"name": "n"}, updated_at="u", updated_at_format=1.5),
            "records.clients.updated_at_format: expected a name or a list of names, found the number 1.5",
        ),
        (
            {
                "records": {
                    "clients": {"from": "Kunden", "legacy_id": "id", "fields": {"name": "n"}},
                    "appointments": {
                        "from": ["Termine", "kunden"],
                        "legacy_id": "id",
                        "fields": {"service": "s"},
                    },
                }
            },
            "records: the table 'kunden' is read as both clients and appointments",
        ),
        ({"system": 5, **_clients({"name": "n"})}, "system: expected text, found the number 5"),
        ({"branch": " ", **_clients({"name": "n"})}, "branch: expected text, found empty text"),
        (
            {"timezone": "Europe/Berln", **_clients({"name": "n"})},
            "timezone: unknown time zone 'Europe/Berln'; use an IANA name such as Europe/Berlin",
        ),
        (
            {"country": "Germany", **_clients({"name": "n"})},
            "country: 'Germany' is not a two-letter country code such as GB or DE",
        ),
        (
            {"country": "D1", **_clients({"name": "n"})},
            "country: 'D1' is not a two-letter country code such as GB or DE",
        ),
        (
            {"country": "ÄÖ", **_clients({"name": "n"})},
            "country: 'ÄÖ' is not a two-letter country code such as GB or DE",
        ),
    ],
)
def test_a_wrong_record_or_top_level_key_is_refused_with_its_path(document: Any, message: str) -> None:
    assert _refused(document) == message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"phone": {"from": "tel", "fone": "x"}},
            "records.clients.fields.phone: unknown key 'fone' (known: constant, country, default, format, "
            "from, join, keep, link, split, timezone, values)",
        ),
        ({"name": None}, "records.clients.fields.name: expected a table of keys, found nothing"),
        ({"name": 12}, "records.clients.fields.name: expected a table of keys, found the number 12"),
        ({"name": ["a", "b"]}, "records.clients.fields.name: expected a table of keys, found a list"),
        (
            {"name": {"from": "n", "constant": "x"}},
            "records.clients.fields.name: give exactly one of 'from' (source field) or 'constant'",
        ),
        (
            {"name": {"default": "x"}},
            "records.clients.fields.name: give exactly one of 'from' (source field) or 'constant'",
        ),
        (
            {"name": ""},
            "records.clients.fields.name.from: expected a name or a list of names, found empty text",
        ),
        (
            {"name": {"from": 3}},
            "records.clients.fields.name.from: expected a name or a list of names, found the number 3",
        ),
        (
            {"name": {"from": None}},
            "records.clients.fields.name.from: expected a name or a list of names, found nothing",
        ),
        (
            {"name": {"from": "n", "join": " "}},
            "records.clients.fields.name.join: only for a 'from' that lists several fields",
        ),
        (
            {"name": {"from": ["n"], "join": " "}},
            "records.clients.fields.name.join: only for a 'from' that lists several fields",
        ),
        (
            {"name": {"constant": "x", "join": " "}},
            "records.clients.fields.name.join: only for a 'from' that lists several fields",
        ),
        (
            {"notes": {"from": ["a", "b"], "join": 1}},
            "records.clients.fields.notes.join: expected text, found the number 1",
        ),
        (
            {"phone": {"from": "tel", "split": ","}},
            "records.clients.fields.phone: 'split' does not apply to a phone field",
        ),
        (
            {"name": {"from": "n", "link": "clients"}},
            "records.clients.fields.name: 'link' does not apply to a text field",
        ),
        (
            {"tags": {"from": "t", "keep": True}},
            "records.clients.fields.tags: 'keep' does not apply to a tags field",
        ),
        (
            {"email": {"from": "m", "country": "DE"}},
            "records.clients.fields.email: 'country' does not apply to a email field",
        ),
        (
            {"phone": {"from": "t", "timezone": "UTC", "format": "%d"}},
            "records.clients.fields.phone: 'format' does not apply to a phone field",
        ),
        (
            {"home_branch_id": {"from": "s", "link": "staff"}},
            "records.clients.fields.home_branch_id.link: 'staff' is not one of clients, branches",
        ),
        (
            {"home_branch_id": {"from": "s", "link": ["branches"]}},
            "records.clients.fields.home_branch_id.link: expected text, found a list",
        ),
        (
            {"phone": {"from": "tel", "keep": "yes"}},
            "records.clients.fields.phone.keep: expected true or false, found the text 'yes'",
        ),
        (
            {"phone": {"from": "tel", "keep": 1}},
            "records.clients.fields.phone.keep: expected true or false, found the number 1",
        ),
        (
            {"phone": {"from": "tel", "country": "UK1"}},
            "records.clients.fields.phone.country: 'UK1' is not a two-letter country code such as GB or DE",
        ),
        (
            {"name": {"from": "n", "values": {}}},
            "records.clients.fields.name.values: expected a table of source value -> value, found a table",
        ),
        (
            {"name": {"from": "n", "values": ["a"]}},
            "records.clients.fields.name.values: expected a table of source value -> value, found a list",
        ),
        (
            {"tags": {"from": "t", "split": ""}},
            "records.clients.fields.tags.split: expected a separator, found empty text",
        ),
    ],
)
def test_a_wrong_client_field_is_refused_with_its_path(fields: dict[str, Any], message: str) -> None:
    assert _refused(_clients(fields)) == message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"from": "b", "timezone": "Europe/Berln"},
            "records.appointments.fields.starts_at.timezone: unknown time zone 'Europe/Berln'; "
            "use an IANA name such as Europe/Berlin",
        ),
        (
            {"from": "b", "timezone": "Mars/Olympus"},
            "records.appointments.fields.starts_at.timezone: unknown time zone 'Mars/Olympus'; "
            "use an IANA name such as Europe/Vienna",
        ),
        (
            {"from": "b", "format": ["%d", ""]},
            "records.appointments.fields.starts_at.format: expected a name or a list of names, found a list",
        ),
        (
            {"from": "b", "keep": True},
            "records.appointments.fields.starts_at: 'keep' does not apply to a datetime field",
        ),
    ],
)
def test_a_wrong_datetime_field_is_refused_with_its_path(spec: dict[str, Any], message: str) -> None:
    document = {"records": {"appointments": {"from": "T", "legacy_id": "ID", "fields": {"starts_at": spec}}}}

    assert _refused(document) == message


def test_the_first_of_several_unknown_keys_is_named() -> None:
    assert _refused(_clients({"name": {"from": "n", "zz": 1, "aa": 2}})).startswith(
        "records.clients.fields.name: unknown key 'aa' "
    )


def test_a_table_listed_twice_by_one_record_type_is_fine() -> None:
    mapping = parse_mapping(
        {"records": {"clients": {"from": ["Kunden", "kunden"], "legacy_id": "id", "fields": {"name": "n"}}}}
    )

    assert mapping.records[0].tables == ("Kunden", "kunden")


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(MappingError) as caught:
        load_mapping(missing)

    assert str(caught.value) == f"cannot read the mapping {missing}: No such file or directory"


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_bytes(b"system: caf\xe9\n")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert str(caught.value).startswith(
        f"cannot read the mapping {path}: 'utf-8' codec can't decode byte 0xe9"
    )


@pytest.mark.parametrize("name", ["mapping.json", "mapping", "mapping.yaml.txt"])
def test_a_suffix_other_than_yaml_or_toml_is_refused(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name, SPEC_EXAMPLE)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert str(caught.value) == f"the mapping {path} must be a .yaml, .yml or .toml file"


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("mapping.yaml", "records: [clients\n", "YAML"),
        ("mapping.yml", "records:\n  clients: {from: a\n", "YML"),
        ("mapping.toml", "records = [\n", "TOML"),
        ("mapping.toml", "[records.clients]\nfrom = 'a'\nfrom = 'b'\n", "TOML"),
    ],
)
def test_broken_yaml_or_toml_is_refused(tmp_path: Path, name: str, text: str, kind: str) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert str(caught.value).startswith(f"the mapping {path} is not valid {kind}: ")
    assert isinstance(caught.value.__cause__, Exception)


def test_an_empty_yaml_file_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping(_write(tmp_path, "mapping.yaml", "# nothing yet\n"))

    assert str(caught.value) == "records: expected a table of keys, found nothing"


def test_a_refusal_in_a_file_has_the_same_path_as_in_a_document(tmp_path: Path) -> None:
    text = SPEC_EXAMPLE.replace("phone: {from: tel}", "phone: {from: tel, fone: x}")
    with pytest.raises(MappingError) as caught:
        load_mapping(_write(tmp_path, "mapping.yaml", text))

    assert str(caught.value).startswith("records.clients.fields.phone: unknown key 'fone' ")


def test_mapping_error_is_a_value_error() -> None:
    assert issubclass(MappingError, ValueError)


# ---- rule_for, identity_rule ------------------------------------------------------


def _two_types() -> Mapping:
    return parse_mapping(
        {
            "records": {
                "clients": {"from": ["customers", "Kunden"], "legacy_id": "id", "fields": {"name": "n"}},
                "appointments": {"from": ["Termine"], "legacy_id": "id", "fields": {"service": "s"}},
            }
        }
    )


def test_rule_for_matches_exactly_then_case_insensitively() -> None:
    mapping = _two_types()
    clients, appointments = mapping.records

    assert mapping.rule_for("Kunden") is clients
    assert mapping.rule_for("CUSTOMERS") is clients
    assert mapping.rule_for("termine") is appointments
    assert mapping.rule_for("Termine") is appointments
    assert mapping.rule_for("settings") is None


def test_rule_for_prefers_an_exact_match_over_an_earlier_case_insensitive_one() -> None:
    first = RecordRule(CLIENTS, ("Kunden",), "id", ())
    second = RecordRule(APPOINTMENTS, ("kunden",), "id", ())
    mapping = Mapping(records=(first, second))

    assert mapping.rule_for("kunden") is second
    assert mapping.rule_for("KUNDEN") is first


def test_identity_rule_reads_every_field_from_its_own_column() -> None:
    rule = identity_rule(CLIENTS, "clients.json")

    assert (rule.collection, rule.tables, rule.legacy_id) == (CLIENTS, ("clients.json",), None)
    assert [(f.target, f.sources, f.kind, f.keep) for f in rule.fields] == [
        (f.name, (f.name,), f.kind, f.kind is FieldKind.PHONE) for f in CLIENTS.fields
    ]
    assert rule.branch_field is None
    assert identity_rule(APPOINTMENTS, "a").branch_field is None  # no link: ids are already ours


def test_identity_rule_maps_a_record_without_an_old_id() -> None:
    rule = identity_rule(CLIENTS, "clients")
    table = _table("clients")
    mapped = map_record(
        Mapping(records=(rule,)),
        rule,
        table,
        SourceRecord({"name": "Anna", "phone": "0171 whatever", "tags": ["a", "b"]}, "c.json: [0]"),
        lambda _branch: BERLIN,
    )

    assert isinstance(mapped, MappedRecord)
    assert mapped.legacy_id == ""
    assert mapped.fields == {"name": "Anna", "phone": "0171 whatever", "tags": ["a", "b"]}


# ---- map_record -------------------------------------------------------------------


def _table(name: str = "customers", file_time: datetime = FILE_TIME) -> SourceTable:
    return SourceTable("old.json", name, (), file_time)


class _Zones:
    """A ``zone_for`` that knows two branches and records what it was asked."""

    def __init__(self, fallback: ZoneInfo | None = None) -> None:
        self.asked: list[str | None] = []
        self.fallback = fallback or ZoneInfo("UTC")

    def __call__(self, branch: str | None) -> ZoneInfo:
        self.asked.append(branch)
        zones = {"berlin mitte": BERLIN, "london": LONDON}
        return zones.get((branch or "").casefold(), self.fallback)


def _map(
    document: dict[str, Any],
    values: dict[str, Any],
    *,
    zones: _Zones | None = None,
    table: SourceTable | None = None,
    where: str = "old.json: customers[0]",
) -> MappedRecord | Refusal:
    mapping = parse_mapping(document)
    rule = mapping.records[0]
    return map_record(mapping, rule, table or _table(), SourceRecord(values, where), zones or _Zones())


def _fields(document: dict[str, Any], values: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    mapped = _map(document, values, **kwargs)
    assert isinstance(mapped, MappedRecord), mapped
    return mapped.fields


def _appointments(fields: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"records": {"appointments": {"from": "Termine", "legacy_id": "ID", "fields": fields}}, **top}


def test_a_record_is_mapped_with_its_id_source_and_place() -> None:
    mapped = _map(
        _clients({"name": "fullName", "email": {"from": "mail"}}), {"id": 17, "fullName": " Anna Berg "}
    )

    assert mapped == MappedRecord(
        collection="clients",
        legacy_id="17",
        source="old.json",
        where="old.json: customers[0]",
        updated_at=FILE_TIME,
        fields={"name": "Anna Berg"},
    )


@pytest.mark.parametrize(("raw", "legacy_id"), [(17, "17"), (17.0, "17"), (" A-17 ", "A-17"), (0, "0")])
def test_the_old_id_becomes_text(raw: Any, legacy_id: str) -> None:
    mapped = _map(_clients({"name": "n"}), {"id": raw, "n": "x"})

    assert isinstance(mapped, MappedRecord)
    assert mapped.legacy_id == legacy_id


def test_a_constant_fills_every_record() -> None:
    fields = _fields(
        _clients({"name": "n", "notes": {"constant": "imported from Salonbook"}}), {"id": 1, "n": "A"}
    )

    assert fields == {"name": "A", "notes": "imported from Salonbook"}


def test_several_fields_are_joined_skipping_empty_ones() -> None:
    document = _clients(
        {"name": {"from": ["first", "last"]}, "notes": {"from": ["memo", "allergy", "x"], "join": "\n"}}
    )

    fields = _fields(
        document, {"id": 1, "first": "Anna", "last": "Berg", "memo": "VIP", "allergy": "  ", "x": 3}
    )

    assert fields == {"name": "Anna Berg", "notes": "VIP\n3"}


def test_a_join_of_only_empty_fields_is_left_out() -> None:
    fields = _fields(_clients({"name": "n", "notes": {"from": ["a", "b"]}}), {"id": 1, "n": "A", "a": None})

    assert fields == {"name": "A"}


def test_values_map_exactly_then_loosely() -> None:
    document = _appointments(
        {
            "status": {
                "from": "Status",
                "values": {"Gebucht": "booked", "gebucht": "cancelled", "Erledigt": "done"},
            }
        }
    )

    assert _fields(document, {"ID": 1, "Status": "gebucht"}) == {"status": "cancelled"}
    assert _fields(document, {"ID": 1, "Status": " ERLEDIGT "}) == {"status": "done"}


def test_a_value_not_in_the_map_refuses_the_record_naming_the_field() -> None:
    document = _appointments({"status": {"from": "Status", "values": {"Gebucht": "booked"}}})

    refusal = _map(document, {"ID": "9", "Status": "Verschoben"}, where="t.csv line 3")

    assert isinstance(refusal, Refusal)
    assert refusal == Refusal(
        "appointments",
        "t.csv line 3",
        'status (from Status): "Verschoben" is not in the mapping\'s values table (known values: "Gebucht")',
        "9",
        "old.json",
    )


def test_a_value_mapped_to_nothing_takes_the_default_or_is_left_out() -> None:
    with_default = _appointments({"status": {"from": "Status", "values": {"?": None}, "default": "booked"}})
    without = _appointments({"status": {"from": "Status", "values": {"?": None}}})

    assert _fields(with_default, {"ID": 1, "Status": "?"}) == {"status": "booked"}
    assert _fields(without, {"ID": 1, "Status": "?"}) == {}


def test_a_default_stands_in_for_a_missing_or_empty_value() -> None:
    document = _appointments(
        {"status": {"from": "Status", "values": {"Gebucht": "booked"}, "default": "booked"}}
    )

    assert _fields(document, {"ID": 1}) == {"status": "booked"}
    assert _fields(document, {"ID": 1, "Status": "  "}) == {"status": "booked"}
    # the default is a Branchsync value: it is not looked up in the values table
    assert _fields(document, {"ID": 1, "Status": "Gebucht"}) == {"status": "booked"}


def test_a_default_goes_through_the_fields_transform() -> None:
    document = _appointments({"duration_min": {"from": "Dauer", "default": "30 min"}})

    assert _fields(document, {"ID": 1}) == {"duration_min": 30}


def test_a_branch_link_defaults_to_the_top_level_branch() -> None:
    document = _appointments({"branch_id": {"from": "Filiale", "link": "branches"}}, branch="Berlin Mitte")

    assert _fields(document, {"ID": 1}) == {"branch_id": Link("branches", "Berlin Mitte")}
    assert _fields(document, {"ID": 1, "Filiale": "London"}) == {"branch_id": Link("branches", "London")}


def test_a_branch_links_own_default_wins_over_the_top_level_branch() -> None:
    document = _appointments(
        {"branch_id": {"from": "Filiale", "link": "branches", "default": "London"}}, branch="Berlin Mitte"
    )

    assert _fields(document, {"ID": 1}) == {"branch_id": Link("branches", "London")}


def test_a_branch_link_without_any_default_is_left_out() -> None:
    assert _fields(_appointments({"branch_id": {"from": "Filiale", "link": "branches"}}), {"ID": 1}) == {}


def test_a_client_link_carries_the_clients_old_id() -> None:
    document = _appointments({"client_id": {"from": "clientId", "link": "clients"}}, branch="Berlin Mitte")

    assert _fields(document, {"ID": 1, "clientId": 17.0}) == {"client_id": Link("clients", "17")}
    assert _fields(document, {"ID": 1}) == {}  # the top-level branch is no default for a client link


def test_a_uuid_field_without_a_link_is_text() -> None:
    document = _appointments({"client_id": {"from": "c"}})

    assert _fields(document, {"ID": 1, "c": " 6f1c "}) == {"client_id": "6f1c"}


def test_a_link_to_a_list_refuses_the_record() -> None:
    refusal = _map(_appointments({"client_id": {"from": "c", "link": "clients"}}), {"ID": 1, "c": [1, 2]})

    assert isinstance(refusal, Refusal)
    assert refusal.reason.startswith("client_id (from c): [1, 2] (list) cannot be used as text")


# -- datetimes and zones


def _starts(**spec: Any) -> dict[str, Any]:
    return {
        "branch_id": {"from": "Filiale", "link": "branches"},
        "starts_at": {"from": "Beginn", **spec},
    }


def test_a_naive_time_is_read_in_the_records_branchs_zone() -> None:
    zones = _Zones()
    document = _appointments(_starts(format="%d.%m.%Y %H:%M"))

    berlin = _fields(
        document, {"ID": 1, "Filiale": "Berlin Mitte", "Beginn": "01.06.2026 10:00"}, zones=zones
    )
    london = _fields(document, {"ID": 1, "Filiale": "London", "Beginn": "01.12.2026 10:00"}, zones=zones)

    assert berlin["starts_at"] == "2026-06-01T10:00:00+02:00"
    assert london["starts_at"] == "2026-12-01T10:00:00+00:00"
    assert zones.asked == ["Berlin Mitte", "London"]


def test_formats_are_tried_in_order_and_iso_is_always_accepted() -> None:
    document = _appointments(_starts(format=["%d.%m.%Y %H:%M", "%d.%m.%y"]))
    zones = _Zones(fallback=BERLIN)

    assert (
        _fields(document, {"ID": 1, "Beginn": "02.12.26"}, zones=zones)["starts_at"]
        == "2026-12-02T00:00:00+01:00"
    )
    assert (
        _fields(document, {"ID": 1, "Beginn": "2026-12-02T13:00:00Z"}, zones=zones)["starts_at"]
        == "2026-12-02T13:00:00+00:00"
    )


def test_without_a_branch_the_default_branchs_zone_is_asked_for() -> None:
    zones = _Zones()
    document = _appointments(_starts(), branch="Berlin Mitte")

    fields = _fields(document, {"ID": 1, "Beginn": "2026-06-01 10:00"}, zones=zones)

    assert fields["starts_at"] == "2026-06-01T10:00:00+02:00"
    assert zones.asked == ["Berlin Mitte"]


def test_a_record_type_without_a_branch_field_asks_for_the_default_branch() -> None:
    zones = _Zones()

    fields = _fields(
        _appointments({"starts_at": "Beginn"}), {"ID": 1, "Beginn": "2026-06-01 10:00"}, zones=zones
    )

    assert fields["starts_at"] == "2026-06-01T10:00:00+00:00"
    assert zones.asked == [None]


def test_the_zone_follows_the_branch_the_record_gets_through_values_and_default() -> None:
    zones = _Zones()
    document = _appointments(
        {
            "branch_id": {
                "from": "Filiale",
                "link": "branches",
                "values": {"MI": "Berlin Mitte"},
                "default": "London",
            },
            "starts_at": "Beginn",
        }
    )

    coded = _fields(document, {"ID": 1, "Filiale": "MI", "Beginn": "2026-06-01 10:00"}, zones=zones)
    missing = _fields(document, {"ID": 2, "Beginn": "2026-06-01 10:00"}, zones=zones)

    assert coded == {"branch_id": Link("branches", "Berlin Mitte"), "starts_at": "2026-06-01T10:00:00+02:00"}
    assert missing == {"branch_id": Link("branches", "London"), "starts_at": "2026-06-01T10:00:00+01:00"}
    assert zones.asked == ["Berlin Mitte", "London"]


def test_a_constant_branch_gives_its_zone() -> None:
    zones = _Zones()
    document = _appointments({"branch_id": {"constant": "London", "link": "branches"}, "starts_at": "Beginn"})

    fields = _fields(document, {"ID": 1, "Beginn": "2026-06-01 10:00"}, zones=zones)

    assert fields["starts_at"] == "2026-06-01T10:00:00+01:00"
    assert zones.asked == ["London"]


def test_a_branch_value_with_no_text_form_falls_back_to_the_default_zone_and_refuses() -> None:
    zones = _Zones()
    document = _appointments(_starts(), branch="London")

    refusal = _map(document, {"ID": 1, "Filiale": ["a"], "Beginn": "2026-06-01 10:00"}, zones=zones)

    assert isinstance(refusal, Refusal)
    assert refusal.reason.startswith("branch_id (from Filiale): ['a'] (list) cannot be used as text")
    assert zones.asked == ["London"]


def test_the_top_level_timezone_wins_over_the_branchs_zone() -> None:
    zones = _Zones()
    document = _appointments(_starts(), timezone="America/New_York")

    fields = _fields(
        document, {"ID": 1, "Filiale": "Berlin Mitte", "Beginn": "2026-06-01 10:00"}, zones=zones
    )

    assert fields["starts_at"] == "2026-06-01T10:00:00-04:00"
    assert zones.asked == []


def test_a_fields_timezone_wins_over_the_top_level_one() -> None:
    document = _appointments(_starts(timezone="Europe/London"), timezone="America/New_York")

    fields = _fields(document, {"ID": 1, "Filiale": "Berlin Mitte", "Beginn": "2026-06-01 10:00"})

    assert fields["starts_at"] == "2026-06-01T10:00:00+01:00"


def test_a_time_with_an_offset_keeps_it() -> None:
    fields = _fields(
        _appointments(_starts()), {"ID": 1, "Filiale": "Berlin Mitte", "Beginn": "2026-06-01T10:00-07:00"}
    )

    assert fields["starts_at"] == "2026-06-01T10:00:00-07:00"


def test_a_bad_time_refuses_the_record_naming_field_and_source() -> None:
    refusal = _map(_appointments(_starts()), {"ID": "A9", "Beginn": "morgen"}, where="Termine.csv line 4")

    assert isinstance(refusal, Refusal)
    assert (refusal.collection, refusal.legacy_id, refusal.where, refusal.source) == (
        "appointments",
        "A9",
        "Termine.csv line 4",
        "old.json",
    )
    assert refusal.reason.startswith('starts_at (from Beginn): "morgen" is not a date and time: use ISO 8601')


def test_a_bad_constant_names_the_field_alone() -> None:
    refusal = _map(_appointments({"duration_min": {"constant": "lang"}}), {"ID": 1})

    assert isinstance(refusal, Refusal)
    assert refusal.reason.startswith('duration_min: "lang" is not a whole number')


# -- phones, tags, integers


def test_phones_are_normalised_in_the_mappings_country() -> None:
    document = {"country": "DE", **_clients({"phone": "tel"})}

    assert _fields(document, {"id": 1, "tel": "030 12345678"}) == {"phone": "+493012345678"}
    assert _fields(document, {"id": 1, "tel": "+44 20 7840 6180"}) == {"phone": "+442078406180"}


def test_a_fields_country_wins_over_the_top_level_one() -> None:
    document = {"country": "DE", **_clients({"phone": {"from": "tel", "country": "GB"}})}

    assert _fields(document, {"id": 1, "tel": "020 7840 6180"}) == {"phone": "+442078406180"}


def test_keep_keeps_the_phone_as_written() -> None:
    document = {"country": "DE", **_clients({"phone": {"from": "tel", "keep": True}})}

    assert _fields(document, {"id": 1, "tel": " 030 / 123 45-678 "}) == {"phone": "030 / 123 45-678"}
    assert _fields(document, {"id": 1, "tel": 3012345678}) == {"phone": "3012345678"}


def test_a_phone_that_cannot_be_normalised_is_kept_as_written_with_a_warning() -> None:
    mapped = _map({"country": "DE", **_clients({"phone": "tel"})}, {"id": 1, "tel": "0171 12"})

    assert isinstance(mapped, MappedRecord)
    assert mapped.fields == {"phone": "0171 12"}
    assert mapped.warnings == (
        ("phone", 'phone (from tel): "0171 12" is not a phone number in DE; imported as written'),
    )


def test_a_phone_without_a_country_keeps_national_numbers_as_written() -> None:
    mapped = _map(_clients({"phone": "tel"}), {"id": 1, "tel": "030 12345678"})

    assert isinstance(mapped, MappedRecord)
    assert mapped.fields == {"phone": "030 12345678"}
    ((field, warning),) = mapped.warnings
    assert field == "phone"
    assert warning.startswith('phone (from tel): "030 12345678" has no +country code')


def test_a_phone_with_no_text_form_refuses_the_record() -> None:
    refusal = _map(_clients({"phone": "tel"}), {"id": 1, "tel": {"home": "1"}})

    assert isinstance(refusal, Refusal)
    assert refusal.reason.startswith("phone (from tel): ")


def test_tags_are_split_on_the_fields_separator() -> None:
    document = _clients({"tags": {"from": "labels", "split": ","}})

    assert _fields(document, {"id": 1, "labels": "vip, color ,vip"}) == {"tags": ["vip", "color"]}
    assert _fields(document, {"id": 1, "labels": ["a", " b "]}) == {"tags": ["a", "b"]}


def test_tags_split_on_semicolons_by_default() -> None:
    assert _fields(_clients({"tags": "labels"}), {"id": 1, "labels": "a;b, c"}) == {"tags": ["a", "b, c"]}


def test_tags_that_split_into_nothing_are_left_out() -> None:
    document = _clients({"name": "n", "tags": "labels"})

    assert _fields(document, {"id": 1, "n": "A", "labels": " ; ; "}) == {"name": "A"}
    assert _fields(document, {"id": 1, "n": "A", "labels": ["", " "]}) == {"name": "A"}


def test_integers_are_parsed() -> None:
    document = _appointments({"duration_min": "Dauer"})

    assert _fields(document, {"ID": 1, "Dauer": 45.0}) == {"duration_min": 45}
    assert _fields(document, {"ID": 1, "Dauer": "45 Min."}) == {"duration_min": 45}
    assert _fields(document, {"ID": 1, "Dauer": 0}) == {"duration_min": 0}


def test_a_bad_integer_refuses_the_record_naming_field_and_source() -> None:
    refusal = _map(_appointments({"duration_min": "Dauer"}), {"ID": 7, "Dauer": "1.5"})

    assert isinstance(refusal, Refusal)
    assert refusal.legacy_id == "7"
    assert refusal.reason.startswith('duration_min (from Dauer): "1.5" is not a whole number')


@pytest.mark.parametrize("empty", [None, "", "   ", [], {}])
def test_empty_values_are_left_out(empty: Any) -> None:
    document = _clients({"name": "n", "email": "mail", "notes": "memo", "tags": "t"})

    assert _fields(document, {"id": 1, "n": "A", "mail": empty, "memo": empty, "t": empty}) == {"name": "A"}


def test_false_and_zero_are_values() -> None:
    assert _fields(_clients({"notes": "memo", "name": "n"}), {"id": 1, "memo": False, "n": 0}) == {
        "notes": "false",
        "name": "0",
    }


# -- the copy's time


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-02-01T10:00:00Z", datetime(2026, 2, 1, 10, 0, tzinfo=UTC)),
        ("2026-02-01T11:00:00+01:00", datetime(2026, 2, 1, 10, 0, tzinfo=UTC)),
        (1_769_940_000_000, datetime(2026, 2, 1, 10, 0, tzinfo=UTC)),  # epoch ms (Date.now())
        (1_769_940_000, datetime(2026, 2, 1, 10, 0, tzinfo=UTC)),  # epoch s
        ("01.02.2026 11:00", datetime(2026, 2, 1, 10, 0, tzinfo=UTC)),  # updated_at_format, in the zone
    ],
)
def test_updated_at_is_parsed(raw: Any, expected: datetime) -> None:
    document = _clients({"name": "n"}, updated_at="updatedAt", updated_at_format="%d.%m.%Y %H:%M")
    document["timezone"] = "Europe/Berlin"

    mapped = _map(document, {"id": 1, "n": "A", "updatedAt": raw})

    assert isinstance(mapped, MappedRecord)
    assert mapped.updated_at == expected
    assert mapped.updated_at.utcoffset() is not None


@pytest.mark.parametrize("values", [{"id": 1, "n": "A"}, {"id": 1, "n": "A", "updatedAt": " "}])
def test_without_an_updated_at_the_tables_file_time_is_used(values: dict[str, Any]) -> None:
    file_time = datetime(2025, 12, 24, 8, 30, tzinfo=UTC)

    mapped = _map(_clients({"name": "n"}, updated_at="updatedAt"), values, table=_table(file_time=file_time))

    assert isinstance(mapped, MappedRecord)
    assert mapped.updated_at == file_time


def test_without_an_updated_at_field_the_file_time_is_used_even_if_the_record_has_one() -> None:
    mapped = _map(_clients({"name": "n"}), {"id": 1, "n": "A", "updatedAt": "2026-02-01T10:00:00Z"})

    assert isinstance(mapped, MappedRecord)
    assert mapped.updated_at == FILE_TIME


def test_a_bad_updated_at_refuses_the_record() -> None:
    refusal = _map(
        _clients({"name": "n"}, updated_at="updatedAt"), {"id": 5, "n": "A", "updatedAt": "gestern"}
    )

    assert isinstance(refusal, Refusal)
    assert refusal.legacy_id == "5"
    assert refusal.reason.startswith('updatedAt (the time of this copy): "gestern" is not a date and time')


# -- refusals


def test_a_record_the_source_could_read_only_in_part_is_refused() -> None:
    refusal = _map(
        _clients({"name": "n"}),
        {"id": 1, "n": "A", PROBLEM_KEY: "has 4 cells but the header has 3"},
        where="Kunden.csv line 7",
    )

    assert refusal == Refusal(
        "clients", "Kunden.csv line 7", "has 4 cells but the header has 3", "1", "old.json"
    )  # with its old id, when that could be read: the report names the record


def test_a_record_read_only_in_part_and_without_an_old_id_says_what_went_wrong_with_the_row() -> None:
    refusal = _map(_clients({"name": "n"}), {"n": "A", PROBLEM_KEY: "has 4 cells but the header has 3"})

    assert isinstance(refusal, Refusal)
    assert (refusal.reason, refusal.legacy_id) == ("has 4 cells but the header has 3", None)


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_a_record_without_an_old_id_is_refused(raw: Any) -> None:
    values = {"n": "A"} if raw is None else {"id": raw, "n": "A"}

    refusal = _map(_clients({"name": "n"}), values)

    assert refusal == Refusal(
        "clients", "old.json: customers[0]", "has no old id in the field 'id'", None, "old.json"
    )


def test_an_old_id_that_is_a_list_is_refused() -> None:
    refusal = _map(_clients({"name": "n"}), {"id": [1, 2], "n": "A"})

    assert isinstance(refusal, Refusal)
    assert refusal.legacy_id is None
    assert (
        refusal.reason == "id: [1, 2] (list) cannot be used as text: use text, a number, true/false or a date"
    )


def test_every_bad_field_of_a_record_is_named_in_its_refusal() -> None:
    document = _appointments({"duration_min": "Dauer", "starts_at": "Beginn"})

    refusal = _map(document, {"ID": 1, "Dauer": "x", "Beginn": "y"})

    assert isinstance(refusal, Refusal)
    first, second = refusal.reason.split("; ")
    assert first.startswith("duration_min (from Dauer): ")
    assert second.startswith('starts_at (from Beginn): "y" is not a date and time')
