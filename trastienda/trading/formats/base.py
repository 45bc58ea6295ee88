"""What every confirmation reader returns: plain data, no database.

A reader takes the bytes of a broker's file (FIX execution reports, or a CSV / XLSX export read
through a saved column mapping) and returns one :class:`ParsedConfirmation` per execution.
Quantities, prices and fees are ``Decimal`` exactly as the broker wrote them, never float.
Readers never guess: a value the file does not carry is ``None`` or ``""``.

What cannot be read raises :class:`ConfirmationFormatError` naming the line (or message) and
the reason. Readers check the whole file before raising, so the error carries every problem
found in :attr:`ConfirmationFormatError.errors` (the first one is the error's own message).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

__all__ = ["EXEC_TYPES", "SIDES", "ConfirmationFormatError", "ParsedConfirmation"]

SIDES = ("buy", "sell")
EXEC_TYPES = {
    "F": "trade",
    "G": "trade correct",
    "H": "trade cancel",
}
"""The FIX ExecType (150) values a reader returns; everything else is not a fill."""


class ConfirmationFormatError(ValueError):
    """The file cannot be read. ``line`` is the 1-based line of the file (the row of a sheet),
    when known. ``errors`` holds every problem found, this one first."""

    def __init__(
        self,
        message: str,
        line: int | None = None,
        *,
        errors: Sequence[ConfirmationFormatError] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.errors: tuple[ConfirmationFormatError, ...] = tuple(errors) or (self,)

    @classmethod
    def from_errors(cls, errors: Sequence[ConfirmationFormatError]) -> ConfirmationFormatError:
        """One error to raise for all of ``errors`` (not empty): the first one's message and
        line, all of them in ``errors``."""
        first = errors[0]
        return cls(first.message, first.line, errors=errors)

    def __str__(self) -> str:
        text = self.message if self.line is None else f"line {self.line}: {self.message}"
        more = len(self.errors) - 1
        if more:
            text += " " + _("(and %(count)s more errors)") % {"count": more}
        return text


@dataclass(frozen=True, slots=True)
class ParsedConfirmation:
    """One execution as the broker confirms it.

    ``quantity`` and ``price`` are those of this execution (a fill): a partial fill series gives
    one confirmation per fill. ``fees`` is the broker's commission as an absolute amount in
    ``currency``, positive for a cost, not rounded. ``exec_type`` is FIX ExecType (150): "F" a
    trade, "G" a trade correct and "H" a trade cancel of the execution ``exec_ref``; the caller
    applies corrects and cancels to the execution they name.
    """

    line: int | None  # 1-based line of the file (row of the sheet), for messages
    broker_ref: str  # the broker's execution / confirmation id (FIX ExecID 17)
    trade_ref: str  # our order / trade id as the broker echoes it (FIX ClOrdID 11, else 37)
    trade_date: dt.date  # FIX TradeDate 75, else the date of TransactTime 60
    trade_time: dt.datetime | None  # FIX TransactTime 60, aware, UTC
    instrument: str  # the ISIN, or the symbol / other identifier
    instrument_id_type: str  # "ISIN", "SYMBOL", "CUSIP", "SEDOL", "RIC", ...
    side: str  # "buy" or "sell" (short sales are sales)
    quantity: Decimal  # units of this execution, positive
    price: Decimal  # price per unit, in currency
    currency: str  # upper case, usually ISO 4217; "" when a FIX report has no Currency 15
    account: str  # the account at the broker; "" when a FIX report has no Account 1
    settlement_date: dt.date | None  # FIX SettlDate 64
    fees: Decimal  # absolute commission, positive for a cost
    exec_type: str  # FIX ExecType 150: "F" trade, "G" trade correct, "H" trade cancel
    broker: str  # the caller's broker code, else (FIX) SenderCompID 49
    exec_ref: str = ""  # FIX ExecRefID 19: the execution a correct (G) or cancel (H) replaces
