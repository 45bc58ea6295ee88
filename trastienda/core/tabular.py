"""Reading delimited text (CSV) and XLSX files through a column mapping: the generic pieces.

Spreadsheets exported by banks and brokers have no standard layout, so an app describes each
one with its own mapping (which column holds what, how numbers and dates are written) and reads
it with these functions. Nothing here knows what a row means; the bank statement reader
(:mod:`trastienda.banking.formats.tabular`) and the broker confirmation reader
(:mod:`trastienda.trading.formats.confirmations`) both build on it.

- numbers and dates: :func:`parse_number` reads text written with a decimal and a thousands
  separator digit by digit into ``Decimal``; :func:`cell_number` reads any cell (text, or the
  int / float openpyxl gives for a number cell, through its shortest decimal text
  ``Decimal(str(value))``); :func:`quantize_exact` checks the decimal places. Never float
  arithmetic. :func:`cell_date` reads a date cell or text in a strftime pattern.
- text files: :func:`decode` (by the BOM, else the caller's encoding, else fallbacks),
  :func:`sniff_delimiter`, :func:`csv_rows` (records with the line of the file they start
  on), :func:`csv_file_rows` (the same from bytes, as a mapping's :class:`Layout` says),
  :func:`is_delimited_text` and :func:`tabular_kind` (content detection).
- workbooks: :func:`xlsx_rows`, the rows of the active sheet (openpyxl, read-only).
- cells: :func:`is_blank`, :func:`cell_text`, :func:`clean_text`, :func:`non_blank_rows`.
- mappings: the checks every mapping makes of its settings (:func:`check_column`,
  :func:`check_position`, :func:`check_date_format`, :func:`check_time_format`,
  :func:`check_layout`), raising :class:`MappingError`; the JSON form read back
  (:func:`mapping_values`, :func:`column_text`, :func:`mapping_from`).

A file that cannot be read raises :class:`TabularFormatError` with the line (row) when known;
a reader turns it into its own error with :func:`reraise_as`. Pure Python, no database;
openpyxl is imported only when a workbook is read.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Protocol, Self, TypeVar

from django.utils.translation import gettext as _

__all__ = [
    "DECIMAL_SEPARATORS",
    "DELIMITERS",
    "FALLBACK_ENCODINGS",
    "MAX_DIGITS",
    "THOUSANDS_SEPARATORS",
    "Layout",
    "MappingError",
    "Row",
    "SavedMapping",
    "TabularFormatError",
    "cell_date",
    "cell_number",
    "cell_text",
    "check_column",
    "check_date_format",
    "check_layout",
    "check_position",
    "check_time_format",
    "clean_text",
    "column_text",
    "csv_file_rows",
    "csv_rows",
    "decode",
    "is_blank",
    "is_delimited_text",
    "is_position",
    "is_xlsx",
    "mapping_from",
    "mapping_values",
    "non_blank_rows",
    "parse_number",
    "quantize_exact",
    "reraise_as",
    "sniff_delimiter",
    "tabular_kind",
    "xlsx_rows",
]

DELIMITERS: Final = (";", ",", "\t", "|")
DECIMAL_SEPARATORS: Final = (".", ",")
THOUSANDS_SEPARATORS: Final = ("", ".", ",", " ")
FALLBACK_ENCODINGS: Final = ("cp1252", "latin-1")  # Windows exports; latin-1 reads every byte
MAX_DIGITS: Final = 30  # digits before the decimal point that a number may have, at most

Row = tuple[int, list[Any]]
"""(1-based line of the file or row of the sheet, the cells)."""

_SPACES: Final = re.compile(r"[\s\u00a0\u202f]+")
_MINUS: Final = ("-", "\u2212")  # hyphen-minus, minus sign
_SYMBOLS: Final = ("€", "$", "£")
_XLSX_MAGIC: Final = b"PK\x03\x04"  # a zip archive
_SAMPLE_MOMENT: Final = dt.datetime(2024, 12, 31, 13, 45, 59)  # noqa: DTZ001


class TabularFormatError(ValueError):
    """The file cannot be read. ``line`` is the 1-based line of the file (the row of a sheet),
    when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"line {self.line}: {self.message}"


@contextmanager
def reraise_as(error: Callable[[str, int | None], Exception]) -> Iterator[None]:
    """Turn a :class:`TabularFormatError` raised inside the block into ``error(message, line)``,
    the reader's own error."""
    try:
        yield
    except TabularFormatError as exc:
        raise error(exc.message, exc.line) from exc


