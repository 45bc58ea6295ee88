"""SWIFT MT940 customer statements, read with the ``mt-940`` library (module ``mt940``).

A file holds one or more statements, each opened by ``:20:`` (the statement's reference) and
made of ``:25:`` (the account), ``:28C:`` (statement / sequence number), ``:60F:`` or ``:60M:``
(opening balance), ``:61:`` movements each followed by an optional ``:86:`` narrative, and
``:62F:`` or ``:62M:`` (closing balance).

The library parses the tags, signs amounts and balances and, for the German structured
``:86:`` (``166?00GUTSCHRIFT?20...?31IBAN?32NAME``), splits the narrative into posting text,
purpose, counterparty name, account and BIC and the SEPA keywords (EREF+, SVWZ+, ...). Its
opt-in fixes are switched on (see ``_OPTIONS``): a reversal of a credit (``RC``) is money out,
the counterparty account (``?31``) has its own key, long ``:86:`` are not cut.

The library does not split the slash-structured ``:86:`` of Dutch banks (ING, Rabobank, ABN
AMRO: ``/EREF/.../CNTP/iban/bic/name/city/REMI/USTD//text/``); this module does, for the
counterparty's name and IBAN, the end-to-end reference and the remittance text.

A statement: account from ``:25:`` (its IBAN, compact, when it holds a valid one, alone or as
"BIC/IBAN" or "IBAN EUR"; else the text as written), statement id "``:20:``/number/sequence",
currency and balances from ``:60F:``/``:60M:`` and ``:62F:``/``:62M:``, start and end dates
the dates of those balances. A movement: value date from ``:61:``, booking date its entry date
(the value date when it has none), amount signed by D/C (RC negative, RD positive), the
transaction type code ("NTRF") as transaction code, bank reference after ``//``, reference the
end-to-end id of the narrative when there is one, else the ``:61:`` customer reference
(NONREF and NOTPROVIDED count as none), description the narrative (for German structured ones
the posting text and purpose), plus the ``:61:`` supplementary details when they add to it.

Text is read as UTF-8, else latin-1.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import re
from decimal import Decimal
from typing import Any, Final

import mt940
from django.utils.translation import gettext as _
from stdnum import iban as stdnum_iban

from trastienda.banking.formats.base import ParsedLine, ParsedStatement, StatementFormatError

__all__ = ["read_mt940"]

_OPTIONS: Final = mt940.Options(
    reversal_sign=True,  # RC (reversal of a credit) takes money out: negative
    case_insensitive_marks=True,
    applicant_iban=True,  # ?31 (counterparty account) under its own key
    unbounded_details=True,  # keep :86: of any length
    strip_bom=True,
    non_swift_free_text=True,
    floor_limit_blank_mark=True,
    gvc_leading_text=True,
    timezone_offset=True,
)

#: A :86: line of this length was cut by the bank's wrapping, not at a word's end.
_WRAP: Final = 65

_NO_REFERENCE: Final = frozenset({"", "NONREF", "NOTPROVIDED", "NOT PROVIDED"})

#: Keywords of the slash-structured :86: (Dutch banks' MT940 "structured" layout).
_SLASH_KEYWORDS: Final = frozenset(
    {
        "ADDR",
        "BENM",
        "BIC",
        "CHGS",
        "CNTP",
        "CREF",
        "CSID",
        "EREF",
        "EXCH",
        "IBAN",
        "ID",
        "IREF",
        "ISDT",
        "MARF",
        "NAME",
        "OCMT",
        "ORDP",
        "PREF",
        "PURP",
        "REMI",
        "RTRN",
        "SVCL",
        "TRTP",
        "ULTB",
        "ULTC",
        "ULTD",
    }
)

# The library logs every tag it cannot parse at ERROR level, with the tag's content: the
# reader raises StatementFormatError for it instead, and statement contents (names, accounts,
# amounts) must not end up in the server's logs.
logging.getLogger("mt940").setLevel(logging.CRITICAL)

_STATEMENT_START: Final = re.compile(r"^:20:", re.MULTILINE)
_CONTROL: Final = str.maketrans("", "", "\x00\x01\x02\x03\x04")


def read_mt940(data: bytes) -> list[ParsedStatement]:
    """One statement per ``:20:`` block of an MT940 file.

    Raises :class:`StatementFormatError` when the file holds no statement, when a tag cannot
    be parsed (naming its line when it can be found) or when a statement has no balance to take
    its currency from.
    """
    text = _decode(data)
    starts = [match.start() for match in _STATEMENT_START.finditer(text)]
    if not starts:
        raise StatementFormatError(_("the file holds no MT940 statement (no :20: tag)"))
    statements = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        first_line = text.count("\n", 0, start) + 1
        statements.append(_statement(text[start:end], first_line))
    return statements


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_CONTROL)  # SWIFT envelope marks (SOH, ETX) some banks leave in


def _keep_statement_fields(
    transactions: Any, tag: Any, tag_dict: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    """Post-processor of :61:: keep its own customer reference, which a later :86: with a
    KREF+ would otherwise be appended to."""
    result["statement_customer_reference"] = result.get("customer_reference") or ""
    return result


def _keep_details_text(
    transactions: Any, tag: Any, tag_dict: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    """Post-processor of :86:: keep the narrative as written (the library drops it once it
    has split a German structured one)."""
    result["details_text"] = tag_dict.get("transaction_details") or ""
    return result


def _parser() -> Any:
    defaults = mt940.models.Transactions.DEFAULT_PROCESSORS
    return mt940.models.Transactions(
        processors={
            "post_statement": [*defaults["post_statement"], _keep_statement_fields],
            "post_transaction_details": [
                *defaults["post_transaction_details"],
                _keep_details_text,
            ],
        },
        options=_OPTIONS,
    )


def _statement(block: str, first_line: int) -> ParsedStatement:
    parser = _parser()
    try:
        parser.parse(block)
    except RuntimeError as exc:  # a tag that does not match its pattern
        value = exc.args[2] if len(exc.args) > 2 else ""
        tag = getattr(exc.args[1], "id", "") if len(exc.args) > 1 else ""
        raise StatementFormatError(
            _("cannot read the :%(tag)s: tag %(value)r") % {"tag": tag, "value": value},
            line=_tag_line(block, first_line, str(tag), str(value)),
        ) from exc
    except (ValueError, TypeError, decimal.InvalidOperation) as exc:  # dates, amounts
        raise StatementFormatError(
            _("cannot read the statement that starts here: %(reason)s") % {"reason": exc},
            line=first_line,
        ) from exc

    data = parser.data
    opening_tag, opening = _balance(data, _OPENING)
    closing_tag, closing = _balance(data, _CLOSING)
    currency = parser.currency or ""
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise StatementFormatError(
            _("the statement has no balance (:60F:, :62F:) with a currency"), line=first_line
        )
    for tag, balance in ((opening_tag, opening), (closing_tag, closing)):
        if balance is not None and balance.amount.currency != currency:
            found = _tag_lines(block, first_line, tag)
            raise StatementFormatError(
                _("the balance is in %(found)r, the statement in %(currency)s")
                % {"found": balance.amount.currency, "currency": currency},
                line=found[-1] if found else first_line,
            )

    account = str(data.get("account_identification") or "").strip()
    account_iban = _find_iban(account)
    lines_at = _tag_lines(block, first_line, "61")
    lines = []
    for index, transaction in enumerate(parser.transactions):
        if "amount" not in transaction.data:  # a :86: before any :61:
            continue
        where = lines_at[index] if len(lines_at) == len(parser.transactions) else None
        lines.append(_line(transaction.data, where))
    return ParsedStatement(
        format="mt940",
        currency=currency,
        account_iban=account_iban,
        account_number="" if account_iban else account,
        statement_id=_statement_id(data),
        start_date=_date(opening.date) if opening else None,
        end_date=_date(closing.date) if closing else None,
        opening_balance=_amount(opening.amount.amount) if opening else None,
        closing_balance=_amount(closing.amount.amount) if closing else None,
        lines=lines,
    )


#: (library key, tag) of the opening and of the closing balances, in order of preference.
_OPENING: Final = (
    ("final_opening_balance", "60F"),
    ("intermediate_opening_balance", "60M"),
    ("opening_balance", "60"),
)
_CLOSING: Final = (
    ("final_closing_balance", "62F"),
    ("intermediate_closing_balance", "62M"),
    ("closing_balance", "62"),
)


def _balance(data: dict[str, Any], keys: tuple[tuple[str, str], ...]) -> tuple[str, Any]:
    """(tag, balance) of the first of ``keys`` the statement has; ("", None) if none."""
    for key, tag in keys:
        balance = data.get(key)
        if balance is not None and isinstance(balance.amount, mt940.models.Amount):
            return tag, balance
    return "", None


def _statement_id(data: dict[str, Any]) -> str:
    """``:20:`` reference, then ``:28C:`` statement number and sequence: "REF/00004/00001"."""
    parts = [str(data.get("transaction_reference") or "").strip()]
    for key in ("statement_number", "sequence_number"):
        if data.get(key):
            parts.append(str(data[key]))
    return "/".join(part for part in parts if part)


def _line(data: dict[str, Any], where: int | None) -> ParsedLine:
    value_date = _date(data["date"])
    entry_date = data.get("entry_date")
    details_text = str(data.get("details_text") or "")
    extra = _text(data.get("extra_details"))
    name = iban = reference = description = ""

    if "posting_text" in data:  # German structured :86:, split by the library
        description = " ".join(
            part for part in (_text(data.get("posting_text")), _text(data.get("purpose"))) if part
        )
        name = _text(data.get("applicant_name"))
        iban = _find_iban(_text(data.get("applicant_iban"))) or _find_iban(
            _text(data.get("gvc_applicant_iban"))
        )
        reference = _reference(data.get("end_to_end_reference"))
        if not reference:
            reference = _reference(_own_kref(data))
    elif details_text.startswith("/"):
        joined = "".join(details_text.split("\n"))  # wrapped at a fixed width, not at words
        fields = _slash_fields(joined)
        if fields:
            name, iban, reference, description = _from_slash_fields(fields)
            description = description or " ".join(joined.split())
    if not description:
        description = _narrative(details_text)
    if not iban and extra and _find_iban(extra) == re.sub(r"\s", "", extra).upper():
        iban, extra = _find_iban(extra), ""  # Rabobank: the counterparty's IBAN on :61:
    if extra and extra not in description and not extra.startswith("/"):  # not ING's /TRCD/
        description = f"{description} {extra}".strip()
    if not reference:
        reference = _reference(data.get("statement_customer_reference"))
    return ParsedLine(
        booking_date=_date(entry_date) if entry_date else value_date,
        value_date=value_date,
        amount=_amount(data["amount"].amount),
        description=description,
        reference=reference,
        bank_reference=_text(data.get("bank_reference")),
        counterparty_name=name,
        counterparty_iban=iban,
        transaction_code=_text(data.get("id")),
        line=where,
    )


def _own_kref(data: dict[str, Any]) -> str:
    """The KREF+ of a German :86: (the library appends it to the :61: customer reference)."""
    merged = _text(data.get("customer_reference"))
    own = _text(data.get("statement_customer_reference"))
    if own and merged.startswith(own):
        return merged[len(own) :].strip()
    return merged


def _slash_fields(text: str) -> list[tuple[str, str]]:
    """``/EREF/x/BENM//NAME/y/REMI/z`` -> [("EREF", "x"), ("BENM", ""), ("NAME", "y"), ...].
    A value runs to the next known keyword, slashes included. [] if it is not this layout."""
    parts = text.split("/")[1:]
    if not parts or parts[0] not in _SLASH_KEYWORDS:
        return []
    fields: list[tuple[str, list[str]]] = []
    for part in parts:
        if part in _SLASH_KEYWORDS:
            fields.append((part, []))
        else:
            fields[-1][1].append(part)
    return [(key, "/".join(values).strip("/").strip()) for key, values in fields]


def _from_slash_fields(fields: list[tuple[str, str]]) -> tuple[str, str, str, str]:
    """(counterparty name, counterparty IBAN, reference, remittance text)."""
    values: dict[str, str] = {}
    for key, value in fields:
        values.setdefault(key, value)
    name = values.get("NAME", "")
    iban = _find_iban(values.get("IBAN", ""))
    if "CNTP" in values:  # CNTP/account/BIC/name/city
        account, _bic, cntp_name, *_rest = [*values["CNTP"].split("/"), "", "", ""]
        iban = iban or _find_iban(account)
        name = name or cntp_name.strip()
    remittance = values.get("REMI", "")
    if remittance.startswith("USTD//"):
        remittance = remittance[6:]
    elif remittance.startswith("STRD/"):  # STRD/CUR/reference (structured creditor ref)
        remittance = remittance.split("/", 2)[-1]
    return name, iban, _reference(values.get("EREF")), remittance.strip("/ ")


def _narrative(text: str) -> str:
    """An unstructured :86: on one line: its lines joined with a space, except after a line
    the bank cut at the full width (65 characters), where the text runs on."""
    result = previous = ""
    for line in text.split("\n"):
        if not line.strip():
            continue
        if result and len(previous) < _WRAP:
            result += " "
        result += line
        previous = line
    return " ".join(result.split())


def _find_iban(text: str) -> str:
    """The IBAN in an account field ("NL91ABNA0417164300", "ABNANL2A/NL91...", "NL91... EUR",
    spaced or not), compact and upper case; "" when there is none."""
    candidates = [text, *re.split(r"[/\s]+", text)]
    for candidate in candidates:
        compact = re.sub(r"[\s-]", "", candidate).upper()
        if len(compact) >= 15 and stdnum_iban.is_valid(compact):
            return compact
    return ""


def _reference(value: object) -> str:
    text = _text(value)
    return "" if text.upper() in _NO_REFERENCE else text


def _text(value: object) -> str:
    return " ".join(str(value).split()) if value else ""


def _amount(value: Decimal) -> Decimal:
    return value + 0  # turns -0 into 0


def _date(value: dt.date) -> dt.date:
    return dt.date(value.year, value.month, value.day)


def _tag_lines(block: str, first_line: int, tag: str) -> list[int]:
    prefix = f":{tag}:"
    return [
        first_line + number
        for number, line in enumerate(block.split("\n"))
        if line.startswith(prefix)
    ]


def _tag_line(block: str, first_line: int, tag: str, value: str) -> int:
    """The line of the ``:tag:`` whose content starts like ``value``; the block's first line
    when there is no such line."""
    start = value.strip().split("\n", 1)[0][:20]
    for number, line in enumerate(block.split("\n")):
        if line.startswith(f":{tag}:") and line[len(tag) + 2 :].strip().startswith(start):
            return first_line + number
    return first_line
