"""REST API of SEPA payment batches and mandates.

``/api/v1/banking/payment-batches/``: list, retrieve, create (from the bills or invoices due,
or the ones listed), ``due/`` (what a new batch would take), and the actions ``approve`` (a
second person with ``banking.approve_paymentbatch``), ``export`` (the pain.001 / pain.008 file,
validated against the ISO 20022 schema) and ``cancel``. Batches are never changed or deleted
otherwise. ``/api/v1/banking/mandates/``: CRUD of direct debit mandates, and ``revoke``.
Every write goes through :mod:`trastienda.banking.sepa`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.banking import sepa
from trastienda.banking.models import Mandate, PaymentBatch, PaymentBatchLine
from trastienda.banking.sepa_filters import MandateFilterSet, PaymentBatchFilterSet
from trastienda.billing.models import Partner
from trastienda.core.api import (
    CompanyGenericViewSet,
    CompanyModelSerializer,
    CompanyModelViewSet,
    idempotent,
    router,
)
from trastienda.core.money import Money

APPROVE_PERM = "banking.approve_paymentbatch"


def money_text(minor: int, currency: str) -> str:
    return str(Money(minor, currency).to_decimal())


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


class PaymentBatchSerializer(CompanyModelSerializer):
    """A batch as read; amounts are decimal strings in the batch's currency."""

    class Meta:
        model = PaymentBatch
        fields = [
            "id",
            "kind",
            "state",
            "bank_account",
            "execution_date",
            "currency",
            "total",
            "line_count",
            "message_id",
            "created_by",
            "created_at",
            "approved_by",
            "approved_at",
        ]
        read_only_fields = fields

    def to_representation(self, batch: PaymentBatch) -> dict[str, Any]:
        currency = batch.currency
        data: dict[str, Any] = {
            "id": batch.pk,
            "kind": batch.kind,
            "state": batch.state,
            "bank_account": batch.bank_account_id,
            "bank_account_iban": batch.bank_account.iban,
            "execution_date": batch.execution_date.isoformat(),
            "currency": currency,
            "total": money_text(batch.total, currency),
            "line_count": batch.line_count,
            "message_id": batch.message_id,
            "created_by": _username(batch.created_by),
            "created_at": batch.created_at.isoformat(),
            "approved_by": _username(batch.approved_by),
            "approved_at": batch.approved_at.isoformat() if batch.approved_at else None,
        }
        if self.context.get("with_lines"):
            data["scheme"] = sepa.batch_scheme(batch)
            data["lines"] = [
                {
                    "invoice": line.invoice_id,
                    "number": str(line.invoice),
                    "partner": line.partner.code,
                    "name": line.name,
                    "amount": money_text(line.amount, currency),
                    "iban": line.iban,
                    "bic": line.bic,
                    "remittance": line.remittance,
                    "end_to_end_id": line.end_to_end_id,
                    "mandate": line.mandate.reference if line.mandate else None,
                    "sequence_type": line.sequence_type,
                }
                for line in PaymentBatchLine.objects.filter(batch=batch)
                .select_related("invoice", "partner", "mandate")
                .order_by("id")
            ]
        return data


class PaymentBatchCreateSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=PaymentBatch.Kind.choices)
    bank_account = serializers.CharField(help_text="The bank account's id or IBAN.")
    execution_date = serializers.DateField(
        help_text="When the bank executes the transfers, or collects the direct debits."
    )
    due_until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Take what is due on or before this date (default: the execution date).",
    )
    invoices = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        allow_null=True,
        help_text="Ids of the bills (transfers) or sales invoices (debits); "
        "absent: every one due and not yet in a batch.",
    )
    scheme = serializers.ChoiceField(
        choices=Mandate.Scheme.choices,
        required=False,
        allow_blank=True,
        help_text="Direct debits: CORE or B2B (they never share a file).",
    )


class CandidateSerializer(serializers.Serializer[Any]):
    invoice = serializers.IntegerField()
    number = serializers.CharField()
    partner = serializers.CharField()
    due_date = serializers.DateField(allow_null=True)
    amount = serializers.CharField()
    iban = serializers.CharField()
    mandate = serializers.CharField(allow_null=True)
    sequence_type = serializers.CharField()
    problem = serializers.CharField()


class PaymentBatchViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, CompanyGenericViewSet
):
    """SEPA credit transfer and direct debit batches."""

    model = PaymentBatch
    serializer_class = PaymentBatchSerializer
    filterset_class = PaymentBatchFilterSet
    ordering_fields = ["execution_date", "total", "id"]
    select_related = ("company", "bank_account", "created_by", "approved_by")
    action_perms = {
        "approve": APPROVE_PERM,
        "export": "change",
        "cancel": "change",
        "due": ("view", "add"),
    }
    idempotent_actions = ("create",)

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return PaymentBatchCreateSerializer
        return PaymentBatchSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["with_lines"] = self.action != "list"
        return context

    def _respond(self, batch: PaymentBatch, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=batch.pk)
        return Response(
            PaymentBatchSerializer(fresh, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(request=PaymentBatchCreateSerializer, responses={201: PaymentBatchSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Make a draft batch from the bills (transfers) or invoices (direct debits) due, or
        the ones listed. Another person approves it."""
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        form = PaymentBatchCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        common: dict[str, Any] = {
            "company": request.company,  # type: ignore[attr-defined]
            "bank_account": data["bank_account"],
            "invoices": data.get("invoices"),
            "due_until": data.get("due_until"),
            "user": request.user,
        }
        try:
            if data["kind"] == PaymentBatch.Kind.TRANSFER:
                batch = self.call_service(
                    sepa.transfer_batch_create,
                    form,
                    execution_date=data["execution_date"],
                    **common,
                )
            else:
                batch = self.call_service(
                    sepa.debit_batch_create,
                    form,
                    collection_date=data["execution_date"],
                    scheme=data.get("scheme") or None,
                    **common,
                )
        except exceptions.ValidationError as exc:
            detail = exc.detail
            if isinstance(detail, dict) and "collection_date" in detail:
                detail["execution_date"] = detail.pop("collection_date")
            raise exceptions.ValidationError(detail) from exc
        return self._respond(batch, status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, enum=["transfer", "debit"]),
            OpenApiParameter("bank_account", str, description="Id or IBAN."),
            OpenApiParameter("execution_date", OpenApiTypes.DATE),
            OpenApiParameter("due_until", OpenApiTypes.DATE, required=False),
            OpenApiParameter("scheme", str, enum=["CORE", "B2B"], required=False),
        ],
        responses=CandidateSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def due(self, request: Request) -> Response:
        """What a new batch would take, with the reason a row cannot be paid or collected."""
        form = PaymentBatchCreateSerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        company = request.company  # type: ignore[attr-defined]
        account = self.call_service(
            sepa.batch_bank_account,
            form,
            company=company,
            bank_account=data["bank_account"],
            kind=data["kind"],
        )
        cutoff = data.get("due_until") or data["execution_date"]
        if data["kind"] == PaymentBatch.Kind.TRANSFER:
            rows = sepa.transfer_candidates(company=company, bank_account=account, due_until=cutoff)
        else:
            rows = sepa.debit_candidates(
                company=company,
                bank_account=account,
                collection_date=data["execution_date"],
                due_until=cutoff,
                scheme=data.get("scheme") or None,
            )
        return Response(
            [
                {
                    "invoice": row.invoice.pk,
                    "number": str(row.invoice),
                    "partner": row.invoice.partner.code,
                    "due_date": row.invoice.due_date.isoformat() if row.invoice.due_date else None,
                    "amount": money_text(row.amount, row.currency),
                    "iban": row.iban,
                    "mandate": row.mandate.reference if row.mandate else None,
                    "sequence_type": row.sequence_type,
                    "problem": row.problem,
                }
                for row in rows
            ]
        )

    @extend_schema(request=None, responses=PaymentBatchSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve a draft batch. Whoever created it cannot."""
        batch = self.call_service(sepa.batch_approve, batch=self.get_object(), user=request.user)
        return self._respond(batch)

    @extend_schema(request=None, responses={(200, "application/xml"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["post"])
    def export(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The batch's SEPA file (generated the first time, validated against the ISO 20022
        schema; the same file afterwards)."""
        batch = self.get_object()
        content = self.call_service(sepa.batch_export, batch=batch, user=request.user)
        batch.refresh_from_db()
        response = HttpResponse(content, content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{sepa.batch_filename(batch)}"'
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(request=None, responses=PaymentBatchSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a batch that is not paid: its invoices can go in another batch."""
        batch = self.call_service(sepa.batch_cancel, batch=self.get_object(), user=request.user)
        return self._respond(batch)


class MandateSerializer(CompanyModelSerializer):
    partner = serializers.SlugRelatedField(
        slug_field="code", queryset=Partner.objects.all(), help_text="The customer's code."
    )

    class Meta:
        model = Mandate
        fields = [
            "id",
            "partner",
            "reference",
            "scheme",
            "iban",
            "bic",
            "signed_on",
            "state",
            "last_collected_on",
        ]
        read_only_fields = ["state", "last_collected_on"]
        extra_kwargs = {"iban": {"max_length": 42}, "bic": {"max_length": 14}}


class MandateViewSet(CompanyModelViewSet):
    """Direct debit mandates signed by customers (CORE or B2B)."""

    model = Mandate
    serializer_class = MandateSerializer
    filterset_class = MandateFilterSet
    ordering_fields = ["reference", "signed_on", "id"]
    select_related = ("company", "partner")
    create_service = sepa.mandate_create
    update_service = sepa.mandate_update
    delete_service = sepa.mandate_delete
    action_perms = {"revoke": "change"}

    @extend_schema(request=None, responses=MandateSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Revoke the mandate: no further collection under it."""
        mandate = self.call_service(sepa.mandate_revoke, instance=self.get_object())
        return Response(self.get_serializer(mandate).data)


router.register("banking/payment-batches", PaymentBatchViewSet, basename="banking-payment-batch")
router.register("banking/mandates", MandateViewSet, basename="banking-mandate")
