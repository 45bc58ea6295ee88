"""Receivables and payables: aged balances, open items, days outstanding, statements of account.

Reads only (the queries of issue 4 section 8); the services in :mod:`trastienda.billing.services`
write what is read here. Amounts are integer minor units: the aged report and the days
outstanding are in the company currency (``Installment.open_base``), a statement of account in
each document's currency (one section per currency).

**Aged report.** What is open per partner, in five buckets by days overdue at the date
``as_of`` (``as_of - due_date``): *current* (not yet due, 0 days or fewer), 1-30, 31-60, 61-90
and over 90 days. One SQL aggregate over the open instalments
(:func:`aged_sql`: ``SUM(CASE ...)`` per bucket, ``GROUP BY partner``) read through the partial
index ``billing_installment_open`` on ``(company, direction, partner, due_date) WHERE
open_amount <> 0``; the buckets compare ``due_date`` with boundary dates computed in Python,
which is ``as_of - due_date`` without date arithmetic in SQL (the same on SQLite and
PostgreSQL).

**As of another date.** The instalments hold what is open *now*. For the report at an earlier
date: the instalments of invoices dated after ``as_of`` are taken off with a second aggregate
read through the invoices' date index (:func:`_later_sql`); the invoices dated on or before it
whose open amount changed after it (:func:`_restore_after`) are recomputed in Python and their
difference applied: allocations of payments dated after ``as_of`` are added back, allocations
of payments dated on or before it but reversed after it are taken off again, a credit note
dated after it gives back what it offset of its invoice (its amount less what is still open of
it). An invoice's open amount is always the last part of its instalments in due-date order
(the services settle the earliest first and reopen the latest first), so the open amount at
``as_of`` spreads over the instalments exactly as it did then. Limit: a
:class:`~trastienda.billing.models.PaymentAllocation` has no date of its own, so credit kept and
applied later (``credit_apply``) counts as of the payment's date — the partner's balance is
right either way (the credit and the invoice move together), only the split between open
invoices and unapplied credit moves. For today (the default) the correction queries read
nothing.

**Unapplied credit.** What payments left as the partner's credit (``Payment.
unallocated_amount`` of payments dated on or before ``as_of`` and not reversed by then), in
the company currency (a foreign payment at its own rate, read from its bank line). Shown
beside the buckets: *balance* = open instalments - unapplied credit.

**Days outstanding** (DSO for sales, DPO for purchases): receivables open at ``as_of`` (the
aged total, company currency) / sales invoiced in the ``days`` days up to ``as_of`` (issued
invoices and simplified invoices less credit notes, amount due, company currency) x ``days``.

**Statement of account.** For a partner, a direction and a date range: the opening balance
(everything before the range), every issued invoice and credit note, payment, write-off and
payment reversal in it, with the running balance, and the closing balance; per currency.
Charges (invoices, reversals of payments) increase what the partner owes (or what is owed to a
supplier), credits (payments, credit notes, write-offs) decrease it. From the beginning, the
closing balance equals the open amounts of the partner's invoices less the credit kept.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, Case, F, Q, QuerySet, Sum, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trastienda.billing.models import (
    Direction,
    Installment,
    Invoice,
    Partner,
    Payment,
    PaymentAllocation,
)
from trastienda.core.models import Company
from trastienda.core.money import Money

BUCKETS: tuple[str, ...] = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")
BUCKET_LABELS: dict[str, Any] = {
    "current": _("Current"),
    "days_1_30": _("1-30 days"),
    "days_31_60": _("31-60 days"),
    "days_61_90": _("61-90 days"),
    "days_over_90": _("Over 90 days"),
}
#: Upper bound of days overdue of each bucket but the last (current: 0 days or fewer).
BUCKET_LIMITS = (0, 30, 60, 90)
DEFAULT_DSO_DAYS = 90
_CHUNK = 500


def bucket_of(days_overdue: int) -> int:
    """Index in :data:`BUCKETS` of an instalment ``days_overdue`` days past its due date."""
    for index, limit in enumerate(BUCKET_LIMITS):
        if days_overdue <= limit:
            return index
    return len(BUCKET_LIMITS)


def _bucket_bounds(as_of: dt.date) -> list[dt.date]:
    """``as_of - limit`` for each limit: a due date on or after bound ``i`` is in bucket ``i``
    or an earlier one."""
    return [as_of - dt.timedelta(days=limit) for limit in BUCKET_LIMITS]


def _half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero (integers, exact)."""
    if denominator <= 0:
        raise ValueError("the denominator must be positive")
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def to_base(amount: int, currency: str, rate: Decimal, company: Company) -> int:
    """``amount`` minor units of ``currency`` in the company currency at ``rate`` (company
    currency per unit), half up: the rounding of the invoicing services."""
    if currency == company.base_currency:
        return amount
    value = Money(abs(amount), currency).to_decimal() * rate
    minor = Money.from_decimal_rounded(value, company.base_currency, ROUND_HALF_UP).minor
    return minor if amount >= 0 else -minor


