"""Reading the old system's files: JSON and localStorage dumps, CSV, .xlsx, and the fixtures."""

from __future__ import annotations

import codecs
import csv
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from protocol.transfer import sources
from protocol.transfer.sources import (
    SourceError,
    SourceFile,
    SourceTable,
    decode,
    read_csv_text,
    read_json_text,
    read_source,
)

DATA = Path(__file__).parents[3] / "data" / "migration"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def json_file(text: str, name: str = "north.json") -> SourceFile:
    return read_json_text(text, name=name, file_time=T0)


def csv_file(text: str, name: str = "kunden.csv", delimiter: str | None = None) -> SourceFile:
    return read_csv_text(text, name=name, file_time=T0, delimiter=delimiter)


def table(source: SourceFile, name: str) -> SourceTable:
    (found,) = [t for t in source.tables if t.name == name]
    return found


def values(found: SourceTable) -> list[dict[str, Any]]:
    return [record.values for record in found.records]


def wheres(found: SourceTable) -> list[str]:
    return [record.where for record in found.records]


def only_table(source: SourceFile) -> SourceTable:
    (found,) = source.tables
    return found


def test_public_surface_is_pinned() -> None:
    assert sorted(sources.__all__) == [
        "SourceError", "SourceFile", "SourceRecord", "SourceTable", "decode", "read_csv_text",
        "read_json_text", "read_source",
    ]  # fmt: skip
    assert issubclass(SourceError, ValueError)


def test_importing_loads_neither_openpyxl_nor_charset_normalizer() -> None:
    code = (
        "import sys, protocol.transfer.sources; "
        "print(sorted({'openpyxl', 'charset_normalizer'} & set(sys.modules)))"
    )
    root = Path(__file__).parents[4]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert done.stdout.strip() == "[]"


# --- read_source: files ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["kunden.xls", "kunden.ods", "README"])
def test_an_unsupported_kind_names_the_supported_ones(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"whatever")
    with pytest.raises(SourceError, match=r"supported are \.json, \.csv/\.tsv/\.txt and \.xlsx") as caught:
        read_source(path)
    assert str(caught.value).startswith(f"{name}: cannot read ")
    assert ("a file without a suffix" in str(caught.value)) is (name == "README")


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"cannot read .*nope\.json: No such file or directory"):
        read_source(tmp_path / "nope.json")


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "bookings.json").mkdir()
    with pytest.raises(SourceError, match=r"^cannot read .*bookings\.json: \w"):
        read_source(tmp_path / "bookings.json")


def test_the_file_time_is_the_modification_time_in_utc(tmp_path: Path) -> None:
    path = tmp_path / "north.json"
    path.write_text('{"clients": [{"id": 1}]}', encoding="utf-8")
    os.utime(path, (1796061731, 1796061731))
    found = only_table(read_source(path))
    assert found.file_time == datetime(2026, 11, 30, 18, 2, 11, tzinfo=UTC)
    assert found.file_time.utcoffset() is not None
    assert (found.source, found.name) == ("north.json", "clients")


def test_suffixes_are_matched_case_insensitively(tmp_path: Path) -> None:
    path = tmp_path / "KUNDEN.CSV"
    path.write_text("id;name\n1;Anna\n", encoding="utf-8")
    assert values(only_table(read_source(path))) == [{"id": "1", "name": "Anna"}]


def test_a_tsv_file_is_tab_delimited_unless_told_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "clients.tsv"
    path.write_text("id\tnote\n1\ta,b;c\n", encoding="utf-8")
    assert values(only_table(read_source(path))) == [{"id": "1", "note": "a,b;c"}]
    assert values(only_table(read_source(path, delimiter=","))) == [
        {"id\tnote": "1\ta", "__problem__": "has 2 cells but the header has 1"}
    ]


def test_a_txt_file_is_csv_and_takes_encoding_and_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_bytes("id|name\n1|Zoë\n".encode("cp1252"))
    assert values(only_table(read_source(path))) == [{"id": "1", "name": "Zoë"}]
    assert values(only_table(read_source(path, encoding="cp1252", delimiter="|"))) == [
        {"id": "1", "name": "Zoë"}
    ]
    with pytest.raises(SourceError, match=r"export\.txt is not utf-8 text"):
        read_source(path, encoding="utf-8")


