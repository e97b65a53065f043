"""A first mapping guessed from the old system's tables (``branchsync-server import --infer``).

Whoever moves a company off its old booking system rarely knows its field names by heart,
and nobody should have to type a mapping from nothing. ``infer_mapping`` looks at the
tables ``protocol.transfer.sources`` read and writes the mapping it would guess: which
table holds clients and which appointments, which field is the old id, which holds the
phone number, which date format the old system wrote, which status words mean what. It
guesses from names (English and German, as our customers are in the UK and Germany,
compared without case, spaces, ``_`` and ``-``) and from sample values (unique ids, date
layouts, commas in tags, phone numbers without ``+country``). What it could not decide it
says in ``notes``, so the IT person checks those lines first, and every source field it
left out is listed next to its record type, so nothing is dropped unseen.

The synonym tables below are the whole of its knowledge: a new word for "phone" is a new
entry there, not new code. Pure: no files, no I/O; the CLI prints ``to_yaml()``.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import yaml

from protocol.collections import COLLECTIONS, FieldKind
from protocol.transfer import transforms
from protocol.transfer.mapping import DEFAULT_SYSTEM, PROBLEM_KEY
from protocol.transfer.sources import SourceTable

__all__ = ["InferredMapping", "infer_mapping"]


def _norm(name: str) -> str:
    """A name as compared: ``Full_Name``, ``full-name`` and ``fullname`` are one name."""
    return re.sub(r"[\s_-]+", "", name).casefold()


def _words(*words: str) -> tuple[str, ...]:
    """Synonyms as written for people, kept as compared; the likeliest first."""
    return tuple(_norm(word) for word in words)


# --- what the names mean -------------------------------------------------------------

_TABLE_NAMES: Final = {
    "clients": _words(
        "clients", "client", "customers", "customer", "kunden", "kunde", "patients", "patienten", "patient",
        "contacts", "kontakte",
    ),
    "appointments": _words(
        "appointments", "appointment", "bookings", "booking", "termine", "termin", "visits", "visit",
        "reservations", "reservation", "reservierungen", "buchungen", "buchung", "besuche",
    ),
}  # fmt: skip
"""A table whose name (after any ``salonbook:`` prefix) ends in one of these holds that type."""

_ID_NAMES: Final = _words("id", "uuid", "guid", "key")
_ID_STEMS: Final = {
    "clients": ("client", "customer", "kunden", "kunde", "patient", "contact"),
    "appointments": ("appointment", "booking", "termin", "visit", "reservation", "buchung", "buchungs"),
}
_ID_SUFFIXES: Final = ("id", "uuid", "key", "nr", "nummer", "number", "no")
_NUMBER_NAMES: Final = _words("nr", "nummer")
_UPDATED_NAMES: Final = _words(
    "updated at", "updated", "last updated", "last update", "modified", "modified at", "last modified",
    "date modified", "changed", "changed at", "last changed", "geändert", "geaendert", "geändert am",
    "geaendert am", "aktualisiert", "aktualisiert am", "letzte änderung", "mtime",
)  # fmt: skip

_BRANCH_NAMES: Final = _words(
    "branch", "branch name", "branch id", "home branch", "salon", "location", "store", "shop", "filiale",
    "standort", "stammfiliale",
)  # fmt: skip
_NOTE_NAMES: Final = _words(
    "notes", "note", "memo", "comment", "comments", "remarks", "bemerkung", "bemerkungen", "notiz",
    "notizen", "hinweis", "hinweise", "kommentar", "anmerkung", "anmerkungen",
)  # fmt: skip
_NAME_NAMES: Final = _words("name", "full name", "client name", "customer name", "kundenname", "display name")
_FIRST_NAMES: Final = _words("first name", "given name", "forename", "vorname", "first")
_LAST_NAMES: Final = _words("last name", "surname", "family name", "nachname", "familienname", "last")
_PHONE_NAMES: Final = _words(
    "phone", "phone number", "tel", "telephone", "telefon", "telefonnummer", "mobile", "mobile phone",
    "mobil", "handy", "cell",
)  # fmt: skip
_EMAIL_NAMES: Final = _words("email", "mail", "email address", "e-mail-adresse")
_CLIENT_LINK_NAMES: Final = _words(
    "client id", "customer id", "client", "customer", "kunden id", "kunde id", "kundennr", "kundennummer",
    "kunde", "kunden", "patient id", "patient",
)  # fmt: skip
_START_NAMES: Final = _words(
    "starts at", "start", "start time", "begin", "beginn", "datetime", "startzeit", "termin zeitpunkt"
)
_DURATION_NAMES: Final = _words("duration", "duration min", "mins", "minutes", "length", "dauer", "minuten")
_DATE_NAMES: Final = _words("date", "datum", "appointment date", "termindatum", "booking date")
_TIME_NAMES: Final = _words("time", "uhrzeit", "zeit", "appointment time", "terminzeit")


@dataclass(frozen=True, slots=True)
class _Rule:
    """Where one Branchsync field is looked for."""

    target: str
    names: tuple[str, ...]
    """Compared source field names, the likeliest first."""
    link: str | None = None
    join: str | None = None
    """Every matching field is mapped, joined by this; None: only the likeliest one."""


_RULES: Final = {
    "clients": (
        _Rule("name", _NAME_NAMES),
        _Rule("phone", _PHONE_NAMES),
        _Rule("email", _EMAIL_NAMES),
        _Rule("notes", _NOTE_NAMES, join="\n"),
        _Rule("home_branch_id", _BRANCH_NAMES, link="branches"),
        _Rule("tags", _words("tags", "tag", "labels", "label", "categories", "kategorien", "schlagworte")),
    ),
    "appointments": (
        _Rule("client_id", _CLIENT_LINK_NAMES, link="clients"),
        _Rule("branch_id", _BRANCH_NAMES, link="branches"),
        _Rule("starts_at", _START_NAMES),
        _Rule("duration_min", _DURATION_NAMES),
        _Rule("service", _words("service", "treatment", "leistung", "behandlung", "dienstleistung")),
        _Rule("status", _words("status", "state", "zustand")),
        _Rule("notes", _NOTE_NAMES, join="\n"),
    ),
}
"""Per record type, in the order of its fields in ``protocol.collections``."""
_FIELDS: Final = {c.name: {f.name: f for f in c.fields} for c in COLLECTIONS.values()}

_STATUS_WORDS: Final = {
    _norm(word): status
    for status, words in {
        "booked": ("booked", "gebucht", "confirmed", "bestätigt", "bestaetigt", "scheduled", "geplant",
                   "reserved", "reserviert"),
        "done": ("done", "completed", "complete", "erledigt", "abgeschlossen", "finished", "attended",
                 "durchgeführt"),
        "cancelled": ("cancelled", "canceled", "storniert", "abgesagt"),
        "no_show": ("no show", "noshow", "missed", "nicht erschienen", "not attended"),
    }.items()
    for word in words
}  # fmt: skip
"""A status word, as compared -> the Branchsync status it means."""

# --- what the values say -------------------------------------------------------------

_SAMPLES: Final = 200
"""Values looked at per field for its date layout: enough to see every layout an export mixes."""
_TIMES: Final = (" %H:%M:%S", " %H:%M", " %I:%M %p", "")
_DAY_FIRST: Final = tuple(
    f"%d{sep}%m{sep}{year}{time}" for sep in "./-" for year in ("%Y", "%y") for time in _TIMES
)
_MONTH_FIRST: Final = {fmt: fmt.replace("%d/%m", "%m/%d") for fmt in _DAY_FIRST if "/" in fmt}
"""The US reading of each day-first slash layout: ``03/04/2026`` is both."""
_FORMATS: Final = (*_DAY_FIRST, *(f"%Y/%m/%d{time}" for time in _TIMES), *_MONTH_FIRST.values())
"""Layouts tried on text that is not ISO 8601, preferred in this order (day-first: UK and DE)."""
_EPOCH_TEXT: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?")

_ABSOLUTE, _NAIVE, _TEXT = "absolute", "naive", "text"


# --- the result ----------------------------------------------------------------------


@dataclass(frozen=True)
class InferredMapping:
    """The guessed mapping, what to check in it, and what it left out.

    ``document`` is the mapping as ``parse_mapping`` reads it; ``notes`` are the guesses an
    IT person must check; ``unmapped`` lists, per record type in the document, the source
    fields no Branchsync field reads; ``sources`` names the files the tables came from.
    """

    document: dict[str, Any]
    notes: list[str]
    unmapped: dict[str, list[str]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def to_yaml(self) -> str:
        """The mapping file to edit: a header saying what it is, the notes, then the document.

        Comments cannot be attached by PyYAML, so each record type is dumped on its own and
        indented under ``records:``, with its ``unmapped`` comment above it. What
        ``yaml.safe_load`` reads back equals ``document``.
        """
        parts = [self._header()]
        for key, value in self.document.items():
            if key == "records" and isinstance(value, dict) and value:
                parts.append("records:\n")
                for kind, entry in value.items():
                    parts.append(f"  {kind}:\n")
                    unmapped = ", ".join(self.unmapped.get(kind, [])) or "none"
                    parts.append(_comment(f"unmapped: {unmapped}", indent="    "))
                    parts.append(_indent(_dump(entry), "    "))
            else:
                parts.append(_dump({key: value}))
        return "".join(parts)

    def _header(self) -> str:
        lines = [
            _comment("Branchsync import mapping, guessed by `branchsync-server import --infer`."),
            _comment(f"Read from: {', '.join(self.sources) or 'no files'}."),
            _comment("A starting point, not a finished mapping: check every guess, above all those the notes "
                     "below name, and each record type's `unmapped` source fields (add those you need "
                     "under its `fields`). Then import with: "
                     "branchsync-server import --mapping mapping.yaml SOURCE..."),
            "#\n",
        ]  # fmt: skip
        if not self.notes:
            lines.append(_comment("Notes: none; still check every guess."))
        else:
            lines.append(_comment("Notes, to check before importing:"))
            lines.extend(_comment(note, first="# - ", rest="#   ") for note in self.notes)
        lines.append("\n")
        return "".join(lines)


def _comment(text: str, *, indent: str = "", first: str = "# ", rest: str = "# ") -> str:
    """``text`` as comment lines; what YAML would read as a line break becomes a space."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    lines = textwrap.wrap(
        printable, width=100, initial_indent=indent + first, subsequent_indent=indent + rest,
        break_long_words=False, break_on_hyphens=False,
    )  # fmt: skip
    return "".join(f"{line}\n" for line in lines)


