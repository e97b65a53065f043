"""What an import run tells IT: a summary (text or ``--json``) and the report file.

The report has one row per record that was refused, per field on which copies disagreed
(the value chosen and the others, with their sources), per field an earlier import's newer
value kept, and per possible duplicate. Its ``type, legacy_id, field`` columns are those
of the overrides file, so a wrong choice is corrected by copying its row there and naming
the ``source`` to prefer.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from protocol.collections import COLLECTIONS
from protocol.transfer.mapping import Link
from server.errors import AdminError
from server.ops.importing.plan import Outcome
from server.ops.importing.run import ImportResult

__all__ = ["REPORT_COLUMNS", "check_report_path", "report_rows", "summary", "summary_text", "write_report"]

REPORT_COLUMNS = (
    "kind", "type", "legacy_id", "field", "value", "source", "other_values", "other_sources", "reason",
    "where",
)  # fmt: skip


def summary(result: ImportResult) -> dict[str, Any]:
    """The ``--json`` document: counts per record type, and totals."""
    by_type = {
        name: {
            **{outcome.value: result.count(name, outcome) for outcome in Outcome},
            "merged": sum(1 for m in result.merged if m.collection == name),
        }
        for name in COLLECTIONS
    }
    for refusal in result.refused:
        if refusal.legacy_id is None:  # no old id: a record of its own, not a copy
            by_type[refusal.collection][Outcome.REJECTED.value] += 1
    return {
        "dry_run": result.dry_run,
        "sources": result.sources,
        "records_read": result.read,
        "by_type": by_type,
        "rejected": sum(counts[Outcome.REJECTED.value] for counts in by_type.values()),
        "copies_rejected": len(result.refused),
        "kept_as_written": len(result.warnings),
        "unresolved_links": sum(len(p.unresolved) for p in result.noted),
        "disagreements": len(result.disagreements),
        "kept_earlier": sum(len(p.kept_earlier) for p in result.noted),
        "possible_duplicates": len(result.duplicates),
        "written": result.written,
        "workers": result.workers,
        "unmapped_tables": result.unmapped_tables,
        "ignored": result.ignored,
    }


def summary_text(result: ImportResult, report: Path | None) -> str:
    """The summary a person reads at the end of a run."""
    data = summary(result)
    verb = "would be" if result.dry_run else "were"
    lines = [
        f"{'dry run: ' if result.dry_run else ''}read {data['records_read']} records from "
        f"{len(data['sources'])} source file(s)"
    ]
    for name, counts in data["by_type"].items():
        lines.append(
            f"  {name}: {counts['created']} {verb} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged, {counts['merged']} merged from several copies, "
            f"{counts['rejected']} rejected"
        )
    for key, text in (
        (
            "copies_rejected",
            "copies could not be read as records (see the report; other copies may have served)",
        ),
        (
            "kept_as_written",
            "values were imported as written, not normalised (phone numbers that are not valid)",
        ),
        ("unresolved_links", "links named nothing (their records were rejected)"),
        ("disagreements", "fields differed between copies (the newest copy's value was chosen)"),
        ("kept_earlier", "fields kept an earlier import's newer value"),
        ("possible_duplicates", "possible duplicate clients (same name and phone, different old ids)"),
    ):
        if data[key]:
            lines.append(f"  {data[key]} {text}")
    for table in data["unmapped_tables"]:
        lines.append(f"  not imported: {table} (no record type in the mapping reads it)")
    if report is not None:
        lines.append(f"report written to {report}")
    elif any(
        data[key]
        for key in (
            "rejected",
            "copies_rejected",
            "kept_as_written",
            "disagreements",
            "kept_earlier",
            "possible_duplicates",
        )
    ):
        lines.append("  (use --report FILE.csv to list them)")
    if result.dry_run:
        lines.append("nothing was written (dry run)")
    return "\n".join(lines)


def report_rows(result: ImportResult) -> Iterator[dict[str, Any]]:
    """Every row of the report file, with the ``REPORT_COLUMNS``."""
    for refusal in result.refused:
        yield _row("rejected_copy", refusal.collection, refusal.legacy_id, reason=refusal.reason,
                   source=refusal.source, where=refusal.where)  # fmt: skip
    for copy, name, why in result.warnings:
        yield _row("kept_as_written", copy.collection, copy.legacy_id, field=name, value=copy.fields[name],
                   reason=why, source=copy.source, where=copy.where)  # fmt: skip
    for plan in result.noted:
        if plan.outcome is Outcome.REJECTED:
            yield _row("rejected", plan.collection, plan.legacy_id, reason=plan.reason, where=plan.where)
        for kept in plan.kept_earlier:
            yield _row(
                "kept_earlier", plan.collection, plan.legacy_id, field=kept.field,
                value=kept.kept.get("value"), source=kept.kept.get("source"),
                other_values=[_shown(kept.offered.value)], other_sources=[kept.offered.source],
                reason=f"an earlier import holds a newer copy ({kept.kept.get('at')})",
                where=kept.offered.where,
            )  # fmt: skip
    for d in result.disagreements:
        yield _row(
            "merged", d.collection, d.legacy_id, field=d.field, value=_shown(d.chosen.value),
            source=d.chosen.source, other_values=[_shown(o.value) for o in d.others],
            other_sources=[o.source for o in d.others],
            reason="chosen by the overrides file" if d.overridden else "the newest copy",
            where=d.chosen.where,
        )  # fmt: skip
    for group in result.duplicates:
        ids = [record.legacy_id for record in group]
        for record in group:
            others = ", ".join(i for i in ids if i != record.legacy_id)
            yield _row(
                "possible_duplicate", record.collection, record.legacy_id,
                reason=f"same name and phone as old id(s) {others}",
                where=record.where,
            )  # fmt: skip


def _shown(value: Any) -> Any:
    """A link as the old key it names (what the source files say)."""
    return value.key if isinstance(value, Link) else value


def _row(kind: str, collection: str, legacy_id: str | None, **cells: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(REPORT_COLUMNS)
    row.update(kind=kind, type=collection, legacy_id=legacy_id, **cells)
    return row


def check_report_path(path: Path) -> None:
    """Refuse a report file of another kind before the import runs, not after it wrote.

    Raises:
        AdminError: not ``.csv`` or ``.json``.
    """
    if path.suffix.casefold() not in (".csv", ".json"):
        raise AdminError(f"--report {path}: name a .csv or .json file")


def write_report(path: Path, result: ImportResult) -> None:
    """The report as ``.csv`` (one row each, lists as JSON text) or ``.json`` (summary and rows).

    Raises:
        AdminError: another suffix, or the file cannot be written.
    """
    check_report_path(path)
    suffix = path.suffix.casefold()
    rows = list(report_rows(result))
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            if suffix == ".json":
                json.dump(
                    {"summary": summary(result), "rows": rows}, out, ensure_ascii=False, indent=2, default=str
                )
                out.write("\n")
                return
            writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({key: _cell(value) for key, value in row.items()})
    except OSError as exc:
        raise AdminError(f"cannot write the report {path}: {exc.strerror or exc}") from exc


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
