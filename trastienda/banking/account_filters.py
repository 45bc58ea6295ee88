"""Filters of the bank account and reconciliation rule lists, shared by the pages and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from trastienda.banking.models import BankAccount, ReconciliationRule
from trastienda.core.filters import CompanyFilterSet


class BankAccountFilterSet(CompanyFilterSet):
    """``q`` searches the name, bank and IBAN (typed with or without spaces)."""

    search_fields = ("name", "iban", "bic", "bank_name", "account__code")
    currency = django_filters.CharFilter(lookup_expr="iexact", label=_("Currency"))
    active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = BankAccount
        fields = ("currency", "active")

    def filter_search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        found = super().filter_search(queryset, name, value)
        compact = "".join(value.split()).upper()
        if len(compact) >= 4 and compact != value.strip().upper():
            found = found | queryset.filter(iban__icontains=compact)
        return found


class ReconciliationRuleFilterSet(CompanyFilterSet):
    search_fields = ("name", "text_contains", "entry_description", "account__code")
    bank_account = django_filters.ModelChoiceFilter(
        queryset=BankAccount.objects.none(), label=_("Bank account")
    )
    direction = django_filters.ChoiceFilter(
        choices=ReconciliationRule.Direction.choices, label=_("Direction")
    )
    auto_post = django_filters.BooleanFilter(label=_("Post automatically"))
    active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = ReconciliationRule
        fields = ("bank_account", "direction", "auto_post", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        company = getattr(getattr(self, "request", None), "company", None)
        if company is not None:
            self.filters["bank_account"].queryset = BankAccount.objects.for_company(
                company
            ).order_by("name")