def _indent(text: str, prefix: str) -> str:
    """Every line of ``text`` indented; ``_Dumper`` writes no line break but ``\\n``."""
    return "".join(f"{prefix}{line}\n" for line in text.removesuffix("\n").split("\n"))


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no types (types-PyYAML is not installed)
    """Text holding a line break is written double-quoted, with the break escaped.

    Plain and single-quoted text may be written over several lines, and some line breaks
    (U+2028) are not ``\\n``; escaped, every line of the output is a line of the document,
    which ``_indent`` can shift safely.
    """


def _represent_text(dumper: Any, text: str) -> Any:
    """PyYAML's own choice of style, except double quotes for text with a line break."""
    breaks = any(ch in text for ch in "\n\r\x85\u2028\u2029")
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"' if breaks else None)


_Dumper.add_representer(str, _represent_text)


def _dump(data: Any) -> str:
    """Block style, keys in the document's order, umlauts as written (IT people edit this)."""
    text: str = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
    return text


# --- guessing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Group:
    """The tables of one record type, read as one: a mapping entry's ``from`` names them all."""

    kind: str
    tables: tuple[SourceTable, ...]
    fields: tuple[str, ...]
    """The union of their fields, in the order first seen."""

    def values(self, name: str) -> list[Any]:
        """The non-empty values of field ``name`` in every record."""
        return [
            record.values[name]
            for table in self.tables
            for record in table.records
            if not transforms.is_empty(record.values.get(name))
        ]

    def where(self, name: str) -> str:
        """``Table.field`` for notes, naming the first table that has the field."""
        table = next(t for t in self.tables if any(name in r.values for r in t.records))
        return f"{table.name}.{name}"


