"""Write ``kunden.xlsx`` and its CSV twin ``Kunden.csv`` / ``Termine.csv`` from one set of rows.

The Berlin Mitte branch's old data as a German office keeps it: an Excel workbook with
sheets ``Kunden``, ``Termine`` and an empty ``Hinweise``, and the same rows saved as
Excel's "CSV UTF-8" (``;``-delimited, UTF-8 with a BOM, CRLF, decimal commas). Writing
both from the rows below keeps the twins identical; README.md describes what is in them.

Regenerate (only when the rows change; the committed files are the fixtures), from the
repository root::

    .venv/bin/python tests/data/migration/make_kunden_xlsx.py

The workbook's zip timestamps differ per run, so its bytes do; its content does not.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl

HERE = Path(__file__).parent
FIXED = datetime(2026, 12, 2, 13, 0)  # document properties, so only zip times vary
DATE_FORMAT = "DD.MM.YYYY hh:mm"

KUNDEN_HEADER = ["ID", "Name", "Telefon", "E-Mail", "Bemerkung", "Geändert"]
KUNDEN: list[list[Any]] = [
    [
        1001,
        "Jürgen Müller",
        "030 1234567",
        "j.mueller@example.de",
        "Färbung nur nach Allergietest",
        "02.12.2026 13:00",
    ],
    [
        1002,
        "Zoë Schäfer",
        "0170 1234567",
        "zoe.schaefer@example.de",
        "Möchte früh Termine",
        "28.11.2026 09:30",
    ],
    [1003, "Hans-Peter Groß", "+49 30 9876543", None, "Überweisung statt bar", "15.11.2026 17:45"],
    [1004, "Angelika Weiß", "030 555 0123", "a.weiss@example.de", None, "01.12.2026 08:15"],
    [
        1005,
        "Özlem Yılmaz",
        "0151 23456789",
        "oezlem@example.de",
        "Kommt mit Hund; bitte Wassernapf",
        "30.11.2026 16:00",
    ],
]

TERMINE_HEADER = ["ID", "KundenID", "Filiale", "Beginn", "Dauer", "Leistung", "Status"]
# None is a blank row (sheet row 6 / CSV line 6); an 8th value lands right of the header.
TERMINE: list[list[Any] | None] = [
    [5001, 1001, "Berlin Mitte", "02.12.2026 13:00", 60, "Färben", "Gebucht"],
    [5002, 1002, "Berlin Mitte", datetime(2026, 12, 3, 9, 30), 45, "Schnitt & Föhnen", "Erledigt"],
    [5003, 1003, "Berlin Mitte", datetime(2026, 12, 4, 15, 0), 37.5, "Waschen & Legen", "Storniert"],
    [5004, 1004, "Berlin Mitte", "05.12.2026 10:15", 90, "Strähnen", "Nicht erschienen"],
    None,
    [5005, 1005, "Berlin Mitte", datetime(2026, 12, 7, 11, 0), 60, "Schnitt", "Gebucht", "siehe Notiz"],
    [5006, 1001, "Berlin Mitte", "29.03.2026 02:30", 30, "Beratung", "Verschoben"],
]


def write_workbook(path: Path) -> None:
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = FIXED
    kunden = book.active
    kunden.title = "Kunden"
    for row in [KUNDEN_HEADER, *KUNDEN]:
        kunden.append(row)
    termine = book.create_sheet("Termine")
    termine.append(TERMINE_HEADER)
    for number, row in enumerate(TERMINE, start=2):
        for column, value in enumerate(row or [], start=1):
            cell = termine.cell(row=number, column=column, value=value)
            if isinstance(value, datetime):
                cell.number_format = DATE_FORMAT
    book.create_sheet("Hinweise")
    book.save(path)


def csv_cell(value: Any) -> str:
    """A value as Excel's German CSV export writes it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    text = str(value)
    return f'"{text}"' if ";" in text or '"' in text else text


def write_csv(path: Path, header: list[str], rows: list[list[Any] | None]) -> None:
    width = max(len(row or []) for row in [header, *rows])
    lines = []
    for row in [header, *rows]:
        cells = list(row or []) + [None] * (width - len(row or []))
        lines.append(";".join(csv_cell(value) for value in cells))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))


if __name__ == "__main__":
    write_workbook(HERE / "kunden.xlsx")
    write_csv(HERE / "Kunden.csv", KUNDEN_HEADER, list(KUNDEN))
    write_csv(HERE / "Termine.csv", TERMINE_HEADER, TERMINE)
