"""CSV parsing and tags cells for import/export (the pure parts; the CLI tests run the rest)."""

from __future__ import annotations

import io

import pytest

from desktop.cache import BadFile, Record
from desktop.cache.transfer import (
    ParsedRow,
    Problem,
    defuse_formula,
    export_csv,
    format_tags,
    parse_csv,
    parse_tags,
    restore_formula,
)
from protocol.collections import CLIENTS


def test_rows_with_an_id_edit_only_their_columns_and_rows_without_create() -> None:
    text = "id,name,phone,tags\n,Ada,,vip; new \n6f1c7e0a-3a57-4d0e-9d7e-1f2a3b4c5d6e,,+1 555,\n"

    rows, problems = parse_csv(CLIENTS, text)

    assert problems == []
    assert rows == [
        ParsedRow(2, None, {"name": "Ada", "tags": ["vip", "new"]}),  # empty cells are simply absent
        ParsedRow(3, "6f1c7e0a-3a57-4d0e-9d7e-1f2a3b4c5d6e", {"name": None, "phone": "+1 555", "tags": None}),
    ]


def test_line_numbers_count_physical_lines_and_skip_blank_ones() -> None:
    text = 'name,notes\n\n"Ada","two\nlines"\nBea\n"Cy",x\n'

    rows, problems = parse_csv(CLIENTS, text)

    assert [(r.line, r.fields["name"]) for r in rows] == [(3, "Ada"), (6, "Cy")]
    assert problems == [Problem(5, "has 1 cells but the header has 2")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("name,colour\nAda,red\n", "unknown column.*'colour'"),
        ("name,name\nAda,Bea\n", "more than once"),
        ('name\n"Ada\n', "not valid CSV"),
    ],
)
def test_a_file_that_cannot_be_read_as_a_whole_is_refused(text: str, message: str) -> None:
    with pytest.raises(BadFile, match=message):
        parse_csv(CLIENTS, text)


def test_tags_cells_round_trip_through_export() -> None:
    for tags in (["vip", "new"], ["a;b", "c"], ["[odd"], []):
        assert parse_tags(format_tags(tags)) == tags
    assert parse_tags("[not json") == "[not json"  # left for validation to refuse


def test_export_writes_an_id_column_then_every_field() -> None:
    out = io.StringIO()
    export_csv(CLIENTS, [Record("clients", "r1", {"name": "Ada, B.", "tags": ["x"]}, {}, False)], out)
    assert out.getvalue() == 'id,name,phone,email,notes,home_branch_id,tags\nr1,"Ada, B.",,,,,x\n'


DANGEROUS = ['=HYPERLINK("https://example.invalid","x")', "+SUM(A1:A9)", "-2+3", "@cmd", "\tx", "\rx"]


def test_export_puts_a_quote_before_every_cell_a_spreadsheet_would_run() -> None:
    out = io.StringIO()
    fields = {"name": "=HYPERLINK(1)", "phone": "+44 20 7946 0000", "notes": "@cmd", "tags": ["-x"]}
    export_csv(CLIENTS, [Record("clients", "r1", fields, {}, False)], out)
    assert out.getvalue().splitlines()[1] == "r1,'=HYPERLINK(1),'+44 20 7946 0000,,'@cmd,,'-x"


@pytest.mark.parametrize("value", [*DANGEROUS, "'", "'=x", "''=x", "'plain", "plain", "a=b", ""])
def test_a_defused_cell_reads_back_as_it_was(value: str) -> None:
    assert restore_formula(defuse_formula(value)) == value
    assert not defuse_formula(value).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_an_exported_file_imports_back_to_the_same_values() -> None:
    fields = {"name": "=1+1", "phone": "+1 555 0100", "notes": "'quoted' and plain", "tags": ["@a", "b"]}
    out = io.StringIO()
    export_csv(CLIENTS, [Record("clients", "r1", fields, {}, False)], out)

    rows, problems = parse_csv(CLIENTS, out.getvalue())

    assert problems == []
    assert {name: rows[0].fields[name] for name in fields} == fields


def test_a_hand_made_cell_with_a_leading_quote_keeps_it() -> None:
    rows, _ = parse_csv(CLIENTS, "name\n'Connor\n")
    assert rows[0].fields["name"] == "'Connor"
