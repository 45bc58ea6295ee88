"""Export of the books to plain-text accounting: hledger journal, beancount, CSV.

``export_hledger``, ``export_beancount`` and ``export_csv`` stream the company's *posted*
entries of a date range (both ends optional: the whole books), in book order (date, then
posting order, so each journal's numbers ascend), as text chunks: the declarations first,
then one chunk per entry. Drafts never appear; a range carries no balance in (the year's
opening entry is an entry like any other). :func:`books_export` wraps them for the CLI,
the web page and the API: the file name, the content type, the audit-trail record.

Amounts are written exactly from the integer minor units with the currency's ISO 4217
exponent (``12345`` EUR → ``123.45``, JPY → ``12345``); no float, no rounding. Each line is
one posting whose amount is debit - credit (positive on the debit side, as both tools expect).
A line in a foreign currency is written in that currency with its company-currency value as
the total cost, ``100.00 USD @@ 92.00 EUR``, so that hledger and beancount balance every
transaction exactly in the company currency and ``hledger balance --cost`` equals our trial
balance. Two rare shapes cannot carry an ``@@`` cost (a total cost has no sign): a line whose
amount in currency is zero is written in the company currency only; one whose amount in
currency has the opposite sign of its debit - credit becomes two postings on the same account,
the currency amount at zero cost and the company-currency amount.

Account names: the root follows the account type (asset → ``Assets``, liability →
``Liabilities``, equity → ``Equity``, income → ``Income``, expense → ``Expenses``: beancount's
five mandatory roots, which hledger recognises too and which the hledger export also declares
with ``type:`` tags), then one component made of the code and the name in the active language.
hledger accepts single spaces and most characters: ``Assets:5720 Bank current account``.
beancount wants components that start with a capital letter or a digit followed by letters,
digits and dashes: ``Assets:5720-BankCurrentAccount`` (accents dropped, words capitalised).

Text: the entry number is hledger's transaction code ``(GEN/2026/000001)`` and beancount's
payee; the reference and the description form hledger's ``payee | note`` description and
beancount's narration. Characters with a meaning in the format are replaced (hledger: ``;``
starts a comment, so it becomes ``,``; ``|`` in a reference becomes ``/``) or escaped
(beancount strings: ``\\`` and ``"``); line breaks and control characters become spaces.

CSV: the columns of the entries import (:mod:`trastienda.ledger.imports`), one row per line,
so that the file imports into another company as it is (the entry's external id, or its
number when it has none, is the import's ``external_id``); amounts with a decimal point, the
zero side of a line empty, ``currency``/``amount_currency`` only on foreign-currency lines.
Text cells a spreadsheet would read as a formula get an apostrophe, as in every export here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min
from django.utils.translation import gettext_lazy as _

from trastienda.core.exports import neutralise
from trastienda.core.models import Company
from trastienda.core.money import currency_exponent
from trastienda.ledger import imports
from trastienda.ledger.models import (
    Account,
    AccountSubtype,
    AccountType,
    CostCentre,
    Journal,
    JournalEntry,
    Project,
)
from trastienda.ledger.queries import posted_lines

FORMATS: dict[str, tuple[Any, str, str]] = {
    # format: (label, file extension, content type)
    "hledger": (_("hledger journal"), "journal", "text/plain; charset=utf-8"),
    "beancount": ("beancount", "beancount", "text/plain; charset=utf-8"),
    "csv": (_("CSV for the entries import"), "csv", "text/csv; charset=utf-8"),
}

ROOTS = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.INCOME: "Income",
    AccountType.EXPENSE: "Expenses",
}
HLEDGER_TYPES = {"Assets": "A", "Liabilities": "L", "Equity": "E", "Income": "R", "Expenses": "X"}
HLEDGER_CASH_SUBTYPES = {AccountSubtype.BANK, AccountSubtype.CASH}
CSV_COLUMNS = imports.COLUMNS
"""CSV header: the columns of the entries import (fixed English keys, not translated), so that
the file imports as it is into another company; the entry's fields repeat on every row."""