# --- open items -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenItem:
    """An instalment open at ``as_of``: amounts signed (negative for credit notes)."""

    invoice_id: int
    direction: str
    document: str
    kind: str
    partner_id: int
    invoice_date: dt.date
    due_date: dt.date
    currency: str
    amount: int  # the instalment, invoice currency
    open_amount: int  # invoice currency
    open_base: int  # company currency
    days_overdue: int
    bucket: int

    @property
    def bucket_key(self) -> str:
        return BUCKETS[self.bucket]


#: Invoice fields an open item needs, read as plain values (no model instances: thousands of
#: them cost more than the query).
_INVOICE_FIELDS = (
    "pk",
    "direction",
    "number",
    "supplier_reference",
    "kind",
    "partner_id",
    "date",
    "currency",
    "rate",
    "open_amount",
    "payable_amount",
)


def document_name(number: str | None, supplier_reference: str, pk: int) -> str:
    """What :meth:`Invoice.__str__` says, from the values."""
    return number or supplier_reference or f"#{pk}"


def _restore_after(
    company: Company, direction: str, as_of: dt.date, partner_id: int | None = None
) -> dict[int, int]:
    """Invoice id -> what to add back to its open amount now to get its open amount at
    ``as_of``, for the invoices dated on or before ``as_of`` whose open amount changed after
    it (see the module doc). Invoices dated after ``as_of`` are left out by the callers."""
    invoices = Invoice.objects.filter(
        company=company, direction=direction, state=Invoice.State.ISSUED
    )
    allocations = PaymentAllocation.objects.filter(
        company=company, payment__direction=direction, invoice__date__lte=as_of
    )
    if partner_id is not None:
        invoices = invoices.filter(partner_id=partner_id)
        allocations = allocations.filter(payment__partner_id=partner_id)
    restore: dict[int, int] = defaultdict(int)
    # Credit notes dated after as_of give back what they offset of their invoice.
    for original, payable, still_open in invoices.filter(
        date__gt=as_of,
        kind=Invoice.Kind.CREDIT_NOTE,
        rectifies__isnull=False,
        rectifies__date__lte=as_of,
    ).values_list("rectifies_id", "payable_amount", "open_amount"):
        if payable != still_open:
            restore[original] += payable - still_open
    paid_after = allocations.filter(payment__date__gt=as_of, payment__state=Payment.State.POSTED)
    for invoice_id, amount in paid_after.values_list("invoice_id", "amount"):
        restore[invoice_id] += amount
    reversed_after = allocations.filter(
        payment__date__lte=as_of,
        payment__state=Payment.State.REVERSED,
        payment__reversal_entry__date__gt=as_of,
    )
    for invoice_id, amount in reversed_after.values_list("invoice_id", "amount"):
        restore[invoice_id] -= amount
    return {k: v for k, v in restore.items() if v}


def _chunks(values: Iterable[int], size: int = _CHUNK) -> Iterable[list[int]]:
    batch: list[int] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _item(
    invoice: dict[str, Any],
    due_date: dt.date,
    amount: int,
    open_amount: int,
    open_base: int,
    as_of: dt.date,
) -> OpenItem:
    days = (as_of - due_date).days
    return OpenItem(
        invoice_id=invoice["pk"],
        direction=invoice["direction"],
        document=document_name(invoice["number"], invoice["supplier_reference"], invoice["pk"]),
        kind=invoice["kind"],
        partner_id=invoice["partner_id"],
        invoice_date=invoice["date"],
        due_date=due_date,
        currency=invoice["currency"],
        amount=amount,
        open_amount=open_amount,
        open_base=open_base,
        days_overdue=days,
        bucket=bucket_of(days),
    )


