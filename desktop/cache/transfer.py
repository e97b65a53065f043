"""CSV import and CSV/JSON export of one collection, for IT scripts and staff.

Import reads the whole file before writing anything, so a file that cannot be read
(encoding, header) changes nothing. Then every row is one local write (validated,
queued in the outbox), in transactions of a few hundred rows; a refused row is
reported with its line number and the others still go in.

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
from pathlib import Path
from typing import Any, TextIO

from desktop.cache.cache import Cache
from desktop.cache.errors import BadFile, NotFound, StorageError, ValidationFailed
from desktop.cache.rows import Record, collection_named
from protocol.collections import Collection, FieldKind

__all__ = [
    "ImportReport",
    "ParsedRow",
    "Problem",
    "defuse_formula",
    "export_csv",
    "export_json",
    "format_tags",
    "import_csv",
    "parse_csv",
    "parse_tags",
    "restore_formula",
]

_BATCH = 500


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one line of an import was refused."""

    line: int
    message: str


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """One data line: an edit of ``row_id`` (when given) or a new row."""

    line: int
    row_id: str | None
    fields: dict[str, Any]


@dataclass(slots=True)
class ImportReport:
    """What an import did; ``problems`` holds one entry per refused line."""

    created: int = 0
    updated: int = 0
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
        raise BadFile(f"{path} is not UTF-8 text (save it as CSV UTF-8)") from exc
    except OSError as exc:
        raise BadFile(f"cannot read {path}: {exc.strerror or exc}") from exc


def import_csv(cache: Cache, collection_name: str, path: Path) -> ImportReport:
    """Create or edit rows from a CSV file; see the module docstring.

    Raises:
        UnknownCollection, BadFile: nothing was saved.
        StorageError: the disk failed; the message says how many rows were saved before.
    """
    collection = collection_named(collection_name)
    parsed, problems = parse_csv(collection, _read(path))
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
    created = updated = 0
    refused: list[Problem] = []
    with cache.batch() as writer:
        for row in batch:
            try:
                if row.row_id is None:
                    writer.create(collection.name, row.fields)
                    created += 1
                else:
                    writer.update(collection.name, row.row_id, row.fields)
                    updated += 1
            except (ValidationFailed, NotFound) as exc:
                refused.append(Problem(row.line, str(exc)))
    report.created += created
    report.updated += updated
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