CHUNK_SIZE = 2000

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_HLEDGER_NAME_UNSAFE = re.compile(r"[^\w \-.,/&'+%]")
_WORDS = re.compile(r"[A-Za-z0-9]+")


# --- formatting helpers ---------------------------------------------------------------------


def amount_text(minor: int, exponent: int) -> str:
    """``minor`` units as a decimal string with ``exponent`` places: exact integer arithmetic."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError("minor units must be an int")
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor))
    if exponent == 0:
        return sign + digits
    digits = digits.rjust(exponent + 1, "0")
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"


def _one_line(text: str) -> str:
    """``text`` on one line: control characters and runs of white space become one space."""
    if not text:
        return ""
    if text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
        return text  # the usual case, checked at C speed
    return " ".join(_CONTROL.sub(" ", text).split())


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def hledger_account_name(account: Account) -> str:
    """``Root:CODE Name``: single spaces, no characters hledger would misread."""
    text = " ".join(_HLEDGER_NAME_UNSAFE.sub(" ", f"{account.code} {account.name}").split())
    return f"{ROOTS[AccountType(account.type)]}:{text or account.pk}"


def beancount_account_name(account: Account) -> str:
    """``Root:CODE-CamelCaseName`` in ASCII letters, digits and dashes."""
    code = "-".join(_WORDS.findall(_ascii(account.code)))
    name = "".join(w[:1].upper() + w[1:] for w in _WORDS.findall(_ascii(account.name)))
    component = "-".join(part for part in (code, name) if part) or f"A{account.pk}"
    if not (component[0].isascii() and (component[0].isupper() or component[0].isdigit())):
        component = component[0].upper() + component[1:]
        if not component[0].isupper():
            component = "A" + component
    return f"{ROOTS[AccountType(account.type)]}:{component}"


def _unique(names: dict[int, str], sep: str) -> dict[int, str]:
    """Names made unique by appending the account id where two accounts collide."""
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {pk: (f"{n}{sep}{pk}" if counts[n] > 1 else n) for pk, n in names.items()}


def _hledger_text(text: str) -> str:
    return _one_line(text).replace(";", ",")


def _hledger_tag_value(text: str) -> str:
    """A tag value ends at a comma: commas become spaces."""
    return " ".join(_hledger_text(text).replace(",", " ").split())


def _bean_string(text: str) -> str:
    return '"' + _one_line(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- reading the books ----------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    line_no: int
    account_id: int
    description: str
    debit: int
    credit: int
    currency: str
    amount_currency: int
    partner: str
    due_date: dt.date | None
    cost_centre_id: int | None
    project_id: int | None


@dataclass(frozen=True)
class Entry:
    id: int
    date: dt.date
    number: str
    journal_id: int
    reference: str
    description: str
    external_id: str
    reversal_of: str
    lines: tuple[Line, ...]


class Books:
    """What an export covers: the posted lines of ``company`` from ``date_from`` to ``date_to``.

    Creating it runs one summary query (accounts and currencies used, their first dates, the
    counts), which the declarations and the audit record need before the first entry.
    """

    def __init__(
        self, company: Company, date_from: dt.date | None = None, date_to: dt.date | None = None
    ) -> None:
        self.company, self.date_from, self.date_to = company, date_from, date_to
        self.base: str = company.base_currency
        self.first_use: dict[int, dt.date] = {}
        self.currencies: set[str] = set()
        self.line_count = 0
        usage = (
            self.lines()
            .values("account_id", "currency_id")
            .annotate(first=Min("date"), n=Count("id"))
            .order_by()
        )
        for row in usage:
            account_id, first = row["account_id"], row["first"]
            if account_id not in self.first_use or first < self.first_use[account_id]:
                self.first_use[account_id] = first
            self.currencies.add(row["currency_id"])
            self.line_count += row["n"]
        if self.line_count:
            self.currencies.add(self.base)
        self.first_date: dt.date | None = min(self.first_use.values(), default=None)
        self.entry_count: int = self.entries().count()
        self.accounts: dict[int, Account] = {
            a.pk: a for a in Account.objects.for_company(company).filter(pk__in=self.first_use)
        }
        self.journals: dict[int, str] = dict(
            Journal.objects.for_company(company).values_list("pk", "code")
        )
        self.cost_centres: dict[int, str] = dict(
            CostCentre.objects.for_company(company).values_list("pk", "code")
        )
        self.projects: dict[int, str] = dict(
            Project.objects.for_company(company).values_list("pk", "code")
        )

    def entries(self) -> Any:
        qs = JournalEntry.objects.for_company(self.company).filter(state=JournalEntry.State.POSTED)
        if self.date_from is not None:
            qs = qs.filter(date__gte=self.date_from)
        if self.date_to is not None:
            qs = qs.filter(date__lte=self.date_to)
        return qs

    def lines(self) -> Any:
        qs = posted_lines(self.company)
        if self.date_from is not None:
            qs = qs.filter(date__gte=self.date_from)
        if self.date_to is not None:
            qs = qs.filter(date__lte=self.date_to)
        return qs

    def iter_entries(self) -> Iterator[Entry]:
        """The posted entries in book order with their lines: one query, read in chunks."""
        rows = (
            self.lines()
            .order_by("date", "chain_seq", "line_no")
            .values_list(
                "entry_id",
                "entry__date",
                "entry__number",
                "entry__journal_id",
                "entry__reference",
                "entry__description",
                "entry__external_id",
                "entry__reversal_of__number",
                "line_no",
                "account_id",
                "description",
                "debit",
                "credit",
                "currency_id",
                "amount_currency",
                "partner",
                "due_date",
                "cost_centre_id",
                "project_id",
            )
            .iterator(chunk_size=CHUNK_SIZE)
        )
        for _entry_id, group in itertools.groupby(rows, key=lambda r: r[0]):
            first, *rest = list(group)
            yield Entry(
                id=first[0],
                date=first[1],
                number=first[2] or "",
                journal_id=first[3],
                reference=first[4] or "",
                description=first[5] or "",
                external_id=first[6] or "",
                reversal_of=first[7] or "",
                lines=tuple(Line(*row[8:]) for row in (first, *rest)),
            )

    def range_text(self) -> str:
        start = self.date_from.isoformat() if self.date_from else "the beginning"
        end = self.date_to.isoformat() if self.date_to else "the end"
        return f"from {start} to {end}"

    def postings(self, line: Line) -> list[tuple[int, str, int | None]]:
        """(quantity, commodity, total cost in the company currency or None) of a line."""
        net = line.debit - line.credit
        if line.currency == self.base or line.amount_currency == 0:
            return [(net, self.base, None)]
        if (line.amount_currency > 0) == (net > 0):
            return [(line.amount_currency, line.currency, abs(net))]
        return [(line.amount_currency, line.currency, 0), (net, self.base, None)]

    def amount(self, quantity: int, commodity: str, cost: int | None) -> str:
        text = f"{amount_text(quantity, currency_exponent(commodity))} {commodity}"
        if cost is not None:
            text += f" @@ {amount_text(cost, currency_exponent(self.base))} {self.base}"
        return text


def _title(books: Books) -> str:
    return _one_line(f"{books.company.code} {books.company.legal_name}")


# --- hledger --------------------------------------------------------------------------------


def _hledger(books: Books) -> Iterator[str]:
    names = _unique({pk: hledger_account_name(a) for pk, a in books.accounts.items()}, " ")
    head = [
        f"; Books of {_title(books)}: posted entries {books.range_text()}.",
        f"; Company currency {books.base}; foreign-currency postings carry their {books.base}"
        " value as total cost (@@): hledger balance --cost gives the trial balance.",
        "",
        "decimal-mark .",
        "",
    ]
    for code in sorted(books.currencies):
        exponent = currency_exponent(code)
        head.append(
            f"commodity {amount_text(1000 * 10**exponent, exponent)}{'.' * (not exponent)} {code}"
        )
    head.append("")
    for root in ROOTS.values():
        head.append(f"account {root}  ; type: {HLEDGER_TYPES[root]}")
    for pk in sorted(names, key=lambda pk: names[pk]):
        account = books.accounts[pk]
        cash = account.subtype in HLEDGER_CASH_SUBTYPES
        head.append(f"account {names[pk]}" + ("  ; type: C" if cash else ""))
    yield "\n".join(head) + "\n"
    journal_tags = {pk: f"journal: {_hledger_tag_value(c)}" for pk, c in books.journals.items()}
    for entry in books.iter_entries():
        code = _one_line(entry.number).replace("(", "[").replace(")", "]")
        reference = _hledger_text(entry.reference).replace("|", "/")
        description = " | ".join(t for t in (reference, _hledger_text(entry.description)) if t)
        out = [f"\n{entry.date.isoformat()} * ({code}) {description}".rstrip()]
        tags = [journal_tags.get(entry.journal_id, "journal:")]
        if entry.reversal_of:
            tags.append(f"reverses: {_hledger_tag_value(entry.reversal_of)}")
        if entry.external_id:
            tags.append(f"external-id: {_hledger_tag_value(entry.external_id)}")
        out.append("    ; " + ", ".join(tags))
        for line in entry.lines:
            details = []
            if line.partner:
                details.append(f"partner: {_hledger_tag_value(line.partner)}")
            if line.due_date:
                details.append(f"due: {line.due_date.isoformat()}")
            if line.cost_centre_id:
                centre = books.cost_centres.get(line.cost_centre_id, "")
                details.append(f"cost-centre: {_hledger_tag_value(centre)}")
            if line.project_id:
                project = books.projects.get(line.project_id, "")
                details.append(f"project: {_hledger_tag_value(project)}")
            for i, posting in enumerate(books.postings(line)):
                text = f"    {names[line.account_id]}  {books.amount(*posting)}"
                if details and i == 0:
                    text += "  ; " + ", ".join(details)
                out.append(text)
            if line.description:
                out.append(f"    ; {_hledger_text(line.description)}")
        yield "\n".join(out) + "\n"


def export_hledger(
    company: Company, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Iterator[str]:
    """The posted books as an hledger journal (checked with hledger 1.25), in chunks."""
    return _hledger(Books(company, date_from, date_to))


# --- beancount ------------------------------------------------------------------------------


def _beancount(books: Books) -> Iterator[str]:
    names = _unique({pk: beancount_account_name(a) for pk, a in books.accounts.items()}, "-")
    head = [
        f"; Books of {_title(books)}: posted entries {books.range_text()}.",
        f"; Foreign-currency postings carry their {books.base} value as total cost (@@).",
        f"option {_bean_string('title')} {_bean_string(_title(books))}",
        f"option {_bean_string('operating_currency')} {_bean_string(books.base)}",
        "",
    ]
    if books.first_date is not None:
        for code in sorted(books.currencies):
            head.append(f"{books.first_date.isoformat()} commodity {code}")
        head.append("")
        for pk in sorted(names, key=lambda pk: (books.first_use[pk], names[pk])):
            head.append(f"{books.first_use[pk].isoformat()} open {names[pk]}")
    yield "\n".join(head) + "\n"
    for entry in books.iter_entries():
        narration = " | ".join(
            t for t in (_one_line(entry.reference), _one_line(entry.description)) if t
        )
        out = [
            f"\n{entry.date.isoformat()} * {_bean_string(entry.number)} {_bean_string(narration)}",
            f"  journal: {_bean_string(books.journals.get(entry.journal_id, ''))}",
        ]
        if entry.reversal_of:
            out.append(f"  reversal_of: {_bean_string(entry.reversal_of)}")
        if entry.external_id:
            out.append(f"  external_id: {_bean_string(entry.external_id)}")
        for line in entry.lines:
            for i, posting in enumerate(books.postings(line)):
                out.append(f"  {names[line.account_id]}  {books.amount(*posting)}")
                if i:
                    continue
                if line.description:
                    out.append(f"    description: {_bean_string(line.description)}")
                if line.partner:
                    out.append(f"    partner: {_bean_string(line.partner)}")
                if line.due_date:
                    out.append(f"    due_date: {line.due_date.isoformat()}")
                if line.cost_centre_id:
                    code = books.cost_centres.get(line.cost_centre_id, "")
                    out.append(f"    cost_centre: {_bean_string(code)}")
                if line.project_id:
                    out.append(
                        f"    project: {_bean_string(books.projects.get(line.project_id, ''))}"
                    )
        yield "\n".join(out) + "\n"


def export_beancount(
    company: Company, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Iterator[str]:
    """The posted books as a beancount ledger (open directives, commodities), in chunks."""
    return _beancount(Books(company, date_from, date_to))


# --- CSV ------------------------------------------------------------------------------------


class _CsvText:
    """Rows to CSV text, one chunk at a time."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def __call__(self, rows: Iterable[Iterable[Any]]) -> str:
        self.writer.writerows(rows)
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def _csv(books: Books) -> Iterator[str]:
    base, base_exponent = books.base, currency_exponent(books.base)
    text = neutralise  # text cells a spreadsheet would read as a formula get an apostrophe
    write = _CsvText()
    # A BOM, so that spreadsheets read UTF-8 (as core.exports.write_csv does).
    yield "\ufeff" + write([CSV_COLUMNS])
    for entry in books.iter_entries():
        header = {
            # the entry's own external id, else its number (unique too): importing the file
            # twice into the same company posts it once
            "external_id": text(entry.external_id or entry.number),
            "date": entry.date.isoformat(),
            "journal": text(books.journals.get(entry.journal_id, "")),
            "reference": text(entry.reference),
            "description": text(entry.description),
        }
        rows = []
        for line in entry.lines:
            foreign = line.currency != base
            values = {
                **header,
                "account": text(books.accounts[line.account_id].code),
                "line_description": text(line.description),
                "debit": amount_text(line.debit, base_exponent) if line.debit else "",
                "credit": amount_text(line.credit, base_exponent) if line.credit else "",
                "currency": line.currency if foreign else "",
                "amount_currency": (
                    amount_text(line.amount_currency, currency_exponent(line.currency))
                    if foreign
                    else ""
                ),
                "partner": text(line.partner),
                "due_date": line.due_date.isoformat() if line.due_date else "",
                "cost_centre": text(books.cost_centres.get(line.cost_centre_id or 0, "")),
                "project": text(books.projects.get(line.project_id or 0, "")),
            }
            rows.append([values.get(column, "") for column in CSV_COLUMNS])
        yield write(rows)