@dataclass
class _Findings:
    """What the guessing noticed on the way, gathered for ``InferredMapping.notes``."""

    notes: list[str] = field(default_factory=list)
    naive: list[str] = field(default_factory=list)
    """``Table.field`` of date fields that hold times without a UTC offset."""


def infer_mapping(tables: Sequence[SourceTable]) -> InferredMapping:
    """The mapping a person would probably write for ``tables``, with what to check in it."""
    findings = _Findings()
    groups = _groups(tables, findings)
    records: dict[str, Any] = {}
    unmapped: dict[str, list[str]] = {}
    for group in groups:
        inferred = _entry(group, findings)
        if inferred is not None:
            records[group.kind], unmapped[group.kind] = inferred
    used = [group for group in groups if group.kind in records]
    if findings.naive:
        findings.notes.append(
            f"Times without a UTC offset ({', '.join(findings.naive)}) are read in the time zone of the "
            "record's branch (else the default branch's); set `timezone` at the top if the old system "
            "kept another one."
        )
    return InferredMapping(
        document={"system": _system(used), "records": records},
        notes=findings.notes,
        unmapped=unmapped,
        sources=list(dict.fromkeys(table.source for table in tables)),
    )


def _groups(tables: Sequence[SourceTable], findings: _Findings) -> list[_Group]:
    """Tables by record type (clients first); a table of neither is noted and left out."""
    by_kind: dict[str, list[SourceTable]] = {kind: [] for kind in _TABLE_NAMES}
    for table in tables:
        kind = _record_type(table)
        if kind is None:
            fields = ", ".join(_fields_of([table])) or "none"
            findings.notes.append(
                f"{table.source}: the table {table.name!r} (fields: {fields}) "
                "looks like neither clients nor appointments and is left out; add it to a record type's "
                "`from` if it is one."
            )
        else:
            by_kind[kind].append(table)
    return [_Group(kind, tuple(group), _fields_of(group)) for kind, group in by_kind.items() if group]


