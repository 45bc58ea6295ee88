"""What every statement reader returns: plain data, no database.

A reader takes the bytes of a file and returns one :class:`ParsedStatement` per account and
period the file holds (a CAMT.053 file or an MT940 file may hold several; a Norma 43 file one
per account). Amounts are ``Decimal`` exactly as the bank wrote them, signed from the account
holder's side: money in is positive, money out negative. Readers never guess: a value the file
does not carry is ``None`` or ``""``; what cannot be read raises :class:`StatementFormatError`
naming the line (or XML element) and the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


class StatementFormatError(ValueError):
    """The file cannot be read. ``line`` is the 1-based line of the file, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One movement of a statement."""

    booking_date: dt.date
    amount: Decimal  # signed: credit (money in) positive, debit negative
    value_date: dt.date | None = None
    description: str = ""  # remittance information / narrative, joined with spaces
    reference: str = ""  # end-to-end id, customer reference, cheque number...
    bank_reference: str = ""  # the bank's own id of the movement (AcctSvcrRef, FITID...)
    counterparty_name: str = ""
    counterparty_iban: str = ""  # compact, upper case, when the file carries an IBAN
    transaction_code: str = ""  # the bank's code (BkTxCd, Norma 43 concept, MT940 GVC, OFX type)
    line: int | None = None  # where the movement starts in the file (1-based), for messages


@dataclass(slots=True)
class ParsedStatement:
    """One account's movements over one period, as the file tells them."""

    format: str  # "camt.053", "camt.054", "ofx", "norma43", "mt940", "csv", "xlsx"
    currency: str  # ISO 4217 alpha-3
    account_iban: str = ""  # compact, upper case; "" when the file names the account otherwise
    account_number: str = ""  # what the file says when it is not an IBAN (Norma 43 CCC, MT940 :25:)
    statement_id: str = ""  # the bank's id of this statement, when it has one
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    opening_balance: Decimal | None = None  # signed; None when the file has none
    closing_balance: Decimal | None = None
    lines: list[ParsedLine] = field(default_factory=list)

    def movements_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    def balance_difference(self) -> Decimal | None:
        """opening + movements - closing: zero when the statement adds up, ``None`` when the
        file does not carry both balances."""
        if self.opening_balance is None or self.closing_balance is None:
            return None
        return self.opening_balance + self.movements_total() - self.closing_balance