_INSTALLMENT_FIELDS = ("invoice_id", "due_date", "amount", "open_amount", "open_base")


def _restored_items(
    company: Company, invoice_ids: Iterable[int], restore: dict[int, int], as_of: dt.date
) -> tuple[list[OpenItem], list[OpenItem]]:
    """(the open items now, the open items at ``as_of``) of the invoices ``invoice_ids``."""
    now: list[OpenItem] = []
    then: list[OpenItem] = []
    for batch in _chunks(sorted(invoice_ids)):
        invoices = {
            values["pk"]: values
            for values in Invoice.objects.filter(company=company, pk__in=batch).values(
                *_INVOICE_FIELDS
            )
        }
        by_invoice: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for row in (
            # By the invoice's index (the ids are the company's already): with the company
            # in the condition SQLite would walk the company's index instead.
            Installment.objects.filter(invoice_id__in=batch)
            .order_by("due_date", "id")
            .values_list(*_INSTALLMENT_FIELDS)
        ):
            by_invoice[row[0]].append(row)
        for pk in batch:
            invoice = invoices[pk]
            rows = by_invoice.get(pk, [])
            for _id, due, amount, open_amount, open_base in rows:
                if open_amount:
                    now.append(_item(invoice, due, amount, open_amount, open_base, as_of))
            if pk not in restore:
                continue  # dated after as_of: nothing was open then
            sign = -1 if invoice["kind"] == Invoice.Kind.CREDIT_NOTE else 1
            remaining = min(max(invoice["open_amount"] + restore[pk], 0), invoice["payable_amount"])
            # The open part is the last instalments' (the earliest are settled first).
            opened: list[tuple[tuple[Any, ...], int]] = []
            for row in reversed(rows):
                if remaining <= 0:
                    break
                part = min(abs(row[2]), remaining)
                remaining -= part
                opened.append((row, part))
            for row, part in reversed(opened):
                base = to_base(part, invoice["currency"], invoice["rate"], company)
                then.append(_item(invoice, row[1], row[2], sign * part, sign * base, as_of))
    return now, then


def open_items(
    company: Company,
    *,
    direction: str,
    partner: Partner | None = None,
    as_of: dt.date | None = None,
) -> list[OpenItem]:
    """The instalments open at ``as_of`` (default today) of ``partner`` (or of every partner),
    oldest due date first, each with its days overdue and bucket."""
    as_of = as_of or timezone.localdate()
    partner_id = partner.pk if partner is not None else None
    restore = _restore_after(company, direction, as_of, partner_id)
    rows = (
        Installment.objects.filter(company=company, direction=direction, invoice__date__lte=as_of)
        .exclude(open_amount=0)
        .order_by("due_date", "id")
    )
    if partner_id is not None:
        rows = rows.filter(partner_id=partner_id)
    fields = [f"invoice__{name}" if name != "pk" else "invoice_id" for name in _INVOICE_FIELDS]
    items = []
    for values in rows.values_list(*fields, "due_date", "amount", "open_amount", "open_base"):
        if values[0] in restore:
            continue
        invoice = dict(zip(_INVOICE_FIELDS, values[: len(fields)], strict=True))
        due, amount, open_amount, open_base = values[len(fields) :]
        items.append(_item(invoice, due, amount, open_amount, open_base, as_of))
    _now, then = _restored_items(company, restore, restore, as_of)
    items += then
    items.sort(key=lambda item: (item.due_date, item.invoice_date, item.invoice_id))
    return items


# --- aged report ----------------------------------------------------------------------------


def _bucket_columns(as_of: dt.date) -> tuple[str, list[Any]]:
    """The five ``SUM(CASE ...)`` columns of the buckets at ``as_of`` over instalments ``i``,
    with their parameters: ``as_of - due_date`` compared as dates (no date arithmetic in SQL,
    the same on SQLite and PostgreSQL)."""
    b0, b30, b60, b90 = _bucket_bounds(as_of)
    sql = (
        " SUM(CASE WHEN i.due_date >= %s THEN i.open_base ELSE 0 END) AS b0,"
        " SUM(CASE WHEN i.due_date < %s AND i.due_date >= %s THEN i.open_base ELSE 0 END) AS b1,"
        " SUM(CASE WHEN i.due_date < %s AND i.due_date >= %s THEN i.open_base ELSE 0 END) AS b2,"
        " SUM(CASE WHEN i.due_date < %s AND i.due_date >= %s THEN i.open_base ELSE 0 END) AS b3,"
        " SUM(CASE WHEN i.due_date < %s THEN i.open_base ELSE 0 END) AS b4"
    )
    return sql, [b0, b0, b30, b30, b60, b60, b90, b90]