class Layout(Protocol):
    """How a file is written: the settings every column mapping has (see :func:`check_layout`)."""

    @property
    def decimal_separator(self) -> str: ...  # one of DECIMAL_SEPARATORS
    @property
    def thousands_separator(self) -> str: ...  # one of THOUSANDS_SEPARATORS
    @property
    def delimiter(self) -> str: ...  # CSV only; "" = sniffed from the file
    @property
    def encoding(self) -> str: ...  # CSV only
    @property
    def skip_rows(self) -> int: ...  # lines (CSV) or rows (XLSX) before the header
    @property
    def has_header(self) -> bool: ...


class SavedMapping(Protocol):
    """A column mapping saved as JSON and read back with ``from_dict``."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self: ...


_M = TypeVar("_M", bound=SavedMapping)


class MappingError(ValueError):
    """A column mapping that cannot be used; ``field`` names the offending setting."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# -- numbers ----------------------------------------------------------------------------------


def parse_number(text: str, decimal_separator: str = ".", thousands_separator: str = "") -> Decimal:
    """ "-1.234,56", "1 234,56 €", "(12.50)", "12,50-", "EUR 12,50" -> Decimal, exactly as
    written; ValueError when the text is not a number written with these separators (thousands
    groups of three digits) or has more than :data:`MAX_DIGITS` digits."""
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
    if len(whole) + len(fraction) > MAX_DIGITS:
        raise ValueError(text)
    try:
        number = Decimal(f"{whole or '0'}.{fraction}" if separator else whole)
    except InvalidOperation:
        raise ValueError(text) from None
    return -number if negative else number


