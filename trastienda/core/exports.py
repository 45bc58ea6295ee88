"""CSV and XLSX exports of tabular data, safe to open in a spreadsheet.

Cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return) are neutralised with a leading apostrophe (OWASP "CSV injection").
Numbers stay numbers: only text is neutralised, so ``-12.50`` exported as a Decimal remains
a number while the text ``-1+1`` becomes ``'-1+1``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.utils.encoding import force_str
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(value: Any) -> Any:
    """Return ``value`` ready for a spreadsheet cell: text that looks like a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal | dt.date | dt.datetime):
        return value
    text = force_str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def write_csv(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV in UTF-8 with a BOM (so Excel detects the encoding), every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([_csv_text(neutralise(v)) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write_xlsx(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], title: str = "Export"
) -> bytes:
    """An XLSX workbook with one sheet; text cells neutralised, numbers and dates typed."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "Export")
    # Write-only sheets take column widths before the first row.
    for i, name in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(12, len(force_str(name)) + 4)
    sheet.append([neutralise(h) for h in header])
    for row in rows:
        values = []
        for value in row:
            cell = neutralise(value)
            if isinstance(cell, dt.datetime) and cell.tzinfo is not None:
                cell = cell.replace(tzinfo=None)  # Excel has no time zones
            values.append(cell)
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_bytes(
    fmt: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], title: str
) -> bytes:
    if fmt == "csv":
        return write_csv(header, rows)
    if fmt == "xlsx":
        return write_xlsx(header, rows, title=title)
    raise ValueError(f"unknown export format {fmt!r}")
