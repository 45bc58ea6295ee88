"""ISO 20022 bank-to-customer messages: camt.053 statements, camt.054 debit/credit
notifications and camt.052 account reports, any version of the schemas (001.01 to 001.13).

The file is read as a stream (``lxml.etree.iterparse`` on ``Ntry`` and statement end events,
each element freed once read), and each entry is read by walking its children once (a dict of
children per level: cheaper than ``find`` or XPath per value), so a statement of a hundred
thousand entries reads in a few seconds. The parser resolves no entities and opens no network
connection.

One :class:`ParsedStatement` per ``Stmt`` / ``Ntfctn`` / ``Rpt``; one :class:`ParsedLine` per
``Ntry``. A batch booking with several ``TxDtls`` stays one line (the bank booked one amount):
its texts are joined, and it names a counterparty only when all its transactions name the same.
Entries that are not booked (status ``PDNG``, ``INFO`` or ``FUTR``, as in intraday camt.052
reports) are left out: they are not movements of the account yet. Balances are taken as
written (opening ``OPBD``, else ``PRCD``; closing ``CLBD``); whether they add up is for the
import service to check. A balance in another currency than the account's is ignored.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from django.utils.translation import gettext as _
from lxml import etree

from .base import ParsedLine, ParsedStatement, StatementFormatError

__all__ = ["read_camt"]

_NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt."
# statement element -> (its parent, the message element; the format name)
_CONTAINERS = {
    "Stmt": ("BkToCstmrStmt", "camt.053"),
    "Ntfctn": ("BkToCstmrDbtCdtNtfctn", "camt.054"),
    "Rpt": ("BkToCstmrAcctRpt", "camt.052"),
}
_NOT_BOOKED = frozenset({"PDNG", "INFO", "FUTR"})
_AMOUNT_RE = re.compile(r"\d+(\.\d+)?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_VERSION_SUFFIX_RE = re.compile(r"V\d+$")
_LXML_POSITION_RE = re.compile(r",? line \d+, column \d+$")


def read_camt(data: bytes) -> list[ParsedStatement]:
    """Read a camt.052, camt.053 or camt.054 file: one statement per account report."""
    if not data.strip():
        raise StatementFormatError(_("the file is empty"))
    context = etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        tag=("{*}Ntry", "{*}Stmt", "{*}Ntfctn", "{*}Rpt"),
        resolve_entities=False,
        no_network=True,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
    )
    statements: list[ParsedStatement] = []
    current: _Statement | None = None
    try:
        for _event, element in context:
            if element.tag.endswith("}Ntry") or element.tag == "Ntry":
                container = element.getparent()
                if current is None or current.element is not container:
                    if container is None or not _is_container(container):
                        continue
                    current = _Statement.start(container)
                line = _entry(current, element)
                if line is not None:
                    current.lines.append(line)
                # Free the entry and what precedes it (header, earlier entries): read already.
                element.clear()
                while element.getprevious() is not None:
                    del container[0]
            elif _is_container(element):
                if current is None or current.element is not element:
                    current = _Statement.start(element)  # a statement without entries
                statements.append(current.finish())
                current = None
                element.clear()
                parent = element.getparent()
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        reason = _LXML_POSITION_RE.sub("", exc.msg or "")
        raise StatementFormatError(
            _("the file is not well-formed XML: %(reason)s") % {"reason": reason},
            line=exc.lineno or None,
        ) from exc
    if not statements:
        root = context.root
        if root is not None and _split(root.tag)[0].startswith(_NS_PREFIX):
            raise StatementFormatError(
                _("the camt document holds no statement, report or notification")
            )
        raise StatementFormatError(_("not an ISO 20022 camt document"))
    return statements


def _split(tag: object) -> tuple[str, str]:
    """``{namespace}Local`` -> ``("namespace", "Local")``."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _sep, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _is_container(element: etree._Element) -> bool:
    """A ``Stmt``/``Ntfctn``/``Rpt`` in its message element, in a camt namespace (or in none:
    the element names are unambiguous)."""
    namespace, name = _split(element.tag)
    if name not in _CONTAINERS or not (namespace == "" or namespace.startswith(_NS_PREFIX)):
        return False
    parent = element.getparent()
    if parent is None:
        return False
    parent_namespace, parent_name = _split(parent.tag)
    # Version 1 of the schemas names the message element with a suffix: BkToCstmrStmtV01.
    return parent_namespace == namespace and (
        _VERSION_SUFFIX_RE.sub("", parent_name) == _CONTAINERS[name][0]
    )


