"""Bank statements exported as CSV or XLSX, read through a column mapping.

Banks' spreadsheets have no standard layout, so the user says once per bank account which
column holds what (:class:`ColumnMapping`, saved as JSON by the app) and every later file is
read with it. :func:`preview` shows the first rows of a file for the mapping form.

Money never goes through float: text is parsed digit by digit into ``Decimal``; a number cell
of an XLSX file (openpyxl gives a float) is converted through its shortest decimal text
(``Decimal(str(value))``) and refused when that has more decimals than the currency allows.
Every cell that cannot be read raises :class:`StatementFormatError` naming the line of the file
(the row of the sheet) and the column.

A running balance column, when mapped, gives the opening balance (first balance minus first
amount) and the closing balance (the last one), and every row's balance must follow from the
row before. Files listed newest first are recognised by their balances following in reverse
order; without a balance column the order does not matter.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any, Final

from django.utils.translation import gettext as _
from stdnum import iban as stdnum_iban

from trastienda.banking.formats.base import ParsedLine, ParsedStatement, StatementFormatError
from trastienda.core.money import currency_exponent

__all__ = ["ColumnMapping", "ColumnMappingError", "preview", "read_csv", "read_xlsx"]

PREVIEW_ROWS: Final = 10
DELIMITERS: Final = (";", ",", "\t", "|")
DECIMAL_SEPARATORS: Final = (".", ",")
THOUSANDS_SEPARATORS: Final = ("", ".", ",", " ")
_COLUMN_FIELDS: Final = (
    "date",
    "amount",
    "debit",
    "credit",
    "value_date",
    "reference",
    "counterparty_name",
    "counterparty_iban",
    "balance",
)
_SPACES: Final = re.compile(r"[\s\u00a0\u202f]+")
_MINUS: Final = ("-", "\u2212")  # hyphen-minus, minus sign
_SYMBOLS: Final = ("€", "$", "£")
_MAX_DIGITS: Final = 30


class ColumnMappingError(ValueError):
    """A column mapping that cannot be used; ``field`` names the offending setting."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ColumnMapping:
    """Which column of a bank's CSV or XLSX export holds what, and how its values are written.

    A column is named by its header text or by its 1-based position ("3"); without a header
    row only positions can be used. The amount is one signed column (``amount``) or two
    columns of positive numbers (``debit`` money out, ``credit`` money in).
    """

    date: str
    amount: str = ""
    debit: str = ""
    credit: str = ""
    value_date: str = ""
    description: tuple[str, ...] = ()  # one or several columns, joined with spaces
    reference: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    balance: str = ""  # the running balance after each row
    date_format: str = "%Y-%m-%d"  # strftime pattern: "%d/%m/%Y", "%d.%m.%y"...
    decimal_separator: str = "."
    thousands_separator: str = ""
    delimiter: str = ""  # CSV only; "" = sniffed from the file
    encoding: str = "utf-8-sig"  # CSV only; latin-1 when the file is not valid in it
    skip_rows: int = 0  # lines (CSV) or rows (XLSX) before the header
    has_header: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.description, str):  # a single column given as text
            object.__setattr__(self, "description", (self.description,) if self.description else ())
        elif isinstance(self.description, list):
            object.__setattr__(self, "description", tuple(self.description))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ColumnMappingError` naming the first setting that cannot be used."""
        for name in _COLUMN_FIELDS:
            self._check_column(name, getattr(self, name))
        if not isinstance(self.description, tuple):
            raise ColumnMappingError("description", _("expected a list of columns"))
        for column in self.description:
            self._check_column("description", column)
        if not self.date:
            raise ColumnMappingError("date", _("the date column is required"))
        if self.amount and (self.debit or self.credit):
            raise ColumnMappingError(
                "amount", _("give either one amount column or debit and credit columns, not both")
            )
        if not self.amount:
            if not self.debit and not self.credit:
                raise ColumnMappingError(
                    "amount", _("give an amount column, or debit and credit columns")
                )
            if not self.debit:
                raise ColumnMappingError("debit", _("a credit column needs a debit column"))
            if not self.credit:
                raise ColumnMappingError("credit", _("a debit column needs a credit column"))
        self._check_date_format()
        if self.decimal_separator not in DECIMAL_SEPARATORS:
            raise ColumnMappingError(
                "decimal_separator", _("the decimal separator must be '.' or ','")
            )
        if self.thousands_separator not in THOUSANDS_SEPARATORS:
            raise ColumnMappingError(
                "thousands_separator",
                _("the thousands separator must be none, '.', ',' or a space"),
            )
        if self.thousands_separator == self.decimal_separator:
            raise ColumnMappingError(
                "thousands_separator",
                _("the thousands separator must differ from the decimal separator"),
            )
        if not isinstance(self.delimiter, str) or len(self.delimiter) > 1:
            raise ColumnMappingError("delimiter", _("the delimiter must be a single character"))
        if self.delimiter in {'"', "\r", "\n"} or (self.delimiter and self.delimiter.isalnum()):
            raise ColumnMappingError("delimiter", _("this character cannot separate columns"))
        try:
            codecs.lookup(self.encoding)
        except (LookupError, TypeError):
            raise ColumnMappingError(
                "encoding", _("unknown encoding %(encoding)r") % {"encoding": self.encoding}
            ) from None
        if (
            not isinstance(self.skip_rows, int)
            or isinstance(self.skip_rows, bool)
            or self.skip_rows < 0
        ):
            raise ColumnMappingError("skip_rows", _("expected a whole number, 0 or more"))
        if not isinstance(self.has_header, bool):
            raise ColumnMappingError("has_header", _("expected true or false"))
        if not self.has_header:
            for name in (*_COLUMN_FIELDS, "description"):
                values = self.description if name == "description" else (getattr(self, name),)
                for column in values:
                    if column and not _is_position(column):
                        raise ColumnMappingError(
                            name,
                            _(
                                "without a header row, columns are given by position "
                                "(1, 2, 3...), not %(column)r"
                            )
                            % {"column": column},
                        )

    def _check_column(self, name: str, column: object) -> None:
        if not isinstance(column, str):
            raise ColumnMappingError(name, _("expected a column name or position"))
        if column != column.strip():
            raise ColumnMappingError(name, _("the column must not start or end with blanks"))
        if column.isdigit() and int(column) < 1:
            raise ColumnMappingError(name, _("column positions start at 1"))

    def _check_date_format(self) -> None:
        sample = dt.date(2024, 12, 31)
        fmt = self.date_format
        try:
            ok = (
                isinstance(fmt, str)
                and "%" in fmt
                and dt.datetime.strptime(sample.strftime(fmt), fmt).date() == sample  # noqa: DTZ007
            )
        except ValueError:
            ok = False
        if not ok:
            raise ColumnMappingError(
                "date_format",
                _("the date format must give day, month and year, such as %%d/%%m/%%Y"),
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnMapping:
        """A mapping from its JSON form (:meth:`to_dict`); column positions may be numbers."""
        if not isinstance(data, Mapping):
            raise ColumnMappingError("mapping", _("expected an object"))
        known = {item.name for item in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise ColumnMappingError(str(key), _("unknown setting"))
            if key in _COLUMN_FIELDS:
                values[key] = _column_text(key, value)
            elif key == "description":
                if isinstance(value, list | tuple):
                    values[key] = tuple(_column_text(key, item) for item in value)
                else:
                    values[key] = _column_text(key, value)
            else:
                values[key] = value
        if "date" not in values:
            raise ColumnMappingError("date", _("the date column is required"))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form, read back by :meth:`from_dict`."""
        return {
            item.name: list(value)
            if isinstance(value := getattr(self, item.name), tuple)
            else value
            for item in fields(self)
        }


def _column_text(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise ColumnMappingError(name, _("expected a column name or position"))


def _is_position(column: str) -> bool:
    return column.isdigit() and int(column) >= 1


# -- reading --------------------------------------------------------------------------------


def read_csv(data: bytes, mapping: ColumnMapping, currency: str) -> list[ParsedStatement]:
    """The statement of a CSV export (one, account unknown)."""
    return [_read(_csv_rows(data, mapping), mapping, currency, "csv")]


def read_xlsx(data: bytes, mapping: ColumnMapping, currency: str) -> list[ParsedStatement]:
    """The statement of the first (active) sheet of an XLSX export (one, account unknown)."""
    return [_read(_xlsx_rows(data, mapping.skip_rows), mapping, currency, "xlsx")]


def preview(
    data: bytes, filename: str = "", mapping: ColumnMapping | None = None
) -> list[list[str]]:
    """The first rows of a CSV or XLSX file as text, from the top of the file (lines to skip
    included), for the form where the user maps the columns."""
    rows: Iterator[tuple[int, list[Any]]]
    if data.startswith(b"PK\x03\x04") or filename.lower().endswith((".xlsx", ".xlsm")):
        rows = _xlsx_rows(data, 0)
    else:
        rows = _csv_rows(data, mapping, skip=False)
    result: list[list[str]] = []
    for _line, cells in rows:
        result.append([_display(cell) for cell in cells])
        if len(result) == PREVIEW_ROWS:
            break
    return result


@dataclass(frozen=True)
class _Column:
    index: int  # 0-based
    label: str  # for messages: the header text or "column 3"


@dataclass(frozen=True)
class _Row:
    line: int
    amount: Decimal
    balance: Decimal | None


def _read(
    rows: Iterator[tuple[int, list[Any]]], mapping: ColumnMapping, currency: str, kind: str
) -> ParsedStatement:
    try:
        places = currency_exponent(currency)
    except (TypeError, ValueError):
        raise StatementFormatError(
            _("unknown currency %(currency)r") % {"currency": currency}
        ) from None
    first = next(_non_blank(rows), None)
    if first is None:
        raise StatementFormatError(_("the file has no rows"))
    if mapping.has_header:
        header_line, header = first
        columns, description = _resolve(mapping, [_display(c) for c in header], header_line)
        body = _non_blank(rows)
    else:
        columns, description = _resolve(mapping, None, first[0])
        body = _chain_first(first, _non_blank(rows))

    reader = _RowReader(mapping, places, columns)
    lines: list[ParsedLine] = []
    checked: list[_Row] = []
    for line, cells in body:
        parsed, balance = reader.row(line, cells, description)
        lines.append(parsed)
        checked.append(_Row(line=line, amount=parsed.amount, balance=balance))
    if not lines:
        raise StatementFormatError(_("the file has no movements after its header"))
    opening, closing = _balances(checked, columns.get("balance"))
    dates = [item.booking_date for item in lines]
    return ParsedStatement(
        format=kind,
        currency=currency,
        start_date=min(dates),
        end_date=max(dates),
        opening_balance=opening,
        closing_balance=closing,
        lines=lines,
    )


def _non_blank(rows: Iterator[tuple[int, list[Any]]]) -> Iterator[tuple[int, list[Any]]]:
    for line, cells in rows:
        if any(_display(cell).strip() for cell in cells):
            yield line, cells


def _chain_first(
    first: tuple[int, list[Any]], rest: Iterator[tuple[int, list[Any]]]
) -> Iterator[tuple[int, list[Any]]]:
    yield first
    yield from rest


def _resolve(
    mapping: ColumnMapping, header: list[str] | None, header_line: int
) -> tuple[dict[str, _Column], tuple[_Column, ...]]:
    """(mapped setting -> its column, the description columns); a header name that is not
    found is an error."""

    def find(name: str, column: str) -> _Column:
        if header is not None:
            names = [cell.strip() for cell in header]
            for candidates in (names, [cell.casefold() for cell in names]):
                wanted = column if candidates is names else column.casefold()
                if candidates.count(wanted) == 1:
                    index = candidates.index(wanted)
                    return _Column(index, names[index])
                if candidates.count(wanted) > 1:
                    raise StatementFormatError(
                        _("the header has several columns named %(column)r (for %(field)s)")
                        % {"column": column, "field": name},
                        line=header_line,
                    )
        if _is_position(column):
            index = int(column) - 1
            label = header[index].strip() if header and index < len(header) else ""
            return _Column(index, label or _("column %(number)s") % {"number": column})
        raise StatementFormatError(
            _("the header has no column %(column)r (for %(field)s)")
            % {"column": column, "field": name},
            line=header_line,
        )

    columns = {
        name: find(name, getattr(mapping, name))
        for name in _COLUMN_FIELDS
        if getattr(mapping, name)
    }
    return columns, tuple(find("description", column) for column in mapping.description)


class _RowReader:
    """Reads the cells of one row into a ParsedLine and its running balance."""

    def __init__(self, mapping: ColumnMapping, places: int, columns: Mapping[str, _Column]) -> None:
        self.mapping = mapping
        self.places = places
        self.quantum = Decimal(1).scaleb(-places)
        self.columns = columns
        self.line = 0
        self.cells: list[Any] = []

    def row(
        self, line: int, cells: list[Any], description: tuple[_Column, ...]
    ) -> tuple[ParsedLine, Decimal | None]:
        self.line, self.cells = line, cells
        booking_date = self._date(self._required("date"), self.columns["date"])
        value_date = None
        if "value_date" in self.columns and not _is_blank(self._cell("value_date")):
            value_date = self._date(self._cell("value_date"), self.columns["value_date"])
        if self.mapping.amount:
            amount = self._money(self._required("amount"), self.columns["amount"])
        else:
            amount = self._debit_credit()
        balance = None
        if "balance" in self.columns:
            balance = self._money(self._required("balance"), self.columns["balance"])
        iban = re.sub(r"[\s-]", "", _clean(self._cell("counterparty_iban"))).upper()
        parsed = ParsedLine(
            booking_date=booking_date,
            value_date=value_date,
            amount=amount,
            description=" ".join(
                text for column in description if (text := _clean(self._at(column)))
            ),
            reference=_clean(self._cell("reference")),
            counterparty_name=_clean(self._cell("counterparty_name")),
            counterparty_iban=iban if iban and stdnum_iban.is_valid(iban) else "",
            line=line,
        )
        return parsed, balance

    def _at(self, column: _Column) -> Any:
        return self.cells[column.index] if column.index < len(self.cells) else None

    def _cell(self, name: str) -> Any:
        column = self.columns.get(name)
        return None if column is None else self._at(column)

    def _required(self, name: str) -> Any:
        value = self._cell(name)
        if _is_blank(value):
            raise self._fail(self.columns[name], _("the cell is empty"))
        return value

    def _fail(self, column: _Column, message: str) -> StatementFormatError:
        return StatementFormatError(
            _("column %(column)s: %(message)s") % {"column": column.label, "message": message},
            line=self.line,
        )

    def _debit_credit(self) -> Decimal:
        debit_column, credit_column = self.columns["debit"], self.columns["credit"]
        debit_value, credit_value = self._at(debit_column), self._at(credit_column)
        debit = None if _is_blank(debit_value) else self._money(debit_value, debit_column)
        credit = None if _is_blank(credit_value) else self._money(credit_value, credit_column)
        labels = {"debit": debit_column.label, "credit": credit_column.label}
        if debit is None and credit is None:
            raise StatementFormatError(
                _("columns %(debit)s and %(credit)s: both cells are empty") % labels,
                line=self.line,
            )
        if debit and credit:
            raise StatementFormatError(
                _("columns %(debit)s and %(credit)s: a row has a debit or a credit, not both")
                % labels,
                line=self.line,
            )
        if credit is not None and credit < 0:
            raise self._fail(credit_column, _("a credit cannot be negative"))
        # A debit is money out whether the bank writes it positive or with a minus sign.
        return (credit or Decimal(0)) - abs(debit or Decimal(0)) + 0

    def _date(self, value: Any, column: _Column) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                parsed = dt.datetime.strptime(value.strip(), self.mapping.date_format)  # noqa: DTZ007
            except ValueError:
                pass
            else:
                return parsed.date()
        raise self._fail(
            column,
            _("%(value)r is not a date in the format %(format)s")
            % {"value": _display(value), "format": self.mapping.date_format},
        )

    def _money(self, value: Any, column: _Column) -> Decimal:
        not_amount = _("%(value)r is not an amount") % {"value": _display(value)}
        if isinstance(value, bool):
            raise self._fail(column, not_amount)
        if isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(str(value))  # the float's shortest decimal text, no float maths
        elif isinstance(value, Decimal):
            number = value
        elif isinstance(value, str):
            try:
                number = _parse_number(
                    value, self.mapping.decimal_separator, self.mapping.thousands_separator
                )
            except ValueError:
                raise self._fail(
                    column,
                    _(
                        "%(value)r is not an amount written with %(decimal)r for decimals "
                        "and %(thousands)r for thousands"
                    )
                    % {
                        "value": value,
                        "decimal": self.mapping.decimal_separator,
                        "thousands": self.mapping.thousands_separator,
                    },
                ) from None
        else:
            raise self._fail(column, not_amount)
        if not number.is_finite() or number.adjusted() >= _MAX_DIGITS:
            raise self._fail(column, not_amount)
        if number != number.quantize(self.quantum):
            raise self._fail(
                column,
                _("%(value)s has more decimals than the currency's %(places)s")
                % {"value": number, "places": self.places},
            )
        return number.quantize(self.quantum) + 0


def _parse_number(text: str, decimal_separator: str, thousands_separator: str) -> Decimal:
    """ "-1.234,56", "1 234,56 €", "(12.50)", "12,50-" -> Decimal; ValueError otherwise."""
    text = _SPACES.sub(" ", text).strip()
    for symbol in _SYMBOLS:
        text = text.removeprefix(symbol).removesuffix(symbol).strip()
    text = re.sub(r"^[A-Z]{3}\s|\s[A-Z]{3}$", "", text).strip()  # "EUR 12,50", "12,50 EUR"
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    if text[:1] in _MINUS or text[:1] == "+":
        negative, text = text[:1] in _MINUS, text[1:].strip()
    elif text[-1:] in _MINUS:
        negative, text = True, text[:-1].strip()
    if " " in text and thousands_separator != " ":
        raise ValueError(text)
    whole, separator, fraction = text.partition(decimal_separator)
    if separator and not fraction.isdigit():
        raise ValueError(text)
    if thousands_separator and thousands_separator in whole:
        group = re.escape(thousands_separator)
        if not re.fullmatch(rf"\d{{1,3}}({group}\d{{3}})+", whole):
            raise ValueError(text)
        whole = whole.replace(thousands_separator, "")
    if not (whole.isdigit() or (whole == "" and separator)):
        raise ValueError(text)
    if len(whole) + len(fraction) > _MAX_DIGITS:
        raise ValueError(text)
    try:
        number = Decimal(f"{whole or '0'}.{fraction}" if separator else whole)
    except InvalidOperation:
        raise ValueError(text) from None
    return -number if negative else number


def _balances(rows: list[_Row], column: _Column | None) -> tuple[Decimal | None, Decimal | None]:
    """(opening, closing) from the running balance column, checked row by row."""
    if column is None:
        return None, None
    forward = _first_break(rows)
    if forward is None:
        return _opening(rows[0]), rows[-1].balance
    if _first_break(rows[::-1]) is None:  # newest first
        return _opening(rows[-1]), rows[0].balance
    row, previous = forward
    raise StatementFormatError(
        _(
            "column %(column)s: the balance %(balance)s does not follow from the row before "
            "(%(previous)s) and this row's amount (%(amount)s)"
        )
        % {
            "column": column.label,
            "balance": row.balance,
            "previous": previous.balance,
            "amount": row.amount,
        },
        line=row.line,
    )


def _opening(row: _Row) -> Decimal | None:
    return None if row.balance is None else row.balance - row.amount


def _first_break(rows: Sequence[_Row]) -> tuple[_Row, _Row] | None:
    for previous, row in pairwise(rows):
        if previous.balance is None or row.balance is None:
            continue
        if previous.balance + row.amount != row.balance:
            return row, previous
    return None


# -- rows of the files ----------------------------------------------------------------------


def _csv_rows(
    data: bytes, mapping: ColumnMapping | None, *, skip: bool = True
) -> Iterator[tuple[int, list[Any]]]:
    """(line of the file, cells) of each CSV record after the lines to skip."""
    mapping = mapping or _DEFAULT_MAPPING
    text = _decode(data, mapping.encoding).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    skipped = min(mapping.skip_rows, len(lines))
    body = "\n".join(lines[skipped:])
    delimiter = mapping.delimiter or _sniff(body, mapping.decimal_separator)
    offset = skipped if skip else 0
    reader = csv.reader(
        io.StringIO(body if skip else text, newline=""), delimiter=delimiter, strict=True
    )
    last = 0
    try:
        for cells in reader:
            start, last = last + 1, reader.line_num
            yield offset + start, [cell.strip() for cell in cells]
    except csv.Error as exc:
        raise StatementFormatError(
            _("unreadable CSV: %(error)s") % {"error": exc}, line=offset + last + 1
        ) from exc


def _decode(data: bytes, encoding: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        encoding = "utf-16"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return data.decode("latin-1").removeprefix("\u00ef\u00bb\u00bf")


def _sniff(text: str, decimal_separator: str) -> str:
    """The delimiter of a CSV text: of ``;`` ``,`` tab and ``|``, the one that splits the first
    lines into the same number (more than one) of columns most often; on a tie, not the
    decimal separator, then the one giving more columns."""
    sample = [line for line in text.split("\n", 50)[:50] if line.strip()]
    best: tuple[float, bool, int] | None = None
    chosen = DELIMITERS[0]
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(sample, delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts or max(counts) < 2:
            continue
        modal = max(set(counts), key=lambda count: (counts.count(count), count))
        score = (counts.count(modal) / len(counts), delimiter != decimal_separator, modal)
        if best is None or score > best:
            best, chosen = score, delimiter
    return chosen


def _xlsx_rows(data: bytes, skip_rows: int) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cell values) of the active sheet, after the rows to skip."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise StatementFormatError(_("the file is not a valid XLSX workbook")) from exc
    try:
        sheet = book.active
        if sheet is None:
            raise StatementFormatError(_("the workbook has no sheet"))
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            if number > skip_rows:
                yield number, list(values)
    finally:
        book.close()


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean(value: Any) -> str:
    return " ".join(_display(value).split())


def _display(value: Any) -> str:
    """A cell as text: numbers exactly, dates ISO, nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(Decimal(str(value)))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


_DEFAULT_MAPPING: Final = ColumnMapping(date="1", amount="2")
