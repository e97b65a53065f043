"""Reading the old system's files into neutral tables of records.

A customer moving in brings whatever their old system left behind; this module turns
each file into ``SourceTable``\\ s of ``SourceRecord``\\ s (field -> value as read) and
nothing more: mapping onto our record types, ids and merging copies happen elsewhere.
Every record carries ``where`` (file and position), so a report can point IT staff at
the exact line, row or array item that was refused.

Formats, chosen by suffix:

``.json``
    A top-level array of objects is one table named after the file's stem. A top-level
    object is a container: a key holding an array of objects is a table of that name; a
    key holding an object whose values are all records (records keyed by id, common in
    localStorage apps) is a table whose records get the key as ``"_key"`` (unless they
    already have that field). A browser localStorage dump is an object of JSON-encoded
    *strings*: each string is decoded and read by the same rules (an array or records
    keyed by id: a table named by the storage key; an object of arrays: tables named by
    its inner keys). What holds no records (settings, timestamps, text that is not JSON,
    array items that are not objects) is listed in ``SourceFile.ignored``, not refused.
    Array positions in ``where`` are 0-based, as in the JSON itself.
``.csv`` / ``.tsv`` / ``.txt``
    The first non-blank line names the columns; blank lines (and lines of empty cells)
    are skipped; cells are text, an empty or whitespace-only cell is ``None``. The
    delimiter (``,`` ``;`` tab ``|``) is sniffed unless given (``.tsv`` defaults to tab).
    Trailing header cells that are empty are dropped, as spreadsheets write them. A row
    whose cell count differs from the header's still becomes a record, with the cells it
    has plus ``"__problem__"`` saying what is wrong, so the mapper refuses that one record
    with its line and the good rows still go in. ``where`` is the line the record starts on.
``.xlsx``
    Each sheet is a table named by its title; its first non-empty row names the columns
    (the CSV header rules apply); values are what the cell holds (text, int, float,
    bool, datetime), never converted. Empty sheets are listed in ``ignored``. A row with a
    value right of the header gets ``"__problem__"`` as in CSV.

Text files are decoded by ``decode``: an explicit encoding, else a byte-order mark, else
UTF-8, else the best Western single-byte guess (cp1252, Latin-1). A file that cannot be
read at all raises ``SourceError`` naming the file, the cause and what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "SourceError",
    "SourceFile",
    "SourceRecord",
    "SourceTable",
    "decode",
    "read_csv_text",
    "read_json_text",
    "read_source",
]

_PROBLEM = "__problem__"
_KEY = "_key"
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_ROWS = 20
# Restricted on purpose: on a short file charset_normalizer's open guess is often a
# Central European or Asian code page, while old Western exports are cp1252 / Latin-1.
_GUESSES = ["cp1252", "latin_1"]
_ENCODING_HINT = "name the file's encoding with --encoding (for example cp1252, latin-1 or utf-16)"


class SourceError(ValueError):
    """A file that cannot be read at all: the message names the file and says why and what to do."""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record as read: ``values`` are JSON types, CSV text (empty -> None) or .xlsx cell values."""

    values: dict[str, Any]
    where: str


@dataclass(frozen=True, slots=True)
class SourceTable:
    """One source collection (JSON key, sheet, CSV file) of one file."""

    source: str
    name: str
    records: tuple[SourceRecord, ...]
    file_time: datetime


@dataclass(frozen=True, slots=True)
class SourceFile:
    """Everything one file holds; ``ignored`` names what held no records, for the report."""

    name: str
    tables: tuple[SourceTable, ...]
    ignored: tuple[str, ...]


# --- files -------------------------------------------------------------------------------


