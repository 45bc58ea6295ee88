import csv
import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from trastienda.core.exports import neutralise, write_csv, write_xlsx


def test_formula_like_text_is_neutralised() -> None:
    assert neutralise("=SUM(A1:A9)") == "'=SUM(A1:A9)"
    assert neutralise("+34 600") == "'+34 600"
    assert neutralise("-1+1") == "'-1+1"
    assert neutralise("@cmd") == "'@cmd"
    assert neutralise("\tx") == "'\tx"
    assert neutralise("plain") == "plain"


def test_numbers_and_dates_stay_typed() -> None:
    assert neutralise(Decimal("-12.50")) == Decimal("-12.50")
    assert neutralise(-3) == -3
    assert neutralise(dt.date(2026, 1, 31)) == dt.date(2026, 1, 31)
    assert neutralise(None) == ""


def test_csv_round_trip() -> None:
    data = write_csv(["Title", "Amount"], [["=HYPERLINK(x)", Decimal("1.50")], ["ok", 2]])
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["Title", "Amount"], ["'=HYPERLINK(x)", "1.50"], ["ok", "2"]]


def test_xlsx_cells() -> None:
    data = write_xlsx(["Title", "Date"], [["@SUM(1)", dt.date(2026, 3, 1)]], title="Docs")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "Docs"
    assert sheet["A2"].value == "'@SUM(1)"
    assert sheet["B2"].value == dt.datetime(2026, 3, 1)  # noqa: DTZ001 - Excel dates are naive
