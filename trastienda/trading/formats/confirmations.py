"""Broker confirmations exported as CSV or XLSX, read through a column mapping.

Brokers' spreadsheets have no standard layout, so the user says once per broker which column
holds what (:class:`ConfirmationMapping`, saved as JSON by the app) and every later file is
read with it. A file whose header lacks a mapped column does not match the saved mapping and
is refused as a whole, before any row is read.

Every row is checked, and every cell that cannot be read is reported with the line of the file
(the row of the sheet) and the column; the error raised carries them all (see
:class:`~.base.ConfirmationFormatError`). Numbers never go through float: text is parsed digit
by digit into ``Decimal``; a number cell of an XLSX file (openpyxl gives a float) through its
shortest decimal text, ``Decimal(str(value))``.

Rows are executions (``exec_type`` "F"): files carry no corrects or cancels. A negative
quantity (how some brokers write sales) is read as its absolute value when the side is a sale,
and refused for a purchase. Fees are a cost: a negative fee (how some brokers write costs) is
read as its absolute value. The instrument is typed "ISIN" when the cell is a valid ISIN,
"SYMBOL" otherwise. A trade time without a time zone is in the mapping's ``timezone``.

The generic pieces (decoding, number parsing, delimiter sniffing, CSV records with their line
numbers, XLSX rows, cell display, the checks of the settings, the mapping error) are those of
:mod:`trastienda.core.tabular`.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from itertools import chain
from types import MappingProxyType
from typing import Any, Final

from django.utils.translation import gettext as _
from stdnum import isin as stdnum_isin

from trastienda.core import tabular
from trastienda.trading.formats.base import (
    SIDES,
    ConfirmationFormatError,
    ParsedConfirmation,
)

__all__ = [
    "DEFAULT_SIDE_VALUES",
    "ConfirmationMapping",
    "ConfirmationMappingError",
    "read_confirmations",
]

DEFAULT_SIDE_VALUES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "B": "buy",
        "S": "sell",
        "BUY": "buy",
        "SELL": "sell",
        "C": "buy",
        "V": "sell",
        "COMPRA": "buy",
        "VENTA": "sell",
        "ACQUISTO": "buy",
        "VENDITA": "sell",
    }
)
REQUIRED_COLUMNS: Final = (
    "broker_ref",
    "trade_ref",
    "trade_date",
    "instrument",
    "side",
    "quantity",
    "price",
    "currency",
    "account",
)
OPTIONAL_COLUMNS: Final = ("trade_time", "settlement_date", "fees")
COLUMNS: Final = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

ConfirmationMappingError = tabular.MappingError
"""A mapping that cannot be used; ``.field`` names the setting."""


@dataclass(frozen=True)
class ConfirmationMapping:
    """Which column of a broker's CSV or XLSX export holds what, and how values are written.

    A column is named by its header text (matched exactly, else ignoring case) or by its
    1-based position ("3", or the number 3 in JSON); without a header row only positions can
    be used. ``side_values`` maps what the side column says (compared ignoring case and
    surrounding blanks) to "buy" or "sell"; given, it replaces the default.
    """

    broker_ref: str
    trade_ref: str
    trade_date: str
    instrument: str
    side: str
    quantity: str
    price: str
    currency: str
    account: str
    trade_time: str = ""  # a timestamp, or a time of day on the trade date
    settlement_date: str = ""
    fees: str = ""  # absolute amount in the row's currency; empty cell = no fees
    side_values: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_SIDE_VALUES), hash=False
    )
    date_format: str = "%Y-%m-%d"  # strftime pattern: "%d/%m/%Y", "%d.%m.%y"...
    time_format: str = "%H:%M:%S"  # the trade time column: "%H:%M", or with the date
    timezone: str = "UTC"  # of trade times written without an offset: "Europe/Madrid"
    decimal_separator: str = "."
    thousands_separator: str = ""
    delimiter: str = ""  # CSV only; "" = sniffed from the file
    encoding: str = "utf-8-sig"  # CSV only; cp1252 when the file is not valid in it
    skip_rows: int = 0  # lines (CSV) or rows (XLSX) before the header
    has_header: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.side_values, Mapping):
            object.__setattr__(self, "side_values", MappingProxyType(dict(self.side_values)))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfirmationMappingError` naming the first setting that cannot be
        used."""
        for name in COLUMNS:
            column = getattr(self, name)
            tabular.check_column(name, column)
            if name in REQUIRED_COLUMNS and not column:
                raise ConfirmationMappingError(name, _("this column is required"))
            if not self.has_header:
                tabular.check_position(name, column)
        self._validate_side_values()
        self._validate_formats()
        tabular.check_layout(self)

    def _validate_side_values(self) -> None:
        if not isinstance(self.side_values, Mapping) or not self.side_values:
            raise ConfirmationMappingError(
                "side_values", _("expected what the side column says for a buy and a sell")
            )
        seen: dict[str, str] = {}
        for key, value in self.side_values.items():
            if not isinstance(key, str) or not key.strip():
                raise ConfirmationMappingError("side_values", _("expected non-empty texts"))
            if value not in SIDES:
                raise ConfirmationMappingError(
                    "side_values",
                    _("%(key)r must mean 'buy' or 'sell', not %(value)r")
                    % {"key": key, "value": value},
                )
            if seen.setdefault(_side_key(key), value) != value:
                raise ConfirmationMappingError(
                    "side_values",
                    _("%(key)r means both 'buy' and 'sell' (case is ignored)") % {"key": key},
                )

    def side_of(self, text: str) -> str | None:
        """ "buy" or "sell" for what a side cell says (ignoring case and blanks), or None."""
        wanted = _side_key(text)
        for key, value in self.side_values.items():
            if _side_key(key) == wanted:
                return value
        return None

    def _validate_formats(self) -> None:
        tabular.check_date_format("date_format", self.date_format)
        tabular.check_time_format("time_format", self.time_format)
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConfirmationMappingError(
                "timezone", _("unknown time zone %(zone)r") % {"zone": self.timezone}
            ) from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfirmationMapping:
        """A mapping from its JSON form (:meth:`to_dict`); column positions may be numbers."""
        values = tabular.mapping_values(cls, data, columns=COLUMNS)
        if "side_values" in values and not isinstance(values["side_values"], Mapping):
            raise ConfirmationMappingError("side_values", _("expected an object"))
        for name in REQUIRED_COLUMNS:
            if not values.get(name):
                raise ConfirmationMappingError(name, _("this column is required"))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form, read back by :meth:`from_dict`."""
        result = {item.name: getattr(self, item.name) for item in fields(self)}
        result["side_values"] = dict(self.side_values)
        return result


def read_confirmations(
    data: bytes, filename: str, mapping: ConfirmationMapping, broker: str
) -> list[ParsedConfirmation]:
    """The executions of a CSV or XLSX export, read with ``mapping``.

    An XLSX file (a zip archive) is read from its first (active) sheet; anything else as CSV
    text. ``filename`` is used for nothing but is accepted so that callers can pass what they
    have: the content decides. ``broker`` is the caller's code for the broker, put in every
    confirmation.
    """
    rows = (
        tabular.xlsx_rows(data, mapping.skip_rows)
        if tabular.is_xlsx(data)
        else tabular.csv_file_rows(data, mapping)
    )
    result: list[ParsedConfirmation] = []
    problems: list[ConfirmationFormatError] = []
    with tabular.reraise_as(ConfirmationFormatError):
        first = next(tabular.non_blank_rows(rows), None)
        if first is None:
            raise ConfirmationFormatError(_("the file has no rows"))
        if mapping.has_header:
            header_line, header = first
            columns = _resolve(mapping, [tabular.cell_text(cell) for cell in header], header_line)
            body = tabular.non_blank_rows(rows)
        else:
            columns = _resolve(mapping, None, first[0])
            body = chain([first], tabular.non_blank_rows(rows))
        reader = _RowReader(mapping, columns, broker)
        for line, cells in body:
            parsed = reader.row(line, cells)
            if reader.problems:
                problems.extend(reader.problems)
            elif parsed is not None:
                result.append(parsed)
    if problems:
        raise ConfirmationFormatError.from_errors(problems)
    if not result:
        raise ConfirmationFormatError(_("the file has no confirmations after its header"))
    return result


@dataclass(frozen=True)
class _Column:
    index: int  # 0-based
    label: str  # for messages: the header text or "column 3"


def _resolve(
    mapping: ConfirmationMapping, header: list[str] | None, header_line: int
) -> dict[str, _Column]:
    """Mapped field -> its column; a mapped column that the header lacks is an error."""
    names = [cell.strip() for cell in header] if header is not None else None
    folded = [name.casefold() for name in names] if names is not None else None
    columns: dict[str, _Column] = {}
    for name in COLUMNS:
        column = getattr(mapping, name)
        if not column:
            continue
        if names is not None and folded is not None:
            for candidates, wanted in ((names, column), (folded, column.casefold())):
                found = candidates.count(wanted)
                if found > 1:
                    raise ConfirmationFormatError(
                        _("the header has several columns named %(column)r (for %(field)s)")
                        % {"column": column, "field": name},
                        line=header_line,
                    )
                if found == 1:
                    index = candidates.index(wanted)
                    columns[name] = _Column(index, names[index])
                    break
            if name in columns:
                continue
            if tabular.is_position(column) and int(column) <= len(names):
                index = int(column) - 1
                columns[name] = _Column(index, names[index] or _label(column))
                continue
        elif tabular.is_position(column):
            columns[name] = _Column(int(column) - 1, _label(column))
            continue
        raise ConfirmationFormatError(
            _(
                "the file does not match the saved mapping: column %(column)s missing "
                "(for %(field)s)"
            )
            % {"column": column, "field": name},
            line=header_line,
        )
    return columns


def _label(position: str) -> str:
    return _("column %(number)s") % {"number": position}


class _RowReader:
    """Reads the cells of one row into a ParsedConfirmation, noting every bad cell."""

    def __init__(self, mapping: ConfirmationMapping, columns: Mapping[str, _Column], broker: str):
        self.mapping = mapping
        self.columns = columns
        self.broker = broker
        self.zone = zoneinfo.ZoneInfo(mapping.timezone)
        self.line = 0
        self.cells: list[Any] = []
        self.problems: list[ConfirmationFormatError] = []

    def row(self, line: int, cells: list[Any]) -> ParsedConfirmation | None:
        self.line, self.cells, self.problems = line, cells, []
        broker_ref = self._text("broker_ref")
        trade_ref = self._text("trade_ref")
        trade_date = self._date("trade_date")
        trade_time = self._time(trade_date)
        instrument = self._text("instrument").replace(" ", "")
        side = self._side()
        quantity = self._number("quantity")
        price = self._number("price")
        currency = self._currency()
        account = self._text("account")
        settlement_date = self._date("settlement_date", required=False)
        fees = self._number("fees", required=False)
        if quantity is not None and side is not None:
            if quantity < 0 and side == "sell":
                quantity = -quantity
            elif quantity <= 0:
                self._fail(
                    "quantity",
                    _("the quantity must be positive, not %(value)s") % {"value": quantity},
                )
        if price is not None and price < 0:
            self._fail("price", _("the price cannot be negative (%(value)s)") % {"value": price})
        if trade_date and settlement_date and settlement_date < trade_date:
            self._fail(
                "settlement_date",
                _("the settlement date %(settlement)s is before the trade date %(trade)s")
                % {"settlement": settlement_date, "trade": trade_date},
            )
        if self.problems or trade_date is None or side is None or quantity is None or price is None:
            return None
        isin = instrument.upper()
        is_isin = stdnum_isin.is_valid(isin)
        return ParsedConfirmation(
            line=line,
            broker_ref=broker_ref,
            trade_ref=trade_ref,
            trade_date=trade_date,
            trade_time=trade_time,
            instrument=isin if is_isin else instrument,
            instrument_id_type="ISIN" if is_isin else "SYMBOL",
            side=side,
            quantity=quantity,
            price=price,
            currency=currency,
            account=account,
            settlement_date=settlement_date,
            fees=abs(fees) if fees is not None else Decimal(0),
            exec_type="F",
            broker=self.broker,
        )

    # -- cells --------------------------------------------------------------------------

    def _cell(self, name: str) -> Any:
        column = self.columns.get(name)
        if column is None or column.index >= len(self.cells):
            return None
        return self.cells[column.index]

    def _fail(self, name: str, message: str) -> None:
        self.problems.append(
            ConfirmationFormatError(
                _("column %(column)s: %(message)s")
                % {"column": self.columns[name].label, "message": message},
                line=self.line,
            )
        )

    def _value(self, name: str, *, required: bool = True) -> Any:
        """The cell, or None when it is blank (noted as a problem when required)."""
        value = self._cell(name)
        if tabular.is_blank(value):
            if required and name in self.columns:
                self._fail(name, _("the cell is empty"))
            return None
        return value

    def _text(self, name: str) -> str:
        value = self._value(name)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():  # an id typed as a number
            return str(int(value))
        return tabular.clean_text(value)

    def _side(self) -> str | None:
        value = self._value("side")
        if value is None:
            return None
        side = self.mapping.side_of(tabular.cell_text(value))
        if side is None:
            self._fail(
                "side",
                _("%(value)r is not a side of the mapping (%(known)s)")
                % {"value": tabular.cell_text(value), "known": ", ".join(self.mapping.side_values)},
            )
        return side

    def _currency(self) -> str:
        text = self._text("currency").upper()
        if text and not re.fullmatch(r"[A-Z]{3}", text):
            self._fail("currency", _("%(value)r is not a currency code") % {"value": text})
        return text

    def _number(self, name: str, *, required: bool = True) -> Decimal | None:
        value = self._value(name, required=required)
        if value is None:
            return None
        try:
            return tabular.cell_number(
                value, self.mapping.decimal_separator, self.mapping.thousands_separator
            )
        except ValueError:
            self._fail(
                name,
                _(
                    "%(value)r is not a number written with %(decimal)r for decimals "
                    "and %(thousands)r for thousands"
                )
                % {
                    "value": tabular.cell_text(value),
                    "decimal": self.mapping.decimal_separator,
                    "thousands": self.mapping.thousands_separator,
                },
            )
            return None

    def _date(self, name: str, *, required: bool = True) -> dt.date | None:
        value = self._value(name, required=required)
        if value is None:
            return None
        try:
            return tabular.cell_date(value, self.mapping.date_format)
        except ValueError as exc:
            self._fail(name, str(exc))
            return None

    def _time(self, trade_date: dt.date | None) -> dt.datetime | None:
        """The trade time, aware in UTC: a timestamp, or a time of day on the trade date."""
        value = self._value("trade_time", required=False)
        if value is None:
            return None
        moment: dt.datetime | None = None
        if isinstance(value, dt.datetime):
            moment = value
        elif isinstance(value, dt.time) and trade_date is not None:
            moment = dt.datetime.combine(trade_date, value)
        elif isinstance(value, str):
            moment = self._parse_time(value.strip(), trade_date)
        if moment is None:
            if trade_date is not None or not isinstance(value, dt.time | str):
                self._fail(
                    "trade_time",
                    _("%(value)r is not a time in the format %(format)s")
                    % {"value": tabular.cell_text(value), "format": self.mapping.time_format},
                )
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(dt.UTC)

    def _parse_time(self, text: str, trade_date: dt.date | None) -> dt.datetime | None:
        """A time of day on the trade date, or a timestamp with its date (in the mapping's
        formats, else ISO 8601)."""
        mapping = self.mapping
        for fmt in (mapping.time_format, f"{mapping.date_format} {mapping.time_format}"):
            try:
                parsed = dt.datetime.strptime(text, fmt)  # noqa: DTZ007
            except ValueError:
                continue
            if "%Y" in fmt or "%y" in fmt:  # the text gives its date
                return parsed
            if trade_date is not None:
                return dt.datetime.combine(trade_date, parsed.time())
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return None


def _side_key(text: str) -> str:
    return " ".join(text.split()).casefold()