def read_source(path: Path, *, encoding: str | None = None, delimiter: str | None = None) -> SourceFile:
    """Read one file of the old system, by its suffix; see the module docstring.

    Raises:
        SourceError: the file cannot be read, decoded or parsed, or its kind is not supported.
    """
    kind = path.suffix.lower()
    if kind not in (".json", ".csv", ".tsv", ".txt", ".xlsx"):
        raise SourceError(
            f"{path.name}: cannot read {kind or 'a file without a suffix'}; "
            "supported are .json, .csv/.tsv/.txt and .xlsx (save it in one of these)"
        )
    try:
        data = path.read_bytes()
        file_time = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if kind == ".xlsx":
        return _read_xlsx(data, name=path.name, file_time=file_time)
    text = decode(data, name=path.name, encoding=encoding)
    if kind == ".json":
        return read_json_text(text, name=path.name, file_time=file_time)
    if delimiter is None and kind == ".tsv":
        delimiter = "\t"
    return read_csv_text(text, name=path.name, file_time=file_time, delimiter=delimiter)


def decode(data: bytes, *, name: str, encoding: str | None = None) -> str:
    """``data`` as text: ``encoding`` if given, else a BOM, else UTF-8, else a Western guess.

    Raises:
        SourceError: an unknown encoding, bytes the encoding cannot decode, or no guess fits.
    """
    if encoding is not None:
        return _decode_as(data, encoding, name)
    bom = _bom_encoding(data)
    if bom is not None:
        return _decode_as(data, bom, name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_GUESSES).best()
    if best is None:
        raise SourceError(f"{name}: cannot tell its text encoding (is it a text file?); {_ENCODING_HINT}")
    return str(best)


def _bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark announces (Excel's "CSV UTF-8", Notepad's "Unicode")."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _decode_as(data: bytes, encoding: str, name: str) -> str:
    try:
        text = data.decode(encoding)
    except LookupError as exc:  # no such codec, or one that is not for text (rot13, base64)
        raise SourceError(f"{name}: unknown text encoding {encoding!r}; {_ENCODING_HINT}") from exc
    except UnicodeDecodeError as exc:
        offset = len(data) - len(exc.object) + exc.start  # utf-8-sig reports after its BOM
        raise SourceError(
            f"{name} is not {encoding} text: byte 0x{exc.object[exc.start]:02x} at position {offset} "
            f"cannot be decoded; {_ENCODING_HINT}"
        ) from exc
    return text.removeprefix("\ufeff")


# --- JSON --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Found:
    """What a JSON walk collects: tables in document order and the paths that held none."""

    source: str
    file_time: datetime
    tables: list[SourceTable]
    ignored: list[str]

    def table(self, name: str, records: Iterable[tuple[str, dict[str, Any]]]) -> None:
        rows = tuple(SourceRecord(values, f"{self.source}: {where}") for where, values in records)
        self.tables.append(SourceTable(self.source, name, rows, self.file_time))


def read_json_text(text: str, *, name: str, file_time: datetime) -> SourceFile:
    """Pure: the tables of a JSON document (a file, a cloud copy, a localStorage dump).

    Raises:
        SourceError: the text is not JSON (with line and column), or it is a lone scalar.
    """
    try:
        document = json.loads(text.removeprefix("\ufeff"))  # text read without utf-8-sig
    except json.JSONDecodeError as exc:
        raise SourceError(_not_json(name, exc)) from exc
    found = _Found(name, file_time, [], [])
    if isinstance(document, list):
        _array(found, Path(name).stem, document, "")
    elif isinstance(document, dict):
        for key, value in document.items():
            _top_level(found, key, value)
    else:
        raise SourceError(
            f"{name} holds {_describe(document)}, not records: expected an array of objects "
            "or an object of them"
        )
    return SourceFile(name, tuple(found.tables), tuple(found.ignored))


