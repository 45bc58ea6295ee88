"""Import of sales invoices from CSV or XLSX (another system's invoices, a month's billing run),
issued all or nothing through :func:`trastienda.billing.bulk.invoices_issue_bulk`.

One row per invoice line; the header names the columns (any order, any case):
``invoice`` (the source's key that groups the lines of one invoice), ``partner`` (code),
``date`` (YYYY-MM-DD), and per line ``description``, ``quantity``, ``unit_price``; optional
``series``, ``kind`` (invoice or simplified), ``currency``, ``rate``, ``payment_term``,
``due_date``, ``notes``, ``product`` (SKU), ``unit``, ``discount`` (%), ``taxes`` (codes
separated by spaces or ``|``), ``account`` (code), ``cost_centre`` (code). The invoice's own
fields are read from its first row. Errors name the file line and the column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from trastienda.billing.bulk import BulkIssueResult, Progress, invoices_issue_bulk
from trastienda.core.models import Company
from trastienda.ledger.imports import _csv_rows, _xlsx_rows

HEADER = (
    *("invoice", "partner", "date", "series", "kind", "currency", "rate", "payment_term"),
    *("due_date", "notes"),
)
LINE = (
    *("product", "description", "quantity", "unit", "unit_price", "discount", "taxes"),
    *("account", "cost_centre"),
)
REQUIRED = ("invoice", "partner", "date")
MAX_ROWS = 500_000
_ERROR_KEY = re.compile(r"invoices\[(\d+)\](?:\.lines\[(\d+)\])?(?:\.(.+))?")


def file_rows(content: bytes, filename: str) -> tuple[int, Iterator[tuple[int, list[str]]]]:
    """(approximate rows, iterator of (file line, cells)) of a CSV or XLSX upload."""
    if filename.lower().endswith(".xlsx"):
        return _xlsx_rows(content)
    return _csv_rows(content)


@dataclass
class _Group:
    key: str
    line: int  # file line of its first row
    header: dict[str, Any]
    lines: list[dict[str, Any]]
    line_numbers: list[int]


def _read(content: bytes, filename: str) -> list[_Group]:
    _total, rows = file_rows(content, filename)
    header: dict[str, int] | None = None
    groups: dict[str, _Group] = {}
    errors: dict[str, list[str]] = {}
    count = 0
    for number, cells in rows:
        if not any(cells):
            continue
        if header is None:
            names = [c.strip().lower().replace(" ", "_") for c in cells]
            unknown = [n for n in names if n and n not in HEADER and n not in LINE]
            missing = [n for n in REQUIRED if n not in names]
            if unknown or missing:
                message = []
                if unknown:
                    message.append(_("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)})
                if missing:
                    message.append(_("Missing columns: %(names)s.") % {"names": ", ".join(missing)})
                raise ValidationError({f"line {number}": [" ".join(message)]})
            header = {name: index for index, name in enumerate(names) if name}
            continue
        count += 1
        if count > MAX_ROWS:
            raise ValidationError({"file": [_("At most %(n)d rows.") % {"n": MAX_ROWS}]})

        columns: dict[str, int] = header

        def cell(name: str, cells: list[str] = cells, columns: dict[str, int] = columns) -> str:
            index = columns.get(name)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        key = cell("invoice")
        if not key:
            errors[f"line {number}"] = [_("invoice: enter the invoice's key.")]
            continue
        values = {name: cell(name) for name in HEADER if name != "invoice" and name in header}
        values = {name: value for name, value in values.items() if value != ""}
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(key, number, values, [], [])
        else:
            for name, value in values.items():
                if group.header.get(name, value) != value:
                    errors.setdefault(f"line {number}", []).append(
                        _("%(column)s: differs from the invoice's first row (line %(line)d).")
                        % {"column": name, "line": group.line}
                    )
        line: dict[str, Any] = {}
        for name in LINE:
            value = cell(name)
            if value == "":
                continue
            if name == "taxes":
                line[name] = [t for t in re.split(r"[\s|]+", value) if t]
            else:
                line[name] = value
        group.lines.append(line)
        group.line_numbers.append(number)
    if header is None:
        raise ValidationError({"file": [_("The file is empty.")]})
    if errors:
        raise ValidationError(errors)
    return list(groups.values())


def invoices_import(
    *,
    company: Company,
    content: bytes,
    filename: str,
    progress: Progress | None = None,
    allow_before_lock: bool = False,
) -> BulkIssueResult:
    """Read, check and issue the invoices of a file; on any problem a ValidationError keyed
    ``line N`` (messages "column: ...") and nothing written."""
    groups = _read(content, filename)
    specs = [{**group.header, "lines": group.lines} for group in groups]
    try:
        return invoices_issue_bulk(
            company=company,
            invoices=specs,
            progress=progress,
            allow_before_lock=allow_before_lock,
            audit_extra={"file": filename[:200], "rows": sum(len(g.lines) for g in groups)},
        )
    except ValidationError as exc:
        raise _by_line(exc, groups) from exc


def _by_line(exc: ValidationError, groups: list[_Group]) -> ValidationError:
    if not hasattr(exc, "error_dict"):
        return ValidationError({"file": exc.messages})
    found: dict[str, list[str]] = {}
    for key, messages in exc.message_dict.items():
        match = _ERROR_KEY.fullmatch(key)
        if match is None:
            found.setdefault("file", []).extend(messages)
            continue
        group = groups[int(match.group(1)) - 1]
        line = group.line
        if match.group(2) and int(match.group(2)) <= len(group.line_numbers):
            line = group.line_numbers[int(match.group(2)) - 1]
        column = match.group(3) or ""
        found.setdefault(f"line {line}", []).extend(
            f"{column}: {message}" if column else message for message in messages
        )
    return ValidationError(found)
