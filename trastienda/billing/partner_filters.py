"""Filters of the reference-data lists of billing, shared by the pages and the REST API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from trastienda.billing.models import (
    BillingSettings,
    InvoiceSeries,
    Partner,
    PaymentTerm,
    Product,
    Tax,
)
from trastienda.billing.partners import country_choices
from trastienda.core.filters import CompanyFilterSet


class PartnerFilterSet(CompanyFilterSet):
    """``q`` searches code, names and tax id; the tax id also as typed (``ES B-1234…``)."""

    search_fields = ("code", "legal_name", "trade_name", "tax_id")
    is_customer = django_filters.BooleanFilter(label=_("Customer"))
    is_supplier = django_filters.BooleanFilter(label=_("Supplier"))
    country = django_filters.ChoiceFilter(
        choices=country_choices, label=_("Country"), lookup_expr="iexact"
    )
    blocked = django_filters.BooleanFilter(label=_("Blocked"))
    active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Partner
        fields = ("is_customer", "is_supplier", "country", "blocked", "active")

    def filter_search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        compact = "".join(c for c in value if c.isalnum()).upper()
        found = super().filter_search(queryset, name, value)
        if compact and len(compact) >= 5 and compact != value.strip().upper():
            found = found | queryset.filter(tax_id__icontains=compact)
        return found


class ProductFilterSet(CompanyFilterSet):
    search_fields = ("sku", "name_es", "name_it", "name_en")
    unit = django_filters.ChoiceFilter(choices=Product.Unit.choices, label=_("Unit"))

    class Meta:
        model = Product
        fields = ("unit", "active")


class PaymentTermFilterSet(CompanyFilterSet):
    search_fields = ("code", "name", "days")

    class Meta:
        model = PaymentTerm
        fields = ("end_of_month", "active")


class TaxFilterSet(CompanyFilterSet):
    search_fields = ("code", "name_es", "name_it", "name_en", "nature")
    kind = django_filters.ChoiceFilter(choices=Tax.Kind.choices, label=_("Kind"))
    scope = django_filters.ChoiceFilter(choices=Tax.Scope.choices, label=_("Applies to"))
    category = django_filters.ChoiceFilter(choices=Tax.Category.choices, label=_("VAT category"))

    class Meta:
        model = Tax
        fields = ("kind", "scope", "category", "active")


class InvoiceSeriesFilterSet(CompanyFilterSet):
    search_fields = ("code", "name")
    kind = django_filters.ChoiceFilter(choices=InvoiceSeries.Kind.choices, label=_("Kind"))

    class Meta:
        model = InvoiceSeries
        fields = ("kind", "active")


class BillingSettingsFilterSet(CompanyFilterSet):
    class Meta:
        model = BillingSettings
        fields: tuple[str, ...] = ()