def test_a_json_file_is_decoded_like_text(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    path.write_bytes(codecs.BOM_UTF16_LE + '[{"name": "Müller"}]'.encode("utf-16-le"))
    assert values(only_table(read_source(path))) == [{"name": "Müller"}]


# --- decode ------------------------------------------------------------------------------


def test_an_explicit_encoding_wins_over_utf8() -> None:
    assert decode("é".encode(), name="a.csv", encoding="latin-1") == "Ã©"


def test_an_explicit_encoding_drops_a_bom() -> None:
    assert decode(codecs.BOM_UTF8 + b"id", name="a.csv", encoding="utf-8") == "id"


@pytest.mark.parametrize("encoding", ["klingon", "rot13"])
def test_an_unknown_or_non_text_encoding_is_refused(encoding: str) -> None:
    with pytest.raises(SourceError, match=f"a.csv: unknown text encoding '{encoding}'; .*--encoding"):
        decode(b"id", name="a.csv", encoding=encoding)


def test_undecodable_bytes_name_the_encoding_byte_and_position() -> None:
    with pytest.raises(SourceError) as caught:
        decode(b"id\n\xe9t\xe9", name="a.csv", encoding="utf-8")
    assert str(caught.value) == (
        "a.csv is not utf-8 text: byte 0xe9 at position 3 cannot be decoded; name the file's "
        "encoding with --encoding (for example cp1252, latin-1 or utf-16)"
    )


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (codecs.BOM_UTF8 + "Müller".encode(), "Müller"),
        (codecs.BOM_UTF16_LE + "Müller".encode("utf-16-le"), "Müller"),
        (codecs.BOM_UTF16_BE + "Müller".encode("utf-16-be"), "Müller"),
    ],
)
def test_a_bom_decides_the_encoding(data: bytes, text: str) -> None:
    assert decode(data, name="a.csv") == text


def test_bytes_a_bom_promised_but_broke_are_refused_at_their_file_position() -> None:
    with pytest.raises(SourceError, match=r"a.csv is not utf-8-sig text: byte 0xff at position 5 "):
        decode(codecs.BOM_UTF8 + b"id\xff", name="a.csv")


def test_utf8_without_a_bom_is_strict_utf8() -> None:
    assert decode("Zoë;Café".encode(), name="a.csv") == "Zoë;Café"


def test_western_single_byte_text_is_guessed() -> None:
    data = "id,name\n1,Müller\n2,Zoë\n3,Café Crème\n".encode("latin-1")
    assert decode(data, name="a.csv") == "id,name\n1,Müller\n2,Zoë\n3,Café Crème\n"


def test_binary_data_is_not_guessed_into_text() -> None:
    with pytest.raises(SourceError, match=r"a.csv: cannot tell its text encoding .*--encoding"):
        decode(bytes(range(256)) * 4, name="a.csv")


# --- JSON --------------------------------------------------------------------------------


def test_a_top_level_array_is_one_table_named_after_the_file() -> None:
    source = json_file('[{"id": 1}, 7, {"id": 2, "tags": ["a", {"b": 1}]}, [1], true, null, "x"]')
    found = only_table(source)
    assert (found.source, found.name, found.file_time) == ("north.json", "north", T0)
    assert values(found) == [{"id": 1}, {"id": 2, "tags": ["a", {"b": 1}]}]
    assert wheres(found) == ["north.json: [0]", "north.json: [2]"]
    assert source.ignored == (
        "[1] (a number, not a record)",
        "[3] (a list, not a record)",
        "[4] (true/false, not a record)",
        "[5] (null, not a record)",
        "[6] (text, not a record)",
    )


def test_a_bom_left_in_the_text_is_not_an_error() -> None:
    assert values(only_table(json_file('\ufeff[{"id": 1}]'))) == [{"id": 1}]


def test_an_array_without_records_is_ignored_but_an_empty_one_is_an_empty_table() -> None:
    assert json_file("[1, 2]") == SourceFile("north.json", (), ("north (a list without records in it)",))
    source = json_file('{"appointments": [], "recent": ["a", "b"]}')
    assert [(t.name, t.records) for t in source.tables] == [("appointments", ())]
    assert source.ignored == ("recent (a list without records in it)",)


