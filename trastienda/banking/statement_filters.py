"""Filters of the statement and statement line lists, shared by the pages and the REST API.

Amounts are typed as decimals (``120.50``, ``120,50`` in Spanish) and compared with the stored
minor units of each line's own currency; the amount range is of the amount as the bank shows
it, money in or out (``direction`` tells them apart).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal
from functools import reduce
from operator import or_
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from trastienda.banking.models import BankAccount, Statement, StatementLine
from trastienda.core.filters import CompanyFilterSet
from trastienda.core.money import Money
from trastienda.ledger.forms import AmountField


class AmountFilter(django_filters.Filter):
    """A decimal amount in the user's locale (never a float)."""

    field_class = AmountField


def _company_accounts(filterset: django_filters.FilterSet) -> QuerySet[BankAccount]:
    company = getattr(getattr(filterset, "request", None), "company", None)
    if company is None:
        return BankAccount.objects.none()
    return BankAccount.objects.for_company(company).order_by("name")


def _bounds(value: Decimal, currencies: list[str], rounding: str) -> dict[str, int]:
    """``abs(value)`` in the minor units of each currency. A value with more decimals than a
    currency has is rounded (``ROUND_UP`` for a lower bound, ``ROUND_DOWN`` for an upper one)
    so that a bound never widens the range; an absurd value matches nothing."""
    result: dict[str, int] = {}
    for currency in currencies:
        try:
            result[currency] = Money.from_decimal_rounded(abs(value), currency, rounding).minor
        except (ValueError, ArithmeticError):
            continue
    return result


class StatementFilterSet(CompanyFilterSet):
    search_fields = ("reference", "filename", "bank_account__name", "bank_account__iban")
    bank_account = django_filters.ModelChoiceFilter(
        queryset=BankAccount.objects.none(), label=_("Bank account")
    )
    format = django_filters.ChoiceFilter(choices=Statement.Format.choices, label=_("Format"))
    date_from = django_filters.DateFilter(
        field_name="end_date", lookup_expr="gte", label=_("Date from")
    )
    date_to = django_filters.DateFilter(
        field_name="start_date", lookup_expr="lte", label=_("Date to")
    )

    class Meta:
        model = Statement
        fields = ("bank_account", "format")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["bank_account"].queryset = _company_accounts(self)


class StatementLineFilterSet(CompanyFilterSet):
    search_fields = (
        "description",
        "reference",
        "bank_reference",
        "counterparty_name",
        "counterparty_iban",
    )
    bank_account = django_filters.ModelChoiceFilter(
        queryset=BankAccount.objects.none(), label=_("Bank account")
    )
    state = django_filters.ChoiceFilter(choices=StatementLine.State.choices, label=_("State"))
    unreconciled = django_filters.BooleanFilter(
        method="filter_unreconciled", label=_("Something left to reconcile")
    )
    direction = django_filters.ChoiceFilter(
        choices=(("in", _("Money in")), ("out", _("Money out"))),
        method="filter_direction",
        label=_("Direction"),
    )
    date_from = django_filters.DateFilter(
        field_name="booking_date", lookup_expr="gte", label=_("Date from")
    )
    date_to = django_filters.DateFilter(
        field_name="booking_date", lookup_expr="lte", label=_("Date to")
    )
    amount_min = AmountFilter(method="filter_amount_min", label=_("Amount from"))
    amount_max = AmountFilter(method="filter_amount_max", label=_("Amount to"))
    statement = django_filters.NumberFilter(field_name="statement_id", label=_("Statement"))

    class Meta:
        model = StatementLine
        fields = ("bank_account", "state")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["bank_account"].queryset = _company_accounts(self)

    def filter_unreconciled(self, queryset: QuerySet[Any], name: str, value: Any) -> Any:
        if value is None:
            return queryset
        still_open = Q(state=StatementLine.State.OPEN) | Q(state=StatementLine.State.PARTIAL)
        return queryset.filter(still_open) if value else queryset.exclude(still_open)

    def filter_direction(self, queryset: QuerySet[Any], name: str, value: str) -> Any:
        if value == "in":
            return queryset.filter(amount__gt=0)
        if value == "out":
            return queryset.filter(amount__lt=0)
        return queryset

    def _currencies(self, queryset: QuerySet[Any]) -> list[str]:
        """The currencies the lines can be in: those of the company's bank accounts."""
        return sorted(set(_company_accounts(self).values_list("currency", flat=True)))

    def filter_amount_min(self, queryset: QuerySet[Any], name: str, value: Any) -> Any:
        if value is None:
            return queryset
        bounds = _bounds(value, self._currencies(queryset), ROUND_UP)
        clauses = [
            Q(currency=currency) & (Q(amount__gte=minor) | Q(amount__lte=-minor))
            for currency, minor in bounds.items()
        ]
        return queryset.filter(reduce(or_, clauses)) if clauses else queryset.none()

    def filter_amount_max(self, queryset: QuerySet[Any], name: str, value: Any) -> Any:
        if value is None:
            return queryset
        bounds = _bounds(value, self._currencies(queryset), ROUND_DOWN)
        clauses = [
            Q(currency=currency, amount__lte=minor, amount__gte=-minor)
            for currency, minor in bounds.items()
        ]
        return queryset.filter(reduce(or_, clauses)) if clauses else queryset.none()