def aged_sql(
    company: Company, direction: str, as_of: dt.date, partner_id: int | None = None
) -> tuple[str, list[Any]]:
    """The aggregate of the aged report over what is open now: one row per partner (id, code,
    legal name and the five buckets in the company currency), as SQL and parameters (also for
    EXPLAIN)."""
    columns, params = _bucket_columns(as_of)
    partner_filter = " AND i.partner_id = %s" if partner_id is not None else ""
    # The condition NOT (open_amount = 0) is written as the partial index declares it, so
    # that SQLite's planner sees that the query implies the index's WHERE clause.
    sql = (
        "SELECT a.partner_id, p.code, p.legal_name, a.b0, a.b1, a.b2, a.b3, a.b4 FROM ("  # noqa: S608 - fixed text, values as parameters
        f"SELECT i.partner_id AS partner_id,{columns}"
        " FROM billing_installment i"
        " WHERE i.company_id = %s AND i.direction = %s AND NOT (i.open_amount = 0)"
        f"{partner_filter}"
        " GROUP BY i.partner_id"
        ") a JOIN billing_partner p ON p.id = a.partner_id"
        " ORDER BY p.code"
    )
    params += [company.pk, direction]
    if partner_id is not None:
        params.append(partner_id)
    return sql, params


def _later_sql(
    company: Company, direction: str, as_of: dt.date, partner_id: int | None = None
) -> tuple[str, list[Any]]:
    """The same sums over the open instalments of the invoices dated after ``as_of`` (to take
    off): read from the invoices' date index, so nothing is read when ``as_of`` is today."""
    columns, params = _bucket_columns(as_of)
    partner_filter = " AND v.partner_id = %s" if partner_id is not None else ""
    sql = (
        f"SELECT i.partner_id,{columns}"  # noqa: S608 - fixed text, values as parameters
        " FROM billing_invoice v JOIN billing_installment i ON i.invoice_id = v.id"
        " WHERE v.company_id = %s AND v.direction = %s AND v.date > %s"
        " AND NOT (i.open_amount = 0)"
        f"{partner_filter}"
        " GROUP BY i.partner_id"
    )
    params += [company.pk, direction, as_of]
    if partner_id is not None:
        params.append(partner_id)
    return sql, params


@dataclass
class AgedRow:
    partner_id: int
    code: str
    name: str
    buckets: list[int]  # company currency, in the order of BUCKETS
    credit: int = 0  # unapplied credit, company currency (positive)

    @property
    def total(self) -> int:
        return sum(self.buckets)

    @property
    def overdue(self) -> int:
        return sum(self.buckets[1:])

    @property
    def balance(self) -> int:
        return self.total - self.credit


@dataclass(frozen=True)
class DaysOutstanding:
    """DSO (sales) or DPO (purchases) at ``as_of`` over ``days`` days."""

    days: int
    receivables: int  # company currency
    sales: int  # company currency, invoiced in the period
    value: Decimal | None  # None when nothing was invoiced in the period


@dataclass
class AgedReport:
    direction: str
    as_of: dt.date
    currency: str
    rows: list[AgedRow]
    totals: list[int]
    credit: int
    dso: DaysOutstanding | None = None

    @property
    def total(self) -> int:
        return sum(self.totals)

    @property
    def overdue(self) -> int:
        return sum(self.totals[1:])

    @property
    def balance(self) -> int:
        return self.total - self.credit


def _aggregate(
    company: Company, direction: str, as_of: dt.date, partner_id: int | None
) -> dict[int, AgedRow]:
    sql, params = aged_sql(company, direction, as_of, partner_id)
    rows: dict[int, AgedRow] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for pk, code, name, *sums in cursor.fetchall():
            rows[pk] = AgedRow(pk, code, name, [int(s or 0) for s in sums])
    return rows