def export_csv(
    company: Company, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Iterator[str]:
    """The posted books as CSV, one row per line in the columns of the entries import
    (:data:`CSV_COLUMNS`), in chunks."""
    return _csv(Books(company, date_from, date_to))


WRITERS: dict[str, Callable[[Books], Iterator[str]]] = {
    "hledger": _hledger,
    "beancount": _beancount,
    "csv": _csv,
}


# --- for the CLI, the web and the API -------------------------------------------------------


@dataclass(frozen=True)
class BooksExport:
    filename: str
    content_type: str
    chunks: Iterator[str]
    entries: int
    lines: int


def books_export(
    *,
    company: Company,
    fmt: str,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    query: str = "",
) -> BooksExport:
    """Start an export and record it in the audit trail (``export``, ``ledger.books``).

    ``fmt`` is one of :data:`FORMATS`; the chunks are produced as they are read.
    """
    from trastienda.audit.services import audit_log

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ValueError("date_from is after date_to")
    books = Books(company, date_from, date_to)
    _label, extension, content_type = FORMATS[fmt]
    span = "-".join(d.isoformat() for d in (date_from, date_to) if d is not None) or "all"
    filename = f"books-{company.code}-{span}.{extension}"
    audit_log(
        action="export",
        company=company,
        object_type="ledger.books",
        object_repr=filename,
        extra={
            "format": fmt,
            "rows": books.line_count,
            "entries": books.entry_count,
            "date_from": date_from,
            "date_to": date_to,
            "query": query,
        },
    )
    return BooksExport(
        filename, content_type, WRITERS[fmt](books), books.entry_count, books.line_count
    )


__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "Books",
    "BooksExport",
    "amount_text",
    "beancount_account_name",
    "books_export",
    "export_beancount",
    "export_csv",
    "export_hledger",
    "hledger_account_name",
]