def cell_number(value: Any, decimal_separator: str = ".", thousands_separator: str = "") -> Decimal:
    """A cell as an exact Decimal: text through :func:`parse_number`, an int or Decimal as it
    is, a float (an XLSX number cell) through its shortest decimal text, never float maths.
    ValueError for anything else (a bool, a date, ``None``), for a number that is not finite
    and for one with :data:`MAX_DIGITS` digits or more before the decimal point."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        number = parse_number(value, decimal_separator, thousands_separator)
    else:
        raise ValueError(value)
    if not number.is_finite() or number.adjusted() >= MAX_DIGITS:
        raise ValueError(value)
    return number


def cell_date(value: Any, date_format: str) -> dt.date:
    """A cell as a date: a date or datetime cell of a workbook as it is (a datetime's date),
    text in ``date_format`` (a strftime pattern). ValueError, with the message to show,
    otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.strptime(value.strip(), date_format).date()  # noqa: DTZ007
        except ValueError:
            pass
    raise ValueError(
        _("%(value)r is not a date in the format %(format)s")
        % {"value": cell_text(value), "format": date_format}
    )


def quantize_exact(number: Decimal, places: int) -> Decimal:
    """``number`` written with ``places`` decimals (``1.5`` -> ``1.50`` for 2; never ``-0``);
    ValueError when that would round it (``1.505`` for 2)."""
    quantum = Decimal(1).scaleb(-places)
    if number != number.quantize(quantum):
        raise ValueError(number)
    return number.quantize(quantum) + 0


# -- text files -------------------------------------------------------------------------------


def decode(
    data: bytes, encoding: str = "utf-8-sig", *, fallbacks: Sequence[str] = FALLBACK_ENCODINGS
) -> str:
    """The text of a file, without its byte order mark.

    A UTF-16 BOM (Excel's "Unicode text") means UTF-16 and a UTF-8 BOM UTF-8, whatever
    ``encoding`` says; otherwise ``encoding``. When the bytes are not valid in it, the first of
    ``fallbacks`` that decodes them (latin-1, last by default, decodes every byte). Raises
    UnicodeDecodeError when none does.
    """
    candidates: tuple[str, ...]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16", *fallbacks)
    elif data.startswith(codecs.BOM_UTF8):
        data, candidates = data[len(codecs.BOM_UTF8) :], ("utf-8", encoding, *fallbacks)
    else:
        candidates = (encoding, *fallbacks)
    for candidate in candidates[:-1]:
        try:
            return data.decode(candidate).removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue
    return data.decode(candidates[-1]).removeprefix("\ufeff")


def sniff_delimiter(text: str, decimal_separator: str = ".") -> str:
    """The delimiter of a CSV text: of :data:`DELIMITERS`, the one that splits the first lines
    into the same number (more than one) of columns most often; on a tie, not the decimal
    separator, then the one giving more columns. ``;`` when none splits anything."""
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


def csv_rows(
    text: str,
    *,
    delimiter: str = "",
    skip_rows: int = 0,
    decimal_separator: str = ".",
    keep_skipped: bool = False,
) -> Iterator[Row]:
    """(line of the file where the record starts, its cells stripped) of each CSV record after
    the first ``skip_rows`` lines (all of them with ``keep_skipped``, for a preview).

    ``delimiter`` "" is sniffed from the lines after those skipped, avoiding
    ``decimal_separator`` on a tie. A malformed record raises :class:`TabularFormatError`.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    skipped = min(skip_rows, len(lines))
    body = "\n".join(lines[skipped:])
    delimiter = delimiter or sniff_delimiter(body, decimal_separator)
    offset = 0 if keep_skipped else skipped
    reader = csv.reader(
        io.StringIO(text if keep_skipped else body, newline=""), delimiter=delimiter, strict=True
    )
    last = 0
    try:
        for cells in reader:
            start, last = last + 1, reader.line_num
            yield offset + start, [cell.strip() for cell in cells]
    except csv.Error as exc:
        raise TabularFormatError(
            _("unreadable CSV: %(error)s") % {"error": exc}, line=offset + last + 1
        ) from exc


def csv_file_rows(
    data: bytes,
    layout: Layout,
    *,
    fallbacks: Sequence[str] = FALLBACK_ENCODINGS,
    keep_skipped: bool = False,
) -> Iterator[Row]:
    """:func:`csv_rows` of a CSV file written as ``layout`` says, decoded with :func:`decode`
    in its encoding, else ``fallbacks``."""
    return csv_rows(
        decode(data, layout.encoding, fallbacks=fallbacks),
        delimiter=layout.delimiter,
        skip_rows=layout.skip_rows,
        decimal_separator=layout.decimal_separator,
        keep_skipped=keep_skipped,
    )


def is_xlsx(data: bytes) -> bool:
    """The file is a zip archive, as an XLSX workbook is."""
    return data.startswith(_XLSX_MAGIC)


def tabular_kind(data: bytes) -> str:
    """What the first bytes say: "xlsx" for a zip archive, "csv" for UTF-16 text (Excel's
    "Unicode text"), "" for neither (look further, then :func:`is_delimited_text`). An old
    binary Excel workbook raises :class:`TabularFormatError`: it cannot be read."""
    if is_xlsx(data):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: an Excel 97-2003 .xls workbook
        raise TabularFormatError(
            _("old Excel (.xls) workbooks cannot be read: save the file as .xlsx or CSV")
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv"
    return ""


def is_delimited_text(head: bytes) -> bool:
    """``head`` (the first bytes of a file) is text (UTF-8 or a single-byte code page, no
    control characters) whose first non-blank lines hold a column delimiter."""
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut by the head's end
            text = head[: exc.start].decode("utf-8")
        else:
            text = head.decode("latin-1")
    if any(ord(char) < 32 and char not in "\t\r\n\x0c" for char in text):
        return False
    lines = [line for line in text.splitlines() if line.strip()][:5]
    return bool(lines) and any(delimiter in line for line in lines for delimiter in DELIMITERS)


# -- workbooks --------------------------------------------------------------------------------


def xlsx_rows(data: bytes, skip_rows: int = 0) -> Iterator[Row]:
    """(row number, cell values as openpyxl gives them) of the active sheet, after the first
    ``skip_rows`` rows. Raises :class:`TabularFormatError` for a file that is not a workbook."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise TabularFormatError(_("the file is not a valid XLSX workbook")) from exc
    try:
        sheet = book.active
        if sheet is None:
            raise TabularFormatError(_("the workbook has no sheet"))
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            if number > skip_rows:
                yield number, list(values)
    finally:
        book.close()


# -- cells ------------------------------------------------------------------------------------


def is_blank(value: Any) -> bool:
    """An empty cell: nothing, or only blanks."""
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: Any) -> str:
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


def clean_text(value: Any) -> str:
    """A cell as text, its words joined by single spaces."""
    return " ".join(cell_text(value).split())


def non_blank_rows(rows: Iterator[Row]) -> Iterator[Row]:
    """The rows with at least one cell that is not blank."""
    for line, cells in rows:
        if any(not is_blank(cell) for cell in cells):
            yield line, cells


# -- mappings ---------------------------------------------------------------------------------


def is_position(column: str) -> bool:
    """The column is given by its 1-based position ("3")."""
    return column.isdigit() and int(column) >= 1