def _row_for(rows: dict[int, AgedRow], partner_id: int) -> AgedRow:
    row = rows.get(partner_id)
    if row is None:
        row = rows[partner_id] = AgedRow(partner_id, "", "", [0] * len(BUCKETS))
    return row


def unapplied_credit(
    company: Company, direction: str, as_of: dt.date, partner_id: int | None = None
) -> dict[int, int]:
    """Partner id -> credit kept from payments at ``as_of``, in the company currency."""
    payments = (
        Payment.objects.filter(
            company=company, direction=direction, unallocated_amount__gt=0, date__lte=as_of
        )
        .filter(
            Q(state=Payment.State.POSTED)
            | Q(state=Payment.State.REVERSED, reversal_entry__date__gt=as_of)
        )
        .values_list("partner_id", "currency", "amount", "unallocated_amount", "entry_id")
    )
    if partner_id is not None:
        payments = payments.filter(partner_id=partner_id)
    result: dict[int, int] = defaultdict(int)
    foreign: list[tuple[int, int, int, int]] = []
    for partner, currency, amount, credit, entry_id in payments:
        if currency == company.base_currency:
            result[partner] += credit
        else:
            foreign.append((partner, amount, credit, entry_id))
    if foreign:
        bank = _bank_base(company, [entry for *_rest, entry in foreign])
        for partner, amount, credit, entry_id in foreign:
            base = bank.get(entry_id)
            if base is not None and amount:
                result[partner] += _half_up_div(credit * base, amount)
    return dict(result)


def _bank_base(company: Company, entry_ids: Sequence[int]) -> dict[int, int]:
    """Entry id -> company-currency amount of its money line (the payment's bank line: the
    line in the payment's currency without a partner), for valuing credit kept."""
    from trastienda.ledger.models import JournalEntryLine

    result: dict[int, int] = {}
    banks = dict(
        Payment.objects.filter(company=company, entry_id__in=entry_ids).values_list(
            "entry_id", "bank_account_id"
        )
    )
    for batch in _chunks(entry_ids):
        for entry_id, account_id, debit, credit in JournalEntryLine.objects.filter(
            company=company, entry_id__in=batch
        ).values_list("entry_id", "account_id", "debit", "credit"):
            if banks.get(entry_id) == account_id and entry_id not in result:
                result[entry_id] = abs(debit - credit)
    return result


