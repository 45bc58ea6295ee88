"""REST API of payments: ``/api/v1/billing/payments/``. Creating one posts it; it is never
changed or deleted: ``reverse`` undoes it, ``apply-credit`` uses credit kept for an invoice."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.billing import services
from trastienda.billing.filters import PaymentFilterSet
from trastienda.billing.invoice_api import money_text
from trastienda.billing.models import Payment
from trastienda.core.api import CompanyGenericViewSet, CompanyModelSerializer, router


class AllocationSerializer(serializers.Serializer[Any]):
    invoice = serializers.IntegerField(help_text="The invoice's id.")
    amount = serializers.DecimalField(
        max_digits=18,
        decimal_places=6,
        required=False,
        allow_null=True,
        help_text="What the payment settles of it; empty: all that is open.",
    )


class PaymentSerializer(CompanyModelSerializer):
    partner = serializers.CharField(help_text="The partner's code.")
    bank_account = serializers.CharField(help_text="The bank or cash account's code.")
    journal = serializers.CharField(required=False, allow_blank=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=6)
    currency = serializers.CharField(required=False, allow_blank=True)
    rate = serializers.DecimalField(
        max_digits=20, decimal_places=10, required=False, allow_null=True, write_only=True
    )
    allocations = AllocationSerializer(many=True, required=False)
    write_off = serializers.BooleanField(required=False, write_only=True)
    keep_credit = serializers.BooleanField(required=False, default=True, write_only=True)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "direction",
            "state",
            "partner",
            "date",
            "amount",
            "currency",
            "rate",
            "bank_account",
            "journal",
            "reference",
            "allocations",
            "write_off",
            "keep_credit",
            "write_off_amount",
            "unallocated_amount",
            "entry",
            "reversal_entry",
        ]
        read_only_fields = ["write_off_amount", "unallocated_amount", "entry", "reversal_entry"]

    def to_representation(self, payment: Payment) -> dict[str, Any]:
        currency = payment.currency
        return {
            "id": payment.pk,
            "direction": payment.direction,
            "state": payment.state,
            "partner": payment.partner.code,
            "date": payment.date.isoformat(),
            "amount": money_text(payment.amount, currency),
            "currency": currency,
            "bank_account": payment.bank_account.code,
            "journal": payment.journal.code,
            "reference": payment.reference,
            "allocations": [
                {
                    "invoice": a.invoice_id,
                    "number": str(a.invoice),
                    "amount": money_text(a.amount, currency),
                }
                for a in payment.allocations.select_related("invoice")
            ],
            "write_off_amount": money_text(payment.write_off_amount, currency),
            "unallocated_amount": money_text(payment.unallocated_amount, currency),
            "entry": payment.entry_id,
            "reversal_entry": payment.reversal_entry_id,
        }


class CreditSerializer(serializers.Serializer[Any]):
    invoice = serializers.IntegerField()
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=6, required=False, allow_null=True
    )


class PaymentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, CompanyGenericViewSet
):
    """Payments received and made, with what they settle."""

    model = Payment
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilterSet
    ordering_fields = ["date", "amount", "id"]
    select_related = ("partner", "bank_account", "journal", "company")
    action_perms = {"reverse": "change", "apply_credit": "change"}
    idempotent_actions = ("create",)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        from trastienda.core.api import idempotent

        return idempotent(
            request, lambda: super(PaymentViewSet, self).create(request, *args, **kwargs)
        )

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        data["allocations"] = [dict(a) for a in data.get("allocations", [])]
        data["journal"] = data.get("journal") or None
        serializer.instance = self.call_service(
            services.payment_create,
            serializer,
            company=self.request.company,  # type: ignore[attr-defined]
            **data,
        )

    def _respond(self, payment: Payment) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=payment.pk)).data)

    @extend_schema(request=None, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, pk: str | None = None) -> Response:
        """Post the reversal of the payment's entry and reopen the invoices it settled."""
        return self._respond(
            self.call_service(services.payment_reverse, instance=self.get_object())
        )

    @extend_schema(request=CreditSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"], url_path="apply-credit")
    def apply_credit(self, request: Request, pk: str | None = None) -> Response:
        """Use the payment's credit kept to settle an open invoice of the same partner."""
        from trastienda.billing.models import Invoice

        data = CreditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = self.get_object()
        invoice = (
            Invoice.objects.for_company(payment.company)
            .filter(pk=data.validated_data["invoice"])
            .first()
        )
        if invoice is None:
            raise serializers.ValidationError({"invoice": [_("Unknown invoice.")]})
        self.call_service(
            services.credit_apply,
            payment=payment,
            invoice=invoice,
            amount=data.validated_data.get("amount"),
        )
        return self._respond(payment)


router.register("billing/payments", PaymentViewSet, basename="billing-payment")
