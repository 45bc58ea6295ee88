"""Broker confirmations in CSV and XLSX read through a saved column mapping: a Spanish export
(1.234,56, C/V sides, cp1252), a workbook with real dates and numbers, a file that no longer
matches the mapping, every bad cell named by line and column, the mapping's JSON form and its
validation, and format detection. No database."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from openpyxl import Workbook

from trastienda.trading.formats import detect, read_confirmation_file
from trastienda.trading.formats.base import ConfirmationFormatError
from trastienda.trading.formats.confirmations import (
    ConfirmationMapping,
    ConfirmationMappingError,
    read_confirmations,
)

SPANISH_CSV = """\
Bróker de Pruebas, S.V. - Confirmaciones de operaciones
Cliente: 000123

Referencia;Orden;Fecha;Hora;Liquidación;ISIN;Sentido;Títulos;Precio;Divisa;Cuenta;Comisión
BP-1001;T-2024-0001;15/03/2024;09:30:05;19/03/2024;ES0113900J37;C;1.200;4,2150;EUR;VAL-77;5,50
BP-1002;T-2024-0002;15/03/2024;16:10:00;19/03/2024;ES0148396007;V;-150;47,18;EUR;VAL-77;-3,25
BP-1003;T-2024-0003;18/03/2024;;20/03/2024;AAPL;c;10;172,6;USD;VAL-77;
""".encode("cp1252")

SPANISH = ConfirmationMapping(
    broker_ref="Referencia",
    trade_ref="Orden",
    trade_date="Fecha",
    trade_time="Hora",
    settlement_date="Liquidación",
    instrument="ISIN",
    side="Sentido",
    quantity="Títulos",
    price="Precio",
    currency="Divisa",
    account="Cuenta",
    fees="Comisión",
    date_format="%d/%m/%Y",
    decimal_separator=",",
    thousands_separator=".",
    timezone="Europe/Madrid",
    skip_rows=3,
)

ENGLISH = ConfirmationMapping(
    broker_ref="Exec ID",
    trade_ref="Order",
    trade_date="Trade Date",
    trade_time="Time",
    instrument="Symbol",
    side="Side",
    quantity="Qty",
    price="Price",
    currency="Currency",
    account="Account",
    fees="Commission",
)


def error_of(data: bytes, mapping: ConfirmationMapping, filename: str = "file.csv"):
    with pytest.raises(ConfirmationFormatError) as caught:
        read_confirmations(data, filename, mapping, "BP")
    return caught.value


def test_spanish_csv_with_thousands_decimal_comma_and_c_v_sides():
    buy, sell, usd = read_confirmations(SPANISH_CSV, "confirmaciones.csv", SPANISH, "BP")

    assert buy.line == 5
    assert (buy.broker_ref, buy.trade_ref, buy.broker) == ("BP-1001", "T-2024-0001", "BP")
    assert (buy.instrument, buy.instrument_id_type) == ("ES0113900J37", "ISIN")
    assert (buy.side, buy.quantity, buy.price) == ("buy", Decimal("1200"), Decimal("4.2150"))
    assert str(buy.price) == "4.2150"
    assert (buy.currency, buy.account, buy.fees) == ("EUR", "VAL-77", Decimal("5.50"))
    assert buy.trade_date == dt.date(2024, 3, 15)
    assert buy.settlement_date == dt.date(2024, 3, 19)
    assert buy.trade_time == dt.datetime(2024, 3, 15, 8, 30, 5, tzinfo=dt.UTC)  # Madrid, UTC+1
    assert buy.exec_type == "F"

    # a sale written with a negative quantity and a negative fee
    assert (sell.side, sell.quantity, sell.fees) == ("sell", Decimal("150"), Decimal("3.25"))
    # lower-case side, no time, no fee, a symbol rather than an ISIN
    assert (usd.side, usd.trade_time, usd.fees) == ("buy", None, Decimal(0))
    assert (usd.instrument, usd.instrument_id_type) == ("AAPL", "SYMBOL")
    assert usd.price == Decimal("172.6")


def test_a_file_without_a_mapped_column_does_not_match_the_saved_mapping():
    data = SPANISH_CSV.replace("Comisión".encode("cp1252"), b"Gastos")

    error = error_of(data, SPANISH)

    assert error.line == 4
    assert error.message.startswith(
        "the file does not match the saved mapping: column Comisión missing"
    )


def test_a_bad_date_names_the_row_and_the_column():
    data = SPANISH_CSV.replace(b"18/03/2024", b"2024-03-18")

    error = error_of(data, SPANISH)

    assert error.line == 7
    assert error.message == "column Fecha: '2024-03-18' is not a date in the format %d/%m/%Y"
    assert str(error) == f"line 7: {error.message}"


def test_every_bad_cell_of_every_row_is_reported():
    data = (
        SPANISH_CSV.replace(b";C;1.200;4,2150;", b";X;1.200;4.2150;")
        .replace(b"19/03/2024;ES0148396007", b"19/03/2024;")
        .replace(b"20/03/2024", b"17/03/2024")
    )

    error = error_of(data, SPANISH)

    assert [(item.line, item.message.split(":")[0]) for item in error.errors] == [
        (5, "column Sentido"),
        (5, "column Precio"),
        (6, "column ISIN"),
        (7, "column Liquidación"),
    ]
    assert "is not a side of the mapping" in error.errors[0].message
    assert "'4.2150' is not a number written with ','" in error.errors[1].message
    assert error.errors[2].message == "column ISIN: the cell is empty"
    assert "before the trade date" in error.errors[3].message
    assert "(and 3 more errors)" in str(error)


def test_a_positive_quantity_is_required_for_a_purchase():
    data = SPANISH_CSV.replace(b";C;1.200;", b";C;-1.200;")

    error = error_of(data, SPANISH)

    assert (error.line, error.message) == (
        5,
        "column Títulos: the quantity must be positive, not -1200",
    )


def test_an_english_csv_with_a_sniffed_comma_delimiter_and_iso_timestamps():
    data = (
        b"Exec ID,Order,Trade Date,Time,Symbol,Side,Qty,Price,Currency,Account,Commission\n"
        b'X1,O1,2024-03-15,2024-03-15T14:30:00+00:00,VOD,SELL,"1,000",72.5,gbx,A1,1.00\n'
    )
    mapping = ConfirmationMapping.from_dict({**ENGLISH.to_dict(), "thousands_separator": ","})

    (confirmation,) = read_confirmations(data, "c.csv", mapping, "BP")

    assert confirmation.quantity == Decimal("1000")
    assert confirmation.currency == "GBX"  # passed through, not only ISO 4217
    assert confirmation.trade_time == dt.datetime(2024, 3, 15, 14, 30, tzinfo=dt.UTC)


def test_columns_by_position_without_a_header():
    data = b"X1;O1;15/03/2024;IT0003132476;ACQUISTO;10;5,1;EUR;A1\n"
    mapping = ConfirmationMapping.from_dict(
        {
            "broker_ref": 1,
            "trade_ref": 2,
            "trade_date": 3,
            "instrument": 4,
            "side": 5,
            "quantity": 6,
            "price": 7,
            "currency": 8,
            "account": 9,
            "has_header": False,
            "date_format": "%d/%m/%Y",
            "decimal_separator": ",",
        }
    )

    (confirmation,) = read_confirmations(data, "c.csv", mapping, "BP")

    assert (confirmation.line, confirmation.side, confirmation.price) == (
        1,
        "buy",
        Decimal("5.1"),
    )
    assert confirmation.instrument_id_type == "ISIN"


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


WORKBOOK_HEADER = [
    "Exec ID",
    "Order",
    "Trade Date",
    "Time",
    "Symbol",
    "Side",
    "Qty",
    "Price",
    "Currency",
    "Account",
    "Commission",
]


def test_xlsx_with_real_dates_and_numbers():
    data = xlsx(
        [
            ["Broker X confirmations"],
            [],
            WORKBOOK_HEADER,
            [
                123456.0,  # an id typed as a number
                "O1",
                dt.datetime(2024, 3, 15),  # noqa: DTZ001 - a naive Excel date
                dt.time(14, 30),
                "US0378331005",
                "B",
                25,
                172.61,
                "USD",
                "A1",
                0.35,
            ],
            ["X2", "O2", dt.date(2024, 3, 18), None, "MSFT", "VENDITA", 3.5, 410, "USD", "A1", 1],
        ]
    )
    mapping = ConfirmationMapping.from_dict({**ENGLISH.to_dict(), "skip_rows": 2})

    first, second = read_confirmations(data, "c.xlsx", mapping, "BX")

    assert first.line == 4
    assert first.broker_ref == "123456"
    assert (first.instrument, first.instrument_id_type) == ("US0378331005", "ISIN")
    assert (first.quantity, first.price, first.fees) == (
        Decimal("25"),
        Decimal("172.61"),
        Decimal("0.35"),
    )
    assert first.trade_time == dt.datetime(2024, 3, 15, 14, 30, tzinfo=dt.UTC)
    assert (second.side, second.quantity, second.price) == ("sell", Decimal("3.5"), Decimal("410"))
    assert second.trade_date == dt.date(2024, 3, 18)


def test_xlsx_bad_cell_names_the_sheet_row_and_column():
    row = ["X1", "O1", "15th March", None, "VOD", "S", 1, 1, "GBP", "A1", None]

    error = error_of(xlsx([WORKBOOK_HEADER, row]), ENGLISH, "c.xlsx")

    assert error.line == 2
    assert error.message.startswith("column Trade Date: '15th March' is not a date")


def test_xlsx_missing_column():
    error = error_of(xlsx([WORKBOOK_HEADER[:-1], ["X1"]]), ENGLISH, "c.xlsx")

    assert error.line == 1
    assert "column Commission missing" in error.message


def test_an_empty_file_and_a_header_only_file():
    assert "no rows" in error_of(b"", ENGLISH).message
    header = ",".join(WORKBOOK_HEADER).encode()
    assert "no confirmations" in error_of(header + b"\n", ENGLISH).message


def test_the_mapping_round_trips_through_json():
    data = json.loads(json.dumps(SPANISH.to_dict()))

    assert ConfirmationMapping.from_dict(data) == SPANISH
    assert data["side_values"]["C"] == "buy"


def test_custom_side_values_replace_the_default():
    mapping = ConfirmationMapping.from_dict(
        {**ENGLISH.to_dict(), "side_values": {"Bought": "buy", "Sold": "sell"}}
    )
    data = (
        b"Exec ID,Order,Trade Date,Time,Symbol,Side,Qty,Price,Currency,Account,Commission\n"
        b"X1,O1,2024-03-15,,VOD,bought,1,1,GBP,A1,\n"
        b"X2,O2,2024-03-15,,VOD,BUY,1,1,GBP,A1,\n"
    )

    error = error_of(data, mapping)

    assert error.line == 3
    assert "'BUY' is not a side of the mapping" in error.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": ""}, "quantity"),
        ({"price": 0}, "price"),
        ({"side_values": {"B": "purchase"}}, "side_values"),
        ({"side_values": {"B": "buy", "b": "sell"}}, "side_values"),
        ({"side_values": "B=buy"}, "side_values"),
        ({"date_format": "%d/%m"}, "date_format"),
        ({"time_format": "%M:%S"}, "time_format"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"decimal_separator": ",", "thousands_separator": ","}, "thousands_separator"),
        ({"delimiter": ";;"}, "delimiter"),
        ({"encoding": "klingon"}, "encoding"),
        ({"skip_rows": -1}, "skip_rows"),
        ({"has_header": False}, "broker_ref"),  # names instead of positions
        ({"colour": "red"}, "colour"),
    ],
)
def test_mapping_validation_names_the_setting(changes: dict[str, object], field: str):
    with pytest.raises(ConfirmationMappingError) as caught:
        ConfirmationMapping.from_dict({**ENGLISH.to_dict(), **changes})

    assert isinstance(caught.value, ValueError)
    assert caught.value.field == field


def test_detection():
    assert detect(SPANISH_CSV, "c.csv") == "csv"
    assert detect(xlsx([WORKBOOK_HEADER]), "c.xlsx") == "xlsx"
    with pytest.raises(ConfirmationFormatError):
        detect(b"\xd0\xcf\x11\xe0old excel", "c.xls")
    with pytest.raises(ConfirmationFormatError):
        detect(b"just some words\n", "c.txt")


def test_read_confirmation_file_dispatches_with_a_dict_mapping():
    confirmations = read_confirmation_file(
        SPANISH_CSV, "c.csv", mapping=SPANISH.to_dict(), broker="BP"
    )

    assert [c.broker_ref for c in confirmations] == ["BP-1001", "BP-1002", "BP-1003"]
    with pytest.raises(ConfirmationFormatError, match="needs a column mapping"):
        read_confirmation_file(SPANISH_CSV, "c.csv")
