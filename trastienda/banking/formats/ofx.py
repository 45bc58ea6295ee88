"""OFX (Open Financial Exchange) bank and credit-card statements, versions 1 (SGML) and 2 (XML).

ofxtools parses the header and the tag soup (optional end tags of OFX 1) into an element
tree; this module reads the statements from that tree. ofxtools' typed models
(``OFXTree.convert()``) are not used: they enforce every length and enumeration of the
specification on the whole file (a 10-digit ``BANKID``, a ``CHECKNUM`` over 12 characters, a
``TRNTYPE`` outside its list...), which banks do not respect, and they convert every date to
UTC, which moves a posting at 00:30 CET to the day before. Here only what a statement needs
is checked, and dates are taken as the bank wrote them.

Tolerated: a file without the OFX header (it starts at ``<OFX>``), with a header ofxtools
refuses (an unknown character set...) or a body in another character set than its header says
(read as UTF-8, else Windows-1252); a missing end tag of an aggregate, closed by the end tag
of its parent or by the start of a sibling of the same name. One :class:`ParsedStatement` per
``STMTRS`` (bank) or ``CCSTMTRS`` (credit card); investment statements (``INVSTMTRS``) are
skipped, and a file with nothing else is refused. OFX carries no opening balance; the closing
one is ``LEDGERBAL``. Transaction amounts are signed by the bank already.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import unescape

from django.utils.translation import gettext as _
from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree, ParseError, TreeBuilder
from schwifty import IBAN

from .base import ParsedLine, ParsedStatement, StatementFormatError

__all__ = ["read_ofx"]

_STATEMENTS = {"STMTRS": "BANKACCTFROM", "CCSTMTRS": "CCACCTFROM"}
_AMOUNT_RE = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")
_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_OFX_START_RE = re.compile(rb"<OFX>", re.IGNORECASE)
_TAIL_TEXT_RE = re.compile(r"Tail text '(.*?)' in ", re.DOTALL)
_POSITION_RE = re.compile(r" - position=\[\d+:\d+\]$")
_ENTITIES = {"&nbsp;": " ", "&apos;": "'", "&quot;": '"'}


def read_ofx(data: bytes) -> list[ParsedStatement]:
    """Read the bank and credit-card statements of an OFX file."""
    root = _parse(data)
    _check_status(root.find("SIGNONMSGSRSV1/SONRS/STATUS"), _("the bank refused the sign-on"))
    statements: list[ParsedStatement] = []
    investments = 0
    for element in root.iter():
        if element.tag in ("STMTTRNRS", "CCSTMTTRNRS"):
            _check_status(element.find("STATUS"), _("the bank refused the statement"))
        elif element.tag in _STATEMENTS:
            statements.append(_statement(element, len(statements) + 1))
        elif element.tag == "INVSTMTRS":
            investments += 1
    if not statements:
        if investments:
            raise StatementFormatError(
                _("the file holds only investment statements, which cannot be imported")
            )
        raise StatementFormatError(_("the file holds no bank or credit card statement"))
    return statements


# -- parsing ---------------------------------------------------------------------------------


class _TreeBuilder(TreeBuilder):
    """ofxtools' tag-soup parser, with the end tags checked.

    The standard library's tree builder pops whatever element is open at an end tag, so one
    missing end tag would shift the rest of the file silently. Here an end tag closes the
    elements left open inside its own; a start tag of the aggregate that is open closes it
    first (OFX never nests an aggregate in one of the same name: a ``STMTTRN`` without its end
    tag); an end tag nothing opened is an error.
    """

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []

    def start(self, tag: str, attrs: dict[str, str]) -> Any:
        if self.open and self.open[-1] == tag:
            self.end(tag)
        self.open.append(tag)
        return super().start(tag, attrs)

    def end(self, tag: str) -> Any:
        if tag not in self.open:
            raise ParseError(f"</{tag}> closes no open element")
        while self.open[-1] != tag:
            super().end(self.open.pop())
        self.open.pop()
        return super().end(tag)


def _parse(data: bytes) -> ET.Element:
    data = data.removeprefix(b"\xef\xbb\xbf")
    if not data.strip():
        raise StatementFormatError(_("the file is empty"))
    start = _OFX_START_RE.search(data)
    if start is None:
        raise StatementFormatError(_("not an OFX file: it has no <OFX> element"))
    try:
        try:
            root: ET.Element | None = OFXTree().parse(io.BytesIO(data), parser=_TreeBuilder())
        except (OFXHeaderError, UnicodeDecodeError):
            # No header, one ofxtools refuses, or a body not in the character set the header
            # says: read the body, as UTF-8 or else Windows-1252.
            body = data[start.start() :]
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = body.decode("cp1252", errors="replace")
            builder = _TreeBuilder()
            builder.feed(text)
            root = builder.close()
    except ParseError as exc:
        raise StatementFormatError(
            _("the OFX file cannot be read: %(reason)s") % {"reason": _reason(exc)}
        ) from exc
    except Exception as exc:  # the tree builder's own errors (IndexError, AssertionError...)
        raise StatementFormatError(
            _("the OFX file cannot be read: %(reason)s")
            % {"reason": f"{type(exc).__name__}: {_reason(exc)}"}
        ) from exc
    if root is None or root.tag != "OFX":
        raise StatementFormatError(_("not an OFX file: it has no <OFX> element"))
    return root


def _reason(exc: Exception) -> str:
    """ofxtools' message, without the copy of the whole file it puts in some."""
    reason = str(exc)
    tail = _TAIL_TEXT_RE.match(reason)
    if tail:
        return _("text %(text)r outside any element") % {"text": tail[1]}
    reason = _POSITION_RE.sub("", reason)
    return reason if len(reason) <= 200 else reason[:200] + "…"