def _fields_of(tables: Sequence[SourceTable]) -> tuple[str, ...]:
    """Every field any record has, in the order first seen; the reader's problem marker is none."""
    names = dict.fromkeys(name for table in tables for record in table.records for name in record.values)
    names.pop(PROBLEM_KEY, None)
    return tuple(names)


def _record_type(table: SourceTable) -> str | None:
    """By the table's name, else by its fields: a client link and a start, or a name and a contact."""
    name = _norm(table.name)
    for kind, words in _TABLE_NAMES.items():
        if name.endswith(words):
            return kind
    fields = _fields_of([table])

    def has(*names: tuple[str, ...]) -> bool:
        return any(_matches(fields, words) for words in names)

    if has(_CLIENT_LINK_NAMES) and has(_START_NAMES, _DATE_NAMES):
        return "appointments"
    if has(_NAME_NAMES, _FIRST_NAMES, _LAST_NAMES) and has(_PHONE_NAMES, _EMAIL_NAMES):
        return "clients"
    return None


def _matches(fields: Sequence[str], names: tuple[str, ...]) -> list[str]:
    """The fields called one of ``names``, the likeliest first (ties: as the source orders them)."""
    return sorted((f for f in fields if _norm(f) in names), key=lambda f: names.index(_norm(f)))


def _system(groups: Sequence[_Group]) -> str:
    """The old ids' namespace: the prefix every table shares (``salonbook:clients``), else legacy."""
    prefixes = {table.name.rpartition(":")[0] for group in groups for table in group.tables}
    return prefixes.pop() if len(prefixes) == 1 and "" not in prefixes else DEFAULT_SYSTEM