def _clean(text: str | None) -> str:
    """Whitespace collapsed (line breaks inside remittance texts are layout, not content)."""
    if not text:
        return ""
    stripped = text.strip()
    if "  " in stripped or "\n" in stripped or "\t" in stripped or "\r" in stripped:
        return " ".join(stripped.split())
    return stripped


def _unique(values: list[str]) -> list[str]:
    """Non-empty values, first occurrence kept, in order."""
    return [value for value in dict.fromkeys(values) if value]


def _only(values: list[str]) -> str:
    """The value when all non-empty ones agree, else ``""``."""
    unique = _unique(values)
    return unique[0] if len(unique) == 1 else ""


# -- navigation ------------------------------------------------------------------------------


class _Tags(dict[str, str]):
    """Local name -> the tag lxml reports (``{namespace}Local``), built on first use."""

    def __init__(self, namespace: str) -> None:
        super().__init__()
        self.prefix = f"{{{namespace}}}" if namespace else ""

    def __missing__(self, name: str) -> str:
        tag = self[name] = self.prefix + name
        return tag


@lru_cache(maxsize=32)
def _tags(namespace: str) -> _Tags:
    return _Tags(namespace)


def _children(element: etree._Element | None) -> dict[str, etree._Element]:
    """The element's children by tag (the first of each tag)."""
    if element is None:
        return {}
    return {child.tag: child for child in reversed(element)}


def _find(element: etree._Element | None, *tags: str) -> etree._Element | None:
    """The first element down the path of ``tags``."""
    for tag in tags:
        if element is None:
            return None
        element = next(element.iterchildren(tag), None)
    return element


def _text(element: etree._Element | None) -> str:
    return _clean(element.text) if element is not None else ""


def _leaf_text(element: etree._Element | None) -> str:
    """The text of an element, or of its first child: ``<Sts><Cd>BOOK</Cd></Sts>`` (version
    8 on), ``<BookgDt><Dt>`` or ``<BookgDt><DtTm>``."""
    if element is None:
        return ""
    if len(element):
        return _clean(element[0].text)
    return _clean(element.text)


# -- values ----------------------------------------------------------------------------------


def _amount(text: str, indicator: str, line: int | None) -> Decimal:
    """An ``Amt`` (never negative in camt) signed by its ``CdtDbtInd``."""
    if not _AMOUNT_RE.fullmatch(text):
        if not text:
            raise StatementFormatError(_("the amount is missing"), line)
        raise StatementFormatError(_("invalid amount %(value)r") % {"value": text}, line)
    amount = Decimal(text)
    if indicator == "DBIT":
        return -amount if amount else amount
    if indicator != "CRDT":
        raise StatementFormatError(
            _("the credit/debit indicator %(value)r is neither CRDT nor DBIT")
            % {"value": indicator},
            line,
        )
    return amount