def _top_level(found: _Found, key: str, value: Any) -> None:
    """A key of the top-level object; strings may be localStorage values holding JSON."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            found.ignored.append(f"{key} (text, not a list of records)")
            return
        _stored(found, key, decoded)
    else:
        _member(found, key, value, key)


def _not_json(name: str, error: json.JSONDecodeError) -> str:
    """Where the file stops being JSON, with the text found there (or that it is empty)."""
    if not error.doc.strip():
        return f"{name} is empty: it holds no records"
    lines = error.doc.splitlines()
    line = lines[error.lineno - 1] if error.lineno <= len(lines) else ""
    found = line[error.colno - 1 : error.colno + 29].strip()
    at = f" (at {found!r})" if found else " (at the end of the line)"
    return f"{name} is not valid JSON: line {error.lineno} column {error.colno}: {error.msg}{at}"


def _stored(found: _Found, key: str, value: Any) -> None:
    """A decoded localStorage value: records keyed by id, or an object of collections."""
    if isinstance(value, dict) and not _keyed_records(value):
        before = len(found.tables)
        ignored = len(found.ignored)
        for inner, member in value.items():
            _member(found, inner, member, f"{key}.{inner}")
        if len(found.tables) == before:  # a settings object: name it once, not key by key
            del found.ignored[ignored:]
            found.ignored.append(f"{key} (an object, not a list of records)")
    else:
        _member(found, key, value, key)


def _member(found: _Found, name: str, value: Any, path: str) -> None:
    """One value of a container: an array of records, records keyed by id, or neither."""
    if isinstance(value, list):
        _array(found, name, value, path)
    elif isinstance(value, dict) and _keyed_records(value):
        found.table(name, _keyed(value, path))
    else:
        found.ignored.append(f"{path} ({_describe(value)}, not a list of records)")


def _array(found: _Found, name: str, items: list[Any], path: str) -> None:
    if items and not any(isinstance(item, dict) for item in items):
        found.ignored.append(f"{path or name} (a list without records in it)")
        return
    records: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            records.append((f"{path}[{index}]", item))
        else:
            found.ignored.append(f"{path}[{index}] ({_describe(item)}, not a record)")
    found.table(name, records)


def _keyed_records(value: dict[str, Any]) -> bool:
    """Records keyed by id: every value an object with a plain field, not more collections."""
    return bool(value) and all(
        isinstance(record, dict) and (not record or any(not isinstance(v, dict) for v in record.values()))
        for record in value.values()
    )


def _keyed(value: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, record in value.items():
        values = dict(record)
        values.setdefault(_KEY, key)
        yield f"{path}[{json.dumps(key, ensure_ascii=False)}]", values


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "an object" if isinstance(value, dict) else "a list"


# --- CSV ---------------------------------------------------------------------------------


def read_csv_text(text: str, *, name: str, file_time: datetime, delimiter: str | None = None) -> SourceFile:
    """Pure: one table named after the file's stem; see the module docstring.

    Raises:
        SourceError: broken quoting, a delimiter that is not one character, or an empty or
            repeated column name.
    """
    text = text.removeprefix("\ufeff")
    stem = Path(name).stem
    chosen = _sniff(text) if delimiter is None else _checked_delimiter(delimiter, name)
    rows = _csv_rows(text, chosen, name)
    first = next(rows, None)
    if first is None:
        return SourceFile(name, (), (f"{stem} (an empty file, no header line)",))
    line, cells = first
    header = _header(cells, f"{name} line {line}")
    records = tuple(SourceRecord(_csv_values(header, cells), f"{name} line {start}") for start, cells in rows)
    return SourceFile(name, (SourceTable(name, stem, records, file_time),), ())


def _checked_delimiter(delimiter: str, name: str) -> str:
    """The delimiter given on the command line, where a tab is often typed as ``\\t`` or ``tab``."""
    if delimiter in ("\\t", "tab"):
        return "\t"
    if len(delimiter) != 1:
        raise SourceError(f"{name}: the delimiter must be one character, not {delimiter!r}")
    return delimiter


def _sniff(text: str) -> str:
    """The candidate that splits the header into most columns and the next rows alike.

    Counting what the csv module parses (not raw characters) keeps quoted commas and
    ``;`` inside notes from voting; a file no candidate splits is one column wide.
    """

    def score(delimiter: str) -> tuple[int, int]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            sample = [cells for cells in itertools.islice(reader, _SNIFF_ROWS) if _filled(cells)]
        except csv.Error:  # e.g. a cell over the size limit: the real parse reports it
            return (0, 0)
        width = len(sample[0]) if sample else 1
        if width < 2:
            return (0, 0)
        return (sum(len(cells) == width for cells in sample), width)

    return max(_DELIMITERS, key=score)


def _filled(cells: Sequence[Any]) -> bool:
    return any(_value(cell) is not None for cell in cells)


def _csv_rows(text: str, delimiter: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV records with the line each starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    previous_end = 0
    try:
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if _filled(cells):
                yield start, cells
    except csv.Error as exc:
        raise SourceError(
            f"{name} line {reader.line_num}: not valid CSV ({exc}); check the quotes on that line"
        ) from exc


def _header(cells: Sequence[Any], where: str) -> list[str]:
    """Column names: stripped, trailing empty ones dropped, none empty or repeated."""
    names = [str(cell).strip() if cell is not None else "" for cell in cells]
    while names and not names[-1]:
        names.pop()
    for column, header in enumerate(names, start=1):
        if not header:
            raise SourceError(f"{where}: column {column} has no name in the header; give every column a name")
    repeated = sorted({header for header in names if names.count(header) > 1})
    if repeated:
        raise SourceError(
            f"{where}: column(s) {', '.join(map(repr, repeated))} appear more than once in the header; "
            "rename one of them"
        )
    return names


def _csv_values(header: list[str], cells: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {name: _value(cell) for name, cell in zip(header, cells, strict=False)}
    extra = cells[len(header) :]
    if len(cells) < len(header) or _filled(extra):
        values[_PROBLEM] = f"has {len(cells)} cells but the header has {len(header)}"
    return values


def _value(cell: Any) -> Any:
    """Empty and whitespace-only text is no value; anything else stays as read."""
    if isinstance(cell, str) and not cell.strip():
        return None
    return cell


# --- Excel -------------------------------------------------------------------------------


def _read_xlsx(data: bytes, *, name: str, file_time: datetime) -> SourceFile:
    """Every sheet of a workbook; openpyxl is imported here so JSON/CSV runs never load it."""
    sheets = _load_sheets(data, name)
    tables: list[SourceTable] = []
    ignored: list[str] = []
    for title, rows in sheets:
        table = _sheet_table(name, title, rows, file_time)
        if table is None:
            ignored.append(f"{title} (an empty sheet)")
        else:
            tables.append(table)
    return SourceFile(name, tuple(tables), tuple(ignored))


def _load_sheets(data: bytes, name: str) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Each worksheet's title and rows (row 1 first, whatever the file claims its size is)."""
    import openpyxl

    try:
        with warnings.catch_warnings():
            # "Data Validation extension is not supported" and the like: features we do not
            # read, told on every run to IT staff who can do nothing about them.
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                return [(sheet.title, _sheet_rows(sheet)) for sheet in book.worksheets]
            finally:
                book.close()
    # A damaged workbook fails deep inside openpyxl as zipfile, KeyError or XML errors
    # alike; each is the file's fault, not ours, and the user needs the same advice.
    except Exception as exc:
        cause = str(exc) or type(exc).__name__
        raise SourceError(
            f"{name} is not an Excel .xlsx workbook ({cause}); open it in Excel and save it "
            "as .xlsx, or export each sheet as CSV"
        ) from exc


def _sheet_rows(sheet: Any) -> list[tuple[Any, ...]]:
    sheet.reset_dimensions()  # a stale <dimension> tag would cut rows or columns off
    return list(sheet.iter_rows(min_row=1, min_col=1, values_only=True))


def _sheet_table(
    source: str, title: str, rows: list[tuple[Any, ...]], file_time: datetime
) -> SourceTable | None:
    numbered = [(number, cells) for number, cells in enumerate(rows, start=1) if _filled(cells)]
    if not numbered:
        return None
    (header_row, header_cells), *body = numbered
    header = _header(header_cells, f"{source}: {title} row {header_row}")
    where = f"{source}: {title} row"
    records = tuple(SourceRecord(_sheet_values(header, cells), f"{where} {number}") for number, cells in body)
    return SourceTable(source, title, records, file_time)


def _sheet_values(header: list[str], cells: tuple[Any, ...]) -> dict[str, Any]:
    padded = list(cells) + [None] * (len(header) - len(cells))
    values: dict[str, Any] = {name: _value(cell) for name, cell in zip(header, padded, strict=False)}
    if _filled(padded[len(header) :]):
        values[_PROBLEM] = f"has values right of the header's {len(header)} columns"
    return values
