"""REST API of invoice printing and e-mail, under ``/api/v1/billing/``:

- ``GET invoice-pdf/<id>/`` (needs ``billing.view_invoice``): the PDF of an invoice (a draft
  says it is not valid); a supplier bill with an attached file answers that file;
- ``POST invoice-send/`` ``{"invoice": id, "to": [...], "cc": [...], "message": "..."}``
  (needs ``billing.send_invoice``; ``Idempotency-Key`` accepted): e-mails an issued sales
  invoice with its PDF. 201 with the logged attempt: ``ok`` false and ``error`` when the mail
  server failed (the attempt is logged all the same; a retry needs a new Idempotency-Key, as
  the first answer is replayed for the same key); 400 naming the field for a draft, an
  unknown invoice or a bad address, and nothing is sent or written.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.billing import delivery, printing
from trastienda.billing.models import Direction, Invoice, InvoiceDelivery
from trastienda.billing.printing_views import pdf_response
from trastienda.core.api import (
    CompanyGenericViewSet,
    CompanyModelSerializer,
    file_response,
    idempotent,
    router,
)
from trastienda.core.pdf import CONTENT_TYPE
from trastienda.core.rest import django_error_detail


class InvoicePdfViewSet(CompanyGenericViewSet):
    """The PDF of an invoice, credit note or simplified invoice (or a bill's record)."""

    model = Invoice
    select_related = ("company", "partner")
    action_perms = {"retrieve": "view"}
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        responses={(200, CONTENT_TYPE): OpenApiTypes.BINARY},
        tags=["billing"],
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Any:
        invoice = self.get_object()
        document = invoice.attachment if invoice.direction == Direction.PURCHASE else None
        if document is not None and document.file:
            return file_response(document.file, document.original_name or document.file.name)
        return pdf_response(
            printing.invoice_pdf(invoice), printing.invoice_filename(invoice), download=True
        )


class InvoiceSendSerializer(serializers.Serializer[Any]):
    invoice = serializers.IntegerField(help_text=gettext_lazy("The id of an issued invoice."))
    to = serializers.ListField(
        child=serializers.CharField(max_length=254),
        required=False,
        max_length=delivery.MAX_RECIPIENTS,
        help_text=gettext_lazy(
            "Recipients; default: the partner's e-mail and its contacts that receive invoices."
        ),
    )
    cc = serializers.ListField(
        child=serializers.CharField(max_length=254),
        required=False,
        max_length=delivery.MAX_RECIPIENTS,
    )
    message = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=delivery.MAX_MESSAGE,
        help_text=gettext_lazy("Added above the standard text of the e-mail."),
    )


class InvoiceDeliverySerializer(CompanyModelSerializer):
    invoice = serializers.IntegerField(source="invoice_id", read_only=True, allow_null=True)
    partner = serializers.CharField(source="partner.code", read_only=True)

    class Meta:
        model = InvoiceDelivery
        fields = [
            "id",
            "invoice",
            "partner",
            "recipients",
            "subject",
            "attachment_name",
            "sent_by",
            "sent_at",
            "ok",
            "error",
        ]
        read_only_fields = fields


class InvoiceSendViewSet(CompanyGenericViewSet):
    """E-mail an issued sales invoice with its PDF attached, in the partner's language.

    ``to`` defaults to the partner's e-mail and its contacts that receive invoices. Answers
    201 with the logged attempt; when the mail server fails, ``ok`` is false and ``error``
    says why (retry with a new Idempotency-Key). A draft, an unknown invoice or a bad address
    answers 400 naming the field, and nothing is sent.
    """

    model = Invoice
    serializer_class = InvoiceSendSerializer
    action_perms = {"create": "billing.send_invoice"}
    idempotent_actions = ("create",)
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        request=InvoiceSendSerializer,
        responses={201: InvoiceDeliverySerializer},
        tags=["billing"],
    )
    def create(self, request: Request) -> Any:
        return idempotent(request, lambda: self._send(request))

    def _send(self, request: Request) -> Response:
        form = InvoiceSendSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        invoice = (
            Invoice.objects.for_company(request.company)  # type: ignore[attr-defined]
            .select_related("company", "partner")
            .filter(pk=data["invoice"])
            .first()
        )
        if invoice is None:
            raise exceptions.ValidationError({"invoice": [_("Choose an invoice of this company.")]})
        try:
            sent = delivery.invoice_send(
                invoice=invoice,
                to=data.get("to") or None,
                cc=data.get("cc") or None,
                message=data.get("message", ""),
            )
        except ValidationError as exc:
            raise exceptions.ValidationError(django_error_detail(exc)) from exc
        return Response(InvoiceDeliverySerializer(sent).data, status=status.HTTP_201_CREATED)


router.register("billing/invoice-pdf", InvoicePdfViewSet, basename="billing-invoice-pdf")
router.register("billing/invoice-send", InvoiceSendViewSet, basename="billing-invoice-send")