def _check_status(status: ET.Element | None, refusal: str) -> None:
    """Raise when a ``STATUS`` aggregate reports an error (any code but 0 with severity
    ERROR)."""
    if status is None or _text(status, "SEVERITY") != "ERROR":
        return
    message = _text(status, "MESSAGE") or _("no message")
    raise StatementFormatError(
        _("%(refusal)s: %(message)s (code %(code)s)")
        % {"refusal": refusal, "message": message, "code": _text(status, "CODE")}
    )


# -- values ----------------------------------------------------------------------------------


def _text(element: ET.Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    if found is None or not found.text:
        return ""
    return " ".join(unescape(found.text, _ENTITIES).split())


def _amount(text: str, what: str) -> Decimal:
    """A signed amount; a decimal comma is read as a point (some banks write one)."""
    if not _AMOUNT_RE.fullmatch(text):
        raise StatementFormatError(
            _("%(what)s: invalid amount %(value)r") % {"what": what, "value": text}
        )
    return Decimal(text.replace(",", "."))


def _date(text: str, what: str) -> dt.date | None:
    """The date of an OFX date-time (``YYYYMMDD[HHMMSS[.XXX]][[offset:TZ]]``) as written: the
    time and offset are dropped, not converted."""
    if not text:
        return None
    match = _DATE_RE.match(text)
    try:
        if match is None:
            raise ValueError(text)
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise StatementFormatError(
            _("%(what)s: invalid date %(value)r") % {"what": what, "value": text}
        ) from None


def _account(account_id: str) -> tuple[str, str]:
    """(IBAN, other number): the id goes to the IBAN when it is a valid one."""
    try:
        return IBAN(account_id).compact, ""
    except ValueError:
        return "", account_id


# -- statements ------------------------------------------------------------------------------


def _statement(element: ET.Element, number: int) -> ParsedStatement:
    what = _("statement %(number)s") % {"number": number}
    currency = _text(element, "CURDEF")
    if not _CURRENCY_RE.fullmatch(currency):
        raise StatementFormatError(
            _("%(what)s: invalid currency %(value)r (CURDEF)") % {"what": what, "value": currency}
        )
    account_id = _text(element, f"{_STATEMENTS[element.tag]}/ACCTID")
    if not account_id:
        raise StatementFormatError(_("%(what)s: the account has no ACCTID") % {"what": what})
    iban, account_number = _account(account_id)
    closing = None
    ledger = element.find("LEDGERBAL")
    if ledger is not None:
        balance = _text(ledger, "BALAMT")
        if not balance:
            raise StatementFormatError(
                _("%(what)s: the ledger balance (LEDGERBAL) has no amount") % {"what": what}
            )
        closing = _amount(balance, _("%(what)s, ledger balance") % {"what": what})
    transactions = element.find("BANKTRANLIST")
    lines = [
        _line(transaction, currency, _("transaction %(number)s") % {"number": index})
        for index, transaction in enumerate(
            transactions.iterfind("STMTTRN") if transactions is not None else (), start=1
        )
    ]
    return ParsedStatement(
        format="ofx",
        currency=currency,
        account_iban=iban,
        account_number=account_number,
        start_date=_date(_text(transactions, "DTSTART"), what),
        end_date=_date(_text(transactions, "DTEND"), what),
        opening_balance=None,  # OFX has none
        closing_balance=closing,
        lines=lines,
    )


def _line(transaction: ET.Element, currency: str, what: str) -> ParsedLine:
    fitid = _text(transaction, "FITID")
    if fitid:
        what = _("%(what)s (FITID %(fitid)s)") % {"what": what, "fitid": fitid}
    posted = _date(_text(transaction, "DTPOSTED"), what)
    if posted is None:
        raise StatementFormatError(_("%(what)s has no posting date (DTPOSTED)") % {"what": what})
    amount_text = _text(transaction, "TRNAMT")
    if not amount_text:
        raise StatementFormatError(_("%(what)s has no amount (TRNAMT)") % {"what": what})
    # <CURRENCY>: the amount is in another currency than the statement's (<ORIGCURRENCY>
    # would say it was converted already).
    other = _text(transaction, "CURRENCY/CURSYM")
    if other and other != currency:
        raise StatementFormatError(
            _("%(what)s is in %(other)s, the statement in %(currency)s")
            % {"what": what, "other": other, "currency": currency}
        )
    return ParsedLine(
        booking_date=posted,
        amount=_amount(amount_text, what),
        value_date=_date(_text(transaction, "DTAVAIL"), what),
        description=_text(transaction, "MEMO"),
        reference=_text(transaction, "CHECKNUM") or _text(transaction, "REFNUM"),
        bank_reference=fitid,
        counterparty_name=_text(transaction, "NAME") or _text(transaction, "PAYEE/NAME"),
        transaction_code=_text(transaction, "TRNTYPE"),
    )