def test_a_top_level_object_holds_tables_by_key() -> None:
    text = """{
      "clients": [{"id": "c1", "address": {"city": "Leeds"}}],
      "appointments": [{"id": "a1"}, 4],
      "staff": {"s1": {"name": "Ann"}, "s2": {"name": "Bo", "_key": "own"}, "s3": {}},
      "settings": {"theme": "dark", "opening": {"mon": "9-5"}},
      "nested": {"clients": {"c1": {"name": "Ann"}}},
      "empty": {},
      "version": 3
    }"""
    source = json_file(text)
    assert [t.name for t in source.tables] == ["clients", "appointments", "staff"]
    assert values(table(source, "clients")) == [{"id": "c1", "address": {"city": "Leeds"}}]
    assert wheres(table(source, "appointments")) == ["north.json: appointments[0]"]
    staff = table(source, "staff")
    assert values(staff) == [
        {"name": "Ann", "_key": "s1"},
        {"name": "Bo", "_key": "own"},
        {"_key": "s3"},
    ]
    assert wheres(staff) == ['north.json: staff["s1"]', 'north.json: staff["s2"]', 'north.json: staff["s3"]']
    assert source.ignored == (
        "appointments[1] (a number, not a record)",
        "settings (an object, not a list of records)",
        "nested (an object, not a list of records)",
        "empty (an object, not a list of records)",
        "version (a number, not a list of records)",
    )


def test_a_localstorage_dump_decodes_its_strings() -> None:
    dump = {
        "salonbook:clients": [{"id": "c1", "labels": ["vip"]}, 5],
        "salonbook:staff": {"s1": {"name": "Ann"}},
        "salonbook:db": {"clients": [{"id": "c2"}], "staff": {"s2": {"name": "Bo"}}, "rev": 9},
        "salonbook:settings": {"theme": "dark", "hours": {"mon": "9-5"}},
        "salonbook:blank": {},
    }
    stored = {key: json.dumps(value) for key, value in dump.items()}
    stored |= {"lastSync": "2026-11-30T18:02:11.000Z", "count": "12", "flag": "true"}
    stored |= {"quoted": '"hello"', "none": "null"}
    text = json.dumps(stored, indent=2)
    source = json_file(text, name="localstorage-north.json")
    assert [t.name for t in source.tables] == ["salonbook:clients", "salonbook:staff", "clients", "staff"]
    clients = source.tables[0]
    assert values(clients) == [{"id": "c1", "labels": ["vip"]}]
    assert wheres(clients) == ["localstorage-north.json: salonbook:clients[0]"]
    assert values(source.tables[1]) == [{"name": "Ann", "_key": "s1"}]
    assert wheres(source.tables[1]) == ['localstorage-north.json: salonbook:staff["s1"]']
    assert wheres(source.tables[2]) == ["localstorage-north.json: salonbook:db.clients[0]"]
    assert values(source.tables[3]) == [{"name": "Bo", "_key": "s2"}]
    assert wheres(source.tables[3]) == ['localstorage-north.json: salonbook:db.staff["s2"]']
    assert source.ignored == (
        "salonbook:clients[1] (a number, not a record)",
        "salonbook:db.rev (a number, not a list of records)",
        "salonbook:settings (an object, not a list of records)",
        "salonbook:blank (an object, not a list of records)",
        "lastSync (text, not a list of records)",
        "count (a number, not a list of records)",
        "flag (true/false, not a list of records)",
        "quoted (text, not a list of records)",
        "none (null, not a list of records)",
    )


