"""Reads of bank accounts: the balance per the statements against the balance per the
ledger, and what is left to reconcile (the account page and ``/api/v1/banking/accounts/<id>/
balances/``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Sum
from django.utils import timezone

from trastienda.banking.models import BankAccount, Statement, StatementLine
from trastienda.core.money import Money
from trastienda.ledger.queries import account_opening, account_posted_lines

OPEN_STATES = (StatementLine.State.OPEN, StatementLine.State.PARTIAL)


def money(minor: int | None, currency: str) -> str | None:
    """``"1234.56 EUR"`` (None stays None)."""
    if minor is None:
        return None
    return f"{Money(int(minor), currency).to_decimal()} {currency}"


def ledger_balance(bank_account: BankAccount, on: dt.date) -> tuple[int, str]:
    """The balance of the bank account's ledger account at the end of ``on`` (posted entries
    only), in the bank account's currency: the debit-minus-credit balance (read from the
    monthly balances) when that is the company currency, else the sum of the lines' amounts in
    that currency."""
    company = bank_account.company
    if bank_account.currency == company.base_currency:
        return (
            account_opening(company, bank_account.account, on + dt.timedelta(days=1)),
            bank_account.currency,
        )
    total = (
        account_posted_lines(company, bank_account.account)
        .filter(currency_id=bank_account.currency, date__lte=on)
        .aggregate(total=Sum("amount_currency"))["total"]
    )
    return int(total or 0), bank_account.currency


@dataclass(frozen=True)
class Balances:
    """Integer minor units of ``currency`` (the bank account's)."""

    currency: str
    statement: int | None  # the latest closing balance (None: no statement with one yet)
    statement_date: dt.date | None
    ledger_today: int
    ledger_at_statement: int | None  # the ledger at the end of the latest statement's day
    open_lines: int
    open_amount: int

    @property
    def difference(self) -> int | None:
        """Statement - ledger on the statement's last day: what the books miss (or have
        that the bank has not yet)."""
        if self.statement is None or self.ledger_at_statement is None:
            return None
        return self.statement - self.ledger_at_statement


def balances(bank_account: BankAccount, today: dt.date | None = None) -> Balances:
    """The balance per the statements and per the ledger, and the lines left to reconcile."""
    today = today or timezone.localdate()
    latest = (
        Statement.objects.filter(bank_account=bank_account, closing_balance__isnull=False)
        .order_by("-end_date", "-id")
        .first()
    )
    ledger_now, _currency = ledger_balance(bank_account, today)
    at_statement = None
    if latest is not None:
        at_statement, _currency = ledger_balance(bank_account, latest.end_date)
    still_open = StatementLine.objects.filter(bank_account=bank_account, state__in=OPEN_STATES)
    summary = still_open.aggregate(total=Sum("open_amount"), count=Count("pk"))
    return Balances(
        currency=bank_account.currency,
        statement=latest.closing_balance if latest is not None else None,
        statement_date=latest.end_date if latest is not None else None,
        ledger_today=ledger_now,
        ledger_at_statement=at_statement,
        open_lines=int(summary["count"] or 0),
        open_amount=int(summary["total"] or 0),
    )


__all__ = ["Balances", "balances", "ledger_balance", "money"]