def _entry(group: _Group, findings: _Findings) -> tuple[dict[str, Any], list[str]] | None:
    """The record type's mapping entry and its unmapped fields; None when it has no id field."""
    legacy_id = _legacy_id(group, findings)
    if legacy_id is None:
        return None
    names = list(dict.fromkeys(table.name for table in group.tables))
    entry: dict[str, Any] = {"from": names[0] if len(names) == 1 else names, "legacy_id": legacy_id}
    used = [legacy_id]
    updated = _matches(group.fields, _UPDATED_NAMES)[:1]
    if updated:
        entry["updated_at"] = updated[0]
        used += updated
        entry.update(_datetime_formats(group, updated[0], "updated_at_format", findings))
    fields: dict[str, Any] = {}
    for rule in _RULES[group.kind]:
        sources = _sources(group, rule, findings)
        if sources:
            fields[rule.target] = _field_spec(group, rule, sources, findings)
            used += sources
        elif _FIELDS[group.kind][rule.target].required:
            findings.notes.append(
                f"{group.kind}.{rule.target}: no source field found, and it is required; "
                "map one under `fields`."
            )
    entry["fields"] = fields
    return entry, [name for name in group.fields if name not in used]


def _legacy_id(group: _Group, findings: _Findings) -> str | None:
    """The id-like field whose values are unique within each table (copies in several tables
    of one record type share ids: they are merged), else the most id-like one, noted."""
    stems = [stem + suffix for stem in _ID_STEMS[group.kind] for suffix in _ID_SUFFIXES]
    candidates = _matches(group.fields, (*_ID_NAMES, *stems, *_NUMBER_NAMES))
    if not candidates:
        findings.notes.append(
            f"{group.kind} ({', '.join(t.name for t in group.tables)}): no id field (such as id, ID, Nr, "
            f"uuid, {group.kind[:-1]}Id), so they are left out; the import needs the field that identifies "
            f"a record (`legacy_id`) to make re-runs safe: add the entry by hand."
        )
        return None
    # Present in every record first (an id only some copies carry cannot match the others),
    # then unique within each table; otherwise in the order of how id-like the name is.
    choice = min(candidates, key=lambda name: (not _complete(group, name), not _unique(group, name)))
    if not _complete(group, choice):
        findings.notes.append(
            f"{group.where(choice)}: used as `legacy_id`, but some records have no value in it; they "
            "will be refused: check it."
        )
    elif not _unique(group, choice):
        findings.notes.append(
            f"{group.where(choice)}: used as `legacy_id`, but some values repeat within a table; records "
            "with one id are merged as copies of one record (the newest value of each field wins): check "
            "that they are copies."
        )
    return choice


def _complete(group: _Group, name: str) -> bool:
    """Whether every record of every table has a value in ``name``."""
    return all(
        not transforms.is_empty(record.values.get(name)) for table in group.tables for record in table.records
    )


def _unique(group: _Group, name: str) -> bool:
    """Whether ``name`` has values and none repeats within a table (as the import compares ids)."""
    if not group.values(name):
        return False
    for table in group.tables:
        present = [r.values.get(name) for r in table.records]
        ids = [_id_text(value) for value in present if not transforms.is_empty(value)]
        if len(set(ids)) != len(ids):
            return False
    return True


def _id_text(value: Any) -> str:
    """An id as the import compares it (``12.0`` is ``12``); a list or table by its repr."""
    try:
        return transforms.to_text(value)
    except transforms.TransformError:
        return repr(value)


def _sources(group: _Group, rule: _Rule, findings: _Findings) -> list[str]:
    """The source field(s) for ``rule``; of several candidates for one field, the likeliest, noted."""
    found = _matches(group.fields, rule.names)
    if not found:
        return _FALLBACKS.get(rule.target, _nothing)(group, findings)
    if rule.join is not None:
        return [name for name in group.fields if name in found]  # joined as the old system orders them
    if len(found) > 1:
        findings.notes.append(
            f"{group.kind}.{rule.target}: read from {found[0]}; also possible, and left unmapped: "
            f"{', '.join(found[1:])}."
        )
    return found[:1]


