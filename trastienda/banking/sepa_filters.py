"""Filters of the payment batch and mandate lists, shared by the pages and the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from trastienda.banking.models import Mandate, PaymentBatch
from trastienda.core.filters import CompanyFilterSet


class PaymentBatchFilterSet(CompanyFilterSet):
    search_fields = ("message_id", "bank_account__name", "bank_account__iban")
    kind = django_filters.ChoiceFilter(choices=PaymentBatch.Kind.choices, label=_("Kind"))
    state = django_filters.ChoiceFilter(choices=PaymentBatch.State.choices, label=_("State"))
    bank_account = django_filters.CharFilter(
        field_name="bank_account__iban", label=_("Bank account IBAN")
    )
    date_from = django_filters.DateFilter(
        field_name="execution_date", lookup_expr="gte", label=_("Date from")
    )
    date_to = django_filters.DateFilter(
        field_name="execution_date", lookup_expr="lte", label=_("Date to")
    )

    class Meta:
        model = PaymentBatch
        fields = ("kind", "state")


class MandateFilterSet(CompanyFilterSet):
    search_fields = ("reference", "partner__code", "partner__legal_name", "iban")
    scheme = django_filters.ChoiceFilter(choices=Mandate.Scheme.choices, label=_("Scheme"))
    state = django_filters.ChoiceFilter(choices=Mandate.State.choices, label=_("State"))
    partner = django_filters.CharFilter(field_name="partner__code", label=_("Customer code"))

    class Meta:
        model = Mandate
        fields = ("scheme", "state")
