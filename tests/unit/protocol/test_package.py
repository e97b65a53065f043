"""The package surface: what others import, the wire error codes, the collections."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import protocol
from protocol import APPOINTMENTS, CLIENTS, COLLECTIONS, ErrorCode, FieldKind
from protocol.collections import APPOINTMENT_STATUSES

MODULES = [
    "collections", "concurrency", "errors", "hlc", "merge", "messages", "snapshot", "timezones", "validate",
    "version",
    "wire",
]  # fmt: skip
ALLOWED_IMPORTS = {"__future__", "collections", "dataclasses", "datetime", "difflib", "enum", "functools",
                   "json", "pydantic", "re", "time", "typing", "uuid", "zlib", "zoneinfo",
                   "protocol"}  # fmt: skip
TRANSFER_MODULES = ["copies", "infer", "mapping", "sources", "transforms"]
TRANSFER_IMPORTS = ALLOWED_IMPORTS | {
    "charset_normalizer", "codecs", "csv", "io", "itertools", "math", "openpyxl", "pathlib", "phonenumbers",
    "textwrap", "tomllib", "warnings", "yaml",
}  # fmt: skip
"""``protocol.transfer`` reads the old system's files for the server's import and the desktop's:
file-format libraries, still neither end."""


def test_public_surface_is_pinned() -> None:
    assert sorted(protocol.__all__) == sorted(
        [
            "APPOINTMENTS", "Bases", "CLEARED", "CLIENTS", "COLLECTIONS", "DELETED", "MAX_MUTATIONS_PER_PUSH",
            "MAX_PUSH_BYTES", "PROTOCOL_HEADER", "PROTOCOL_VERSION", "Collection", "ErrorCode", "Field",
            "FieldError", "FieldKind", "HybridLogicalClock", "Lost", "MergeResult", "ProtocolError", "Row",
            "Timestamp", "bases_before", "compaction_row", "merge", "merge_bases", "mutation_row",
            "overwrote_unseen", "validate_fields",
        ]
    )  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(f"protocol.{name}")
    exported = getattr(module, "__all__", [n for n in vars(module) if n.isupper()])
    assert exported
    for attribute in exported:
        assert hasattr(module, attribute), f"protocol.{name} exports missing {attribute}"


def _import_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("name", MODULES)
def test_protocol_imports_neither_end_nor_their_libraries(name: str) -> None:
    assert _import_roots(Path(protocol.__file__).with_name(f"{name}.py")) <= ALLOWED_IMPORTS


def test_every_module_of_protocol_is_checked() -> None:
    package = Path(protocol.__file__).parent
    assert sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__") == MODULES
    assert (
        sorted(p.stem for p in (package / "transfer").glob("*.py") if p.stem != "__init__")
        == TRANSFER_MODULES
    )


@pytest.mark.parametrize("name", TRANSFER_MODULES)
def test_transfer_imports_file_formats_but_neither_end(name: str) -> None:
    roots = _import_roots(Path(protocol.__file__).parent / "transfer" / f"{name}.py")
    assert roots <= TRANSFER_IMPORTS, roots - TRANSFER_IMPORTS


def test_error_codes_are_the_wire_contract() -> None:
    assert [code.value for code in ErrorCode] == [
        "required", "too_long", "invalid_type", "invalid_email", "invalid_phone", "invalid_datetime",
        "invalid_uuid", "invalid_choice", "out_of_range", "unknown_field", "unknown_collection",
        "invalid_mutation", "invalid_hlc", "clock_skew", "invalid_body", "too_large", "unauthorized",
        "rate_limited", "not_found", "update_required", "enroll_code_invalid", "enroll_code_used",
        "enroll_code_expired", "internal", "overloaded", "unavailable", "request_timeout",
    ]  # fmt: skip
    assert all(code.value == code.name.lower() for code in ErrorCode)


def test_collections_match_the_architecture() -> None:
    assert COLLECTIONS == {"clients": CLIENTS, "appointments": APPOINTMENTS}
    assert CLIENTS.field_names == ("name", "phone", "email", "notes", "home_branch_id", "tags")
    assert APPOINTMENTS.field_names == (
        "client_id", "branch_id", "starts_at", "duration_min", "service", "status", "notes",
    )  # fmt: skip
    assert APPOINTMENT_STATUSES == ("booked", "done", "cancelled", "no_show")
    name = CLIENTS.field("name")
    assert name is not None
    assert (name.kind, name.required, name.max_length) == (FieldKind.TEXT, True, 200)
    assert CLIENTS.field("nope") is None


def test_no_field_is_called_like_the_deletion_register() -> None:
    names = {f.name for c in COLLECTIONS.values() for f in c.fields}
    assert protocol.DELETED not in names
    assert "id" not in names
