"""The mapping file: which old table becomes which record type, and how each field is filled.

IT writes it (or starts from ``branchsync-server import --infer``), so every mistake in it
is refused when it is loaded, with the path of the key at fault
(``records.clients.fields.phone: unknown key 'fone'``), before any record is read. Its
format is documented in ``docs/migration.md``; YAML and TOML files hold the same keys.

``map_record`` then applies one record type's rules to one source record. It is pure:
links stay unresolved ``Link`` values (the server resolves them against what it holds),
and the zone of a naive time comes from ``zone_for``, which knows the branches.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import yaml

from protocol.collections import COLLECTIONS, Collection, FieldKind
from protocol.errors import UnknownTimeZone
from protocol.timezones import canonical_zone
from protocol.transfer import transforms
from protocol.transfer.sources import SourceRecord, SourceTable

__all__ = [
    "LINK_TARGETS",
    "PROBLEM_KEY",
    "FieldRule",
    "Link",
    "MappedRecord",
    "Mapping",
    "MappingError",
    "RecordRule",
    "Refusal",
    "ZoneFor",
    "identity_rule",
    "load_mapping",
    "map_record",
    "parse_mapping",
]

LINK_TARGETS: Final = ("clients", "branches")
"""What a uuid field can name by an old key: a client by its old id, a branch by name or id."""
PROBLEM_KEY: Final = "__problem__"
"""Set by ``sources`` on a record it could read only in part (a CSV row with extra cells)."""

DEFAULT_SYSTEM: Final = "legacy"


class _NoConstant(enum.Enum):
    """A field with no ``constant`` (an enum member: it stays itself when a mapping is
    pickled to an import's worker processes, where a plain ``object()`` would not)."""

    TOKEN = enum.auto()


_NO_CONSTANT: Final[Any] = _NoConstant.TOKEN
_UTC: Final = ZoneInfo("UTC")


class MappingError(ValueError):
    """The mapping file is unreadable or wrong; the message names the key at fault."""


@dataclass(frozen=True, slots=True)
class FieldRule:
    """How one Branchsync field is filled from a source record."""

    target: str
    kind: FieldKind
    sources: tuple[str, ...] = ()
    constant: Any = _NO_CONSTANT
    join: str = " "
    values: dict[str, Any] | None = None
    default: Any = None
    formats: tuple[str, ...] = ()
    timezone: str | None = None
    country: str | None = None
    keep: bool = False
    split: str = ";"
    link: str | None = None


@dataclass(frozen=True, slots=True)
class RecordRule:
    """One record type: the tables it is read from and how its fields are filled."""

    collection: Collection
    tables: tuple[str, ...]
    legacy_id: str | None
    """The field holding the old id; None (the desktop's own export) when records have none."""
    fields: tuple[FieldRule, ...]
    updated_at: str | None = None
    updated_at_formats: tuple[str, ...] = ()
    branch_field: FieldRule | None = field(init=False, compare=False, repr=False)
    """The field that names the record's branch (its zone is the default for naive times);
    found once, as every record asks."""

    def __post_init__(self) -> None:
        found = next((rule for rule in self.fields if rule.link == "branches"), None)
        object.__setattr__(self, "branch_field", found)


@dataclass(frozen=True, slots=True)
class Mapping:
    """A whole mapping file."""

    records: tuple[RecordRule, ...]
    system: str = DEFAULT_SYSTEM
    timezone: str | None = None
    country: str | None = None
    branch: str | None = None

    def rule_for(self, table: str) -> RecordRule | None:
        """The record type read from ``table``: matched exactly, then case-insensitively."""
        for rule in self.records:
            if table in rule.tables:
                return rule
        folded = table.casefold()
        for rule in self.records:
            if folded in (name.casefold() for name in rule.tables):
                return rule
        return None


@dataclass(frozen=True, slots=True)
class Link:
    """A uuid field's value named by an old key, resolved by the importer."""

    target: str
    key: str


@dataclass(frozen=True, slots=True)
class MappedRecord:
    """One source record as Branchsync fields: wire values, or ``Link`` for links."""

    collection: str
    legacy_id: str
    source: str
    where: str
    updated_at: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[tuple[str, str], ...] = ()
    """(field, why): values imported as written because they could not be normalised (a phone number
    that is not a valid number): nothing is lost, and the report lists them."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A source record that cannot be imported, and why (the report shows it)."""

    collection: str
    where: str
    reason: str
    legacy_id: str | None = None
    source: str = ""


ZoneFor = Callable[[str | None], ZoneInfo]
"""The zone of a naive time given the record's branch (its name or id, or None)."""


# ---- loading ----------------------------------------------------------------------


def load_mapping(path: Path) -> Mapping:
    """Read and check a ``.yaml``/``.yml`` or ``.toml`` mapping file.

    Raises:
        MappingError: unreadable, not YAML/TOML, or a key or value the format refuses.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise MappingError(f"cannot read the mapping {path}: {reason}") from exc
    suffix = path.suffix.casefold()
    try:
        if suffix == ".toml":
            document: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            document = yaml.safe_load(text)
        else:
            raise MappingError(f"the mapping {path} must be a .yaml, .yml or .toml file")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"the mapping {path} is not valid {suffix[1:].upper()}: {exc}") from exc
    return parse_mapping(document)


def parse_mapping(document: Any) -> Mapping:
    """Check a mapping already parsed from YAML or TOML (see ``load_mapping``)."""
    top = _table(document, "the mapping", {"system", "timezone", "country", "branch", "records"})
    records = _table(top.get("records"), "records", set(COLLECTIONS), required=True)
    if not records:
        raise MappingError("records: name at least one record type (clients, appointments)")
    rules = tuple(_record_rule(COLLECTIONS[name], spec) for name, spec in records.items())
    _check_tables_used_once(rules)
    return Mapping(
        records=rules,
        system=_text(top, "system", "", default=DEFAULT_SYSTEM),
        timezone=_zone(top, "timezone", ""),
        country=_country(top, "country", ""),
        branch=_text(top, "branch", "", default=None),
    )


_RECORD_KEYS = {"from", "legacy_id", "updated_at", "updated_at_format", "fields"}
_FIELD_KEYS = {
    "from", "constant", "join", "values", "default", "format", "timezone", "country", "keep", "split", "link",
}  # fmt: skip
_KEYS_BY_KIND: dict[FieldKind, set[str]] = {
    FieldKind.DATETIME: {"format", "timezone"},
    FieldKind.PHONE: {"country", "keep"},
    FieldKind.TAGS: {"split"},
    FieldKind.UUID: {"link"},
}


def _record_rule(collection: Collection, spec: Any) -> RecordRule:
    where = f"records.{collection.name}"
    entry = _table(spec, where, _RECORD_KEYS, required=True)
    fields = _table(entry.get("fields"), f"{where}.fields", set(collection.field_names), required=True)
    if not fields:
        raise MappingError(f"{where}.fields: map at least one field")
    legacy_id = _text(entry, "legacy_id", where, default=None)
    if legacy_id is None:
        raise MappingError(
            f"{where}.legacy_id: name the source field that holds the old id (re-runs need it)"
        )
    return RecordRule(
        collection=collection,
        tables=_names(entry.get("from"), f"{where}.from", required=True),
        legacy_id=legacy_id,
        fields=tuple(
            _field_rule(collection, name, value, f"{where}.fields.{name}") for name, value in fields.items()
        ),
        updated_at=_text(entry, "updated_at", where, default=None),
        updated_at_formats=_names(entry.get("updated_at_format"), f"{where}.updated_at_format"),
    )


def _field_rule(collection: Collection, name: str, spec: Any, where: str) -> FieldRule:
    kind = _kind(collection, name)
    if isinstance(spec, str):
        spec = {"from": spec}
    entry = _table(spec, where, _FIELD_KEYS, required=True)
    allowed = {"from", "constant", "join", "values", "default"} | _KEYS_BY_KIND.get(kind, set())
    if misplaced := sorted(set(entry) - allowed):
        raise MappingError(f"{where}: {misplaced[0]!r} does not apply to a {kind.value} field")
    if ("from" in entry) == ("constant" in entry):
        raise MappingError(f"{where}: give exactly one of 'from' (source field) or 'constant'")
    sources = _names(entry.get("from"), f"{where}.from", required="from" in entry)
    if "join" in entry and len(sources) < 2:
        raise MappingError(f"{where}.join: only for a 'from' that lists several fields")
    link = _text(entry, "link", where, default=None)
    if link is not None and link not in LINK_TARGETS:
        raise MappingError(f"{where}.link: {link!r} is not one of {', '.join(LINK_TARGETS)}")
    return FieldRule(
        target=name,
        kind=kind,
        sources=sources,
        constant=entry.get("constant", _NO_CONSTANT),
        join=_text(entry, "join", where, default=" ", strip=False),
        values=_value_map(entry.get("values"), f"{where}.values"),
        default=entry.get("default"),
        formats=_names(entry.get("format"), f"{where}.format"),
        timezone=_zone(entry, "timezone", where),
        country=_country(entry, "country", where),
        keep=_flag(entry, "keep", where),
        split=_separator(entry, "split", where),
        link=link,
    )


def _kind(collection: Collection, name: str) -> FieldKind:
    spec = collection.field(name)
    assert spec is not None  # _table checked the names against the collection
    return spec.kind


def _table(value: Any, where: str, allowed: set[str], *, required: bool = False) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise MappingError(f"{where}: expected a table of keys, found {_kind_of(value)}")
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        raise MappingError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    return value


def _text(entry: dict[str, Any], key: str, where: str, *, default: Any, strip: bool = True) -> Any:
    value = entry.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or (strip and not value.strip()):
        raise MappingError(f"{_at(where, key)}: expected text, found {_kind_of(value)}")
    return value.strip() if strip else value


def _separator(entry: dict[str, Any], key: str, where: str) -> str:
    separator: str = _text(entry, key, where, default=";", strip=False)
    if not separator:
        raise MappingError(f"{_at(where, key)}: expected a separator, found empty text")
    return separator


def _names(value: Any, where: str, *, required: bool = False) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise MappingError(f"{where}: expected a name or a list of names, found {_kind_of(value)}")
    return tuple(name.strip() for name in names)


def _value_map(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise MappingError(f"{where}: expected a table of source value -> value, found {_kind_of(value)}")
    return {str(key): mapped for key, mapped in value.items()}


def _at(where: str, key: str) -> str:
    """The path of ``key`` in the file, as error messages name it."""
    return f"{where}.{key}" if where else key


def _zone(entry: dict[str, Any], key: str, where: str) -> str | None:
    name = _text(entry, key, where, default=None)
    if name is None:
        return None
    try:
        return canonical_zone(name)
    except UnknownTimeZone as exc:
        raise MappingError(f"{_at(where, key)}: {exc}") from exc


def _country(entry: dict[str, Any], key: str, where: str) -> str | None:
    code: str | None = _text(entry, key, where, default=None)
    if code is None:
        return None
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise MappingError(f"{_at(where, key)}: {code!r} is not a two-letter country code such as GB or DE")
    return code.upper()


def _flag(entry: dict[str, Any], key: str, where: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise MappingError(f"{where}.{key}: expected true or false, found {_kind_of(value)}")
    return value


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text {value!r}" if value.strip() else "empty text"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return "a list" if isinstance(value, list) else "a table"


def _check_tables_used_once(rules: Sequence[RecordRule]) -> None:
    seen: dict[str, str] = {}
    for rule in rules:
        for table in rule.tables:
            other = seen.setdefault(table.casefold(), rule.collection.name)
            if other != rule.collection.name:
                raise MappingError(
                    f"records: the table {table!r} is read as both {other} and {rule.collection.name}"
                )


def identity_rule(collection: Collection, table: str) -> RecordRule:
    """Every field from the column of its own name, as ``export --format json`` writes them
    (phones kept as written, no old ids): the desktop's import of its own exports."""
    fields = tuple(
        FieldRule(target=f.name, kind=f.kind, sources=(f.name,), keep=f.kind is FieldKind.PHONE)
        for f in collection.fields
    )
    return RecordRule(collection=collection, tables=(table,), legacy_id=None, fields=fields)


# ---- applying ---------------------------------------------------------------------


def map_record(
    mapping: Mapping, rule: RecordRule, table: SourceTable, record: SourceRecord, zone_for: ZoneFor
) -> MappedRecord | Refusal:
    """``record`` as Branchsync fields, or why it cannot be imported.

    Empty source values are left out (an edit does not clear a field the old system left
    blank); a field's ``default`` stands in for them.
    """

    def refuse(reason: str, legacy_id: str | None = None) -> Refusal:
        return Refusal(rule.collection.name, record.where, reason, legacy_id, table.source)

    legacy_id = ""
    if rule.legacy_id is not None:
        raw_id = record.values.get(rule.legacy_id)
        if transforms.is_empty(raw_id):
            return refuse(
                str(record.values.get(PROBLEM_KEY) or f"has no old id in the field {rule.legacy_id!r}")
            )
        try:
            legacy_id = transforms.to_text(raw_id)
        except transforms.TransformError as exc:
            return refuse(f"{rule.legacy_id}: {exc}")
    if problem := record.values.get(PROBLEM_KEY):  # the row's cells may sit in the wrong columns
        return refuse(str(problem), legacy_id or None)
    zone = _record_zone(mapping, rule, record, zone_for)
    fields: dict[str, Any] = {}
    warnings: list[tuple[str, str]] = []
    errors: list[str] = []  # every bad field at once: one round of fixes, not one per field
    for field_rule in rule.fields:
        try:
            value = _field_value(mapping, field_rule, record.values, zone)
        except _KeptAsWritten as kept:
            value = kept.text
            warnings.append((field_rule.target, f"{_label(field_rule)}: {kept.reason}; imported as written"))
        except transforms.TransformError as exc:
            errors.append(f"{_label(field_rule)}: {exc}")
            continue
        if not transforms.is_empty(value):
            fields[field_rule.target] = value
    try:
        updated_at = _updated_at(rule, record.values, zone) or table.file_time
    except transforms.TransformError as exc:
        errors.append(f"{rule.updated_at} (the time of this copy): {exc}")
    if errors:
        return refuse("; ".join(errors), legacy_id)
    return MappedRecord(
        rule.collection.name, legacy_id, table.source, record.where, updated_at, fields, tuple(warnings)
    )


def _label(rule: FieldRule) -> str:
    if rule.sources in ((), (rule.target,)):
        return rule.target
    return f"{rule.target} (from {', '.join(rule.sources)})"


def _record_zone(mapping: Mapping, rule: RecordRule, record: SourceRecord, zone_for: ZoneFor) -> ZoneInfo:
    if mapping.timezone is not None:
        return ZoneInfo(mapping.timezone)
    branch = rule.branch_field
    try:  # the branch the record gets: its values map and default applied
        link = None if branch is None else _field_value(mapping, branch, record.values, _UTC)
    except transforms.TransformError:
        link = None  # the branch field itself reports the bad value
    return zone_for(link.key if isinstance(link, Link) else mapping.branch)


def _raw(rule: FieldRule, values: dict[str, Any]) -> Any:
    if rule.constant is not _NO_CONSTANT:
        return rule.constant
    if len(rule.sources) == 1:
        return values.get(rule.sources[0])
    return transforms.join_values([values.get(name) for name in rule.sources], rule.join)


class _KeptAsWritten(Exception):
    """A value that could not be normalised, to import as written (validation still checks it)."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(reason)
        self.text, self.reason = text, reason


def _field_value(mapping: Mapping, rule: FieldRule, values: dict[str, Any], zone: ZoneInfo) -> Any:
    raw = _raw(rule, values)
    if not transforms.is_empty(raw) and rule.values is not None:
        raw = transforms.map_value(raw, rule.values)  # a value mapped to nothing takes the default
    if transforms.is_empty(raw):
        default = mapping.branch if rule.default is None and rule.link == "branches" else rule.default
        if default is None:
            return None
        raw = default
    if rule.link is not None:
        return Link(rule.link, transforms.to_text(raw))
    match rule.kind:
        case FieldKind.DATETIME:
            return transforms.parse_datetime(
                raw, formats=rule.formats, zone=ZoneInfo(rule.timezone) if rule.timezone else zone
            )
        case FieldKind.PHONE:
            if rule.keep:
                return transforms.to_text(raw)
            try:
                return transforms.normalise_phone(raw, country=rule.country or mapping.country)
            except transforms.TransformError as exc:  # old systems hold numbers of every shape
                raise _KeptAsWritten(transforms.to_text(raw), str(exc)) from exc
        case FieldKind.TAGS:
            return transforms.split_tags(raw, separator=rule.split)
        case FieldKind.INTEGER:
            return transforms.parse_integer(raw)
        case _:
            return transforms.to_text(raw)


def _updated_at(rule: RecordRule, values: dict[str, Any], zone: ZoneInfo) -> datetime | None:
    if rule.updated_at is None:
        return None
    raw = values.get(rule.updated_at)
    if transforms.is_empty(raw):
        return None
    return transforms.parse_timestamp(raw, formats=rule.updated_at_formats, zone=zone)
