"""CSV and JSON import and export of one collection, for IT scripts and staff.

Import reads the whole file before writing anything, so a file that cannot be read
(encoding, header) changes nothing. Then every row is one local write (validated,
queued in the outbox), in transactions of a few hundred rows; a refused row is
reported with its line (or item) number and the others still go in. A row with an
``id`` edits that row, one without creates a row.

JSON is the shape ``export --format json`` writes (a list of objects, or an object holding
the list under the collection's name), read with the server import's parsing and mapping
code (``protocol.transfer``): a branch can re-import its own export. ``null`` clears a
field of an edited row, like an empty CSV cell.

CSV cells are text: an empty cell is an empty field, and ``tags`` is written
``a;b`` (or a JSON list, when a tag holds a ``;``). A cell a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@``, tab, carriage return first) is exported behind a single
quote, as OWASP advises against CSV injection, and import takes that quote off again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from desktop.cache.cache import Cache
from desktop.cache.errors import BadFile, NotFound, StorageError, ValidationFailed
from desktop.cache.rows import Record, collection_named
from protocol.collections import COLLECTIONS, Collection, FieldKind
from protocol.timezones import zone_or_none
from protocol.transfer.mapping import Mapping, Refusal, identity_rule, map_record
from protocol.transfer.sources import SourceError, SourceTable, read_json_text
from protocol.transfer.transforms import is_empty

__all__ = [
    "ImportReport",
    "ParsedRow",
    "Problem",
    "defuse_formula",
    "export_csv",
    "export_json",
    "format_tags",
    "import_csv",
    "import_file",
    "import_json",
    "parse_csv",
    "parse_json",
    "parse_tags",
    "restore_formula",
]

_BATCH = 500
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one line (CSV) or item (JSON, numbered from 1) of an import was refused."""

    line: int
    message: str
    where: str | None = None
    """How to find it when not by line: ``clients[3]`` (JSON)."""


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """One data line: an edit of ``row_id`` (when given) or a new row."""

    line: int
    row_id: str | None
    fields: dict[str, Any]
    where: str | None = None
    """As ``Problem.where``, for a refusal when the row is written."""