def _date(text: str, line: int | None) -> dt.date | None:
    """The date of a ``Dt`` or ``DtTm`` as written: the time and its offset are dropped."""
    if not text:
        return None
    try:
        if not _DATE_RE.match(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise StatementFormatError(_("invalid date %(value)r") % {"value": text}, line) from None


def _currency(text: str, line: int | None) -> str:
    if text and not _CURRENCY_RE.fullmatch(text):
        raise StatementFormatError(_("invalid currency code %(value)r") % {"value": text}, line)
    return text


def _transaction_code(t: _Tags, code: etree._Element | None) -> str:
    """``BkTxCd``: domain, family and sub-family joined with "-", else the proprietary code."""
    if code is None:
        return ""
    code_children = _children(code)
    domain = _children(code_children.get(t["Domn"]))
    if domain:
        family = _children(domain.get(t["Fmly"]))
        parts = [
            _text(domain.get(t["Cd"])),
            _text(family.get(t["Cd"])),
            _text(family.get(t["SubFmlyCd"])),
        ]
        if joined := "-".join(_unique(parts)):
            return joined
    return _text(_find(code_children.get(t["Prtry"]), t["Cd"]))


def _party_name(t: _Tags, party: etree._Element | None) -> str:
    """``<Dbtr><Nm>`` up to version 7, ``<Dbtr><Pty><Nm>`` from version 8, or the name of a
    financial institution (``<Dbtr><Agt>``)."""
    children = _children(party)
    return (
        _text(children.get(t["Nm"]))
        or _text(_find(children.get(t["Pty"]), t["Nm"]))
        or _text(_find(children.get(t["Agt"]), t["FinInstnId"], t["Nm"]))
    )


# -- statements and entries ------------------------------------------------------------------


@dataclass(slots=True)
class _Balance:
    code: str
    amount: Decimal
    currency: str


@dataclass(slots=True)
class _Statement:
    """What is known of the statement being read, until its end tag."""

    element: etree._Element
    tags: _Tags
    format: str
    statement_id: str
    account_iban: str
    account_number: str
    account_currency: str
    start_date: dt.date | None
    end_date: dt.date | None
    balances: list[_Balance]
    line: int | None
    entry_currency: str = ""
    lines: list[ParsedLine] = field(default_factory=list)

    @classmethod
    def start(cls, element: etree._Element) -> _Statement:
        """Read the header (id, account, period, balances): it precedes the entries."""
        namespace, name = _split(element.tag)
        t = _tags(namespace)
        line = element.sourceline
        account = _find(element, t["Acct"])
        account_id = _find(account, t["Id"])
        iban = _text(_find(account_id, t["IBAN"])).replace(" ", "").upper()
        number = ""
        if not iban:
            # The account's id when it is not an IBAN (PrtryAcct, BBAN and UPIC: version 1).
            number = (
                _text(_find(account_id, t["Othr"], t["Id"]))
                or _text(_find(account_id, t["PrtryAcct"], t["Id"]))
                or _text(_find(account_id, t["BBAN"]))
                or _text(_find(account_id, t["UPIC"]))
            )
        balances: list[_Balance] = []
        for balance in element.iterchildren(t["Bal"]):
            code = _text(_find(balance, t["Tp"], t["CdOrPrtry"], t["Cd"]))
            if code in ("OPBD", "PRCD", "CLBD"):
                amount = _find(balance, t["Amt"])
                balances.append(
                    _Balance(
                        code,
                        _amount(
                            _text(amount),
                            _text(_find(balance, t["CdtDbtInd"])),
                            balance.sourceline,
                        ),
                        _currency(
                            _clean(amount.get("Ccy")) if amount is not None else "",
                            balance.sourceline,
                        ),
                    )
                )
        period = _find(element, t["FrToDt"])
        return cls(
            element=element,
            tags=t,
            format=_CONTAINERS[name][1],
            statement_id=_text(_find(element, t["Id"])),
            account_iban=iban,
            account_number=number,
            account_currency=_currency(_text(_find(account, t["Ccy"])), line),
            start_date=_date(_text(_find(period, t["FrDtTm"])), line),
            end_date=_date(_text(_find(period, t["ToDtTm"])), line),
            balances=balances,
            line=line,
        )

    @property
    def currency(self) -> str:
        """The account's currency, else the first entry's."""
        return self.account_currency or self.entry_currency

    def finish(self) -> ParsedStatement:
        # No entry and no account currency: the balances tell it.
        currency = self.currency or next((b.currency for b in self.balances if b.currency), "")
        if not currency:
            raise StatementFormatError(_("the statement does not say its currency"), self.line)
        # A balance in another currency cannot be compared with the account's movements.
        usable = [b for b in self.balances if b.currency in (currency, "")]
        opening = next((b.amount for b in usable if b.code == "OPBD"), None)
        if opening is None:
            opening = next((b.amount for b in usable if b.code == "PRCD"), None)
        closing = next((b.amount for b in usable if b.code == "CLBD"), None)
        start, end = self.start_date, self.end_date
        if start is None and end is None and self.lines:
            start = min(line.booking_date for line in self.lines)
            end = max(line.booking_date for line in self.lines)
        return ParsedStatement(
            format=self.format,
            currency=currency,
            account_iban=self.account_iban,
            account_number=self.account_number,
            statement_id=self.statement_id,
            start_date=start,
            end_date=end,
            opening_balance=opening,
            closing_balance=closing,
            lines=self.lines,
        )


def _entry(statement: _Statement, entry: etree._Element) -> ParsedLine | None:
    """One ``Ntry`` as a line; ``None`` for an entry that is not booked."""
    t = statement.tags
    line = entry.sourceline
    children = _children(entry)
    amount_element = children.get(t["Amt"])
    currency = _currency(
        _clean(amount_element.get("Ccy")) if amount_element is not None else "", line
    )
    if currency and not statement.currency:
        statement.entry_currency = currency
    if _leaf_text(children.get(t["Sts"])) in _NOT_BOOKED:
        return None  # not a movement yet (its currency may still tell the account's)
    amount = _amount(_text(amount_element), _text(children.get(t["CdtDbtInd"])), line)
    if currency and currency != statement.currency:
        raise StatementFormatError(
            _("the entry is in %(entry)s, the account in %(account)s")
            % {"entry": currency, "account": statement.currency},
            line,
        )
    booking_date = _date(_leaf_text(children.get(t["BookgDt"])), line)
    if booking_date is None:
        raise StatementFormatError(_("the entry has no booking date"), line)

    # Money in: who paid us; money out: whom we paid.
    party, party_account = ("Dbtr", "DbtrAcct") if amount >= 0 else ("Cdtr", "CdtrAcct")
    descriptions: list[str] = []
    references: list[str] = []
    bank_references: list[str] = []
    names: list[str] = []
    ibans: list[str] = []
    details = [
        detail
        for entry_details in entry.iterchildren(t["NtryDtls"])
        for detail in entry_details.iterchildren(t["TxDtls"])
    ]
    for detail in details:
        detail_children = _children(detail)
        refs = _children(detail_children.get(t["Refs"]))
        end_to_end = _text(refs.get(t["EndToEndId"]))
        if end_to_end.upper() == "NOTPROVIDED":
            end_to_end = ""
        bank_references.append(_text(refs.get(t["AcctSvcrRef"])))
        # Unstructured lines, each structured block (reference, additional text), then the
        # transaction's additional information.
        structured: list[str] = []
        remittance = detail_children.get(t["RmtInf"])
        if remittance is not None:
            for part in remittance:
                if part.tag == t["Ustrd"]:
                    descriptions.append(_text(part))
                elif part.tag == t["Strd"]:
                    for item in part:
                        if item.tag == t["CdtrRefInf"]:
                            reference = _text(_find(item, t["Ref"]))
                            structured.append(reference)
                            descriptions.append(reference)
                        elif item.tag == t["AddtlRmtInf"]:
                            descriptions.append(_text(item))
        descriptions.append(_text(detail_children.get(t["AddtlTxInf"])))
        references.append(end_to_end or next(iter(_unique(structured)), ""))
        parties = _children(detail_children.get(t["RltdPties"]))
        names.append(_party_name(t, parties.get(t[party])))
        iban = _text(_find(parties.get(t[party_account]), t["Id"], t["IBAN"]))
        ibans.append(iban.replace(" ", "").upper())
    descriptions.append(_text(children.get(t["AddtlNtryInf"])))

    transaction_code = _transaction_code(t, children.get(t["BkTxCd"]))
    if not transaction_code and len(details) == 1:
        transaction_code = _transaction_code(t, _find(details[0], t["BkTxCd"]))
    return ParsedLine(
        booking_date=booking_date,
        amount=amount,
        value_date=_date(_leaf_text(children.get(t["ValDt"])), line),
        description=" ".join(_unique(descriptions)),
        reference=" ".join(_unique(references)),
        bank_reference=_text(children.get(t["AcctSvcrRef"])) or _only(bank_references),
        # A batch paid to or by several parties names none of them.
        counterparty_name=_only(names),
        counterparty_iban=_only(ibans),
        transaction_code=transaction_code,
        line=line,
    )
