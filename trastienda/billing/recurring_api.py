"""REST API of recurring invoices: ``/api/v1/billing/recurring-invoices/`` (and ``run``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.billing import services
from trastienda.billing.models import Invoice, RecurringInvoice
from trastienda.billing.recurring_views import (
    RecurringInvoiceFilterSet,
    recurring_create,
    recurring_update,
)
from trastienda.core.api import CompanyModelSerializer, CompanyModelViewSet, router


class RecurringInvoiceSerializer(CompanyModelSerializer):
    template = serializers.PrimaryKeyRelatedField(queryset=Invoice.objects.all())

    class Meta:
        model = RecurringInvoice
        fields = [
            "id",
            "name",
            "template",
            "interval_months",
            "next_date",
            "end_date",
            "auto_issue",
            "active",
        ]


class RecurringInvoiceViewSet(CompanyModelViewSet):
    """Schedules that make a copy of a draft invoice every N months."""

    model = RecurringInvoice
    serializer_class = RecurringInvoiceSerializer
    filterset_class = RecurringInvoiceFilterSet
    ordering_fields = ["next_date", "name", "id"]
    create_service = recurring_create
    update_service = recurring_update
    action_perms = {"run": "billing.add_invoice"}

    @extend_schema(request=None, responses=dict)
    @action(detail=False, methods=["post"])
    def run(self, request: Request) -> Response:
        """Make the invoices of every schedule due today (what the daily job does)."""
        made = self.call_service(
            services.recurring_run,
            company=request.company,  # type: ignore[attr-defined]
        )
        return Response({"invoices": [invoice.pk for invoice in made]})


router.register(
    "billing/recurring-invoices", RecurringInvoiceViewSet, basename="billing-recurring-invoice"
)
