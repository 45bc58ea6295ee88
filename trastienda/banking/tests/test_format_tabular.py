"""CSV and XLSX statements read through a column mapping: Spanish and English number formats,
debit/credit or signed amounts, running balances (that add up, that break, newest first),
workbooks with real dates and numbers, and every bad cell named by line and column.
No database."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from openpyxl import Workbook

from trastienda.banking.formats import read_statement
from trastienda.banking.formats.base import StatementFormatError
from trastienda.banking.formats.tabular import (
    ColumnMapping,
    ColumnMappingError,
    preview,
    read_csv,
    read_xlsx,
)

SPANISH_CSV = """\
Banco de Pruebas - Extracto de movimientos
Cuenta: ES91 2100 0418 4502 0005 1332

Fecha;Fecha valor;Concepto;Observaciones;Debe;Haber;Saldo
02/01/2024;02/01/2024;Recibo luz;Iberdrola;45,30;;1.954,70
03/01/2024;04/01/2024;Transferencia;ACME SL fra. 2024/17;;1.234,56;3.189,26
05/01/2024;05/01/2024;Comisión mantenimiento;;2,00;;3.187,26
""".encode("cp1252")

SPANISH = ColumnMapping(
    date="Fecha",
    value_date="Fecha valor",
    description=("Concepto", "Observaciones"),
    debit="Debe",
    credit="Haber",
    balance="Saldo",
    date_format="%d/%m/%Y",
    decimal_separator=",",
    thousands_separator=".",
    skip_rows=3,
)


def test_spanish_csv_with_debit_and_credit_columns():
    (statement,) = read_csv(SPANISH_CSV, SPANISH, "EUR")

    assert statement.format == "csv"
    assert statement.currency == "EUR"
    assert statement.account_iban == statement.account_number == statement.statement_id == ""
    assert (statement.start_date, statement.end_date) == (dt.date(2024, 1, 2), dt.date(2024, 1, 5))
    assert statement.opening_balance == Decimal("2000.00")  # 1.954,70 + 45,30
    assert statement.closing_balance == Decimal("3187.26")
    assert statement.balance_difference() == Decimal("0.00")

    light, transfer, fee = statement.lines
    assert light.amount == Decimal("-45.30")
    assert str(light.amount) == "-45.30"
    assert light.booking_date == light.value_date == dt.date(2024, 1, 2)
    assert light.description == "Recibo luz Iberdrola"
    assert light.line == 5
    assert transfer.amount == Decimal("1234.56")
    assert transfer.value_date == dt.date(2024, 1, 4)
    assert transfer.description == "Transferencia ACME SL fra. 2024/17"
    assert transfer.line == 6
    assert fee.amount == Decimal("-2.00")
    assert fee.description == "Comisión mantenimiento"  # cp1252, read through latin-1
    assert fee.line == 7


def test_running_balance_that_breaks_names_row_and_column():
    broken = SPANISH_CSV.replace(b"3.187,26", b"3.187,62")
    with pytest.raises(StatementFormatError) as caught:
        read_csv(broken, SPANISH, "EUR")
    assert caught.value.line == 7
    assert caught.value.message == (
        "column Saldo: the balance 3187.62 does not follow from the row before (3189.26) "
        "and this row's amount (-2.00)"
    )


def test_running_balance_newest_first():
    data = b"Date,Amount,Balance\n2024-01-05,-2.00,3187.26\n2024-01-03,1234.56,3189.26\n"
    data += b"2024-01-02,-45.30,1954.70\n"
    mapping = ColumnMapping(date="Date", amount="Amount", balance="Balance")
    (statement,) = read_csv(data, mapping, "EUR")
    assert statement.opening_balance == Decimal("2000.00")
    assert statement.closing_balance == Decimal("3187.26")
    assert [line.line for line in statement.lines] == [2, 3, 4]  # file order kept
    assert statement.balance_difference() == Decimal("0.00")


def test_english_csv_signed_amount_quotes_and_counterparty():
    data = (
        b"Booking date,Amount,Description,Reference,Payee,Payee IBAN\r\n"
        b'2024-03-01,"1,250.00","Invoice 17, March",INV-17,"Smith, J.",'
        b"GB82 WEST 1234 5698 7654 32\r\n"
        b"2024-03-02,-0.99,Card fee,,,NOT AN IBAN\r\n"
    )
    mapping = ColumnMapping(
        date="Booking date",
        amount="Amount",
        description=("Description",),
        reference="Reference",
        counterparty_name="Payee",
        counterparty_iban="Payee IBAN",
        thousands_separator=",",
    )
    (statement,) = read_csv(data, mapping, "GBP")

    invoice, fee = statement.lines
    assert invoice.amount == Decimal("1250.00")
    assert invoice.description == "Invoice 17, March"
    assert invoice.reference == "INV-17"
    assert invoice.counterparty_name == "Smith, J."
    assert invoice.counterparty_iban == "GB82WEST12345698765432"
    assert fee.amount == Decimal("-0.99")
    assert fee.counterparty_iban == ""  # not an IBAN
    assert statement.opening_balance is statement.closing_balance is None


def test_no_header_positions_and_number_notations():
    data = "\n".join(
        [
            "01.02.2024\t12,5\tone",
            "02.02.2024\t-1 234,50\ttwo",
            "03.02.2024\t(3,00)\tthree",
            "04.02.2024\t4,00-\tfour",
            "05.02.2024\t+5 €\tfive",
        ]
    ).encode()
    mapping = ColumnMapping(
        date="1",
        amount="2",
        description="3",  # one column may be given as text
        has_header=False,
        date_format="%d.%m.%Y",
        decimal_separator=",",
        thousands_separator=" ",
    )
    (statement,) = read_csv(data, mapping, "EUR")
    assert [line.amount for line in statement.lines] == [
        Decimal("12.50"),
        Decimal("-1234.50"),
        Decimal("-3.00"),
        Decimal("-4.00"),
        Decimal("5.00"),
    ]
    assert statement.lines[0].line == 1
    assert statement.lines[4].description == "five"


def test_utf16_tab_separated_text_from_excel():
    data = "Fecha\tImporte\tConcepto\r\n2024-01-02\t-1,50\tCafé\r\n".encode("utf-16")
    mapping = ColumnMapping(
        date="Fecha", amount="Importe", description=["Concepto"], decimal_separator=","
    )
    (statement,) = read_csv(data, mapping, "EUR")
    assert (statement.lines[0].amount, statement.lines[0].description) == (
        Decimal("-1.50"),
        "Café",
    )


def test_currency_decimals_are_respected():
    mapping = ColumnMapping(date="1", amount="2", has_header=False)
    (yen,) = read_csv(b"2024-01-01,1500\n", mapping, "JPY")
    assert str(yen.lines[0].amount) == "1500"
    (dinar,) = read_csv(b"2024-01-01,1.125\n", mapping, "BHD")
    assert str(dinar.lines[0].amount) == "1.125"
    (euro,) = read_csv(b"2024-01-01,7.500\n", mapping, "EUR")  # trailing zero: no loss
    assert str(euro.lines[0].amount) == "7.50"


# -- bad cells -----------------------------------------------------------------------------

HEADED = ColumnMapping(date="Date", amount="Amount", date_format="%d/%m/%Y")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("31/02/2024;1.00", "column Date: '31/02/2024' is not a date in the format %d/%m/%Y"),
        ("2024-01-05;1.00", "column Date: '2024-01-05' is not a date in the format %d/%m/%Y"),
        (";1.00", "column Date: the cell is empty"),
        ("05/01/2024;", "column Amount: the cell is empty"),
        (
            "05/01/2024;1.2.3",
            "column Amount: '1.2.3' is not an amount written with '.' for "
            "decimals and '' for thousands",
        ),
        ("05/01/2024;1,000.00", "column Amount: '1,000.00' is not an amount"),
        ("05/01/2024;12.345", "column Amount: 12.345 has more decimals than the currency's 2"),
        ("05/01/2024;abc", "column Amount: 'abc' is not an amount"),
    ],
)
def test_bad_cell_names_line_and_column(row, message):
    data = f"Date;Amount\n01/01/2024;1.00\n{row}\n".encode()
    with pytest.raises(StatementFormatError) as caught:
        read_csv(data, HEADED, "EUR")
    assert caught.value.line == 3
    assert caught.value.message.startswith(message)


def test_thousands_groups_are_checked():
    mapping = ColumnMapping(
        date="1", amount="2", has_header=False, decimal_separator=",", thousands_separator="."
    )
    (statement,) = read_csv(b"2024-01-01;1.234.567,89\n", mapping, "EUR")
    assert statement.lines[0].amount == Decimal("1234567.89")
    with pytest.raises(StatementFormatError) as caught:  # "1.5" is no thousands group
        read_csv(b"2024-01-01;1,00\n2024-01-02;1.5\n", mapping, "EUR")
    assert caught.value.line == 2
    assert "'1.5' is not an amount written with ','" in caught.value.message


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("05/01/2024;1,00;2,00", "a row has a debit or a credit, not both"),
        ("05/01/2024;;", "both cells are empty"),
        ("05/01/2024;;-2,00", "column Haber: a credit cannot be negative"),
    ],
)
def test_debit_and_credit_rules(row, words):
    mapping = ColumnMapping(
        date="Fecha", debit="Debe", credit="Haber", date_format="%d/%m/%Y", decimal_separator=","
    )
    data = f"Fecha;Debe;Haber\n{row}\n".encode()
    with pytest.raises(StatementFormatError) as caught:
        read_csv(data, mapping, "EUR")
    assert caught.value.line == 2
    assert words in caught.value.message


def test_debit_written_negative_is_money_out_and_zero_other_side_is_allowed():
    mapping = ColumnMapping(date="Fecha", debit="Debe", credit="Haber", decimal_separator=",")
    data = b"Fecha;Debe;Haber\n2024-01-05;-2,00;0,00\n2024-01-06;0,00;3,00\n"
    (statement,) = read_csv(data, mapping, "EUR")
    assert [line.amount for line in statement.lines] == [Decimal("-2.00"), Decimal("3.00")]


def test_header_without_the_mapped_column():
    with pytest.raises(StatementFormatError) as caught:
        read_csv(
            SPANISH_CSV,
            ColumnMapping(**{**SPANISH.to_dict(), "balance": "Saldo final", "description": ()}),
            "EUR",
        )
    assert caught.value.line == 4
    assert "no column 'Saldo final' (for balance)" in caught.value.message


def test_header_names_match_ignoring_case_and_blanks():
    data = b" DATE ; amount \n2024-01-01;1.00\n"
    (statement,) = read_csv(data, ColumnMapping(date="Date", amount="Amount"), "EUR")
    assert statement.lines[0].amount == Decimal("1.00")


def test_empty_files_and_unknown_currency():
    with pytest.raises(StatementFormatError, match="no rows"):
        read_csv(b"\n\n", HEADED, "EUR")
    with pytest.raises(StatementFormatError, match="no movements"):
        read_csv(b"Date;Amount\n", HEADED, "EUR")
    with pytest.raises(StatementFormatError, match="unknown currency"):
        read_csv(b"Date;Amount\n01/01/2024;1.00\n", HEADED, "EURO")


def test_unreadable_csv_quoting():
    data = b'Date;Amount\n01/01/2024;"1.00\n'
    with pytest.raises(StatementFormatError) as caught:
        read_csv(data, ColumnMapping(date="Date", amount="Amount", delimiter=";"), "EUR")
    assert "unreadable CSV" in caught.value.message


# -- XLSX ----------------------------------------------------------------------------------


def naive(year: int, month: int, day: int) -> dt.datetime:
    """A cell's date-time: a workbook has no time zone."""
    return dt.datetime(year, month, day)  # noqa: DTZ001


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX_MAPPING = ColumnMapping(
    date="Fecha",
    amount="Importe",
    balance="Saldo",
    description=("Concepto",),
    value_date="Valor",
    date_format="%d/%m/%Y",
    decimal_separator=",",
    thousands_separator=".",
    skip_rows=2,
)


