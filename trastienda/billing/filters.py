"""Filters of the invoice and payment lists, shared by the pages and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trastienda.billing.models import Direction, Installment, Invoice, Payment
from trastienda.core.filters import CompanyFilterSet


class InvoiceFilterSet(CompanyFilterSet):
    search_fields = (
        "number",
        "supplier_reference",
        "partner__code",
        "partner__legal_name",
        "partner__tax_id",
        "notes",
    )
    direction = django_filters.ChoiceFilter(choices=Direction.choices, label=_("Direction"))
    kind = django_filters.ChoiceFilter(choices=Invoice.Kind.choices, label=_("Kind"))
    state = django_filters.ChoiceFilter(choices=Invoice.State.choices, label=_("State"))
    payment_state = django_filters.ChoiceFilter(
        choices=Invoice.PaymentState.choices, label=_("Payment")
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        label=_("Overdue"),
        widget=forms.Select(choices=[("", _("All")), ("true", _("Yes")), ("false", _("No"))]),
    )
    partner = django_filters.CharFilter(field_name="partner__code", label=_("Partner code"))
    series = django_filters.CharFilter(field_name="series__code", label=_("Series"))
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label=_("Date from")
    )
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=_("Date to"))

    class Meta:
        model = Invoice
        fields = ("direction", "kind", "state", "payment_state")

    def filter_overdue(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        if value is None:
            return queryset
        overdue = overdue_q()
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


def overdue_installments(today: Any = None) -> QuerySet[Installment]:
    """The instalments of the outer invoice (``OuterRef("pk")``) still open past their due date."""
    return Installment.objects.filter(
        invoice=OuterRef("pk"), due_date__lt=today or timezone.localdate()
    ).exclude(open_amount=0)


def overdue_q(today: Any = None) -> Q:
    """Overdue: issued, something still open, and an instalment open past its due date. Not
    a credit note: what is open of one is the partner's credit, not a debt that is late."""
    return (
        Q(state=Invoice.State.ISSUED, open_amount__gt=0)
        & ~Q(kind=Invoice.Kind.CREDIT_NOTE)
        & Q(Exists(overdue_installments(today)))
    )


class SaleInvoiceFilterSet(InvoiceFilterSet):
    """The sales invoices page: its queryset is already one direction."""

    direction = None

    class Meta:
        model = Invoice
        fields = ("kind", "state", "payment_state")


class BillFilterSet(InvoiceFilterSet):
    """The supplier bills page: one direction, no simplified bills."""

    direction = None
    kind = django_filters.ChoiceFilter(
        choices=[
            (Invoice.Kind.INVOICE.value, Invoice.Kind.INVOICE.label),
            (Invoice.Kind.CREDIT_NOTE.value, Invoice.Kind.CREDIT_NOTE.label),
        ],
        label=_("Kind"),
    )
    series = None

    class Meta:
        model = Invoice
        fields = ("kind", "state", "payment_state")


class PaymentFilterSet(CompanyFilterSet):
    search_fields = ("reference", "partner__code", "partner__legal_name")
    direction = django_filters.ChoiceFilter(choices=Direction.choices, label=_("Direction"))
    state = django_filters.ChoiceFilter(choices=Payment.State.choices, label=_("State"))
    partner = django_filters.CharFilter(field_name="partner__code", label=_("Partner code"))
    with_credit = django_filters.BooleanFilter(method="filter_credit", label=_("With credit kept"))
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label=_("Date from")
    )
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=_("Date to"))

    class Meta:
        model = Payment
        fields = ("direction", "state")

    def filter_credit(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        if value is None:
            return queryset
        return (
            queryset.filter(unallocated_amount__gt=0)
            if value
            else queryset.filter(unallocated_amount=0)
        )
