"""Import of journal entries from CSV and XLSX files: one row per line, all or nothing.

Columns (header row; names also accepted in Spanish and Italian, see :data:`ALIASES`):
``external_id`` (required: consecutive rows with the same id are one entry; an id the company
already has is skipped, so importing a file twice posts it once), ``date`` (YYYY-MM-DD or
DD/MM/YYYY), ``journal`` (code), ``reference``, ``description``, ``account`` (code),
``line_description``, ``debit``, ``credit``, ``currency``, ``amount_currency``, ``partner``,
``due_date``, ``cost_centre``, ``project`` (codes). The entry's header fields come from its
first row; later rows leave them empty or repeat them.

CSV: UTF-8 with or without BOM, the delimiter (``,`` ``;`` tab ``|``) read from the header
row. Amounts are decimals written as the company's language writes them: where the comma is
the decimal mark (Spanish, Italian) ``1.234,56`` and ``1234,56``; a lone point is a decimal
point (``12.50``) unless it groups thousands (``1.500`` is fifteen hundred, as in the entry
form); elsewhere ``1,234.56`` and ``1234.56``. Never a float: XLSX numbers (which Excel keeps
as binary doubles) are read as the shortest decimal that is that double (``repr``), which is
the figure typed in the cell; a computed cell with more decimals than the currency has is
refused, never rounded.

Every problem of the file is reported, keyed by the file line (``line 17``) with the column
(``account: Unknown account 9999.``); nothing is written then. Posting goes through
:func:`trastienda.ledger.bulk.entries_post_bulk`'s steps (same rules as posting one entry).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trastienda.core.db import gc_paused
from trastienda.core.models import Company
from trastienda.ledger import bulk
from trastienda.ledger.services import Problem

COLUMNS = (
    "external_id",
    "date",
    "journal",
    "reference",
    "description",
    "account",
    "line_description",
    "debit",
    "credit",
    "currency",
    "amount_currency",
    "partner",
    "due_date",
    "cost_centre",
    "project",
)
REQUIRED = ("external_id", "date", "journal", "account")
HEADER_FIELDS = ("date", "journal", "reference", "description")
AMOUNT_FIELDS = ("debit", "credit", "amount_currency")
ALIASES = {
    # Spanish
    "id_externo": "external_id",
    "fecha": "date",
    "diario": "journal",
    "referencia": "reference",
    "descripcion": "description",
    "concepto": "description",
    "cuenta": "account",
    "descripcion_linea": "line_description",
    "concepto_linea": "line_description",
    "debe": "debit",
    "haber": "credit",
    "moneda": "currency",
    "divisa": "currency",
    "importe_divisa": "amount_currency",
    "importe_moneda": "amount_currency",
    "tercero": "partner",
    "vencimiento": "due_date",
    "fecha_vencimiento": "due_date",
    "centro_coste": "cost_centre",
    "centro_de_coste": "cost_centre",
    "proyecto": "project",
    # Italian
    "id_esterno": "external_id",
    "data": "date",
    "registro": "journal",
    "giornale": "journal",
    "riferimento": "reference",
    "descrizione": "description",
    "conto": "account",
    "descrizione_riga": "line_description",
    "dare": "debit",
    "avere": "credit",
    "valuta": "currency",
    "importo_valuta": "amount_currency",
    "controparte": "partner",
    "scadenza": "due_date",
    "data_scadenza": "due_date",
    "centro_costo": "cost_centre",
    "centro_di_costo": "cost_centre",
    "progetto": "project",
    # spellings
    "cost_center": "cost_centre",
    "external id": "external_id",
}
DELIMITERS = (",", ";", "\t", "|")
_PLAIN = re.compile(r"\d+(?:\.\d+)?")
_DOT_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+")
_COMMA_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DIGITS = re.compile(r"\d+")

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ImportResult:
    posted: int
    skipped: int
    lines: int
    entries: int
    first_number: str
    last_number: str
    sha256: str
    filename: str


def _fail(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def _header_name(text: Any) -> str:
    """``"Descripción línea"`` → ``"descripcion_linea"``; then the English name."""
    name = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    name = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return ALIASES.get(name, name)


def _columns(header: list[Any]) -> dict[str, int]:
    """Column positions by English name; ValidationError for missing or unknown columns."""
    positions: dict[str, int] = {}
    unknown = []
    for position, raw in enumerate(header):
        name = _header_name(raw)
        if not name:
            continue
        if name not in COLUMNS:
            unknown.append(str(raw))
        elif name in positions:
            raise _fail(_("The column %(name)s appears twice.") % {"name": name})
        else:
            positions[name] = position
    if unknown:
        raise _fail(
            _("Unknown columns: %(names)s. The columns are: %(known)s.")
            % {"names": ", ".join(unknown), "known": ", ".join(COLUMNS)}
        )
    missing = [c for c in REQUIRED if c not in positions]
    if "debit" not in positions and "credit" not in positions:
        missing.append("debit/credit")
    if missing:
        raise _fail(_("Missing columns: %(names)s.") % {"names": ", ".join(missing)})
    return positions


class _Exact(str):
    """The text of an XLSX number cell: a plain decimal, not text in the company's notation."""