def test_xlsx_with_real_dates_and_numbers():
    data = workbook(
        [
            ["Movimientos de la cuenta"],
            [],
            ["Fecha", "Valor", "Concepto", "Importe", "Saldo"],
            [naive(2024, 1, 2), dt.date(2024, 1, 3), "Recibo", -45.3, 1954.7],
            [naive(2024, 1, 3), None, "Cobro", 1234.56, 3189.26],
            ["05/01/2024", "05/01/2024", "Comisión", "-2,00", "3.187,26"],  # typed as text
            [naive(2024, 1, 6), None, "Abono", 10, 3197.26],
        ]
    )
    (statement,) = read_xlsx(data, XLSX_MAPPING, "EUR")

    assert statement.format == "xlsx"
    assert [line.amount for line in statement.lines] == [
        Decimal("-45.30"),
        Decimal("1234.56"),
        Decimal("-2.00"),
        Decimal("10.00"),
    ]
    assert [line.booking_date for line in statement.lines] == [
        dt.date(2024, 1, 2),
        dt.date(2024, 1, 3),
        dt.date(2024, 1, 5),
        dt.date(2024, 1, 6),
    ]
    assert statement.lines[0].value_date == dt.date(2024, 1, 3)
    assert statement.lines[1].value_date is None
    assert [line.line for line in statement.lines] == [4, 5, 6, 7]
    assert statement.opening_balance == Decimal("2000.00")
    assert statement.closing_balance == Decimal("3197.26")
    assert statement.balance_difference() == Decimal("0.00")


