"""Tables of the statement and statement line lists (django-tables2, see core/tables.py).

Amounts are integer minor units shown, and exported, as Decimals of the bank account's
currency (a statement has no currency of its own: it is its account's).
"""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from trastienda.banking.models import Statement, StatementLine
from trastienda.core.tables import NUM, BaseTable, MoneyColumn

OPEN_STATES = (StatementLine.State.OPEN, StatementLine.State.PARTIAL)
NOWRAP = {"td": {"class": "text-nowrap"}}


def _account_currency(record: Any) -> str:
    return str(record.bank_account.currency)


def statements_annotated(queryset: QuerySet[Statement]) -> QuerySet[Statement]:
    """``open_lines``: how many lines of each statement are still to reconcile."""
    open_lines = (
        StatementLine.objects.filter(statement=OuterRef("pk"), state__in=OPEN_STATES)
        .order_by()
        .values("statement")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(open_lines=Subquery(open_lines, output_field=IntegerField()))


class StatementTable(BaseTable):
    statement = tables.Column(
        accessor="pk",
        verbose_name=_("Statement"),
        linkify=lambda record: record.get_absolute_url(),
        order_by=("end_date", "id"),
        attrs=NOWRAP,
    )
    bank_account = tables.Column(accessor="bank_account__name", verbose_name=_("Bank account"))
    start_date = tables.DateColumn(attrs=NOWRAP)
    end_date = tables.DateColumn(attrs=NOWRAP)
    opening_balance = MoneyColumn(currency=_account_currency)
    closing_balance = MoneyColumn(currency=_account_currency)
    credit_total = MoneyColumn(currency=_account_currency)
    debit_total = MoneyColumn(currency=_account_currency)
    line_count = tables.Column(attrs=NUM)
    open_lines = tables.Column(verbose_name=_("To reconcile"), attrs=NUM, default=0)
    imported_by = tables.Column(accessor="imported_by__username", verbose_name=_("Imported by"))
    currency = tables.Column(accessor="bank_account__currency", verbose_name=_("Currency"))

    class Meta(BaseTable.Meta):
        model = Statement
        fields = (
            "pk",
            "statement",
            "bank_account",
            "start_date",
            "end_date",
            "format",
            "reference",
            "currency",
            "opening_balance",
            "credit_total",
            "debit_total",
            "closing_balance",
            "line_count",
            "open_lines",
            "filename",
            "imported_by",
            "created_at",
        )
        default_columns = (
            "statement",
            "bank_account",
            "start_date",
            "end_date",
            "format",
            "opening_balance",
            "credit_total",
            "debit_total",
            "closing_balance",
            "line_count",
            "open_lines",
        )

    def render_statement(self, record: Statement) -> str:
        return f"#{record.pk} {record.reference}".strip()

    def value_statement(self, record: Statement) -> str:
        return self.render_statement(record)


class StatementLineTable(BaseTable):
    booking_date = tables.DateColumn(linkify=lambda record: record.get_absolute_url(), attrs=NOWRAP)
    value_date = tables.DateColumn(attrs=NOWRAP)
    bank_account = tables.Column(accessor="bank_account__name", verbose_name=_("Bank account"))
    amount = MoneyColumn()
    open_amount = MoneyColumn()
    statement = tables.Column(
        accessor="statement_id",
        verbose_name=_("Statement"),
        linkify=lambda record: reverse(
            "banking:statement_detail",
            kwargs={"company": record.company.code, "pk": record.statement_id},
        ),
    )

    class Meta(BaseTable.Meta):
        model = StatementLine
        fields = (
            "pk",
            "booking_date",
            "value_date",
            "bank_account",
            "description",
            "counterparty_name",
            "counterparty_iban",
            "reference",
            "bank_reference",
            "transaction_code",
            "currency",
            "amount",
            "open_amount",
            "state",
            "statement",
            "sequence",
        )
        default_columns = (
            "booking_date",
            "bank_account",
            "description",
            "counterparty_name",
            "amount",
            "open_amount",
            "state",
        )

    def render_description(self, value: str) -> str:
        return Truncator(value).chars(90)

    def value_description(self, value: str) -> str:
        return value

    def render_statement(self, value: int) -> str:
        return f"#{value}"

    def value_statement(self, value: int) -> int:
        return value


class StatementLinesTable(tables.Table):
    """The lines on a statement's page (no selection, no column choice)."""

    sequence = tables.Column(attrs=NUM)
    booking_date = tables.DateColumn(linkify=lambda record: record.get_absolute_url(), attrs=NOWRAP)
    value_date = tables.DateColumn(attrs=NOWRAP)
    description = tables.Column()
    counterparty_name = tables.Column()
    amount = MoneyColumn()
    open_amount = MoneyColumn()
    state = tables.Column()

    class Meta:
        model = StatementLine
        template_name = "generic/table.html"
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "statement-lines"}
        fields = (
            "sequence",
            "booking_date",
            "value_date",
            "description",
            "counterparty_name",
            "amount",
            "open_amount",
            "state",
        )

    def render_description(self, value: str) -> str:
        return Truncator(value).chars(90)
