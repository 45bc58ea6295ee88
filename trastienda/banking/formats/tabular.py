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

The generic pieces (decoding, number and date parsing, delimiter sniffing, CSV records with
their line numbers, XLSX rows, the checks of the settings, the mapping error) are those of
:mod:`trastienda.core.tabular`. A CSV file that is not valid in the mapping's encoding is read
as latin-1.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from itertools import chain, pairwise
from typing import Any, Final

from django.utils.translation import gettext as _
from stdnum import iban as stdnum_iban

from trastienda.banking.formats.base import ParsedLine, ParsedStatement, StatementFormatError
from trastienda.core.money import currency_exponent
from trastienda.core.tabular import (
    MappingError,
    Row,
    cell_date,
    cell_number,
    cell_text,
    check_column,
    check_date_format,
    check_layout,
    check_position,
    clean_text,
    csv_file_rows,
    is_blank,
    is_position,
    is_xlsx,
    mapping_values,
    non_blank_rows,
    quantize_exact,
    reraise_as,
    xlsx_rows,
)

__all__ = ["ColumnMapping", "ColumnMappingError", "preview", "read_csv", "read_xlsx"]

PREVIEW_ROWS: Final = 10
ENCODING_FALLBACKS: Final = ("latin-1",)  # for a CSV file not valid in the mapping's encoding
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

ColumnMappingError = MappingError
"""A column mapping that cannot be used; ``field`` names the offending setting."""


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
            check_column(name, getattr(self, name))
        if not isinstance(self.description, tuple):
            raise ColumnMappingError("description", _("expected a list of columns"))
        for column in self.description:
            check_column("description", column)
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
        check_date_format("date_format", self.date_format)
        check_layout(self)
        if not self.has_header:
            for name in _COLUMN_FIELDS:
                check_position(name, getattr(self, name))
            for column in self.description:
                check_position("description", column)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnMapping:
        """A mapping from its JSON form (:meth:`to_dict`); column positions may be numbers."""
        values = mapping_values(cls, data, columns=(*_COLUMN_FIELDS, "description"))
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


# -- reading --------------------------------------------------------------------------------


def read_csv(data: bytes, mapping: ColumnMapping, currency: str) -> list[ParsedStatement]:
    """The statement of a CSV export (one, account unknown)."""
    with reraise_as(StatementFormatError):
        return [_read(_csv_rows(data, mapping), mapping, currency, "csv")]


def read_xlsx(data: bytes, mapping: ColumnMapping, currency: str) -> list[ParsedStatement]:
    """The statement of the first (active) sheet of an XLSX export (one, account unknown)."""
    with reraise_as(StatementFormatError):
        return [_read(xlsx_rows(data, mapping.skip_rows), mapping, currency, "xlsx")]


def preview(
    data: bytes, filename: str = "", mapping: ColumnMapping | None = None
) -> list[list[str]]:
    """The first rows of a CSV or XLSX file as text, from the top of the file (lines to skip
    included), for the form where the user maps the columns."""
    rows: Iterator[Row]
    if is_xlsx(data) or filename.lower().endswith((".xlsx", ".xlsm")):
        rows = xlsx_rows(data)
    else:
        rows = _csv_rows(data, mapping, keep_skipped=True)
    result: list[list[str]] = []
    with reraise_as(StatementFormatError):
        for _line, cells in rows:
            result.append([cell_text(cell) for cell in cells])
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


def _read(rows: Iterator[Row], mapping: ColumnMapping, currency: str, kind: str) -> ParsedStatement:
    try:
        places = currency_exponent(currency)
    except (TypeError, ValueError):
        raise StatementFormatError(
            _("unknown currency %(currency)r") % {"currency": currency}
        ) from None
    first = next(non_blank_rows(rows), None)
    if first is None:
        raise StatementFormatError(_("the file has no rows"))
    if mapping.has_header:
        header_line, header = first
        columns, description = _resolve(mapping, [cell_text(c) for c in header], header_line)
        body = non_blank_rows(rows)
    else:
        columns, description = _resolve(mapping, None, first[0])
        body = chain([first], non_blank_rows(rows))

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
        if is_position(column):
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
        self.columns = columns
        self.line = 0
        self.cells: list[Any] = []

    def row(
        self, line: int, cells: list[Any], description: tuple[_Column, ...]
    ) -> tuple[ParsedLine, Decimal | None]:
        self.line, self.cells = line, cells
        booking_date = self._date(self._required("date"), self.columns["date"])
        value_date = None
        if "value_date" in self.columns and not is_blank(self._cell("value_date")):
            value_date = self._date(self._cell("value_date"), self.columns["value_date"])
        if self.mapping.amount:
            amount = self._money(self._required("amount"), self.columns["amount"])
        else:
            amount = self._debit_credit()
        balance = None
        if "balance" in self.columns:
            balance = self._money(self._required("balance"), self.columns["balance"])
        iban = re.sub(r"[\s-]", "", clean_text(self._cell("counterparty_iban"))).upper()
        parsed = ParsedLine(
            booking_date=booking_date,
            value_date=value_date,
            amount=amount,
            description=" ".join(
                text for column in description if (text := clean_text(self._at(column)))
            ),
            reference=clean_text(self._cell("reference")),
            counterparty_name=clean_text(self._cell("counterparty_name")),
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
        if is_blank(value):
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
        debit = None if is_blank(debit_value) else self._money(debit_value, debit_column)
        credit = None if is_blank(credit_value) else self._money(credit_value, credit_column)
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
        try:
            return cell_date(value, self.mapping.date_format)
        except ValueError as exc:
            raise self._fail(column, str(exc)) from None

    def _money(self, value: Any, column: _Column) -> Decimal:
        try:
            number = cell_number(
                value, self.mapping.decimal_separator, self.mapping.thousands_separator
            )
        except ValueError:
            if not isinstance(value, str):
                raise self._fail(
                    column, _("%(value)r is not an amount") % {"value": cell_text(value)}
                ) from None
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
        try:
            return quantize_exact(number, self.places)
        except ValueError:
            raise self._fail(
                column,
                _("%(value)s has more decimals than the currency's %(places)s")
                % {"value": number, "places": self.places},
            ) from None


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
    data: bytes, mapping: ColumnMapping | None, *, keep_skipped: bool = False
) -> Iterator[Row]:
    """(line of the file, cells) of each CSV record after the lines to skip (all of them
    with ``keep_skipped``), decoded in the mapping's encoding, else latin-1."""
    return csv_file_rows(
        data,
        mapping or _DEFAULT_MAPPING,
        fallbacks=ENCODING_FALLBACKS,
        keep_skipped=keep_skipped,
    )


_DEFAULT_MAPPING: Final = ColumnMapping(date="1", amount="2")
