"""Norma 43 (AEB / CSB "Cuaderno 43"): the Spanish banks' account statement file.

Fixed-width records of 80 characters (see the AEB specification of June 2012, annex 1):

====  =============================================================================
code  record
====  =============================================================================
11    account header: bank, branch, account number, period, opening balance, currency
22    movement: dates, common and own concept, debit/credit key, amount, references
23    up to five complementary concept records of the movement before (free text)
24    the movement's amount in its original currency (when it differs)
33    account closing: number and total of debits and credits, closing balance
88    end of file: the number of records before it
====  =============================================================================

Each record is parsed and validated by the ``csb43`` library (field formats, amounts and their
debit/credit keys); this module checks the order of the records, the dates (csb43 converts them
only when they are read) and the account closing record (33) against the movements, so that
every error names the line of the file. ``csb43`` runs in its non-strict mode: its strict mode
refuses what real banks write (alphanumeric "reference 1" in information mode 3, records with
their trailing blanks cut) and compares opening + movements with the closing balance, which is
the import service's check, not the reader's. SEPA interpretation of the 23 records is off:
which layout a bank uses is agreed with the customer, not stated in the file, so their text goes
to the description as is.

A movement (22) becomes a ParsedLine: booking date = "fecha de operación", value date, amount
signed by its key (1 debit: negative), transaction code "common-own" ("12-408"), reference =
reference 1, reference 2 and document number (those not blank nor all zeros) joined with
spaces, description = the texts of its 23 records. A 24 record (the amount in the original
currency) is checked but not carried: ParsedLine has no field for it. Norma 43 has no statement
id and no counterparty fields.

Text: the specification names code page 850, banks write latin-1 or cp1252 (some web exports
UTF-8). The file is read as UTF-8 when it is valid UTF-8, else as cp1252, else latin-1.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from stdnum import iban as stdnum_iban
from stdnum.es import ccc

from trastienda.banking.formats.base import ParsedLine, ParsedStatement, StatementFormatError
from trastienda.core.currency_data import CURRENCIES, WITHDRAWN

__all__ = ["read_norma43", "spanish_iban"]

RECORD_LENGTH: Final = 80
MAX_COMPLEMENTARY: Final = 5
_CENT: Final = Decimal("0.01")
_ENCODING: Final = "cp1252"  # what the records are handed to csb43 in (see _decode)

#: ISO 4217 numeric code -> alpha-3, withdrawn codes included (old files carry them).
_NUMERIC: Final[dict[str, str]] = {
    info.numeric: info.code for info in (*WITHDRAWN.values(), *CURRENCIES.values())
}

_RECORD_CODES: Final = frozenset({"11", "22", "23", "24", "33", "88"})


def spanish_iban(bank: str, branch: str, account: str) -> str:
    """The IBAN of a Spanish account from its bank (4 digits), branch (4) and number (10).

    The CCC's two control digits ("dígitos de control") are computed with the mod 11 weights
    1, 2, 4, 8, 5, 10, 9, 7, 3, 6 (first over "00" + bank + branch, then over the number), then
    the IBAN check digits. "" when the parts are not all digits of the right length.
    """
    if not (
        len(bank) == 4
        and len(branch) == 4
        and len(account) == 10
        and (bank + branch + account).isdigit()
    ):
        return ""
    control = ccc.calc_check_digits(f"{bank}{branch}00{account}")
    number = ccc.to_iban(f"{bank}{branch}{control}{account}")
    return str(stdnum_iban.compact(number))


def read_norma43(data: bytes) -> list[ParsedStatement]:
    """One statement per account (record 11 to record 33) of a Norma 43 file.

    Raises :class:`StatementFormatError` naming the line of the first record that cannot be
    read, that stands where it may not, or whose closing totals disagree with the movements.
    """
    from csb43.aeb43 import Batch
    from csb43.aeb43.record.context import Aeb43Context

    context = Aeb43Context(strict=False, silent=True, encoding=_ENCODING, sepa=False)
    batch = Batch(context=context)
    accounts: list[_Account] = []
    current: _Account | None = None
    end_line: int | None = None
    count = 0  # records before the end-of-file record

    for number, text in _records(data):
        code = text[:2]
        if end_line is not None:
            raise StatementFormatError(
                _("there is data after the end-of-file record (line %(line)s)")
                % {"line": end_line},
                line=number,
            )
        if code not in _RECORD_CODES:
            raise StatementFormatError(
                _(
                    "unknown record type %(code)r: a Norma 43 record starts with 11, 22, 23, "
                    "24, 33 or 88"
                )
                % {"code": code},
                line=number,
            )
        if len(text) > RECORD_LENGTH and text[RECORD_LENGTH:].strip():
            raise StatementFormatError(
                _("the record is %(length)s characters long, a Norma 43 record has 80")
                % {"length": len(text)},
                line=number,
            )
        text = text[:RECORD_LENGTH].ljust(RECORD_LENGTH)
        if code == "88":
            if current is not None:
                raise _unclosed(current, number)
            _check_end_of_file(text, count, number)
            end_line = number
            continue
        if code == "11":
            if current is not None:
                raise _unclosed(current, number)
            current = _Account(line=number, header=text)
            accounts.append(current)
        else:
            current = _check_order(code, text, current, number)
        _check_dates(code, text, number)
        try:
            batch.append(text.encode(_ENCODING, errors="replace"))
        except (ValueError, KeyError, ArithmeticError) as exc:  # csb43's ValidationException
            raise _invalid_field(code, text, exc, number) from exc
        count += 1
        if code == "22":
            current.movements.append(_Movement(line=number, text=text))
        elif code == "23":
            current.movements[-1].concepts.append(text[4:RECORD_LENGTH].strip())
        elif code == "33":
            current.closing_line, current.closing = number, text
            current = None

    if current is not None:
        raise StatementFormatError(
            _(
                "the file ends before the closing record (33) of the account that starts at "
                "line %(line)s"
            )
            % {"line": current.line},
            line=current.line,
        )
    if not accounts:
        raise StatementFormatError(_("the file holds no Norma 43 account (record 11)"))
    return [
        _statement(record, account)
        for record, account in zip(batch.accounts or (), accounts, strict=True)
    ]


@dataclass
class _Movement:
    line: int
    text: str  # the record 22 as read
    concepts: list[str] = field(default_factory=list)  # texts of its records 23


@dataclass
class _Account:
    line: int  # of its record 11
    header: str  # the record 11 as read
    movements: list[_Movement] = field(default_factory=list)
    closing_line: int = 0
    closing: str = ""  # the record 33 as read


def _records(data: bytes) -> Iterator[tuple[int, str]]:
    """(line number, record text) of every non-blank line; files without line breaks are cut
    into records of 80 characters."""
    text = _decode(data).rstrip("\x1a")  # a DOS end-of-file mark
    if "\n" not in text and "\r" not in text and len(text) > RECORD_LENGTH:
        if len(text) % RECORD_LENGTH:
            raise StatementFormatError(
                _("the file has no line breaks and its length is not a multiple of 80")
            )
        lines = [text[i : i + RECORD_LENGTH] for i in range(0, len(text), RECORD_LENGTH)]
    else:
        lines = re.split(r"\r\n|\r|\n", text)
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, line


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


#: Positions (0-based slices) of the dates of a record, with their names.
_DATES: Final = {
    "11": ((slice(20, 26), gettext_noop("start date")), (slice(26, 32), gettext_noop("end date"))),
    "22": (
        (slice(10, 16), gettext_noop("booking date")),
        (slice(16, 22), gettext_noop("value date")),
    ),
}

#: Names of the fields csb43 validates, by its field identifiers.
_FIELDS: Final = {
    "BANK_CODE": gettext_noop("bank code"),
    "BRANCH_CODE": gettext_noop("branch code"),
    "ACCOUNT_NUMBER": gettext_noop("account number"),
    "INITIAL_DATE": gettext_noop("start date"),
    "FINAL_DATE": gettext_noop("end date"),
    "TRANSACTION_DATE": gettext_noop("booking date"),
    "VALUE_DATE": gettext_noop("value date"),
    "EXPENSE_OR_INCOME": gettext_noop("debit/credit key (1 or 2)"),
    "FINAL_BALANCE_CODE": gettext_noop("debit/credit key (1 or 2)"),
    "INITIAL_BALANCE": gettext_noop("opening balance"),
    "FINAL_BALANCE": gettext_noop("closing balance"),
    "AMOUNT": gettext_noop("amount"),
    "CURRENCY_CODE": gettext_noop("currency"),
    "CURRENCY": gettext_noop("currency"),
    "INFORMATION_MODE": gettext_noop("information mode (1, 2 or 3)"),
    "SHARED_ITEM": gettext_noop("common concept"),
    "OWN_ITEM": gettext_noop("own concept"),
    "DOCUMENT_NUMBER": gettext_noop("document number"),
    "RECORD": gettext_noop("complementary record number (01 to 05)"),
    "EXPENSE_ENTRIES": gettext_noop("number of debits"),
    "EXPENSE_AMOUNT": gettext_noop("total of debits"),
    "INCOME_ENTRIES": gettext_noop("number of credits"),
    "INCOME_AMOUNT": gettext_noop("total of credits"),
}


def _check_dates(code: str, text: str, line: int) -> None:
    """Dates (YYMMDD) are checked here: csb43 converts them only when they are read."""
    for where, name in _DATES.get(code, ()):
        value = text[where]
        try:
            dt.datetime.strptime(value, "%y%m%d")  # noqa: DTZ007 - a date, no time
        except ValueError:
            raise StatementFormatError(
                _("the %(field)s %(value)r (positions %(start)s to %(end)s) is not a date YYMMDD")
                % {"field": _(name), "value": value, "start": where.start + 1, "end": where.stop},
                line=line,
            ) from None


def _invalid_field(code: str, text: str, exc: Exception, line: int) -> StatementFormatError:
    """A csb43 validation error as a message naming the field, its positions and content."""
    from csb43.aeb43 import Account, ClosingAccount, Exchange, Item, Transaction

    records: dict[str, Any] = {"11": Account, "22": Transaction, "23": Item, "24": Exchange}
    record = records.get(code, ClosingAccount)
    found = re.search(r"Field\.([A-Z0-9_]+)\]?\s*$", str(exc))
    for field_id, (where, _validator) in record.manifest.sections.items():
        if found and field_id.name == found.group(1) and found.group(1) in _FIELDS:
            return StatementFormatError(
                _("invalid %(field)s %(value)r (positions %(start)s to %(end)s)")
                % {
                    "field": _(_FIELDS[found.group(1)]),
                    "value": text[where],
                    "start": where.start + 1,
                    "end": where.stop,
                },
                line=line,
            )
    return StatementFormatError(
        _("invalid record %(code)s: %(reason)s") % {"code": code, "reason": exc}, line=line
    )


def _unclosed(account: _Account, line: int) -> StatementFormatError:
    return StatementFormatError(
        _("the account that starts at line %(line)s has no closing record (33) before this record")
        % {"line": account.line},
        line=line,
    )


def _check_order(code: str, text: str, current: _Account | None, line: int) -> _Account:
    """Records of an account come between its 11 and its 33; 23 and 24 follow a 22.
    Returns the open account."""
    if current is None:
        raise StatementFormatError(
            _(
                "record %(code)s stands outside an account: it must come after an account "
                "header (11) and before its closing record (33)"
            )
            % {"code": code},
            line=line,
        )
    if code in {"23", "24"} and not current.movements:
        raise StatementFormatError(
            _("record %(code)s must follow a movement record (22)") % {"code": code}, line=line
        )
    if code == "23" and len(current.movements[-1].concepts) >= MAX_COMPLEMENTARY:
        raise StatementFormatError(
            _("a movement has at most %(max)s complementary concept records (23)")
            % {"max": MAX_COMPLEMENTARY},
            line=line,
        )
    if code == "24" and text[2:4] != "01":
        raise StatementFormatError(
            _("the currency equivalence record must start with 2401, not %(start)r")
            % {"start": text[:4]},
            line=line,
        )
    return current


def _check_end_of_file(text: str, records: int, line: int) -> None:
    """Record 88: eighteen nines, then the number of records before it."""
    stated = text[20:26]
    if text[2:20] != "9" * 18 or not stated.isdigit():
        raise StatementFormatError(
            _(
                "invalid end-of-file record: it must hold eighteen nines and then the number of "
                "records (six digits)"
            ),
            line=line,
        )
    if int(stated) != records:
        raise StatementFormatError(
            _("the end-of-file record counts %(stated)s records, the file has %(found)s")
            % {"stated": int(stated), "found": records},
            line=line,
        )


def _statement(record: Any, account: _Account) -> ParsedStatement:
    """A ParsedStatement from a csb43 ``Account`` and where its records stand."""
    where = account.line
    try:
        bank = str(record.bank_code).strip()
        branch = str(record.branch_code).strip()
        number = str(record.account_number).strip()
        currency = _currency(account.header[47:50], where)
        start_date = _date(record.initial_date)
        end_date = _date(record.final_date)
        opening = _money(record.initial_balance)
        lines: list[ParsedLine] = []
        for transaction, movement in zip(record.transactions, account.movements, strict=True):
            where = movement.line
            lines.append(_line(transaction, movement))
        where = account.closing_line
        summary = record.summary
        closing = _money(summary.final_balance)
        closing_currency = _currency(account.closing[73:76], where)
        closing_account = (
            str(summary.bank_code).strip(),
            str(summary.branch_code).strip(),
            str(summary.account_number).strip(),
        )
        debits = (int(summary.expense_entries), _money(summary.expense))
        credits = (int(summary.income_entries), _money(summary.income))
    except StatementFormatError:
        raise
    except (ValueError, KeyError, ArithmeticError) as exc:  # csb43's ValidationException
        raise StatementFormatError(
            _("invalid record: %(reason)s") % {"reason": exc}, line=where
        ) from exc

    if closing_account != (bank, branch, number):
        raise StatementFormatError(
            _(
                "the closing record is for account %(closing)s, the header at line %(line)s "
                "for %(header)s"
            )
            % {
                "closing": "".join(closing_account),
                "line": account.line,
                "header": bank + branch + number,
            },
            line=account.closing_line,
        )
    if closing_currency != currency:
        raise StatementFormatError(
            _("the closing record is in %(closing)s, the account header in %(header)s")
            % {"closing": closing_currency, "header": currency},
            line=account.closing_line,
        )
    _check_totals(account.movements, lines, debits, credits, account.closing_line)
    return ParsedStatement(
        format="norma43",
        currency=currency,
        account_iban=spanish_iban(bank, branch, number),
        account_number=bank + branch + number,
        start_date=start_date,
        end_date=end_date,
        opening_balance=opening,
        closing_balance=closing,
        lines=lines,
    )


def _line(transaction: Any, movement: _Movement) -> ParsedLine:
    """A ParsedLine from a csb43 ``Transaction`` (record 22) and its 23 records."""
    text = movement.text
    common, own = text[22:24].strip(), text[24:27].strip()
    references = (str(transaction.reference1), str(transaction.reference2), text[42:52])
    return ParsedLine(
        booking_date=_date(transaction.transaction_date),
        value_date=_date(transaction.value_date),
        amount=_money(transaction.amount),
        description=" ".join(concept for concept in movement.concepts if concept),
        reference=" ".join(
            ref.strip() for ref in references if ref.strip() and ref.strip().strip("0")
        ),
        transaction_code=f"{common}-{own}" if own else common,
        line=movement.line,
    )


def _date(value: dt.date) -> dt.date:
    return dt.date(value.year, value.month, value.day)


def _money(value: Decimal | int) -> Decimal:
    """Norma 43 amounts have two decimals; csb43 drops trailing zeros (100 / 100 = 1)."""
    return (Decimal(value) + 0).quantize(_CENT)  # + 0 turns -0 into 0


def _currency(numeric: str, line: int) -> str:
    code = _NUMERIC.get(numeric.strip())
    if code is None:
        raise StatementFormatError(
            _("unknown currency code %(code)r (expected an ISO 4217 numeric code such as 978)")
            % {"code": numeric},
            line=line,
        )
    return code


def _check_totals(
    movements: list[_Movement],
    lines: list[ParsedLine],
    debits: tuple[int, Decimal],
    credits: tuple[int, Decimal],
    line: int,
) -> None:
    """Record 33's number and total of debits and of credits against the movements read (the
    side of a movement is its debit/credit key: 1 debit, 2 credit)."""
    found_debits = [
        -item.amount
        for item, movement in zip(lines, movements, strict=True)
        if movement.text[27] == "1"
    ]
    found_credits = [
        item.amount
        for item, movement in zip(lines, movements, strict=True)
        if movement.text[27] != "1"
    ]
    for side, (stated_count, stated_total), found in (
        (_("debit"), debits, found_debits),
        (_("credit"), credits, found_credits),
    ):
        total = sum(found, Decimal("0.00"))
        if stated_count != len(found) or stated_total != total:
            raise StatementFormatError(
                _(
                    "the closing record states %(count)s %(side)s movements totalling "
                    "%(total)s, the account has %(found)s totalling %(found_total)s"
                )
                % {
                    "count": stated_count,
                    "side": side,
                    "total": stated_total,
                    "found": len(found),
                    "found_total": total,
                },
                line=line,
            )