def _cell_text(value: Any) -> str:
    """An XLSX cell as text: numbers exactly (see the module docstring), dates ISO."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return _Exact(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return _Exact(int(value))
        return _Exact(format(Decimal(repr(value)), "f"))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(content: bytes) -> tuple[int, Iterator[tuple[int, list[str]]]]:
    """(approximate number of rows, iterator of (file line, cells)) of a CSV file."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(_("The file is not UTF-8 text.")) from exc
    first = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Iterator[tuple[int, list[str]]]:
        last = 0
        try:
            for cells in reader:
                start, last = last + 1, reader.line_num
                yield start, list(map(str.strip, cells))
        except csv.Error as exc:
            raise ValidationError(
                {f"line {last + 1}": [_("Unreadable CSV: %(error)s") % {"error": exc}]}
            ) from exc

    return text.count("\n") + 1, rows()


def _xlsx_rows(content: bytes) -> tuple[int, Iterator[tuple[int, list[str]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = book.active
    except Exception as exc:
        raise _fail(_("The file is not a valid XLSX workbook.")) from exc
    if sheet is None:
        raise _fail(_("The workbook has no sheet."))

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell_text(v) for v in values]
        finally:
            book.close()

    return int(getattr(sheet, "max_row", 0) or 0), rows()


class _Reader:
    """Turns the rows of a file into the entry mappings of :mod:`.bulk`, remembering on which
    file line each entry and line stands (to name the lines in errors)."""

    def __init__(self, company: Company) -> None:
        language = company.language or "en"
        self.decimal = str(get_format("DECIMAL_SEPARATOR", lang=language, use_l10n=True))
        self.thousands = str(get_format("THOUSAND_SEPARATOR", lang=language, use_l10n=True))
        self.lines: list[list[int]] = []  # file line of each line, per entry
        self.rows = 0
        self._dates: dict[str, dt.date | None] = {}

    def locate(self, index: int, line_no: int | None) -> str:
        lines = self.lines[index]
        number = lines[line_no - 1] if line_no and line_no <= len(lines) else lines[0]
        return f"line {number}"

    def amount(self, text: str) -> str:
        """Decimal text in the company's notation → ``"-1234.56"``; ValueError if it is not one."""
        if not text:
            return ""
        if isinstance(text, _Exact):
            return str(text)
        text = text.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
        sign = ""
        if text[:1] in "-+" and len(text) > 1:
            sign, text = ("-" if text[0] == "-" else ""), text[1:]
        if _PLAIN.fullmatch(text):
            if self.thousands == "." and _DOT_GROUPED.fullmatch(text):
                return sign + text.replace(".", "")
            return sign + text
        if self.decimal == ",":
            whole, comma, fraction = text.rpartition(",")
            grouped = self.thousands == "." and _DOT_GROUPED.fullmatch(whole)
            if comma and _DIGITS.fullmatch(fraction) and (_DIGITS.fullmatch(whole) or grouped):
                return f"{sign}{whole.replace('.', '')}.{fraction}"
        elif _COMMA_GROUPED.fullmatch(text):
            return sign + text.replace(",", "")
        raise ValueError(text)

    def date(self, text: str) -> dt.date | None:
        """YYYY-MM-DD or DD/MM/YYYY (also D/M/YYYY); None when it is neither."""
        if text not in self._dates:
            value: dt.date | None = None
            try:
                if "/" in text:
                    day, month, year = text.split("/")
                    if len(year) == 4:
                        value = dt.date(int(year), int(month), int(day))
                elif len(text) == 10:
                    value = dt.date.fromisoformat(text)
            except ValueError:
                value = None
            self._dates[text] = value
        return self._dates[text]

    def entries(
        self,
        rows: Iterator[tuple[int, list[str]]],
        positions: dict[str, int],
        total: int,
        progress: Progress | None,
    ) -> Iterator[dict[str, Any]]:
        """Entry mappings for :func:`bulk.plan_entries`, one per run of rows with an id."""
        # A row's cells padded to the known columns plus one empty cell, at which the columns
        # the file lacks point: then one C call picks the row's values (a million rows).
        width = max(positions.values(), default=-1) + 1
        pick = itemgetter(*(positions.get(name, width) for name in COLUMNS))
        current: dict[str, Any] | None = None
        current_id: str | None = None
        for number, cells in rows:
            if len(cells) <= width:
                cells.extend([""] * (width + 1 - len(cells)))
            elif cells[width]:  # cells past the known columns are ignored: blank the one
                cells[width] = ""  # that the columns the file lacks read
            values = pick(cells)
            if not any(values):
                continue
            row = dict(zip(COLUMNS, values, strict=True))
            self.rows += 1
            if progress is not None and self.rows % 5000 == 0:
                progress(self.rows, max(total, self.rows), _("Reading the file"))
            external_id = row["external_id"]
            if current is None or not external_id or external_id != current_id:
                if current is not None:
                    yield current
                current, current_id = self._start(row, number), external_id
            else:
                self._continue(current, row, number)
        if current is not None:
            yield current
        if progress is not None:
            progress(self.rows, self.rows, _("Reading the file"))

    def _start(self, row: dict[str, str], number: int) -> dict[str, Any]:
        problems: list[Problem] = []
        entry: dict[str, Any] = {
            "external_id": row["external_id"],
            "journal": row["journal"],
            "reference": row["reference"],
            "description": row["description"],
            "lines": [],
            "problems": problems,
        }
        if not row["external_id"]:
            problems.append((1, "external_id", _("Enter the entry's external id.")))
        entry["date"] = self.date(row["date"])
        if entry["date"] is None:
            problems.append(
                (
                    None,
                    "date",
                    _("%(value)r is not a date (YYYY-MM-DD or DD/MM/YYYY).")
                    % {"value": row["date"]},
                )
            )
        self.lines.append([])
        self._continue(entry, row, number, first=True)
        return entry

    def _continue(
        self, entry: dict[str, Any], row: dict[str, str], number: int, first: bool = False
    ) -> None:
        lines: list[dict[str, Any]] = entry["lines"]
        problems: list[Problem] = entry["problems"]
        line_no = len(lines) + 1
        self.lines[-1].append(number)
        if not first:
            for name in HEADER_FIELDS:
                value = row[name]
                given = self.date(value) if name == "date" and value else value
                if value and given != entry[name]:
                    problems.append(
                        (
                            line_no,
                            name,
                            _("%(value)r differs from the entry's first line; leave it empty.")
                            % {"value": value},
                        )
                    )
        line: dict[str, Any] = {"account": row["account"]}
        for name in AMOUNT_FIELDS:
            try:
                line[name] = self.amount(row[name])
            except ValueError:
                line[name] = ""
                problems.append(
                    (
                        line_no,
                        name,
                        _("%(value)r is not an amount (such as %(example)s).")
                        % {"value": row[name], "example": f"1234{self.decimal}56"},
                    )
                )
        if row["due_date"]:
            due = self.date(row["due_date"])
            if due is None:
                problems.append(
                    (
                        line_no,
                        "due_date",
                        _("%(value)r is not a date (YYYY-MM-DD or DD/MM/YYYY).")
                        % {"value": row["due_date"]},
                    )
                )
            line["due_date"] = due
        for source, target in (
            ("line_description", "description"),
            ("currency", "currency"),
            ("partner", "partner"),
            ("cost_centre", "cost_centre"),
            ("project", "project"),
        ):
            if row[source]:
                line[target] = row[source]
        lines.append(line)


def entries_import(
    *,
    company: Company,
    content: bytes,
    filename: str,
    progress: Progress | None = None,
    allow_before_lock: bool = False,
) -> ImportResult:
    """Import the entries of a CSV or XLSX file (see the module docstring); all or nothing.

    ``progress(done, total, message)`` is told of each step (reading the file, checking the
    entries, writing them). Raises ValidationError keyed ``file`` (unreadable file, columns)
    or ``line N``. ``allow_before_lock``: the importing user holds ``ledger.post_before_lock``.
    """
    digest = hashlib.sha256(content).hexdigest()
    if filename.lower().endswith(".xlsx"):
        total, rows = _xlsx_rows(content)
    else:
        total, rows = _csv_rows(content)
    header: list[str] | None = None
    for _number, cells in rows:
        if any(c.strip() for c in cells):
            header = cells
            break
    if header is None:
        raise _fail(_("The file is empty."))
    positions = _columns(header)
    reader = _Reader(company)
    with gc_paused():  # once for both steps: no collection walking the batch between them
        plan = bulk.plan_entries(
            company=company,
            entries=reader.entries(rows, positions, total, progress),
            progress=progress,
            allow_before_lock=allow_before_lock,
        )
        if not plan.entries:
            raise _fail(_("The file has no entries."))
        if plan.problems:
            raise bulk.problems_as_errors(plan.problems, reader.locate)
        result = bulk.plan_post(
            plan,
            progress=progress,
            locate=reader.locate,
            audit_extra={"file": filename, "sha256": digest, "rows": reader.rows},
        )
    return ImportResult(
        posted=result.posted,
        skipped=result.skipped,
        lines=result.lines,
        entries=len(plan.entries),
        first_number=result.first_number,
        last_number=result.last_number,
        sha256=digest,
        filename=filename,
    )


def line_key(where: str) -> tuple[int, str]:
    """Sort key of an error key: ``file`` first, then ``line N`` by N."""
    head, _space, tail = where.partition(" ")
    return (int(tail), where) if head == "line" and tail.isdigit() else (-1, where)


def errors_by_line(error: ValidationError) -> dict[str, list[str]]:
    """An import's ValidationError as ``{"line 17": ["account: ..."], "file": [...]}``."""
    if hasattr(error, "error_dict"):
        return {
            ("file" if key == "__all__" else key): list(messages)
            for key, messages in error.message_dict.items()
        }
    return {"file": list(error.messages)}


def result_message(result: ImportResult) -> str:
    """What an import did, for people."""
    if not result.posted:
        return ngettext(
            "Nothing new: the entry of the file was imported before.",
            "Nothing new: the %(count)d entries of the file were imported before.",
            result.skipped,
        ) % {"count": result.skipped}
    values = {
        "posted": result.posted,
        "lines": result.lines,
        "first": result.first_number,
        "last": result.last_number,
        "skipped": result.skipped,
    }
    if result.skipped:
        return (
            ngettext(
                "Posted %(posted)d entry (%(lines)d lines), %(first)s to %(last)s; "
                "%(skipped)d more had been imported before.",
                "Posted %(posted)d entries (%(lines)d lines), %(first)s to %(last)s; "
                "%(skipped)d more had been imported before.",
                result.posted,
            )
            % values
        )
    return (
        ngettext(
            "Posted %(posted)d entry (%(lines)d lines), %(first)s to %(last)s.",
            "Posted %(posted)d entries (%(lines)d lines), %(first)s to %(last)s.",
            result.posted,
        )
        % values
    )
