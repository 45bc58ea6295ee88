"""Read side of the ledger: trial balance, general ledger of an account, journal book.

Only posted entries count. Movements of whole calendar months are read from
:class:`~trastienda.ledger.models.AccountBalance` and the days of a partial month at either end
of a range from :class:`~trastienda.ledger.models.DayBalance` (both kept by posting, in the
same transaction), so a report reads at most a month's days per account, never the lines. Every
amount is an integer in the company currency's minor units; callers convert at the edges.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from trastienda.core.models import Company
from trastienda.ledger.models import (
    Account,
    AccountBalance,
    DayBalance,
    FiscalYear,
    JournalEntry,
    JournalEntryLine,
)

Sums = dict[int, tuple[int, int]]
"""account id → (debit, credit) in minor units."""


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def default_range(company: Company, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The fiscal year containing ``today``, else the latest one, else the calendar year."""
    today = today or timezone.localdate()
    years = FiscalYear.objects.for_company(company)
    year = years.filter(start_date__lte=today, end_date__gte=today).first() or years.first()
    if year is not None:
        return year.start_date, year.end_date
    return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)


def books_start(company: Company) -> dt.date:
    """The first day of the company's first fiscal year (no posted line is earlier)."""
    first = FiscalYear.objects.for_company(company).order_by("start_date").first()
    return first.start_date if first is not None else dt.date(1900, 1, 1)