def test_xlsx_float_with_too_many_decimals_names_the_row():
    data = workbook(
        [
            [],
            [],
            ["Fecha", "Valor", "Concepto", "Importe", "Saldo"],
            [naive(2024, 1, 2), None, "Uno", 0.1, 0.1],
            [naive(2024, 1, 3), None, "Dos", 1 / 3, 0.4],
        ]
    )
    with pytest.raises(StatementFormatError) as caught:
        read_xlsx(data, XLSX_MAPPING, "EUR")
    assert caught.value.line == 5
    assert caught.value.message == (
        "column Importe: 0.3333333333333333 has more decimals than the currency's 2"
    )


def test_xlsx_number_in_a_date_column_is_refused():
    data = workbook([[], [], ["Fecha", "Importe"], [45293, 1.5]])
    with pytest.raises(StatementFormatError) as caught:
        read_xlsx(data, ColumnMapping(date="Fecha", amount="Importe", skip_rows=2), "EUR")
    assert caught.value.line == 4
    assert "column Fecha: '45293' is not a date" in caught.value.message


def test_not_a_workbook():
    with pytest.raises(StatementFormatError, match="not a valid XLSX"):
        read_xlsx(b"PK\x03\x04 broken", XLSX_MAPPING, "EUR")


# -- preview -------------------------------------------------------------------------------


