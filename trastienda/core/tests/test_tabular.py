"""The generic CSV / XLSX toolkit: numbers as written in Spain, Italy and England (exact, never
float), decoding and its fallbacks, delimiter sniffing, records with their line numbers,
workbooks, content detection and the checks of a mapping's settings. Pure Python: no database."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook

from trastienda.core.tabular import (
    MappingError,
    TabularFormatError,
    cell_date,
    cell_number,
    cell_text,
    check_column,
    check_date_format,
    check_layout,
    check_position,
    check_time_format,
    clean_text,
    column_text,
    csv_file_rows,
    csv_rows,
    decode,
    is_blank,
    is_delimited_text,
    is_position,
    is_xlsx,
    mapping_from,
    mapping_values,
    non_blank_rows,
    parse_number,
    quantize_exact,
    reraise_as,
    sniff_delimiter,
    tabular_kind,
    xlsx_rows,
)


@dataclass(frozen=True)
class Settings:
    """A minimal mapping: the layout settings and one column."""

    date: str = "1"
    decimal_separator: str = "."
    thousands_separator: str = ""
    delimiter: str = ""
    encoding: str = "utf-8-sig"
    skip_rows: int = 0
    has_header: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        return cls(**mapping_values(cls, data, columns=("date",)))


def workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal", "thousands", "expected"),
    [
        # Spain: 1.234,56 and the euro sign after the number
        ("1.234,56", ",", ".", "1234.56"),
        ("-1.234,56 €", ",", ".", "-1234.56"),
        ("1.234.567,8", ",", ".", "1234567.8"),
        ("12,50-", ",", ".", "-12.50"),
        ("EUR 12,50", ",", ".", "12.50"),
        (",5", ",", "", "0.5"),
        # Italy: the same separators, or a (non-breaking) space for thousands
        ("1 234,56", ",", " ", "1234.56"),
        ("1\u00a0234\u202f567,00 €", ",", " ", "1234567.00"),
        ("\u22121.000,00", ",", ".", "-1000.00"),  # the minus sign, not a hyphen
        # England: 1,234.56, pounds, brackets for negatives
        ("1,234.56", ".", ",", "1234.56"),
        ("£1,000", ".", ",", "1000"),
        ("(12.50)", ".", ",", "-12.50"),
        ("+3.10 GBP", ".", ",", "3.10"),
        ("0.1", ".", "", "0.1"),
        ("1234.56", ".", ",", "1234.56"),  # thousands separators are optional
    ],
)
def test_parse_number_reads_the_digits_as_written(
    text: str, decimal: str, thousands: str, expected: str
) -> None:
    number = parse_number(text, decimal, thousands)
    assert number == Decimal(expected)
    assert str(number) == expected  # the exponent too: "12.50" stays 12.50


def test_parse_number_is_exact_where_float_is_not() -> None:
    assert parse_number("0.1") + parse_number("0.2") == Decimal("0.3")
    assert parse_number("1.234.567.890.123.456,78", ",", ".") == Decimal("1234567890123456.78")


@pytest.mark.parametrize(
    ("text", "decimal", "thousands"),
    [
        ("", ".", ""),
        ("abc", ".", ""),
        ("1,23", ".", ","),  # a thousands group of two digits
        ("1.2345,00", ",", "."),  # a group of four
        ("1.234,56", ".", ","),  # Spanish text read as English
        ("12,5", ".", ""),  # a comma that is no separator here
        ("1 234", ".", ""),  # spaces without space as the thousands separator
        ("1.5.", ".", ""),
        ("1e5", ".", ""),
        ("NaN", ".", ""),
        ("Infinity", ".", ""),
        ("--5", ".", ""),
        ("1" * 31, ".", ""),  # more digits than any amount has
    ],
)
def test_parse_number_refuses_what_is_not_a_number_in_that_format(
    text: str, decimal: str, thousands: str
) -> None:
    with pytest.raises(ValueError):
        parse_number(text, decimal, thousands)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, "12"),
        (0.1, "0.1"),  # an XLSX number cell: its shortest decimal text, not 0.1000000000000000055
        (1234.5, "1234.5"),
        (Decimal("7.25"), "7.25"),
        ("1.234,5", "1234.5"),
    ],
)
def test_cell_number_reads_text_ints_floats_and_decimals_exactly(value: Any, expected: str) -> None:
    number = cell_number(value, ",", ".") if isinstance(value, str) else cell_number(value)
    assert str(number) == expected


@pytest.mark.parametrize(
    "value", [True, None, dt.date(2024, 1, 2), float("inf"), float("nan"), 1e30, 10**30, "x"]
)
def test_cell_number_refuses_what_is_not_a_finite_number(value: Any) -> None:
    with pytest.raises(ValueError):
        cell_number(value)


def test_quantize_exact_pads_to_the_places_and_refuses_to_round() -> None:
    assert str(quantize_exact(Decimal("1.5"), 2)) == "1.50"
    assert str(quantize_exact(Decimal("1.500"), 2)) == "1.50"
    assert str(quantize_exact(Decimal("12"), 0)) == "12"
    assert str(quantize_exact(Decimal("-0"), 2)) == "0.00"  # never a negative zero
    with pytest.raises(ValueError):
        quantize_exact(Decimal("1.505"), 2)
    with pytest.raises(ValueError):
        quantize_exact(Decimal("0.5"), 0)


def test_cell_date_reads_workbook_dates_and_text_in_the_format() -> None:
    assert cell_date(dt.datetime(2024, 3, 1, 15, 30), "%d/%m/%Y") == dt.date(2024, 3, 1)  # noqa: DTZ001
    assert cell_date(dt.date(2024, 3, 1), "%d/%m/%Y") == dt.date(2024, 3, 1)
    assert cell_date(" 01/03/2024 ", "%d/%m/%Y") == dt.date(2024, 3, 1)
    with pytest.raises(ValueError, match=r"'2024-03-01' is not a date in the format %d/%m/%Y"):
        cell_date("2024-03-01", "%d/%m/%Y")
    with pytest.raises(ValueError, match="is not a date"):
        cell_date(45352, "%d/%m/%Y")


# -- decoding -----------------------------------------------------------------------------


def test_decode_follows_the_byte_order_mark() -> None:
    text = "Fecha;Concepto\nCafé"
    assert decode(text.encode("utf-8-sig")) == text
    assert decode(text.encode("utf-16")) == text  # Excel's "Unicode text", either byte order
    assert decode(b"\xfe\xff" + text.encode("utf-16-be")) == text
    # The BOM wins over what the mapping says, and never stays in the text.
    assert decode(text.encode("utf-8-sig"), "latin-1") == text
    assert decode(text.encode("utf-8-sig"), "utf-8") == text


def test_decode_uses_the_encoding_then_the_fallbacks() -> None:
    windows = "Comisión 5 €".encode("cp1252")  # b"\xf3" and b"\x80": not UTF-8
    assert decode(windows) == "Comisión 5 €"  # utf-8-sig fails, cp1252 reads it
    assert decode(windows, "cp1252") == "Comisión 5 €"
    assert decode(windows, fallbacks=("latin-1",)) == "Comisión 5 \x80"  # the bank reader's
    assert decode(b"caf\xe9", "latin-1") == "café"
    # 0x81 is undefined in cp1252: latin-1, last, reads every byte.
    assert decode(b"a\x81b") == "a\x81b"
    with pytest.raises(UnicodeDecodeError):
        decode(b"a\x81b", fallbacks=())


# -- delimiters and CSV records -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("Fecha;Importe\n2024-01-02;-1,50\n2024-01-03;2,00", ",", ";"),
        ("Date,Amount\n2024-01-02,-1.50", ".", ","),
        ("Date\tAmount\tText\n2024-01-02\t1.50\ta, b", ".", "\t"),
        ("a|b\n1|2", ".", "|"),
        # "|" and "," split the same way: not the decimal separator...
        ("a|b,c\n1|2,3", ",", "|"),
        # ...and with "." as the decimal separator, the first in DELIMITERS order.
        ("a|b,c\n1|2,3", ".", ","),
        ("one column only\nno delimiter", ".", ";"),
    ],
)
def test_sniff_delimiter(text: str, decimal: str, expected: str) -> None:
    assert sniff_delimiter(text, decimal) == expected


def test_csv_rows_give_the_line_each_record_starts_on() -> None:
    text = 'a;b\r\n"two\nlines";2\r\n\r\n3;4\n'
    assert list(csv_rows(text)) == [
        (1, ["a", "b"]),
        (2, ["two\nlines", "2"]),
        (4, []),  # a blank line: the caller decides (non_blank_rows)
        (5, ["3", "4"]),
    ]


def test_csv_rows_skip_the_preamble_and_sniff_the_delimiter_after_it() -> None:
    text = "Account ES12, EUR\nExported 2024-01-31\nDate;Amount\n2024-01-02; 1,50 \n"
    assert list(csv_rows(text, skip_rows=2, decimal_separator=",")) == [
        (3, ["Date", "Amount"]),
        (4, ["2024-01-02", "1,50"]),
    ]
    # For a preview: every line, split with the delimiter of the lines after the preamble.
    assert list(csv_rows(text, skip_rows=2, keep_skipped=True))[:2] == [
        (1, ["Account ES12, EUR"]),
        (2, ["Exported 2024-01-31"]),
    ]
    assert list(csv_rows(text, skip_rows=9)) == []
    assert list(csv_rows("a,b;c\n", delimiter=",")) == [(1, ["a", "b;c"])]


def test_csv_rows_report_a_malformed_record_with_its_line() -> None:
    with pytest.raises(TabularFormatError) as caught:
        list(csv_rows('x\ny\na;b\n1;"2"3\n', skip_rows=2))
    assert caught.value.line == 4
    assert str(caught.value).startswith("line 4: unreadable CSV")


def test_csv_file_rows_read_bytes_as_the_layout_says() -> None:
    data = "Preamble\nFecha|Importe\n02/01/2024|1.234,50\n".encode("cp1252")
    layout = Settings(decimal_separator=",", thousands_separator=".", skip_rows=1)
    assert list(csv_file_rows(data, layout)) == [
        (2, ["Fecha", "Importe"]),
        (3, ["02/01/2024", "1.234,50"]),
    ]
    latin = "a;b\nCaf\xe9;\x80\n".encode("latin-1")
    assert list(csv_file_rows(latin, Settings(), fallbacks=("latin-1",)))[1] == (
        2,
        ["Café", "\x80"],
    )


# -- workbooks ----------------------------------------------------------------------------


def test_xlsx_rows_give_the_row_numbers_and_the_cell_values() -> None:
    data = workbook(
        [
            ["Statement of account"],
            ["Date", "Amount", "Text"],
            [dt.datetime(2024, 1, 2), 0.1, "Café"],  # noqa: DTZ001
            [None, None, None],
            [dt.datetime(2024, 1, 3), -12, None],  # noqa: DTZ001
        ]
    )
    rows = list(xlsx_rows(data, skip_rows=1))
    assert [number for number, _cells in rows] == [2, 3, 4, 5]
    assert rows[0][1] == ["Date", "Amount", "Text"]
    assert rows[1][1] == [dt.datetime(2024, 1, 2), 0.1, "Café"]  # noqa: DTZ001
    assert cell_number(rows[1][1][1]) == Decimal("0.1")
    assert [number for number, _cells in non_blank_rows(iter(rows))] == [2, 3, 5]
    assert [number for number, _cells in xlsx_rows(data)] == [1, 2, 3, 4, 5]


def test_xlsx_rows_refuse_a_file_that_is_not_a_workbook() -> None:
    with pytest.raises(TabularFormatError, match="not a valid XLSX workbook"):
        list(xlsx_rows(b"PK\x03\x04 not really a zip"))


# -- detection ----------------------------------------------------------------------------


def test_tabular_kind_tells_workbooks_and_utf16_text_by_their_first_bytes() -> None:
    assert tabular_kind(workbook([["a"]])) == "xlsx"
    assert is_xlsx(workbook([["a"]]))
    assert tabular_kind("Fecha\tImporte\n".encode("utf-16")) == "csv"
    assert tabular_kind(b"Fecha;Importe\n") == ""
    assert tabular_kind(b"") == ""
    with pytest.raises(TabularFormatError, match=r"old Excel \(\.xls\)"):
        tabular_kind(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"Date,Amount\n2024-01-02,1.50\n", True),
        ("Fecha;Concepto\nSeñal;1\n".encode("latin-1"), True),
        ("Fecha;Concepto\nSeñal".encode()[:-1], True),  # "ñ" cut by the end of the head
        (b"\n\n  \nA|B\n", True),
        (b"just one line of text\n", False),
        (b"a;b\x00c\n", False),  # binary
        (b"a;b\x01c\n", False),  # a control character
        (b"", False),
    ],
)
def test_is_delimited_text(head: bytes, expected: bool) -> None:
    assert is_delimited_text(head) is expected


# -- cells --------------------------------------------------------------------------------


def test_cells_as_text() -> None:
    assert [is_blank(value) for value in (None, "", "  \t", "x", 0)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert cell_text(None) == ""
    assert cell_text(0.1) == "0.1"
    assert cell_text(3) == "3"
    assert cell_text(True) == "TRUE"
    assert cell_text(dt.datetime(2024, 1, 2)) == "2024-01-02"  # noqa: DTZ001
    assert cell_text(dt.datetime(2024, 1, 2, 9, 30)) == "2024-01-02T09:30:00"  # noqa: DTZ001
    assert cell_text(dt.date(2024, 1, 2)) == "2024-01-02"
    assert clean_text("  Transfer\n  from   ACME ") == "Transfer from ACME"
    rows: list[tuple[int, list[Any]]] = [(1, ["", None]), (2, []), (3, [" ", "x"])]
    assert list(non_blank_rows(iter(rows))) == [(3, [" ", "x"])]


# -- mapping settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"decimal_separator": ";"}, "decimal_separator"),
        ({"thousands_separator": "'"}, "thousands_separator"),
        ({"decimal_separator": ",", "thousands_separator": ","}, "thousands_separator"),
        ({"delimiter": ";;"}, "delimiter"),
        ({"delimiter": 1}, "delimiter"),
        ({"delimiter": '"'}, "delimiter"),
        ({"delimiter": "a"}, "delimiter"),
        ({"encoding": "klingon"}, "encoding"),
        ({"encoding": None}, "encoding"),
        ({"skip_rows": -1}, "skip_rows"),
        ({"skip_rows": True}, "skip_rows"),
        ({"skip_rows": "2"}, "skip_rows"),
        ({"has_header": "yes"}, "has_header"),
        # In this order: the first setting that cannot be used is named.
        ({"decimal_separator": ";", "encoding": "klingon"}, "decimal_separator"),
    ],
)
def test_check_layout_names_the_first_setting_that_cannot_be_used(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(MappingError) as caught:
        check_layout(Settings(**changes))
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{field}: ")


def test_check_layout_accepts_every_supported_combination() -> None:
    for decimal, thousands in ((".", ""), (".", ","), (",", "."), (",", " "), (".", " ")):
        check_layout(Settings(decimal_separator=decimal, thousands_separator=thousands))
    check_layout(Settings(delimiter="\t", encoding="cp1252", skip_rows=3, has_header=False))


def test_column_checks() -> None:
    check_column("date", "Fecha")
    check_column("date", "3")
    check_column("fees", "")
    for bad in (3, " Fecha", "0"):
        with pytest.raises(MappingError) as caught:
            check_column("date", bad)
        assert caught.value.field == "date"
    check_position("date", "2")
    check_position("fees", "")
    with pytest.raises(MappingError, match="without a header row"):
        check_position("date", "Fecha")
    assert is_position("1") and not is_position("0") and not is_position("A")
    assert [column_text("date", value) for value in (None, 3, " Fecha ")] == ["", "3", "Fecha"]
    with pytest.raises(MappingError):
        column_text("date", 1.5)


def test_format_checks() -> None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y", "%Y%m%d"):
        check_date_format("date_format", fmt)
    for bad in ("%d/%m", "%Y", "dd/mm/yyyy", "", None):
        with pytest.raises(MappingError) as caught:
            check_date_format("date_format", bad)
        assert caught.value.field == "date_format"
    for fmt in ("%H:%M:%S", "%H:%M", "%I:%M %p"):
        check_time_format("time_format", fmt)
    for wrong in ("%M:%S", "hh:mm", 13):
        with pytest.raises(MappingError) as caught:
            check_time_format("time_format", wrong)
        assert caught.value.field == "time_format"


def test_a_mapping_read_back_from_json() -> None:
    assert mapping_values(Settings, {"date": 2, "delimiter": ";"}, columns=("date",)) == {
        "date": "2",
        "delimiter": ";",
    }
    assert mapping_values(Settings, {"date": ["A", 2]}, columns=("date",)) == {"date": ("A", "2")}
    with pytest.raises(MappingError) as caught:
        mapping_values(Settings, {"date": "1", "colour": "red"}, columns=("date",))
    assert caught.value.field == "colour"
    with pytest.raises(MappingError) as caught:
        mapping_values(Settings, ["date"], columns=("date",))
    assert caught.value.field == "mapping"

    saved = Settings(date="3")
    assert mapping_from(Settings, saved) is saved
    assert mapping_from(Settings, {"date": 4}) == Settings(date="4")
    with pytest.raises(TabularFormatError, match="needs a column mapping"):
        mapping_from(Settings, None)
    with pytest.raises(TypeError, match="mapping must be a Settings or a dict, not str"):
        mapping_from(Settings, "date=1")  # type: ignore[arg-type]


def test_reraise_as_turns_a_file_error_into_the_readers_own() -> None:
    class ReaderError(ValueError):
        def __init__(self, message: str, line: int | None = None) -> None:
            super().__init__(message)
            self.line = line

    with pytest.raises(ReaderError) as caught, reraise_as(ReaderError):
        list(csv_rows('a;b\n1;"2"3\n'))
    assert caught.value.line == 2
    assert isinstance(caught.value.__cause__, TabularFormatError)
    with pytest.raises(MappingError), reraise_as(ReaderError):  # other errors pass through
        check_position("date", "Fecha")