def column_text(name: str, value: object) -> str:
    """A column setting from JSON: a name or a position, which may be a number."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise MappingError(name, _("expected a column name or position"))


def check_column(name: str, column: object) -> None:
    """A column setting is text ("" for none) without surrounding blanks; positions from 1."""
    if not isinstance(column, str):
        raise MappingError(name, _("expected a column name or position"))
    if column != column.strip():
        raise MappingError(name, _("the column must not start or end with blanks"))
    if column.isdigit() and int(column) < 1:
        raise MappingError(name, _("column positions start at 1"))


def check_position(name: str, column: str) -> None:
    """For a file without a header row: the column, when given, is a position."""
    if column and not is_position(column):
        raise MappingError(
            name,
            _("without a header row, columns are given by position (1, 2, 3...), not %(column)r")
            % {"column": column},
        )


def check_date_format(name: str, fmt: object) -> None:
    """A strftime pattern that gives day, month and year back."""
    if not _round_trips(fmt, lambda parsed: parsed.date() == _SAMPLE_MOMENT.date()):
        raise MappingError(
            # formatted (with nothing) so that "%%" reads "%", as the catalogue has it
            name,
            _("the date format must give day, month and year, such as %%d/%%m/%%Y") % {},
        )


def check_time_format(name: str, fmt: object) -> None:
    """A strftime pattern that gives at least the hour back."""
    if not _round_trips(fmt, lambda parsed: parsed.time().hour == _SAMPLE_MOMENT.hour):
        raise MappingError(
            name, _("the time format must give at least the hour, such as %%H:%%M:%%S") % {}
        )


def _round_trips(fmt: object, good: Callable[[dt.datetime], bool]) -> bool:
    try:
        return (
            isinstance(fmt, str)
            and "%" in fmt
            and good(dt.datetime.strptime(_SAMPLE_MOMENT.strftime(fmt), fmt))  # noqa: DTZ007
        )
    except ValueError:
        return False


def check_layout(layout: Layout) -> None:
    """The settings of how a file is written, checked in this order; the first that cannot be
    used raises :class:`MappingError` naming it. (The values are checked whatever their type:
    a mapping read from JSON may hold anything.)"""
    decimal_separator: object = layout.decimal_separator
    thousands_separator: object = layout.thousands_separator
    delimiter: object = layout.delimiter
    encoding: object = layout.encoding
    skip_rows: object = layout.skip_rows
    if decimal_separator not in DECIMAL_SEPARATORS:
        raise MappingError("decimal_separator", _("the decimal separator must be '.' or ','"))
    if thousands_separator not in THOUSANDS_SEPARATORS:
        raise MappingError(
            "thousands_separator", _("the thousands separator must be none, '.', ',' or a space")
        )
    if thousands_separator == decimal_separator:
        raise MappingError(
            "thousands_separator",
            _("the thousands separator must differ from the decimal separator"),
        )
    if not isinstance(delimiter, str) or len(delimiter) > 1:
        raise MappingError("delimiter", _("the delimiter must be a single character"))
    if delimiter in {'"', "\r", "\n"} or (delimiter and delimiter.isalnum()):
        raise MappingError("delimiter", _("this character cannot separate columns"))
    try:
        codecs.lookup(encoding)  # type: ignore[arg-type]  # anything else is refused below
    except (LookupError, TypeError):
        raise MappingError(
            "encoding", _("unknown encoding %(encoding)r") % {"encoding": encoding}
        ) from None
    if not isinstance(skip_rows, int) or isinstance(skip_rows, bool) or skip_rows < 0:
        raise MappingError("skip_rows", _("expected a whole number, 0 or more"))
    if not isinstance(layout.has_header, bool):
        raise MappingError("has_header", _("expected true or false"))


def mapping_values(cls: type[Any], data: object, *, columns: Collection[str]) -> dict[str, Any]:
    """The settings of the mapping dataclass ``cls`` from its JSON form, in the order given.

    ``data`` must be an object whose keys are all fields of ``cls``. The ``columns`` settings
    go through :func:`column_text` (a position may be a number; a list gives a tuple of
    columns); the others are returned as they are, for ``cls`` to check.
    """
    if not isinstance(data, Mapping):
        raise MappingError("mapping", _("expected an object"))
    known = {item.name for item in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise MappingError(str(key), _("unknown setting"))
        if key not in columns:
            values[key] = value
        elif isinstance(value, list | tuple):
            values[key] = tuple(column_text(key, item) for item in value)
        else:
            values[key] = column_text(key, value)
    return values


def mapping_from(cls: type[_M], mapping: _M | Mapping[str, Any] | None) -> _M:
    """``mapping`` itself, or the ``cls`` read from its JSON form. No mapping raises
    :class:`TabularFormatError` (the file cannot be read without one); anything else
    TypeError."""
    if mapping is None:
        raise TabularFormatError(_("this file needs a column mapping"))
    if isinstance(mapping, Mapping):
        mapping = cls.from_dict(mapping)
    if not isinstance(mapping, cls):
        raise TypeError(f"mapping must be a {cls.__name__} or a dict, not {type(mapping).__name__}")
    return mapping
