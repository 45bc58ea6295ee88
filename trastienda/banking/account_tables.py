"""Tables of the bank account and reconciliation rule lists (django-tables2, see core/tables.py).

The bank account list reads three annotations of :func:`bank_accounts_annotated`: the lines
still to reconcile, and the closing balance and end date of the latest statement.
"""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from trastienda.banking.models import BankAccount, ReconciliationRule, Statement, StatementLine
from trastienda.core.tables import NUM, BaseTable, MoneyColumn

OPEN_STATES = (StatementLine.State.OPEN, StatementLine.State.PARTIAL)


def iban_display(iban: str) -> str:
    """``ES9121000418450200051332`` → ``ES91 2100 0418 4502 0005 1332``."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def bank_accounts_annotated(queryset: QuerySet[BankAccount]) -> QuerySet[BankAccount]:
    """``open_lines``, ``statement_balance`` and ``statement_date`` (one subquery each)."""
    open_lines = (
        StatementLine.objects.filter(bank_account=OuterRef("pk"), state__in=OPEN_STATES)
        .order_by()
        .values("bank_account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    latest = Statement.objects.filter(
        bank_account=OuterRef("pk"), closing_balance__isnull=False
    ).order_by("-end_date", "-id")
    return queryset.annotate(
        open_lines=Subquery(open_lines, output_field=IntegerField()),
        statement_balance=Subquery(latest.values("closing_balance")[:1]),
        statement_date=Subquery(latest.values("end_date")[:1]),
    )


class BankAccountTable(BaseTable):
    name = tables.Column(linkify=lambda record: record.get_absolute_url())
    iban = tables.Column(attrs={"td": {"class": "text-nowrap font-monospace"}})
    account = tables.Column(accessor="account__code", verbose_name=_("Ledger account"))
    journal = tables.Column(accessor="journal__code", verbose_name=_("Journal"))
    open_lines = tables.Column(
        verbose_name=_("To reconcile"), attrs=NUM, default=0, order_by=("open_lines",)
    )
    statement_balance = MoneyColumn(verbose_name=_("Balance per statements"))
    statement_date = tables.DateColumn(verbose_name=_("Last statement"))

    class Meta(BaseTable.Meta):
        model = BankAccount
        fields = (
            "pk",
            "name",
            "iban",
            "bic",
            "bank_name",
            "currency",
            "account",
            "journal",
            "creditor_id",
            "statement_balance",
            "statement_date",
            "open_lines",
            "active",
        )
        default_columns = (
            "name",
            "iban",
            "bank_name",
            "currency",
            "account",
            "statement_balance",
            "statement_date",
            "open_lines",
            "active",
        )

    def render_iban(self, value: str) -> str:
        return iban_display(value)

    def value_iban(self, value: str) -> str:
        return value


class ReconciliationRuleTable(BaseTable):
    name = tables.Column(linkify=lambda record: record.get_absolute_url())
    bank_account = tables.Column(
        accessor="bank_account__name", verbose_name=_("Bank account"), default=_("Every account")
    )
    account = tables.Column(accessor="account__code", verbose_name=_("Account"))
    priority = tables.Column(attrs=NUM)

    class Meta(BaseTable.Meta):
        model = ReconciliationRule
        fields = (
            "pk",
            "priority",
            "name",
            "text_contains",
            "direction",
            "bank_account",
            "account",
            "entry_description",
            "auto_post",
            "active",
        )
        default_columns = (
            "priority",
            "name",
            "text_contains",
            "direction",
            "bank_account",
            "account",
            "auto_post",
            "active",
        )

    def value_bank_account(self, value: Any) -> str:
        return str(value or "")
