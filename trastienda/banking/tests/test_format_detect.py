"""Format detection from the content of a file (never its name) and dispatch to the readers.
No database."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path

import pytest
from openpyxl import Workbook

from trastienda.banking.formats import detect_format, read_statement
from trastienda.banking.formats.base import ParsedStatement, StatementFormatError

DATA = Path(__file__).parent / "data"
NORMA43 = DATA / "norma43" / "movements.n43"
MT940 = DATA / "mt940"

CAMT = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt><GrpHdr><MsgId>1</MsgId></GrpHdr></BkToCstmrStmt>
</Document>
"""
CAMT054 = CAMT.replace(b"camt.053.001.02", b"camt.054.001.08")
OFX_SGML = b"""OFXHEADER:100
DATA:OFXSGML
VERSION:102

<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR</CURDEF></STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""
OFX_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX><SIGNONMSGSRSV1/></OFX>
"""


def xlsx() -> bytes:
    book = Workbook()
    book.active.append(["Fecha", "Importe"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_norma43_sample():
    data = NORMA43.read_bytes()
    assert detect_format(data) == "norma43"
    assert detect_format(data, "statement.csv") == "norma43"  # the name is not trusted
    with pytest.raises(StatementFormatError):  # records cut short and no line breaks
        detect_format(data.replace(b"\r\n", b""))


def test_norma43_without_line_breaks():
    records = [
        line.ljust(80) for line in NORMA43.read_bytes().decode("latin-1").split("\r\n") if line
    ]
    assert detect_format("".join(records).encode("latin-1")) == "norma43"


@pytest.mark.parametrize(
    "name",
    [
        "betterplace/sepa_mt9401.sta",
        "cmxl/mt940.sta",
        "jejik/knab.sta",
        "jejik/rabobank-iban.sta",  # starts with a ":940:" line
        "jejik/sns.sta",
        "mBank/mt940.sta",  # starts with a SOH control character
        "self-provided/february_30.sta",  # CRLF
    ],
)
def test_mt940_samples(name):
    assert detect_format((MT940 / name).read_bytes(), name) == "mt940"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (CAMT, "camt"),
        (CAMT054, "camt"),
        (b"\xef\xbb\xbf" + CAMT, "camt"),
        (OFX_SGML, "ofx"),
        (OFX_XML, "ofx"),
        (b"Fecha;Concepto;Importe\n01/02/2024;Compra;-12,50\n", "csv"),
        (b"date,amount\n2024-01-01,1.00\n", "csv"),
        (b"\xef\xbb\xbfFecha\tImporte\n", "csv"),
        ("Fecha;Concepto\n01/02/2024;Señal\n".encode("latin-1"), "csv"),
        ("Fecha;Concepto\n".encode("utf-16"), "csv"),
        # Times in a CSV hold ":20:" but no line starts with the MT940 tags.
        (b"time;text\n10:20:30;a\n11:25:00;b :61: x\n", "csv"),
    ],
)
def test_detection_by_content(data, expected):
    assert detect_format(data) == expected


def test_xlsx_by_its_zip_signature():
    assert detect_format(xlsx(), "extracto.csv") == "xlsx"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x01\x02\x03binary",
        b"just one line of words",
        b"<html><body>not a statement</body></html>",
        b"\x89PNG\r\n\x1a\n",
    ],
)
def test_unrecognised(data):
    with pytest.raises(StatementFormatError) as caught:
        detect_format(data)
    assert caught.value.message == "unrecognised statement format"


def test_old_excel_workbook_is_named():
    with pytest.raises(StatementFormatError, match=r"\.xls"):
        detect_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)


def test_read_statement_dispatches_to_norma43_and_mt940():
    (norma43,) = read_statement(NORMA43.read_bytes(), "movements.n43")
    assert (norma43.format, norma43.account_iban) == ("norma43", "ES4811112222033333444412")
    statements = read_statement((MT940 / "jejik/generic.sta").read_bytes())
    assert [statement.format for statement in statements] == ["mt940", "mt940"]


@pytest.mark.parametrize(
    ("module", "function", "data"),
    [("camt", "read_camt", CAMT), ("ofx", "read_ofx", OFX_SGML)],
)
def test_read_statement_dispatches_to_camt_and_ofx(monkeypatch, module, function, data):
    received: list[bytes] = []

    def reader(content: bytes) -> list[ParsedStatement]:
        received.append(content)
        return [ParsedStatement(format=module, currency="EUR")]

    fake = types.ModuleType(f"trastienda.banking.formats.{module}")
    setattr(fake, function, reader)
    monkeypatch.setitem(sys.modules, f"trastienda.banking.formats.{module}", fake)

    (statement,) = read_statement(data, "file")
    assert statement.format == module
    assert received == [data]
