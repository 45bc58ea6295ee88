"""Cash position and the 13-week cash forecast (reads only).

Position: per bank account, the balance of its ledger account (the books: every posted
entry up to today) and the closing balance of its latest statement (the bank), in the
account's currency, and the total of the books in the company currency.

Forecast: 13 weeks from the Monday of ``today``'s week. Money expected in and out per week,
in the company currency:

- open instalments of issued sales invoices (in) and supplier bills (out) by due date; what is
  overdue counts in the first week;
- payment batches approved or generated and not yet paid, on their execution date (their
  bills are then left out of the payables so they are not counted twice);
- recurring invoices: each run in the horizon, on its date plus the first term of its payment
  term, for the template's payable amount (company-currency templates only: a rate for the
  future is not known).

The opening balance is the books' total today; each week's closing balance is the opening plus
what comes in less what goes out.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q, Sum
from django.utils import timezone

from trastienda.banking.models import BankAccount, PaymentBatch, PaymentBatchLine, Statement
from trastienda.billing.models import Direction, Installment, Invoice, RecurringInvoice
from trastienda.core.models import Company
from trastienda.ledger.models import AccountBalance

WEEKS = 13


@dataclass(frozen=True, slots=True)
class AccountPosition:
    account: BankAccount
    books: int  # the ledger account's balance, in the account's currency
    books_base: int  # the same in the company currency
    bank: int | None  # the latest statement's closing balance (None: no statement yet)
    bank_date: dt.date | None
    unreconciled: int  # lines not reconciled yet

    @property
    def difference(self) -> int | None:
        """Bank - books: what is not booked yet (or booked and not yet at the bank)."""
        return None if self.bank is None else self.bank - self.books


@dataclass
class Position:
    currency: str
    accounts: list[AccountPosition] = field(default_factory=list)

    @property
    def total_base(self) -> int:
        return sum(position.books_base for position in self.accounts)


def cash_position(company: Company, today: dt.date | None = None) -> Position:
    today = today or timezone.localdate()
    result = Position(currency=company.base_currency)
    accounts = list(
        BankAccount.objects.for_company(company).filter(active=True).select_related("account")
    )
    sums: dict[tuple[int, str], tuple[int, int]] = {}
    rows = (
        AccountBalance.objects.filter(
            company=company, account_id__in=[a.account_id for a in accounts]
        )
        .filter(Q(year__lt=today.year) | Q(year=today.year, month__lte=today.month))
        .values("account_id", "currency_id")
        .annotate(debit=Sum("debit"), credit=Sum("credit"), amount=Sum("amount_currency"))
    )
    for row in rows:
        sums[(row["account_id"], row["currency_id"])] = (
            (row["debit"] or 0) - (row["credit"] or 0),
            row["amount"] or 0,
        )
    from trastienda.banking.models import StatementLine

    for account in accounts:
        base = sum(v[0] for k, v in sums.items() if k[0] == account.account_id)
        if account.currency == company.base_currency:
            books = base
        else:
            books = sums.get((account.account_id, account.currency), (0, 0))[1]
        latest = (
            Statement.objects.filter(bank_account=account, closing_balance__isnull=False)
            .order_by("-end_date", "-pk")
            .first()
        )
        unreconciled = (
            StatementLine.objects.filter(bank_account=account)
            .exclude(state=StatementLine.State.RECONCILED)
            .count()
        )
        result.accounts.append(
            AccountPosition(
                account=account,
                books=books,
                books_base=base,
                bank=latest.closing_balance if latest else None,
                bank_date=latest.end_date if latest else None,
                unreconciled=unreconciled,
            )
        )
    return result


@dataclass
class Week:
    start: dt.date
    receivables: int = 0
    payables: int = 0
    batches_in: int = 0
    batches_out: int = 0
    recurring_in: int = 0
    recurring_out: int = 0
    opening: int = 0

    @property
    def money_in(self) -> int:
        return self.receivables + self.batches_in + self.recurring_in

    @property
    def money_out(self) -> int:
        return self.payables + self.batches_out + self.recurring_out

    @property
    def closing(self) -> int:
        return self.opening + self.money_in - self.money_out

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=6)


@dataclass
class Forecast:
    currency: str
    opening: int
    weeks: list[Week]

    @property
    def lowest(self) -> Week:
        return min(self.weeks, key=lambda week: week.closing)


def _first_days(terms: str) -> int:
    first = (terms or "0").split("/")[0].strip()
    return int(first) if first.isdigit() else 0


def _add_months(day: dt.date, months: int, wanted_day: int | None) -> dt.date:
    import calendar

    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(wanted_day or day.day, last))


def cash_forecast(company: Company, today: dt.date | None = None) -> Forecast:
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=today.weekday())
    horizon_end = start + dt.timedelta(weeks=WEEKS) - dt.timedelta(days=1)
    weeks = [Week(start=start + dt.timedelta(weeks=n)) for n in range(WEEKS)]

    def week_of(day: dt.date) -> Week | None:
        if day > horizon_end:
            return None
        index = max(0, (day - start).days // 7)
        return weeks[index]

    in_batches = set(
        PaymentBatchLine.objects.for_company(company)
        .filter(batch__state__in=[PaymentBatch.State.APPROVED, PaymentBatch.State.EXPORTED])
        .values_list("invoice_id", flat=True)
    )
    installments = (
        Installment.objects.for_company(company)
        .exclude(open_amount=0)
        .filter(due_date__lte=horizon_end, invoice__state=Invoice.State.ISSUED)
        .values_list("invoice_id", "direction", "due_date", "open_base")
    )
    for invoice_id, direction, due, open_base in installments.iterator(chunk_size=5000):
        if invoice_id in in_batches:
            continue
        week = week_of(due)
        if week is None:
            continue
        if direction == Direction.SALE:
            week.receivables += open_base
        else:
            week.payables += open_base
    batches = PaymentBatch.objects.for_company(company).filter(
        state__in=[PaymentBatch.State.APPROVED, PaymentBatch.State.EXPORTED],
        execution_date__lte=horizon_end,
        currency=company.base_currency,
    )
    for batch in batches:
        week = week_of(batch.execution_date)
        if week is None:
            continue
        if batch.kind == PaymentBatch.Kind.TRANSFER:
            week.batches_out += batch.total
        else:
            week.batches_in += batch.total
    recurring = (
        RecurringInvoice.objects.for_company(company)
        .filter(active=True, next_date__lte=horizon_end)
        .select_related("template", "template__payment_term")
    )
    for item in recurring:
        template = item.template
        if template.currency != company.base_currency or not template.payable_amount:
            continue
        lag = _first_days(template.payment_term.days if template.payment_term else "0")
        run = item.next_date
        while run <= horizon_end and (item.end_date is None or run <= item.end_date):
            week = week_of(run + dt.timedelta(days=lag))
            if week is not None:
                if template.direction == Direction.SALE:
                    week.recurring_in += template.payable_amount
                else:
                    week.recurring_out += template.payable_amount
            run = _add_months(run, max(1, item.interval_months), item.day)
    opening = cash_position(company, today).total_base
    running = opening
    for week in weeks:
        week.opening = running
        running = week.closing
    return Forecast(currency=company.base_currency, opening=opening, weeks=weeks)


def forecast_by_source(forecast: Forecast) -> dict[str, list[int]]:
    """The series of the chart: money in, money out (negative) and the closing balance."""
    series: dict[str, list[int]] = defaultdict(list)
    for week in forecast.weeks:
        series["in"].append(week.money_in)
        series["out"].append(-week.money_out)
        series["balance"].append(week.closing)
    return dict(series)
