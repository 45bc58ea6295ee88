"""FIX 4.4 execution reports (MsgType 35=8), one message per line, read with ``simplefix``.

Brokers deliver fills as FIX logs or drop files: ``tag=value`` fields separated by SOH (0x01),
or, in files written for people, by ``|`` or the two characters ``^A``. A line may start with
a log prefix (a timestamp) before ``8=FIX.4.4``; blank lines are skipped. Every message is
checked as it was sent on the wire (the separator put back to SOH): BeginString (8) is
``FIX.4.4``, BodyLength (9) and CheckSum (10) are right.

What is returned:

- execution reports whose ExecType (150) is F (trade), G (trade correct) or H (trade cancel),
  one :class:`~.base.ParsedConfirmation` each; a correct or cancel names the execution it
  replaces in ``exec_ref`` (ExecRefID 19) and the caller applies it;
- nothing for other execution reports (0 new, A pending new, 8 rejected, 4 canceled, 5
  replaced, I order status...): they confirm no trade;
- nothing for other message types (heartbeats, logons, test requests, ...): they are skipped,
  not errors, once their framing (8, 9, 10) is checked.

Quantity and price: LastQty (32) and LastPx (31), the fill this report confirms, so a partial
fill series gives one confirmation per fill. A report without LastQty is taken as the broker's
summary of the whole order: CumQty (14) and AvgPx (6).

Fees: Commission (12) by CommType (13): 3 absolute (also when 13 is absent), 1 per unit
(commission x quantity), 2 percentage written as a fraction as FIX says, 5 % = 0.05 (commission
x quantity x price). The product is exact, not rounded to the currency.

Any message that cannot be read is reported with its line and its number in the file, and the
tag at fault; the whole file is checked before raising (see
:class:`~.base.ConfirmationFormatError`).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Final

import simplefix
from django.utils.translation import gettext as _
from simplefix import errors as fix_errors
from stdnum import isin as stdnum_isin

from trastienda.trading.formats.base import (
    EXEC_TYPES,
    ConfirmationFormatError,
    ParsedConfirmation,
)

__all__ = ["read_fix"]

BEGIN_STRING: Final = "FIX.4.4"
SOH: Final = b"\x01"
_SEPARATORS: Final = (SOH, b"^A", b"|")
_BEGIN: Final = re.compile(rb"(?:^|(?<=[\s\x01|:A]))8=FIX")
_NUMBER: Final = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
_DATE: Final = re.compile(r"\d{8}")
_TIMESTAMP: Final = re.compile(r"(\d{8})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
_CHECKSUM: Final = re.compile(rb"\d{3}")
_SIDES: Final = {"1": "buy", "3": "buy", "2": "sell", "4": "sell", "5": "sell", "6": "sell"}
_ID_SOURCES: Final = {
    "1": "CUSIP",
    "2": "SEDOL",
    "4": "ISIN",
    "5": "RIC",
    "8": "EXCHANGE",
    "A": "BLOOMBERG",
}
_TAG_NAMES: Final = {
    1: "Account",
    6: "AvgPx",
    8: "BeginString",
    9: "BodyLength",
    10: "CheckSum",
    11: "ClOrdID",
    12: "Commission",
    13: "CommType",
    14: "CumQty",
    15: "Currency",
    17: "ExecID",
    19: "ExecRefID",
    22: "SecurityIDSource",
    31: "LastPx",
    32: "LastQty",
    35: "MsgType",
    37: "OrderID",
    48: "SecurityID",
    49: "SenderCompID",
    54: "Side",
    55: "Symbol",
    60: "TransactTime",
    64: "SettlDate",
    75: "TradeDate",
    150: "ExecType",
}


def read_fix(data: bytes, broker: str = "") -> list[ParsedConfirmation]:
    """The fills, trade corrects and trade cancels of a file of FIX 4.4 messages.

    ``broker``, when given, is put in every confirmation's ``broker`` (the caller's code for
    the broker); otherwise it is the message's SenderCompID (49). Messages of other types than
    ExecutionReport (heartbeats...) and execution reports that are not fills are skipped.
    """
    result: list[ParsedConfirmation] = []
    problems: list[ConfirmationFormatError] = []
    number = 0
    for line_number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            messages = _split(line, line_number, number)
        except ConfirmationFormatError as exc:
            problems.append(exc)
            number += 1
            continue
        for raw, message in messages:
            number += 1
            try:
                _check_frame(raw, message)
                if _text(message, 35) != "8":
                    continue
                parsed = _Report(message, line_number, broker).read()
            except _TagError as exc:
                problems.append(exc.at(line_number, number))
                continue
            if parsed is not None:
                result.append(parsed)
    if problems:
        raise ConfirmationFormatError.from_errors(problems)
    return result


class _TagError(Exception):
    """A problem with one field of a message, placed by :func:`read_fix`."""

    def __init__(self, tag: int | None, message: str) -> None:
        super().__init__(message)
        self.tag = tag
        self.message = message

    def at(self, line: int, number: int) -> ConfirmationFormatError:
        if self.tag is None:
            text = _("message %(number)s: %(message)s") % {
                "number": number,
                "message": self.message,
            }
        else:
            text = _("message %(number)s, tag %(tag)s (%(name)s): %(message)s") % {
                "number": number,
                "tag": self.tag,
                "name": _TAG_NAMES.get(self.tag, "?"),
                "message": self.message,
            }
        return ConfirmationFormatError(text, line=line)


def _split(line: bytes, line_number: int, before: int) -> list[tuple[bytes, Any]]:
    """(wire bytes, message) of each message of a line: the separator turned to SOH, a log
    prefix dropped."""
    start = _BEGIN.search(line)
    if start is None:
        raise _TagError(None, _("not a FIX message (no BeginString 8=FIX)")).at(
            line_number, before + 1
        )
    wire = line[start.start() :].rstrip(b"\r\n\t ")
    for separator in _SEPARATORS:
        if separator in wire:
            wire = wire.replace(separator, SOH)
            break
    if not wire.endswith(SOH):
        wire += SOH
    parser = simplefix.FixParser(strip_fields_before_begin_string=False)
    parser.append_buffer(wire)
    messages: list[tuple[bytes, Any]] = []
    offset = 0
    while True:
        try:
            message = parser.get_message()
        except fix_errors.EmptyValueError as exc:
            tag = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            raise _TagError(tag, _("the field is empty")).at(
                line_number, before + len(messages) + 1
            ) from exc
        except fix_errors.FieldOrderError as exc:
            raise _TagError(8, _("a message must start with BeginString (8)")).at(
                line_number, before + len(messages) + 1
            ) from exc
        except (fix_errors.ParsingError, ValueError) as exc:
            raise _TagError(None, _("unreadable field list (%(error)s)") % {"error": exc}).at(
                line_number, before + len(messages) + 1
            ) from exc
        if message is None:
            break
        end = len(wire) - len(parser.get_buffer())
        messages.append((wire[offset:end], message))
        offset = end
    if parser.pairs or wire[offset:].strip(SOH + b" "):
        raise _TagError(10, _("the message does not end with a CheckSum field")).at(
            line_number, before + len(messages) + 1
        )
    return messages


def _check_frame(raw: bytes, message: Any) -> None:
    """BeginString, BodyLength and CheckSum as FIX 4.4 defines them, on the wire bytes."""
    tags = [int(tag) for tag, _value in message.pairs]
    if tags[:3] != [8, 9, 35]:
        raise _TagError(
            None, _("a message starts with BeginString (8), BodyLength (9) and MsgType (35)")
        )
    if _text(message, 8) != BEGIN_STRING:
        raise _TagError(
            8,
            _("%(found)r, expected %(expected)s")
            % {"found": _text(message, 8), "expected": BEGIN_STRING},
        )
    head = raw.index(SOH, raw.index(SOH) + 1) + 1  # after 9=...<SOH>
    tail = raw.rindex(SOH, 0, len(raw) - 1) + 1  # where 10= starts
    length = _text(message, 9)
    if not length.isdigit():
        raise _TagError(9, _("%(value)r is not a length") % {"value": length})
    if int(length) != tail - head:
        raise _TagError(
            9,
            _("body length %(found)s, expected %(expected)s")
            % {"found": length, "expected": tail - head},
        )
    checksum = message.pairs[-1][1]
    expected = f"{sum(raw[:tail]) % 256:03}"
    if not _CHECKSUM.fullmatch(checksum) or checksum.decode("ascii") != expected:
        raise _TagError(
            10,
            _("checksum %(found)s expected %(expected)s")
            % {"found": _decode(checksum), "expected": expected},
        )


class _Report:
    """Reads one ExecutionReport into a ParsedConfirmation (None when it is not a fill)."""

    def __init__(self, message: Any, line: int, broker: str) -> None:
        self.message = message
        self.line = line
        self.broker = broker

    def read(self) -> ParsedConfirmation | None:
        exec_type = self._required(150)
        if exec_type not in EXEC_TYPES:
            return None
        exec_ref = self._required(19) if exec_type in {"G", "H"} else self._optional(19)
        side = self._required(54)
        if side not in _SIDES:
            raise _TagError(54, _("%(value)r is not a buy or sell side") % {"value": side})
        instrument, id_type = self._instrument()
        if self._optional(32):
            quantity, price = self._number(32), self._number(31)
        elif self._optional(14):
            quantity, price = self._number(14), self._number(6)
        else:
            raise _TagError(32, _("the fill quantity (LastQty 32, or CumQty 14) is missing"))
        if quantity < 0 or (quantity == 0 and exec_type != "H"):
            raise _TagError(
                32 if self._optional(32) else 14,
                _("the quantity must be positive, not %(value)s") % {"value": quantity},
            )
        if price < 0:
            raise _TagError(
                31 if self._optional(32) else 6,
                _("the price cannot be negative (%(value)s)") % {"value": price},
            )
        trade_time = self._timestamp(60) if self._optional(60) else None
        if self._optional(75):
            trade_date = self._date(75)
        elif trade_time is not None:
            trade_date = trade_time.date()
        else:
            raise _TagError(75, _("the trade date (TradeDate 75, or TransactTime 60) is missing"))
        settlement_date = self._date(64) if self._optional(64) else None
        if settlement_date is not None and settlement_date < trade_date:
            raise _TagError(
                64,
                _("the settlement date %(settlement)s is before the trade date %(trade)s")
                % {"settlement": settlement_date, "trade": trade_date},
            )
        currency = self._optional(15).upper()
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):
            raise _TagError(15, _("%(value)r is not a currency code") % {"value": currency})
        return ParsedConfirmation(
            line=self.line,
            broker_ref=self._required(17),
            trade_ref=self._optional(11) or self._required(37),
            trade_date=trade_date,
            trade_time=trade_time,
            instrument=instrument,
            instrument_id_type=id_type,
            side=_SIDES[side],
            quantity=quantity,
            price=price,
            currency=currency,
            account=self._optional(1),
            settlement_date=settlement_date,
            fees=self._fees(quantity, price),
            exec_type=exec_type,
            broker=self.broker or self._required(49),
            exec_ref=exec_ref,
        )

    def _optional(self, tag: int) -> str:
        return _text(self.message, tag).strip()

    def _required(self, tag: int) -> str:
        value = self._optional(tag)
        if not value:
            raise _TagError(tag, _("the field is missing"))
        return value

    def _number(self, tag: int) -> Decimal:
        value = self._required(tag)
        if not _NUMBER.fullmatch(value):
            raise _TagError(tag, _("%(value)r is not a number") % {"value": value})
        return Decimal(value)

    def _date(self, tag: int) -> dt.date:
        value = self._required(tag)
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            raise _TagError(
                tag, _("%(value)r is not a date (YYYYMMDD)") % {"value": value}
            ) from None

    def _timestamp(self, tag: int) -> dt.datetime:
        value = self._required(tag)
        match = _TIMESTAMP.fullmatch(value)
        try:
            if match is None:
                raise ValueError(value)
            day, hour, minute, second, fraction = match.groups()
            return dt.datetime(
                int(day[:4]),
                int(day[4:6]),
                int(day[6:]),
                int(hour),
                int(minute),
                min(int(second), 59),  # a leap second (60) is kept in its minute
                int((fraction or "0").ljust(6, "0")[:6]),
                tzinfo=dt.UTC,
            )
        except ValueError:
            raise _TagError(
                tag,
                _("%(value)r is not a UTC timestamp (YYYYMMDD-HH:MM:SS[.sss])") % {"value": value},
            ) from None

    def _instrument(self) -> tuple[str, str]:
        security_id, source = self._optional(48), self._optional(22)
        if security_id and source == "4":
            compact = security_id.replace(" ", "").upper()
            if not stdnum_isin.is_valid(compact):
                raise _TagError(48, _("%(value)r is not a valid ISIN") % {"value": security_id})
            return compact, "ISIN"
        symbol = self._optional(55)
        if symbol:
            return symbol, "SYMBOL"
        if security_id:
            return security_id, _ID_SOURCES.get(source, source or "SECURITY_ID")
        raise _TagError(55, _("the instrument (Symbol 55, or SecurityID 48) is missing"))

    def _fees(self, quantity: Decimal, price: Decimal) -> Decimal:
        if not self._optional(12):
            return Decimal(0)
        commission = self._number(12)
        kind = self._optional(13) or "3"
        if kind == "3":
            return commission
        if kind == "1":
            return commission * quantity
        if kind == "2":
            return commission * quantity * price
        raise _TagError(
            13,
            _("commission type %(value)r is not supported (1 per unit, 2 percentage, 3 absolute)")
            % {"value": kind},
        )


def _text(message: Any, tag: int) -> str:
    value = message.get(tag)
    return "" if value is None else _decode(value)


def _decode(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