def test_broken_json_names_the_line_and_column() -> None:
    with pytest.raises(SourceError) as caught:
        json_file('{\n  "clients": [\n    {"id": 1} {"id": 2}\n  ]\n}')
    assert str(caught.value) == (
        "north.json is not valid JSON: line 3 column 15: Expecting ',' delimiter (at '{\"id\": 2}')"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "north.json is empty: it holds no records"),
        (" \n\n", "north.json is empty: it holds no records"),
        ("id,name\nAda", "north.json is not valid JSON: line 1 column 1: Expecting value (at 'id,name')"),
        (
            '[{"id": 1}',
            "north.json is not valid JSON: line 1 column 11: Expecting ',' delimiter"
            " (at the end of the line)",
        ),
        (
            '[{"id": 1},\n',
            "north.json is not valid JSON: line 2 column 1: Expecting value (at the end of the line)",
        ),
    ],
    ids=["empty", "blank", "csv", "cut-short", "cut-short-at-a-line-end"],
)
def test_a_file_that_is_no_json_says_what_it_holds_instead(text: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        json_file(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(("text", "kind"), [("42", "a number"), ('"x"', "text"), ("null", "null")])
def test_a_lone_scalar_is_not_a_source(text: str, kind: str) -> None:
    with pytest.raises(SourceError, match=f"north.json holds {kind}, not records: expected an array"):
        json_file(text)


# --- CSV ---------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed(delimiter: str) -> None:
    text = delimiter.join(["id", "name", "note"]) + "\n" + delimiter.join(["1", "Anna", "x"]) + "\n"
    assert values(only_table(csv_file(text))) == [{"id": "1", "name": "Anna", "note": "x"}]


def test_sniffing_ignores_delimiters_inside_quotes_and_votes_with_the_rows() -> None:
    text = 'id;"name, first";note\n1;Anna;"a, b, c"\n2;Bo;"d, e"\n'
    assert values(only_table(csv_file(text))) == [
        {"id": "1", "name, first": "Anna", "note": "a, b, c"},
        {"id": "2", "name, first": "Bo", "note": "d, e"},
    ]
    # The header splits on both; only ";" splits the rows alike.
    text = "a;b,c\n1;2,3,4\n5;6,7,8\n"
    assert [*values(only_table(csv_file(text)))[0]] == ["a", "b,c"]


def test_a_one_column_file_is_valid() -> None:
    found = only_table(csv_file("name\nAnna\n\nBo\n"))
    assert values(found) == [{"name": "Anna"}, {"name": "Bo"}]
    assert wheres(found) == ["kunden.csv line 2", "kunden.csv line 4"]


def test_an_explicit_delimiter_wins() -> None:
    assert values(only_table(csv_file("a;b\n1;2\n", delimiter=","))) == [{"a;b": "1;2"}]


@pytest.mark.parametrize("typed", ["\\t", "tab", "\t"])
def test_a_tab_may_be_typed_as_backslash_t_or_tab(typed: str) -> None:
    assert values(only_table(csv_file("a\tb\n1\t2\n", delimiter=typed))) == [{"a": "1", "b": "2"}]


def test_a_delimiter_of_several_characters_is_refused() -> None:
    with pytest.raises(SourceError, match=r"kunden\.csv: the delimiter must be one character, not ';;'"):
        csv_file("a;;b\n", delimiter=";;")


def test_the_table_is_named_after_the_file_stem() -> None:
    found = only_table(csv_file("\ufeffID;Name\n1;Anna\n", name="Kunden.csv"))
    assert (found.source, found.name, found.file_time) == ("Kunden.csv", "Kunden", T0)
    assert values(found) == [{"ID": "1", "Name": "Anna"}]


@pytest.mark.parametrize("text", ["", "\n\n", ",,\n , \n"])
def test_a_file_without_a_header_holds_no_table(text: str) -> None:
    assert csv_file(text) == SourceFile("kunden.csv", (), ("kunden (an empty file, no header line)",))


def test_header_names_are_stripped_and_trailing_empty_ones_dropped() -> None:
    found = only_table(csv_file("\n ID ; Name ;;\n1;Anna;;\n2;Bo;;x\n"))
    assert values(found) == [
        {"ID": "1", "Name": "Anna"},
        {"ID": "2", "Name": "Bo", "__problem__": "has 4 cells but the header has 2"},
    ]
    assert wheres(found) == ["kunden.csv line 3", "kunden.csv line 4"]


def test_an_empty_header_name_is_refused() -> None:
    with pytest.raises(SourceError) as caught:
        csv_file("\nID;;Name\n1;2;3\n")
    assert str(caught.value) == (
        "kunden.csv line 2: column 2 has no name in the header; give every column a name"
    )


def test_a_repeated_header_name_is_refused() -> None:
    with pytest.raises(SourceError) as caught:
        csv_file("ID;Name;ID;Tel;Name\n")
    assert str(caught.value) == (
        "kunden.csv line 1: column(s) 'ID', 'Name' appear more than once in the header; rename one of them"
    )


def test_rows_of_the_wrong_width_are_records_with_a_problem() -> None:
    found = only_table(csv_file("a,b,c\n1,2,3,4\n5\n6,7,8\n"))
    assert values(found) == [
        {"a": "1", "b": "2", "c": "3", "__problem__": "has 4 cells but the header has 3"},
        {"a": "5", "__problem__": "has 1 cells but the header has 3"},
        {"a": "6", "b": "7", "c": "8"},
    ]


def test_cells_are_text_and_empty_ones_none() -> None:
    found = only_table(csv_file('a,b,c,d\n" x ",, ,"0"\n'))
    assert values(found) == [{"a": " x ", "b": None, "c": None, "d": "0"}]


def test_where_is_the_line_a_record_starts_on() -> None:
    found = only_table(csv_file('id,note\r\n\r\n1,"two\r\nlines"\r\n2,"three\nshort\nlines"\n3,x\n'))
    assert wheres(found) == ["kunden.csv line 3", "kunden.csv line 5", "kunden.csv line 8"]
    assert values(found)[1] == {"id": "2", "note": "three\nshort\nlines"}


def test_broken_quoting_names_the_line() -> None:
    with pytest.raises(SourceError) as caught:
        csv_file('id,note\n1,ok\n2,"bad"quote\n')
    assert str(caught.value) == (
        "kunden.csv line 3: not valid CSV (',' expected after '\"'); check the quotes on that line"
    )


def test_a_cell_too_large_for_csv_is_refused_not_sniffed() -> None:
    huge = "x" * (csv.field_size_limit() + 1)
    with pytest.raises(
        SourceError, match=r"kunden.csv line 2: not valid CSV \(field larger than field limit"
    ):
        csv_file(f'id;note\n1;"{huge}"\n')


# --- Excel -------------------------------------------------------------------------------


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(row=number, column=column, value=value)
    book.save(path)
    return path


def test_each_sheet_is_a_table_with_cell_values_as_read(tmp_path: Path) -> None:
    when = datetime(2026, 12, 3, 9, 30)
    path = workbook(
        tmp_path / "kunden.xlsx",
        {
            "Leer": [],
            "Termine": [
                [],
                [None, None],
                [" ID ", "Dauer", "Preis", "Aktiv", "Beginn", 2026, "Notiz"],
                [1, 45, 37.5, True, when, "x", "   "],
                [],
                [2, 60, 12.0],
                [3, None, None, None, None, None, None, None, "stray"],
            ],
            "Nur Leerzeichen": [[" ", None]],
        },
    )
    source = read_source(path)
    assert source.ignored == ("Leer (an empty sheet)", "Nur Leerzeichen (an empty sheet)")
    found = only_table(source)
    assert (found.source, found.name) == ("kunden.xlsx", "Termine")
    assert wheres(found) == [
        "kunden.xlsx: Termine row 4",
        "kunden.xlsx: Termine row 6",
        "kunden.xlsx: Termine row 7",
    ]
    first, second, third = values(found)
    assert first == {
        "ID": 1,
        "Dauer": 45,
        "Preis": 37.5,
        "Aktiv": True,
        "Beginn": when,
        "2026": "x",
        "Notiz": None,
    }
    assert [type(first[name]) for name in ("ID", "Preis", "Aktiv", "Beginn")] == [int, float, bool, datetime]
    assert second == {
        "ID": 2,
        "Dauer": 60,
        "Preis": 12,
        "Aktiv": None,
        "Beginn": None,
        "2026": None,
        "Notiz": None,
    }
    assert third["__problem__"] == "has values right of the header's 7 columns"
    assert third["ID"] == 3


def test_an_empty_or_repeated_sheet_header_is_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path / "a.xlsx", {"Kunden": [[], ["ID", None, "Name"]]})
    with pytest.raises(SourceError, match=r"^a.xlsx: Kunden row 2: column 2 has no name in the header"):
        read_source(path)
    path = workbook(tmp_path / "b.xlsx", {"Kunden": [["ID", "ID"]]})
    with pytest.raises(SourceError, match=r"^b.xlsx: Kunden row 1: column\(s\) 'ID' appear more than once"):
        read_source(path)


def test_a_stale_dimension_tag_does_not_cut_columns_off(tmp_path: Path) -> None:
    good = workbook(tmp_path / "good.xlsx", {"Kunden": [["ID", "Name", "Tel"], [1, "Anna", "030 1"]]})
    stale = tmp_path / "stale.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(stale, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                assert b'<dimension ref="A1:C2" />' in data
                data = data.replace(b'<dimension ref="A1:C2" />', b'<dimension ref="A1:A1" />')
            target.writestr(item, data)
    assert values(only_table(read_source(stale))) == [{"ID": 1, "Name": "Anna", "Tel": "030 1"}]


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kunden.xlsx"
    path.write_bytes(b"ID;Name\n1;Anna\n")
    with pytest.raises(SourceError) as caught:
        read_source(path)
    assert str(caught.value) == (
        "kunden.xlsx is not an Excel .xlsx workbook (File is not a zip file); open it in Excel and "
        "save it as .xlsx, or export each sheet as CSV"
    )
    with zipfile.ZipFile(tmp_path / "other.xlsx", "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(SourceError, match=r"^other.xlsx is not an Excel .xlsx workbook \(.+\); open it"):
        read_source(tmp_path / "other.xlsx")


# --- the fixtures (tests/data/migration, described in its README.md) ----------------------


def test_localstorage_north() -> None:
    source = read_source(DATA / "localstorage-north.json")
    assert [t.name for t in source.tables] == ["salonbook:clients", "salonbook:appointments"]
    clients, appointments = source.tables
    assert [v["id"] for v in values(clients)] == ["c-101", "c-102", "c-103", "c-104"]
    assert values(clients)[0]["tel"] == "020 7840 6180"
    assert values(clients)[1]["updatedAt"] == 1795969200000
    assert wheres(clients)[3] == "localstorage-north.json: salonbook:clients[3]"
    assert [v["id"] for v in values(appointments)] == ["a-201", "a-202", "a-203", "a-204", "a-205"]
    assert values(appointments)[2]["clientId"] == "c-999"
    assert "clientId" not in values(appointments)[3]
    assert values(appointments)[0]["start"] == "2026-12-03T10:00:00"
    assert source.ignored == (
        "salonbook:appointments[5] (null, not a record)",
        "salonbook:settings (an object, not a list of records)",
        "lastSync (text, not a list of records)",
    )


def test_localstorage_south_keys_its_clients_by_id() -> None:
    source = read_source(DATA / "localstorage-south.json")
    clients, appointments = source.tables
    assert clients.name == "salonbook:clients"
    assert [(v["_key"], v["id"]) for v in values(clients)] == [
        ("c-101", "c-101"), ("c-102", "c-102"), ("c-103", "c-103"), ("c-105", "c-105"),
    ]  # fmt: skip
    assert wheres(clients)[3] == 'localstorage-south.json: salonbook:clients["c-105"]'
    assert values(clients)[0]["tel"] == "020 7840 6199"
    assert [v["id"] for v in values(appointments)] == ["a-301", "a-302", "a-303", "a-304"]
    assert values(appointments)[2]["start"] == "2027-03-28T01:30:00"
    assert values(appointments)[3]["mins"] == "60"
    assert source.ignored == (
        "salonbook:settings (an object, not a list of records)",
        "lastSync (a number, not a list of records)",
    )


def test_the_two_localstorage_dumps_share_three_clients() -> None:
    north = {v["id"]: v for v in values(read_source(DATA / "localstorage-north.json").tables[0])}
    south = {v["id"]: v for v in values(read_source(DATA / "localstorage-south.json").tables[0])}
    assert sorted(north.keys() & south.keys()) == ["c-101", "c-102", "c-103"]
    assert (north.keys() - south.keys(), south.keys() - north.keys()) == ({"c-104"}, {"c-105"})
    assert north["c-101"]["tel"] != south["c-101"]["tel"]
    assert north["c-102"]["mail"] != south["c-102"]["mail"]
    assert {**north["c-103"], "_key": "c-103"} == south["c-103"]


def test_the_cloud_folder_copies() -> None:
    cloud = read_source(DATA / "cloud-folder" / "bookings.json")
    assert [t.name for t in cloud.tables] == ["clients", "appointments"]
    clients, appointments = cloud.tables
    assert [v["id"] for v in values(clients)] == ["c-101", "c-102", "c-106", "c-106", "c-102"]
    assert values(clients)[2] == values(clients)[3]
    assert values(clients)[1]["updatedAt"] > values(clients)[4]["updatedAt"]
    assert values(clients)[1]["mail"] != values(clients)[4]["mail"]
    assert [v["id"] for v in values(appointments)] == ["a-201", "a-206", "a-206", "a-207", "a-207"]
    assert values(appointments)[1] == values(appointments)[2]
    assert (values(appointments)[3]["state"], values(appointments)[4]["state"]) == ("Booked", "Cancelled")
    assert cloud.ignored == (
        "app (text, not a list of records)",
        "version (a number, not a list of records)",
        "exportedAt (text, not a list of records)",
    )
    name = "bookings (conflicted copy 2026-11-28).json"
    copy = read_source(DATA / "cloud-folder" / name)
    assert copy.name == name
    copy_clients, copy_appointments = copy.tables
    assert copy_clients.source == name
    assert wheres(copy_clients)[2] == f"{name}: clients[2]"
    assert [v["id"] for v in values(copy_clients)] == ["c-101", "c-102", "c-106"]
    assert values(copy_clients)[1] == values(clients)[4]
    assert values(copy_clients)[2]["updatedAt"] > values(clients)[2]["updatedAt"]
    assert [v["mins"] for v in values(copy_appointments)] == [60, 60]


def test_kunden_xlsx() -> None:
    source = read_source(DATA / "kunden.xlsx")
    assert source.ignored == ("Hinweise (an empty sheet)",)
    kunden, termine = source.tables
    assert (kunden.name, termine.name) == ("Kunden", "Termine")
    assert [*values(kunden)[0]] == ["ID", "Name", "Telefon", "E-Mail", "Bemerkung", "Geändert"]
    assert values(kunden)[0] == {
        "ID": 1001, "Name": "Jürgen Müller", "Telefon": "030 1234567", "E-Mail": "j.mueller@example.de",
        "Bemerkung": "Färbung nur nach Allergietest", "Geändert": "02.12.2026 13:00",
    }  # fmt: skip
    assert (values(kunden)[2]["E-Mail"], values(kunden)[3]["Bemerkung"]) == (None, None)
    assert wheres(termine) == [f"kunden.xlsx: Termine row {n}" for n in (2, 3, 4, 5, 7, 8)]
    beginn = [v["Beginn"] for v in values(termine)]
    assert beginn[0] == "02.12.2026 13:00"
    assert beginn[1] == datetime(2026, 12, 3, 9, 30)
    assert values(termine)[2]["Dauer"] == 37.5
    assert [v["Status"] for v in values(termine)] == [
        "Gebucht", "Erledigt", "Storniert", "Nicht erschienen", "Gebucht", "Verschoben",
    ]  # fmt: skip
    assert [v.get("__problem__") for v in values(termine)] == [
        None, None, None, None, "has values right of the header's 7 columns", None,
    ]  # fmt: skip


def test_the_csv_twin_holds_the_same_rows_as_text() -> None:
    book = read_source(DATA / "kunden.xlsx")
    for sheet, file in zip(book.tables, ("Kunden.csv", "Termine.csv"), strict=True):
        twin = only_table(read_source(DATA / file))
        assert twin.name == sheet.name
        assert [r.where.split()[-1] for r in twin.records] == [r.where.split()[-1] for r in sheet.records]
        for text_row, cell_row in zip(values(twin), values(sheet), strict=True):
            assert text_row.keys() == cell_row.keys()
            assert text_row["ID"] == str(cell_row["ID"])
            assert all(v is None or isinstance(v, str) for v in text_row.values())
    termine = values(only_table(read_source(DATA / "Termine.csv")))
    assert (termine[1]["Beginn"], termine[2]["Dauer"]) == ("03.12.2026 09:30", "37,5")
    assert termine[4]["__problem__"] == "has 8 cells but the header has 7"
    kunden = values(only_table(read_source(DATA / "Kunden.csv")))
    assert kunden[4]["Bemerkung"] == "Kommt mit Hund; bitte Wassernapf"


def test_clients_latin1_csv() -> None:
    with pytest.raises(UnicodeDecodeError):
        (DATA / "clients-latin1.csv").read_bytes().decode("utf-8")
    found = only_table(read_source(DATA / "clients-latin1.csv"))
    assert found.name == "clients-latin1"
    assert wheres(found) == [f"clients-latin1.csv line {n}" for n in (2, 3, 5, 7, 8, 9)]
    names = [v["name"] for v in values(found)]
    assert names == [
        "Jürgen Müller",
        "Zoë Brontë",
        "Café Crème Ltd",
        "François Légère",
        "Søren Ærø",
        "Renée Noël",
    ]
    assert values(found)[2]["notes"] == "Allergie: Nüsse\nbitte beachten"
    assert values(found)[4]["__problem__"] == "has 6 cells but the header has 5"
    assert values(found)[4]["phone"] is None
    assert sum("__problem__" in v for v in values(found)) == 1