def test_preview_csv_and_xlsx():
    rows = preview(SPANISH_CSV, "extracto.csv", SPANISH)
    assert rows[0] == ["Banco de Pruebas - Extracto de movimientos"]
    assert rows[2] == []
    assert rows[3] == [
        "Fecha",
        "Fecha valor",
        "Concepto",
        "Observaciones",
        "Debe",
        "Haber",
        "Saldo",
    ]
    assert rows[6][2] == "Comisión mantenimiento"
    assert len(rows) == 7

    many = "Date,Amount\n" + "".join(f"2024-01-{day:02d},{day}.00\n" for day in range(1, 20))
    assert len(preview(many.encode(), "x.csv")) == 10

    data = workbook([["Fecha", "Importe"], [naive(2024, 1, 2), 12.5], [None, None]])
    assert preview(data, "x.xlsx") == [["Fecha", "Importe"], ["2024-01-02", "12.5"], ["", ""]]


# -- the mapping ---------------------------------------------------------------------------


def test_mapping_round_trips_through_json():
    saved = json.loads(json.dumps(SPANISH.to_dict()))
    assert saved["description"] == ["Concepto", "Observaciones"]
    assert ColumnMapping.from_dict(saved) == SPANISH
    by_position = ColumnMapping.from_dict({"date": 1, "amount": 2, "has_header": False})
    assert (by_position.date, by_position.amount) == ("1", "2")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"amount": "2"}, "date"),
        ({"date": "1"}, "amount"),
        ({"date": "1", "amount": "2", "debit": "3"}, "amount"),
        ({"date": "1", "debit": "3"}, "credit"),
        ({"date": "1", "credit": "3"}, "debit"),
        ({"date": "1", "amount": "2", "date_format": "%d/%m"}, "date_format"),
        ({"date": "1", "amount": "2", "date_format": "dd/mm/yyyy"}, "date_format"),
        ({"date": "1", "amount": "2", "decimal_separator": ";"}, "decimal_separator"),
        ({"date": "1", "amount": "2", "thousands_separator": "'"}, "thousands_separator"),
        (
            {"date": "1", "amount": "2", "decimal_separator": ",", "thousands_separator": ","},
            "thousands_separator",
        ),
        ({"date": "1", "amount": "2", "delimiter": ";;"}, "delimiter"),
        ({"date": "1", "amount": "2", "encoding": "klingon"}, "encoding"),
        ({"date": "1", "amount": "2", "skip_rows": -1}, "skip_rows"),
        ({"date": "1", "amount": "2", "skip_rows": "3"}, "skip_rows"),
        ({"date": "1", "amount": "2", "has_header": "yes"}, "has_header"),
        ({"date": "Fecha", "amount": "2", "has_header": False}, "date"),
        ({"date": "1", "amount": "0"}, "amount"),
        ({"date": "1", "amount": 2.5}, "amount"),
        ({"date": "1", "amount": "2", "colour": "red"}, "colour"),
    ],
)
def test_invalid_mappings_name_the_field(settings, field):
    with pytest.raises(ColumnMappingError) as caught:
        ColumnMapping.from_dict(settings)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_read_statement_with_a_mapping_dict_or_without_one():
    (statement,) = read_statement(SPANISH_CSV, "extracto.csv", SPANISH.to_dict(), "EUR")
    assert statement.closing_balance == Decimal("3187.26")
    with pytest.raises(StatementFormatError, match="needs a column mapping"):
        read_statement(SPANISH_CSV, "extracto.csv")
    data = workbook([["Fecha", "Importe"], [naive(2024, 1, 2), 12.5]])
    (sheet,) = read_statement(data, "x.xlsx", {"date": "Fecha", "amount": "Importe"}, "USD")
    assert (sheet.format, sheet.currency, sheet.lines[0].amount) == (
        "xlsx",
        "USD",
        Decimal("12.50"),
    )
