"""Statement files built in the tests: small, exact, and adding up unless told otherwise.

:func:`camt053` writes an ISO 20022 camt.053.001.02 file (one ``Stmt`` per
:class:`CamtStatement`); :func:`csv_statement` a bank-style CSV export (semicolons, decimal
commas, a running balance). Amounts are decimal strings, never floats.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from trastienda.banking.formats.camt_writer import CamtStatement, Entry, camt053

DATA = Path(__file__).parent / "data"

MAIN_IBAN = "ES9121000418450200051332"  # CaixaBank, BIC CAIXESBB
OTHER_IBAN = "ES7921000813610123456789"
THIRD_IBAN = "ES7000491500010512345678"
SPARE_IBANS = (
    "ES0400491500090512345601",
    "ES5800491500030512345602",
    "ES1200491500080512345603",
    "ES6600491500020512345604",
    "ES2000491500070512345605",
)
NORMA43_IBAN = "ES4811112222033333444412"  # the account of data/norma43/movements.n43
MT940_IBAN = "PL29114010810000267002001002"  # the account of data/mt940/mBank/*.sta (PLN)
CREDITOR_ID = "ES11000B12345674"


D = dt.date


def march_entries() -> list[Entry]:
    """Five movements of March 2026: 1,210.00 + 350.50 in, 45.30 + 600.00 + 0.99 out."""
    return [
        Entry(
            D(2026, 3, 2),
            "1210.00",
            "Factura F2026-00001",
            "E2E-0001",
            "BR-0001",
            "Cliente Uno S.L.",
            OTHER_IBAN,
        ),
        Entry(D(2026, 3, 5), "-45.30", "Comisión mantenimiento", "", "BR-0002"),
        Entry(D(2026, 3, 9), "-600.00", "Alquiler marzo", "E2E-0003", "BR-0003", "Inmo S.A."),
        Entry(D(2026, 3, 16), "350.50", "Pago F2026-00002", "E2E-0004", "BR-0004", "Dos S.L."),
        Entry(D(2026, 3, 20), "-0.99", "Redondeo", "", "BR-0005"),
    ]


def march_camt(iban: str = MAIN_IBAN, **kw: object) -> bytes:
    """The March statement of ``iban``: opening 1,000.00, closing 1,914.21."""
    return camt053(CamtStatement(iban=iban, entries=march_entries(), **kw))  # type: ignore[arg-type]


CSV_MAPPING = {
    "date": "Fecha",
    "value_date": "Fecha valor",
    "amount": "Importe",
    "description": ["Concepto"],
    "reference": "Referencia",
    "balance": "Saldo",
    "date_format": "%d/%m/%Y",
    "decimal_separator": ",",
    "thousands_separator": ".",
    "delimiter": ";",
}


def csv_statement(rows: list[tuple[str, str, str, str]], opening: str = "1.000,00") -> bytes:
    """A bank CSV export: ``rows`` of (dd/mm/yyyy, amount "1.234,56", concept, reference),
    with a title line and a running balance computed from ``opening``."""

    def parse(text: str) -> Decimal:
        return Decimal(text.replace(".", "").replace(",", "."))

    def write(value: Decimal) -> str:
        sign = "-" if value < 0 else ""
        whole, _dot, cents = f"{abs(value):.2f}".partition(".")
        groups = f"{int(whole):,}".replace(",", ".")
        return f"{sign}{groups},{cents}"

    balance = parse(opening)
    lines = ["Fecha;Fecha valor;Concepto;Referencia;Importe;Saldo"]
    for date, amount, concept, reference in rows:
        balance += parse(amount)
        lines.append(f"{date};{date};{concept};{reference};{amount};{write(balance)}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


CSV_ROWS = [
    ("02/03/2026", "1.210,00", "TRANSFERENCIA CLIENTE UNO", "F2026-00001"),
    ("05/03/2026", "-45,30", "COMISION MANTENIMIENTO", ""),
    ("09/03/2026", "-600,00", "RECIBO ALQUILER", "R-03"),
]