def _add(into: Sums, rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        debit, credit = into.get(row["account_id"], (0, 0))
        into[row["account_id"]] = (debit + (row["d"] or 0), credit + (row["c"] or 0))


def posted_lines(company: Company) -> QuerySet[JournalEntryLine]:
    """The company's posted lines. A line carries its entry's date and chain position from
    posting on (both empty on drafts), so filtering on ``date`` keeps posted lines only and
    reads the line indexes without joining the entries."""
    return JournalEntryLine.objects.for_company(company).filter(date__isnull=False)


def account_posted_lines(company: Company, account: Account) -> QuerySet[JournalEntryLine]:
    """The posted lines of one of the company's accounts, read from the index that leads
    with the account (no company filter: the account is the company's)."""
    if account.company_id != company.pk:
        raise ValueError("the account is not the company's")
    return JournalEntryLine.objects.filter(account=account, date__isnull=False)


def _days_sums(
    company: Company, start: dt.date | None, end: dt.date, accounts: Q | None
) -> QuerySet[Any]:
    days = DayBalance.objects.for_company(company).filter(date__lte=end)
    if start is not None:
        days = days.filter(date__gte=start)
    if accounts is not None:
        days = days.filter(accounts)
    return days.values("account_id").annotate(d=Sum("debit"), c=Sum("credit")).order_by()


def _months_sums(
    company: Company, first: dt.date | None, last: dt.date, accounts: Q | None
) -> QuerySet[Any]:
    """Movements of the whole months from ``first``'s month (or the beginning) to ``last``'s."""
    rows: QuerySet[Any] = AccountBalance.objects.for_company(company)
    if first is None:
        rows = rows.filter(Q(year__lt=last.year) | Q(year=last.year, month__lte=last.month))
    else:
        rows = _months_overlapping(rows, first, last)
    if accounts is not None:
        rows = rows.filter(accounts)
    return rows.values("account_id").annotate(d=Sum("debit"), c=Sum("credit")).order_by()


DayRange = tuple[dt.date | None, dt.date]


def range_parts(start: dt.date | None, end: dt.date) -> tuple[DayRange | None, list[DayRange]]:
    """Split ``start`` (None: the beginning) .. ``end`` into its whole calendar months and the
    days left at either end: ``(whole, days)`` where ``whole`` is (first day of the first whole
    month or None, last day of the last whole month), or None when no whole month is inside,
    to be read from monthly balances; ``days`` are the ranges to read from the daily ones."""
    if start is not None and start > end:
        return None, []
    whole_from: dt.date | None = None  # the first day of the first whole month
    if start is not None:
        whole_from = start if start.day == 1 else month_end(start) + dt.timedelta(1)
    whole_to = end if end == month_end(end) else end.replace(day=1) - dt.timedelta(1)
    if whole_from is not None and whole_from > whole_to:
        return None, [(start, end)]  # no whole month inside
    days: list[DayRange] = []
    if start is not None and whole_from is not None and start < whole_from:
        days.append((start, whole_from - dt.timedelta(1)))
    if whole_to < end:
        days.append((whole_to + dt.timedelta(1), end))
    return (whole_from, whole_to), days


def movement_sums(
    company: Company, start: dt.date | None, end: dt.date, *, accounts: Q | None = None
) -> Sums:
    """Posted debit and credit per account for ``start`` (None: the beginning) to ``end``.

    ``accounts`` filters on the account (a ``Q`` over ``account__...`` lookups).
    """
    sums: Sums = {}
    whole, days = range_parts(start, end)
    if whole is not None:
        _add(sums, _months_sums(company, whole[0], whole[1], accounts))
    for first, last in days:
        _add(sums, _days_sums(company, first, last, accounts))
    return sums


@dataclass
class TrialBalanceRow:
    account: Account
    opening: int = 0
    debit: int = 0
    credit: int = 0
    is_group: bool = False

    @property
    def closing(self) -> int:
        return self.opening + self.debit - self.credit

    @property
    def is_zero(self) -> bool:
        return not (self.opening or self.debit or self.credit)


@dataclass
class TrialBalance:
    date_from: dt.date
    date_to: dt.date
    rows: list[TrialBalanceRow] = field(default_factory=list)

    @property
    def postable_rows(self) -> list[TrialBalanceRow]:
        return [r for r in self.rows if not r.is_group]

    @property
    def opening(self) -> int:
        return sum(r.opening for r in self.postable_rows)

    @property
    def debit(self) -> int:
        return sum(r.debit for r in self.postable_rows)

    @property
    def credit(self) -> int:
        return sum(r.credit for r in self.postable_rows)

    @property
    def closing(self) -> int:
        return sum(r.closing for r in self.postable_rows)


def trial_balance(
    company: Company,
    date_from: dt.date,
    date_to: dt.date,
    *,
    prefix: str = "",
    show_all: bool = False,
    groups: bool = False,
) -> TrialBalance:
    """Opening (before ``date_from``), debit, credit and closing per account, by code.

    Accounts without opening balance or movement are left out unless ``show_all``; with
    ``groups`` every ancestor group of a shown account gets a subtotal row.
    """
    accounts_q = Q(account__code__startswith=prefix) if prefix else None
    opening = movement_sums(company, None, date_from - dt.timedelta(1), accounts=accounts_q)
    moves = movement_sums(company, date_from, date_to, accounts=accounts_q)
    accounts = Account.objects.for_company(company).order_by("code")
    if prefix:
        accounts = accounts.filter(code__startswith=prefix)
    result = TrialBalance(date_from, date_to)
    by_id = {a.pk: a for a in accounts}
    rows: dict[int, TrialBalanceRow] = {}
    for account in by_id.values():
        if not account.postable and account.pk not in opening and account.pk not in moves:
            continue
        o_d, o_c = opening.get(account.pk, (0, 0))
        debit, credit = moves.get(account.pk, (0, 0))
        row = TrialBalanceRow(account, o_d - o_c, debit, credit)
        if show_all or not row.is_zero:
            rows[account.pk] = row
    if groups:
        everything = {a.pk: a for a in Account.objects.for_company(company)}
        for row in list(rows.values()):
            parent_id = row.account.parent_id
            while parent_id is not None and parent_id in everything:
                if not everything[parent_id].code.startswith(prefix):
                    break  # a group outside the filter would show a partial total
                group = rows.get(parent_id)
                if group is None:
                    group = rows[parent_id] = TrialBalanceRow(everything[parent_id], is_group=True)
                group.opening += row.opening
                group.debit += row.debit
                group.credit += row.credit
                parent_id = everything[parent_id].parent_id
    result.rows = sorted(rows.values(), key=lambda r: r.account.code)
    return result


@dataclass
class LedgerLine:
    line: JournalEntryLine
    balance: int

    @property
    def entry(self) -> JournalEntry:
        return self.line.entry


def account_lines(
    company: Company, account: Account, date_from: dt.date, date_to: dt.date
) -> QuerySet[JournalEntryLine]:
    """The posted lines of ``account`` in the range, in ledger order."""
    return (
        account_posted_lines(company, account)
        .filter(date__gte=date_from, date__lte=date_to)
        .select_related("entry")
        .order_by("date", "chain_seq", "line_no")
    )


def pick_account(
    company: Company, code: str, date_from: dt.date, date_to: dt.date
) -> Account | None:
    """The account with ``code``; without a code the first postable account with posted
    lines in the range, else the first postable account."""
    accounts = Account.objects.for_company(company)
    if code:
        return accounts.filter(code=code).first()
    months = _months_overlapping(AccountBalance.objects.for_company(company), date_from, date_to)
    candidates = accounts.filter(
        postable=True, pk__in=months.filter(lines__gt=0).values("account_id")
    ).order_by("code")
    for account in candidates:  # the months hold lines; the range may cut them at either end
        lines = account_posted_lines(company, account)
        if lines.filter(date__gte=date_from, date__lte=date_to).exists():
            return account
    return accounts.filter(postable=True).order_by("code").first()


def _months_overlapping(rows: QuerySet[Any], first: dt.date, last: dt.date) -> QuerySet[Any]:
    """Rows with ``year``/``month`` of the months from ``first``'s to ``last``'s."""
    return rows.filter(Q(year__lt=last.year) | Q(year=last.year, month__lte=last.month)).filter(
        Q(year__gt=first.year) | Q(year=first.year, month__gte=first.month)
    )


def account_line_count(
    company: Company, account: Account, date_from: dt.date, date_to: dt.date
) -> int:
    """How many posted lines ``account`` has in the range (the general ledger's paginator):
    whole months from the monthly balances' counts, the days at either end from the daily
    ones."""
    whole, days = range_parts(date_from, date_to)
    count = 0
    if whole is not None and whole[0] is not None:
        months = _months_overlapping(
            AccountBalance.objects.for_company(company).filter(account=account),
            whole[0],
            whole[1],
        )
        count += months.aggregate(n=Sum("lines"))["n"] or 0
    for first, last in days:
        count += (
            DayBalance.objects.filter(account=account, date__gte=first, date__lte=last).aggregate(
                n=Sum("lines")
            )["n"]
            or 0
        )
    return count


def account_opening(company: Company, account: Account, date_from: dt.date) -> int:
    sums = movement_sums(
        company, None, date_from - dt.timedelta(1), accounts=Q(account_id=account.pk)
    )
    debit, credit = sums.get(account.pk, (0, 0))
    return debit - credit


def general_ledger(
    company: Company,
    account: Account,
    date_from: dt.date,
    date_to: dt.date,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[int, list[LedgerLine]]:
    """(balance before the first line returned, lines with their running balance).

    With ``offset`` the balance carried in adds the lines of the range before the page.
    """
    lines = account_lines(company, account, date_from, date_to)
    balance = account_opening(company, account, date_from)
    if offset:
        before = lines[:offset].aggregate(d=Sum("debit"), c=Sum("credit"))
        balance += (before["d"] or 0) - (before["c"] or 0)
    page = lines[offset : offset + limit] if limit is not None else lines[offset:]
    carried = balance
    out = []
    for line in page:
        balance += line.debit - line.credit
        out.append(LedgerLine(line, balance))
    return carried, out


def monthly_balances(
    company: Company, account: Account, date_from: dt.date, date_to: dt.date
) -> list[tuple[dt.date, int]]:
    """(month end, balance at that month end) for every month of the range."""
    balance = account_opening(company, account, date_from.replace(day=1))
    moves: dict[tuple[int, int], int] = {}
    rows = (
        AccountBalance.objects.for_company(company)
        .filter(account=account)
        .values("year", "month")
        .annotate(d=Sum("debit"), c=Sum("credit"))
        .order_by()
    )
    for row in rows:
        moves[(row["year"], row["month"])] = (row["d"] or 0) - (row["c"] or 0)
    out = []
    month = max(date_from, books_start(company)).replace(day=1)
    while month <= date_to:
        balance += moves.get((month.year, month.month), 0)
        out.append((month_end(month), balance))
        month = month_end(month) + dt.timedelta(1)
    return out


def journal_entries(
    company: Company, date_from: dt.date, date_to: dt.date
) -> QuerySet[JournalEntry]:
    """Posted entries of the range in book order (date, then posting order), lines loaded."""
    return (
        JournalEntry.objects.for_company(company)
        .filter(state=JournalEntry.State.POSTED, date__gte=date_from, date__lte=date_to)
        .select_related("journal")
        .prefetch_related("lines__account")
        .order_by("date", "chain_seq")
    )