def aged_report(
    company: Company,
    *,
    direction: str = Direction.SALE,
    as_of: dt.date | None = None,
    partner: Partner | None = None,
    overdue_only: bool = False,
    min_amount: int | None = None,
    dso_days: int | None = DEFAULT_DSO_DAYS,
) -> AgedReport:
    """Aged receivables (``sale``) or payables (``purchase``) at ``as_of`` (default today).

    ``overdue_only`` keeps the partners with something overdue; ``min_amount`` (company
    currency, minor units) those whose open total is at least that. ``dso_days``: the period
    of the days outstanding (None: not computed).
    """
    as_of = as_of or timezone.localdate()
    partner_id = partner.pk if partner is not None else None
    rows = _aggregate(company, direction, as_of, partner_id)
    sql, params = _later_sql(company, direction, as_of, partner_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for pk, *sums in cursor.fetchall():
            row = _row_for(rows, pk)
            for index, value in enumerate(sums):
                row.buckets[index] -= int(value or 0)
    restore = _restore_after(company, direction, as_of, partner_id)
    if restore:
        now, then = _restored_items(company, restore, restore, as_of)
        for item in now:
            _row_for(rows, item.partner_id).buckets[item.bucket] -= item.open_base
        for item in then:
            _row_for(rows, item.partner_id).buckets[item.bucket] += item.open_base
    for pk, credit in unapplied_credit(company, direction, as_of, partner_id).items():
        _row_for(rows, pk).credit += credit
    missing = [pk for pk, row in rows.items() if not row.code]
    if missing:
        for pk, code, name in Partner.objects.filter(pk__in=missing).values_list(
            "pk", "code", "legal_name"
        ):
            rows[pk].code, rows[pk].name = code, name
    listed = [
        row
        for row in rows.values()
        if (any(row.buckets) or row.credit)
        and (not overdue_only or row.overdue > 0)
        and (min_amount is None or row.total >= min_amount)
    ]
    listed.sort(key=lambda row: (row.code, row.partner_id))
    totals = [sum(row.buckets[i] for row in listed) for i in range(len(BUCKETS))]
    report = AgedReport(
        direction=direction,
        as_of=as_of,
        currency=company.base_currency,
        rows=listed,
        totals=totals,
        credit=sum(row.credit for row in listed),
    )
    if dso_days and partner is None and not overdue_only and min_amount is None:
        report.dso = days_outstanding(
            company,
            direction=direction,
            as_of=as_of,
            days=dso_days,
            receivables=report.total,
        )
    return report


def _signed(name: str) -> Case:
    """The amount field ``name`` of an invoice, negative for a credit note."""
    return Case(
        When(kind=Invoice.Kind.CREDIT_NOTE, then=F(name) * -1),
        default=F(name),
        output_field=BigIntegerField(),
    )


# --- days outstanding -----------------------------------------------------------------------


def invoiced_in_query(
    company: Company, *, direction: str, date_from: dt.date, date_to: dt.date
) -> QuerySet[Any]:
    """Amount due per (currency, rate) of the invoices issued from ``date_from`` to
    ``date_to``, credit notes negative. Every column it reads is in the invoice date index
    (``billing_invoice_date``), so the database reads the index alone, not the table."""
    return (
        Invoice.objects.filter(
            company=company,
            direction=direction,
            date__gte=date_from,
            date__lte=date_to,
            state=Invoice.State.ISSUED,
        )
        .values("currency", "rate")
        .annotate(total=Sum(_signed("payable_amount"), default=0))
        .order_by()
    )


def invoiced_in(company: Company, *, direction: str, date_from: dt.date, date_to: dt.date) -> int:
    """Amount due of the invoices issued from ``date_from`` to ``date_to`` (credit notes
    subtracted), in the company currency; each currency and rate converted once."""
    groups = invoiced_in_query(company, direction=direction, date_from=date_from, date_to=date_to)
    return sum(
        to_base(int(group["total"]), group["currency"], group["rate"], company) for group in groups
    )


def days_outstanding(
    company: Company,
    *,
    direction: str = Direction.SALE,
    as_of: dt.date | None = None,
    days: int = DEFAULT_DSO_DAYS,
    receivables: int | None = None,
) -> DaysOutstanding:
    """Days sales (or payables) outstanding at ``as_of``: open / invoiced in ``days`` x days.

    ``receivables``: the aged total at ``as_of`` when the caller has it already."""
    as_of = as_of or timezone.localdate()
    if receivables is None:
        receivables = aged_report(company, direction=direction, as_of=as_of, dso_days=None).total
    sales = invoiced_in(
        company,
        direction=direction,
        date_from=as_of - dt.timedelta(days=days - 1),
        date_to=as_of,
    )
    value = None
    if sales > 0:
        value = (Decimal(receivables) * days / Decimal(sales)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
    return DaysOutstanding(days=days, receivables=receivables, sales=sales, value=value)


# --- statement of account -------------------------------------------------------------------


class LineKind:
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"
    WRITE_OFF = "write_off"
    REVERSAL = "reversal"


LINE_LABELS: dict[str, Any] = {
    LineKind.INVOICE: _("Invoice"),
    LineKind.CREDIT_NOTE: _("Credit note"),
    LineKind.PAYMENT: _("Payment"),
    LineKind.WRITE_OFF: _("Write-off"),
    LineKind.REVERSAL: _("Payment reversed"),
}


@dataclass
class StatementLine:
    date: dt.date
    kind: str
    document: str
    due_date: dt.date | None
    charge: int  # increases the balance
    credit: int  # decreases it
    balance: int = 0
    invoice_id: int | None = None
    payment_id: int | None = None

    @property
    def label(self) -> Any:
        return LINE_LABELS[self.kind]


@dataclass
class StatementSection:
    currency: str
    opening: int
    lines: list[StatementLine]

    @property
    def charges(self) -> int:
        return sum(line.charge for line in self.lines)

    @property
    def credits(self) -> int:
        return sum(line.credit for line in self.lines)

    @property
    def closing(self) -> int:
        return self.opening + self.charges - self.credits


@dataclass
class Statement:
    partner: Partner
    direction: str
    date_from: dt.date
    date_to: dt.date
    sections: list[StatementSection]


@dataclass
class StatementSummaryRow:
    partner_id: int
    code: str
    name: str
    currency: str
    opening: int = 0
    charges: int = 0
    credits: int = 0

    @property
    def closing(self) -> int:
        return self.opening + self.charges - self.credits


def _signed_payable() -> Case:
    return _signed("payable_amount")


def _movements(
    company: Company,
    direction: str,
    date_from: dt.date,
    date_to: dt.date,
    partner_id: int | None = None,
) -> dict[tuple[int, str], StatementSummaryRow]:
    """Per (partner, currency): the balance before ``date_from`` and the charges and credits
    from ``date_from`` to ``date_to``, from three aggregates (invoices, payments, reversals)."""
    result: dict[tuple[int, str], StatementSummaryRow] = {}

    def row(partner: int, currency: str) -> StatementSummaryRow:
        key = (partner, currency)
        if key not in result:
            result[key] = StatementSummaryRow(partner, "", "", currency)
        return result[key]

    before = Q(date__lt=date_from)
    within = Q(date__gte=date_from, date__lte=date_to)
    invoices = Invoice.objects.filter(
        company=company, direction=direction, state=Invoice.State.ISSUED, date__lte=date_to
    )
    payments = Payment.objects.filter(company=company, direction=direction, date__lte=date_to)
    reversals = Payment.objects.filter(
        company=company,
        direction=direction,
        state=Payment.State.REVERSED,
        reversal_entry__date__lte=date_to,
    )
    if partner_id is not None:
        invoices = invoices.filter(partner_id=partner_id)
        payments = payments.filter(partner_id=partner_id)
        reversals = reversals.filter(partner_id=partner_id)
    for values in (
        invoices.values("partner_id", "currency")
        .annotate(
            opening=Sum(_signed_payable(), filter=before, default=0),
            charges=Sum(
                "payable_amount", filter=within & ~Q(kind=Invoice.Kind.CREDIT_NOTE), default=0
            ),
            credits=Sum(
                "payable_amount", filter=within & Q(kind=Invoice.Kind.CREDIT_NOTE), default=0
            ),
        )
        .order_by()
    ):
        item = row(values["partner_id"], values["currency"])
        item.opening += values["opening"]
        item.charges += values["charges"]
        item.credits += values["credits"]
    settled = F("amount") + F("write_off_amount")
    for values in (
        payments.values("partner_id", "currency")
        .annotate(
            opening=Sum(settled, filter=before, default=0),
            credits=Sum(settled, filter=within, default=0),
        )
        .order_by()
    ):
        item = row(values["partner_id"], values["currency"])
        item.opening -= values["opening"]
        item.credits += values["credits"]
    for values in (
        reversals.values("partner_id", "currency")
        .annotate(
            opening=Sum(settled, filter=Q(reversal_entry__date__lt=date_from), default=0),
            charges=Sum(settled, filter=Q(reversal_entry__date__gte=date_from), default=0),
        )
        .order_by()
    ):
        item = row(values["partner_id"], values["currency"])
        item.opening += values["opening"]
        item.charges += values["charges"]
    return result


def statement_summary(
    company: Company, *, direction: str, date_from: dt.date, date_to: dt.date
) -> list[StatementSummaryRow]:
    """Every partner with a balance or movements: opening, charges, credits and closing per
    currency, by partner code."""
    rows = [
        r
        for r in _movements(company, direction, date_from, date_to).values()
        if r.opening or r.charges or r.credits
    ]
    partners = {
        pk: (code, name)
        for pk, code, name in Partner.objects.filter(
            company=company, pk__in={r.partner_id for r in rows}
        ).values_list("pk", "code", "legal_name")
    }
    for r in rows:
        r.code, r.name = partners.get(r.partner_id, ("", ""))
    rows.sort(key=lambda r: (r.code, r.currency))
    return rows


def partner_statement(
    company: Company,
    *,
    partner: Partner,
    direction: str,
    date_from: dt.date,
    date_to: dt.date,
) -> Statement:
    """The statement of account of ``partner`` from ``date_from`` to ``date_to``.

    The partner's issued invoices and payments are read whole, by the partner's indexes (a
    date condition would lead SQLite, without statistics, to the date index of every
    partner's invoices); what precedes ``date_from`` is added up into the opening balance."""
    opening: dict[str, int] = defaultdict(int)
    lines: dict[str, list[tuple[tuple[Any, ...], StatementLine]]] = defaultdict(list)
    invoices = Invoice.objects.filter(
        company=company, partner=partner, direction=direction, state=Invoice.State.ISSUED
    ).values_list(
        "pk",
        "number",
        "supplier_reference",
        "kind",
        "date",
        "due_date",
        "currency",
        "payable_amount",
    )
    for pk, number, reference, kind, date, due_date, currency, payable in invoices:
        if date > date_to:
            continue
        is_note = kind == Invoice.Kind.CREDIT_NOTE
        if date < date_from:
            opening[currency] += -payable if is_note else payable
            continue
        line = StatementLine(
            date=date,
            kind=LineKind.CREDIT_NOTE if is_note else LineKind.INVOICE,
            document=document_name(number, reference, pk),
            due_date=None if is_note else due_date,
            charge=0 if is_note else payable,
            credit=payable if is_note else 0,
            invoice_id=pk,
        )
        lines[currency].append(((date, 0, pk, 0), line))
    payments = Payment.objects.filter(
        company=company, partner=partner, direction=direction
    ).values_list(
        "pk",
        "reference",
        "date",
        "currency",
        "amount",
        "write_off_amount",
        "state",
        "reversal_entry__date",
    )
    for pk, reference, date, currency, amount, write_off, state, reversed_on in payments:
        document = reference or f"#{pk}"
        settled = amount + write_off
        if date < date_from:
            opening[currency] -= settled
        elif date <= date_to:
            lines[currency].append(
                (
                    (date, 1, pk, 0),
                    StatementLine(date, LineKind.PAYMENT, document, None, 0, amount, payment_id=pk),
                )
            )
            if write_off:
                lines[currency].append(
                    (
                        (date, 1, pk, 1),
                        StatementLine(
                            date, LineKind.WRITE_OFF, document, None, 0, write_off, payment_id=pk
                        ),
                    )
                )
        if state != Payment.State.REVERSED or reversed_on is None or reversed_on > date_to:
            continue
        if reversed_on < date_from:
            opening[currency] += settled
        else:
            lines[currency].append(
                (
                    (reversed_on, 2, pk, 0),
                    StatementLine(
                        reversed_on,
                        LineKind.REVERSAL,
                        document,
                        None,
                        settled,
                        0,
                        payment_id=pk,
                    ),
                )
            )
    sections = []
    currencies = set(opening) | set(lines)
    preferred = partner.currency or company.base_currency
    for currency in sorted(currencies, key=lambda c: (c != preferred, c)):
        ordered = [line for _key, line in sorted(lines.get(currency, []), key=lambda p: p[0])]
        balance = opening.get(currency, 0)
        for line in ordered:
            balance += line.charge - line.credit
            line.balance = balance
        section = StatementSection(currency, opening.get(currency, 0), ordered)
        if section.opening or section.lines:
            sections.append(section)
    return Statement(partner, direction, date_from, date_to, sections)


def partner_open_balance(company: Company, *, partner: Partner, direction: str) -> dict[str, int]:
    """Currency -> what is open now of the partner's issued invoices (credit notes negative)
    less the credit kept from its posted payments: what a statement up to today closes at."""
    result: dict[str, int] = defaultdict(int)
    for currency, total in (
        Invoice.objects.filter(
            company=company, direction=direction, partner=partner, state=Invoice.State.ISSUED
        )
        .values("currency")
        .annotate(total=Sum(_signed("open_amount")))
        .values_list("currency", "total")
        .order_by()
    ):
        result[currency] += int(total or 0)
    for currency, credit in (
        Payment.objects.filter(
            company=company, direction=direction, partner=partner, state=Payment.State.POSTED
        )
        .values("currency")
        .annotate(credit=Sum("unallocated_amount"))
        .values_list("currency", "credit")
        .order_by()
    ):
        result[currency] -= int(credit or 0)
    return {k: v for k, v in result.items() if v}


__all__ = [
    "BUCKETS",
    "BUCKET_LABELS",
    "AgedReport",
    "AgedRow",
    "DaysOutstanding",
    "OpenItem",
    "Statement",
    "StatementLine",
    "StatementSection",
    "StatementSummaryRow",
    "aged_report",
    "aged_sql",
    "bucket_of",
    "days_outstanding",
    "invoiced_in",
    "open_items",
    "partner_open_balance",
    "partner_statement",
    "statement_summary",
    "unapplied_credit",
]