def _nothing(group: _Group, findings: _Findings) -> list[str]:
    """No second way to find the field: it stays unmapped."""
    return []


def _first_and_last(group: _Group, findings: _Findings) -> list[str]:
    """A name kept as first and last name is both, joined by a space (the format's default join)."""
    return _matches(group.fields, _FIRST_NAMES)[:1] + _matches(group.fields, _LAST_NAMES)[:1]


def _date_without_time(group: _Group, findings: _Findings) -> list[str]:
    """A start kept as a date field and a time field: the date is mapped, and the note says how
    to add the time (a guessed join of two fields would need a guessed combined format)."""
    dates = _matches(group.fields, _DATE_NAMES)[:1]
    times = _matches(group.fields, _TIME_NAMES)[:1]
    if dates and times:
        findings.notes.append(
            f"{group.where(dates[0])}: date and time are separate fields ({dates[0]}, {times[0]}); starts_at "
            f"reads only {dates[0]}, so every appointment would start at midnight. Use "
            f"`from: [{dates[0]}, {times[0]}]` with a `format` for the joined text (such as "
            '"%d.%m.%Y %H:%M"), or drop the `format` if both are ISO.'
        )
    return dates


_FALLBACKS: Final[dict[str, Callable[[_Group, _Findings], list[str]]]] = {
    "name": _first_and_last,
    "starts_at": _date_without_time,
}
"""Where a field is looked for when no single source field is named like it."""


def _field_spec(group: _Group, rule: _Rule, sources: list[str], findings: _Findings) -> Any:
    """The field's entry: ``tel`` alone, or a table when it needs more keys than ``from``."""
    spec: dict[str, Any] = {"from": sources[0] if len(sources) == 1 else sources}
    if rule.join is not None and len(sources) > 1:
        spec["join"] = rule.join
    if rule.link is not None:
        spec["link"] = rule.link
    kind = _FIELDS[group.kind][rule.target].kind
    spec.update(_BY_KIND.get(kind, _no_keys)(group, sources[0], findings))
    return sources[0] if spec == {"from": sources[0]} else spec


def _no_keys(group: _Group, name: str, findings: _Findings) -> dict[str, Any]:
    """Text, e-mail, integer and uuid fields need nothing but ``from`` (and ``link``, from the rule)."""
    return {}


def _datetime_field(group: _Group, name: str, findings: _Findings) -> dict[str, Any]:
    """A date field's ``format``, like the record's ``updated_at_format``."""
    return _datetime_formats(group, name, "format", findings)