@dataclass(slots=True)
class ImportReport:
    """What an import did; ``problems`` holds one entry per refused line."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    """Rows with an ``id`` whose every value the cache already held: nothing was queued."""
    problems: list[Problem] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.problems)


def parse_tags(cell: str) -> Any:
    """A tags cell as a list: ``a;b`` or a JSON list; anything else as is (validation refuses it)."""
    text = cell.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return [tag.strip() for tag in text.split(";") if tag.strip()]


def format_tags(tags: Sequence[str]) -> str:
    """Tags as one CSV cell that ``parse_tags`` reads back unchanged."""
    joined = ";".join(tags)
    if any(";" in tag for tag in tags) or joined.lstrip().startswith("["):
        return json.dumps(list(tags), ensure_ascii=False)
    return joined


def _lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the line each starts on; blank lines are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    previous_end = 0
    try:
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if cells and any(cell.strip() for cell in cells):
                yield start, cells
    except csv.Error as exc:
        raise BadFile(f"line {reader.line_num}: not valid CSV ({exc})") from exc


def _header(collection: Collection, cells: list[str]) -> list[str]:
    names = [cell.strip() for cell in cells]
    unknown = [name for name in names if name != "id" and collection.field(name) is None]
    if unknown:
        known = ", ".join(["id", *collection.field_names])
        raise BadFile(
            f"unknown column(s) {', '.join(map(repr, unknown))} for {collection.name} (known: {known})"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BadFile(f"column(s) {', '.join(map(repr, repeated))} appear more than once in the header")
    return names


# What makes a spreadsheet read a cell as a formula; the quote itself, so that it round-trips.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def defuse_formula(cell: str) -> str:
    """``cell`` behind a single quote when a spreadsheet would run it (or it starts with one)."""
    return _QUOTE + cell if cell.startswith((*_FORMULA_STARTS, _QUOTE)) else cell


def restore_formula(cell: str) -> str:
    """The exact inverse of ``defuse_formula`` on what it wrote; other cells stay as they are."""
    quoted = cell.startswith(_QUOTE) and cell[1:].startswith((*_FORMULA_STARTS, _QUOTE))
    return cell[1:] if quoted else cell


def _cell_value(collection: Collection, name: str, cell: str) -> Any:
    spec = collection.field(name)
    cell = restore_formula(cell)
    if not cell.strip():
        return None
    if spec is not None and spec.kind is FieldKind.TAGS:
        return parse_tags(cell)
    return cell


def parse_csv(collection: Collection, text: str) -> tuple[list[ParsedRow], list[Problem]]:
    """Pure: the data rows of a CSV file, and the lines that cannot be rows at all.

    Raises:
        BadFile: no header, an unknown or repeated column, or broken CSV.
    """
    records = _lines(text)
    first = next(records, None)
    if first is None:
        raise BadFile("the file is empty: the first line must name the columns")
    names = _header(collection, first[1])
    parsed: list[ParsedRow] = []
    problems: list[Problem] = []
    for line, cells in records:
        if len(cells) != len(names):
            problems.append(Problem(line, f"has {len(cells)} cells but the header has {len(names)}"))
            continue
        values = dict(zip(names, cells, strict=True))
        row_id = values.pop("id", "").strip() or None
        fields = {name: _cell_value(collection, name, cell) for name, cell in values.items()}
        if row_id is None:
            fields = {name: value for name, value in fields.items() if value is not None}
        parsed.append(ParsedRow(line, row_id, fields))
    return parsed, problems


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFile(f"{path} is not UTF-8 text (save it as UTF-8; in Excel: CSV UTF-8)") from exc
    except OSError as exc:
        raise BadFile(f"cannot read {path}: {exc.strerror or exc}") from exc


def parse_json(
    collection: Collection, text: str, *, name: str = "the file", zone: ZoneInfo = _UTC
) -> tuple[list[ParsedRow], list[Problem]]:
    """Pure: the rows of a JSON export, and the items that cannot be rows.

    Naive times (no offset) are taken in ``zone`` (the branch's).

    Raises:
        BadFile: not JSON, no list of rows, or a key that is not a field of the collection.
    """
    try:
        source = read_json_text(text, name=name, file_time=datetime.now(UTC))
    except SourceError as exc:
        raise BadFile(str(exc)) from exc
    table = _rows_table(collection, source.tables, name)
    problems: list[Problem] = [
        Problem(0, f"skipped: {item}", item.partition(" ")[0])
        for item in source.ignored
        if "not a record)" in item
    ]  # an item of the list that is not an object: said, not silently dropped
    known = {"id", *collection.field_names}
    unknown = sorted({key for record in table.records for key in record.values if key not in known})
    if unknown:
        names = ", ".join(map(repr, unknown))
        raise BadFile(f"unknown key(s) {names} for {collection.name} (known: {', '.join(sorted(known))})")
    mapping = Mapping(records=(identity_rule(collection, table.name),))
    parsed: list[ParsedRow] = []
    for number, record in enumerate(table.records, start=1):
        mapped = map_record(mapping, mapping.records[0], table, record, lambda _branch: zone)
        where = record.where.removeprefix(f"{table.source}: ")  # the CLI names the file itself
        if isinstance(mapped, Refusal):
            problems.append(Problem(number, mapped.reason, where))
            continue
        row_id = record.values.get("id")
        fields = dict(mapped.fields)
        if not is_empty(row_id):  # an edit: null and "" clear a field, as an empty CSV cell does
            fields.update(
                {key: None for key, value in record.values.items() if key != "id" and is_empty(value)}
            )
        parsed.append(ParsedRow(number, None if is_empty(row_id) else str(row_id).strip(), fields, where))
    return parsed, problems


def _rows_table(collection: Collection, tables: Sequence[SourceTable], name: str) -> SourceTable:
    """The list of rows in the file: the one named after the collection, else the only one
    (a top-level list) unless another record type's name says it holds those."""
    for table in tables:
        if table.name == collection.name:
            return table
    if len(tables) == 1 and tables[0].name not in COLLECTIONS:
        return tables[0]
    raise BadFile(
        f"{name} holds no list of {collection.name}: expected a JSON list of objects "
        f"(as `export --format json` writes) or an object with a {collection.name!r} list"
    )


def import_file(cache: Cache, collection_name: str, path: Path) -> ImportReport:
    """``import_json`` for a ``.json`` file, else ``import_csv``."""
    if path.suffix.casefold() == ".json":
        return import_json(cache, collection_name, path)
    return import_csv(cache, collection_name, path)


def import_json(cache: Cache, collection_name: str, path: Path) -> ImportReport:
    """Create or edit rows from a JSON file; see the module docstring.

    Raises:
        UnknownCollection, BadFile: nothing was saved.
        StorageError: the disk failed; the message says how many rows were saved before.
    """
    collection = collection_named(collection_name)
    directory, state = cache.directory(), cache.state()
    branch = directory.branch(state.branch_id)
    zone = (zone_or_none(branch.timezone) if branch is not None else None) or _UTC
    parsed, problems = parse_json(collection, _read(path), name=path.name, zone=zone)
    return _import_rows(cache, collection, parsed, problems)


def import_csv(cache: Cache, collection_name: str, path: Path) -> ImportReport:
    """Create or edit rows from a CSV file; see the module docstring.

    Raises:
        UnknownCollection, BadFile: nothing was saved.
        StorageError: the disk failed; the message says how many rows were saved before.
    """
    collection = collection_named(collection_name)
    parsed, problems = parse_csv(collection, _read(path))
    return _import_rows(cache, collection, parsed, problems)


def _import_rows(
    cache: Cache, collection: Collection, parsed: list[ParsedRow], problems: list[Problem]
) -> ImportReport:
    report = ImportReport(problems=problems)
    for start in range(0, len(parsed), _BATCH):
        try:
            _import_batch(cache, collection, parsed[start : start + _BATCH], report)
        except StorageError as exc:
            saved = report.created + report.updated
            raise StorageError(
                exc.problem, f"{exc} ({saved} rows were saved before this; the rest were not)"
            ) from exc
    report.problems.sort(key=lambda problem: problem.line)
    return report


def _import_batch(cache: Cache, collection: Collection, batch: list[ParsedRow], report: ImportReport) -> None:
    created = updated = unchanged = 0
    refused: list[Problem] = []
    with cache.batch() as writer:
        for row in batch:
            try:
                if row.row_id is None:
                    writer.create(collection.name, row.fields)
                    created += 1
                elif writer.update(collection.name, row.row_id, row.fields) is None:
                    unchanged += 1
                else:
                    updated += 1
            except (ValidationFailed, NotFound) as exc:
                refused.append(Problem(row.line, str(exc), row.where))
    report.created += created
    report.updated += updated
    report.unchanged += unchanged
    report.problems.extend(refused)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return defuse_formula(format_tags(value))
    return defuse_formula(str(value))


def export_csv(collection: Collection, records: Iterable[Record], out: TextIO) -> None:
    """Write ``records`` as CSV with an ``id`` column first."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", *collection.field_names])
    for record in records:
        writer.writerow([record.id, *(_cell(record.fields.get(name)) for name in collection.field_names)])


def export_json(collection: Collection, records: Iterable[Record], out: TextIO) -> None:
    """Write ``records`` as a JSON list of objects (``id`` and every field, null when empty)."""
    rows = [{"id": r.id, **{name: r.fields.get(name) for name in collection.field_names}} for r in records]
    json.dump(rows, out, ensure_ascii=False, indent=2)
    out.write("\n")