def _datetime_formats(group: _Group, name: str, key: str, findings: _Findings) -> dict[str, Any]:
    """``{key: layout(s)}`` for text dates that are not ISO 8601 (ISO and epochs always work).

    Looks at up to ``_SAMPLES`` values spread over the records, picks the fewest layouts that
    read them (``_cover``) and notes values no layout reads, a day-first reading that could
    as well be month-first, and times without an offset (for the top-level note).
    """
    values = group.values(name)
    samples = values[:: max(1, -(-len(values) // _SAMPLES))]
    kinds = [(value, _time_kind(value)) for value in samples]
    where = group.where(name)
    if any(kind != _ABSOLUTE for _, kind in kinds):
        findings.naive.append(where)
    texts = [str(value).strip() for value, kind in kinds if kind == _TEXT]
    chosen, unread, ambiguous = _cover(texts)
    if unread:
        findings.notes.append(
            f"{where}: {len(unread)} of {len(samples)} sampled values are in no known date layout "
            f"(such as {unread[0]!r}); add their strptime format to `{key}`."
        )
    for layout in ambiguous:
        findings.notes.append(
            f"{where}: every date read by {layout!r} could also be month first (US); it is read day "
            f"first (UK). If the old system wrote US dates, use {_MONTH_FIRST[layout]!r}."
        )
    if not chosen:
        return {}
    return {key: chosen[0] if len(chosen) == 1 else chosen}


def _time_kind(value: Any) -> str:
    """Whether the import reads ``value`` as a moment (epoch, offset), a wall-clock time, or
    text that needs a layout."""
    if isinstance(value, datetime):
        return _NAIVE if value.tzinfo is None else _ABSOLUTE
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _ABSOLUTE
    text = str(value).strip()
    if _EPOCH_TEXT.fullmatch(text):
        return _ABSOLUTE
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return _TEXT
    return _NAIVE if parsed.tzinfo is None else _ABSOLUTE


def _cover(texts: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The fewest layouts that read ``texts``, chosen greedily (ties go to the preferred one).

    Returns the layouts in the order to try them, the texts none reads, and the chosen
    day-first layouts all of whose texts read month-first too (so the choice is a guess).
    """
    readable = {layout: {i for i, text in enumerate(texts) if _reads(text, layout)} for layout in _FORMATS}
    left = set(range(len(texts)))
    chosen: list[str] = []
    ambiguous: list[str] = []
    while gained := _best(readable, left):
        layout, read = gained
        chosen.append(layout)
        twin = _MONTH_FIRST.get(layout)
        if twin is not None and read <= readable[twin]:
            ambiguous.append(layout)
        left -= read
    return chosen, [texts[i] for i in sorted(left)], ambiguous


def _best(readable: dict[str, set[int]], left: set[int]) -> tuple[str, set[int]] | None:
    """The layout reading most of ``left`` (the earliest of equals), or None when none reads any."""
    layout = max(_FORMATS, key=lambda candidate: len(readable[candidate] & left))
    read = readable[layout] & left
    return (layout, read) if read else None


def _reads(text: str, layout: str) -> bool:
    """Whether ``strptime`` reads ``text`` with ``layout``, as the import will."""
    try:
        datetime.strptime(text, layout)
    except ValueError:
        return False
    return True


def _tags(group: _Group, name: str, findings: _Findings) -> dict[str, Any]:
    """Split on ``,`` when the text uses commas and never the default ``;``."""
    texts = [value for value in group.values(name) if isinstance(value, str)]
    if any("," in text for text in texts) and not any(";" in text for text in texts):
        return {"split": ","}
    return {}


def _status(group: _Group, name: str, findings: _Findings) -> dict[str, Any]:
    """A ``values`` table of every distinct status word (case aside) -> its status, or null."""
    distinct: dict[str, str] = {}
    for value in group.values(name):
        text = _id_text(value)
        distinct.setdefault(text.casefold(), text)
    values = {text: _STATUS_WORDS.get(_norm(text)) for text in distinct.values()}
    unmatched = [repr(text) for text, status in values.items() if status is None]
    if unmatched:
        findings.notes.append(
            f"{group.where(name)}: {'value' if len(unmatched) == 1 else 'values'} {', '.join(unmatched)} "
            f"{'has' if len(unmatched) == 1 else 'have'} no match; mapped to null — edit `values`."
        )
    return ({"values": values} if values else {}) | {"default": "booked"}


def _phone(group: _Group, name: str, findings: _Findings) -> dict[str, Any]:
    """No keys; a note when most numbers lack ``+country``: without ``country`` they are not normalised."""
    texts = [value.strip() for value in group.values(name) if isinstance(value, str)]
    national = [text for text in texts if not text.startswith(("+", "00"))]
    if len(national) * 2 > len(texts):
        findings.notes.append(
            f"{group.where(name)}: {len(national)} of {len(texts)} numbers are written without +country "
            f"(such as {national[0]!r}); set `country` at the top (GB, DE, ...) so they are normalised."
        )
    return {}


_BY_KIND: Final[dict[FieldKind, Callable[[_Group, str, _Findings], dict[str, Any]]]] = {
    FieldKind.DATETIME: _datetime_field,
    FieldKind.TAGS: _tags,
    FieldKind.CHOICE: _status,
    FieldKind.PHONE: _phone,
}
"""The keys a field of that kind needs beyond ``from``, guessed from its values."""
