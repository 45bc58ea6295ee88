"""REST API of invoices and supplier bills: ``/api/v1/billing/invoices/`` (both directions;
filter ``direction=sale|purchase``). Drafts are created and changed with their lines; issuing,
credit notes, approval and duplication are actions. Amounts are decimal strings in the
invoice's currency; validation is the services' (400 naming ``lines[2].quantity`` etc.)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.billing import calc, services
from trastienda.billing.filters import InvoiceFilterSet
from trastienda.billing.models import Invoice, InvoiceLine
from trastienda.core.api import CompanyModelSerializer, CompanyModelViewSet, router
from trastienda.core.money import Money
from trastienda.core.permissions import has_perm

ISSUE_PERM = "billing.issue_invoice"
APPROVE_PERM = "billing.approve_invoice"


def money_text(minor: int, currency: str) -> str:
    return str(Money(minor, currency).to_decimal())


class InvoiceLineSerializer(serializers.Serializer[Any]):
    """A line: product by SKU (optional), taxes by code, account and cost centre by code;
    quantity, unit price (up to 4 decimals in EUR) and discount % as decimal strings."""

    product = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True)
    quantity = serializers.DecimalField(max_digits=15, decimal_places=4, required=False)
    unit = serializers.CharField(required=False, allow_blank=True)
    unit_price = serializers.DecimalField(max_digits=20, decimal_places=6, required=False)
    discount = serializers.DecimalField(max_digits=7, decimal_places=4, required=False)
    taxes = serializers.ListField(child=serializers.CharField(), required=False)
    account = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    cost_centre = serializers.CharField(required=False, allow_blank=True, allow_null=True)

    def to_representation(self, line: InvoiceLine) -> dict[str, Any]:
        currency = line.invoice.currency
        return {
            "line_no": line.line_no,
            "product": line.product.sku if line.product else None,
            "description": line.description,
            "quantity": str(line.quantity),
            "unit": line.unit,
            "unit_price": str(calc.units_to_price(line.unit_price, currency)),
            "discount": str(line.discount),
            "taxes": [tax.code for tax in line.taxes.all()],
            "account": line.account.code if line.account else None,
            "cost_centre": line.cost_centre.code if line.cost_centre else None,
            "net_amount": money_text(line.net_amount, currency),
        }


class InvoiceSerializer(CompanyModelSerializer):
    partner = serializers.CharField(help_text="The partner's code.")
    series = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    payment_term = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    rectifies = serializers.IntegerField(
        required=False, allow_null=True, write_only=True, help_text="The rectified invoice's id."
    )
    lines = InvoiceLineSerializer(many=True, required=False)
    issue = serializers.BooleanField(
        write_only=True, required=False, help_text="On create: issue at once (one transaction)."
    )
    taxes = serializers.SerializerMethodField()
    amounts = serializers.SerializerMethodField()
    installments = serializers.SerializerMethodField()
    state = serializers.CharField(read_only=True)
    payment_state = serializers.CharField(read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "direction",
            "kind",
            "state",
            "payment_state",
            "issue",
            "partner",
            "series",
            "number",
            "supplier_reference",
            "date",
            "operation_date",
            "due_date",
            "currency",
            "rate",
            "payment_term",
            "rectifies",
            "rectification_reason",
            "notes",
            "language",
            "lines",
            "taxes",
            "amounts",
            "installments",
            "entry",
            "issued_at",
            "approved_by",
            "approved_at",
        ]
        read_only_fields = ["number", "entry", "issued_at", "approved_by", "approved_at"]
        extra_kwargs = {"currency": {"required": False}, "rate": {"required": False}}

    def to_representation(self, invoice: Invoice) -> dict[str, Any]:
        data = super().to_representation(invoice)
        data["partner"] = invoice.partner.code
        data["series"] = invoice.series.code if invoice.series else None
        data["payment_term"] = invoice.payment_term.code if invoice.payment_term else None
        data["rectifies"] = invoice.rectifies_id
        return data

    def get_taxes(self, invoice: Invoice) -> list[dict[str, Any]]:
        return [
            {
                "tax": row.tax.code,
                "rate": str(row.tax.rate),
                "base": money_text(row.base, invoice.currency),
                "amount": money_text(row.amount, invoice.currency),
            }
            for row in invoice.tax_lines.select_related("tax")
        ]

    def get_amounts(self, invoice: Invoice) -> dict[str, str]:
        names = ("net_amount", "tax_amount", "withholding_amount", "total_amount")
        result = {name: money_text(getattr(invoice, name), invoice.currency) for name in names}
        result["payable_amount"] = money_text(invoice.payable_amount, invoice.currency)
        result["open_amount"] = money_text(invoice.open_amount, invoice.currency)
        return result

    def get_installments(self, invoice: Invoice) -> list[dict[str, Any]]:
        return [
            {
                "due_date": item.due_date.isoformat(),
                "amount": money_text(abs(item.amount), invoice.currency),
                "open_amount": money_text(abs(item.open_amount), invoice.currency),
            }
            for item in invoice.installments.order_by("due_date", "id")
        ]


def _service_data(data: dict[str, Any]) -> dict[str, Any]:
    values = dict(data)
    if "lines" in values:
        values["lines"] = [
            {key: value for key, value in dict(line).items() if value is not None}
            for line in values["lines"]
        ]
    return values


class CreditNoteSerializer(serializers.Serializer[Any]):
    date = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField()
    lines = InvoiceLineSerializer(many=True, required=False)


class RejectSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True)


class InvoiceImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="CSV or XLSX file of invoices, one row per line.")


class InvoiceViewSet(CompanyModelViewSet):
    """Sales invoices and supplier bills with their lines, tax breakdown and instalments."""

    model = Invoice
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilterSet
    ordering_fields = ["date", "number", "total_amount", "open_amount", "id"]
    select_related = ("partner", "series", "payment_term", "company")
    prefetch_related = ("lines__taxes", "lines__product", "lines__account", "lines__cost_centre")
    delete_service = services.invoice_delete_draft
    action_perms = {
        "issue": ISSUE_PERM,
        "credit_note": "add",
        "duplicate": "add",
        "submit": "change",
        "approve": APPROVE_PERM,
        "reject": APPROVE_PERM,
        "import_file": ("add", ISSUE_PERM),
    }

    def perform_create(self, serializer: Any) -> None:
        data = _service_data(serializer.validated_data)
        issue = data.pop("issue", False)
        if issue and not has_perm(self.request, ISSUE_PERM):
            raise exceptions.PermissionDenied(_("You may create drafts but not issue them."))
        company = self.request.company  # type: ignore[attr-defined]

        def create_and_issue(**kwargs: Any) -> Invoice:
            invoice = services.invoice_create_draft(**kwargs)
            return services.invoice_issue(instance=invoice) if issue else invoice

        serializer.instance = self.call_service(
            create_and_issue, serializer, company=company, **data
        )

    def perform_update(self, serializer: Any) -> None:
        data = _service_data(serializer.validated_data)
        if data.pop("issue", False):
            raise exceptions.ValidationError({"issue": [_("Issue a saved draft with its action.")]})
        data.pop("direction", None)
        serializer.instance = self.call_service(
            services.invoice_update_draft, serializer, instance=serializer.instance, **data
        )

    def _respond(self, invoice: Invoice, status: int = 200) -> Response:
        invoice = self.get_queryset().get(pk=invoice.pk)
        return Response(self.get_serializer(invoice).data, status=status)

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def issue(self, request: Request, pk: str | None = None) -> Response:
        """Issue a draft invoice (post a bill): number, journal entry, instalments."""
        invoice = self.call_service(
            services.invoice_issue,
            instance=self.get_object(),
            allow_before_lock=has_perm(request, "ledger.post_before_lock"),
        )
        return self._respond(invoice)

    @extend_schema(request=CreditNoteSerializer, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"], url_path="credit-note")
    def credit_note(self, request: Request, pk: str | None = None) -> Response:
        """A draft credit note rectifying this issued invoice (all of it, or the lines given)."""
        data = CreditNoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = _service_data(data.validated_data)
        note = self.call_service(services.credit_note_create, instance=self.get_object(), **values)
        return self._respond(note, status=201)

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def duplicate(self, request: Request, pk: str | None = None) -> Response:
        invoice = self.call_service(services.invoice_duplicate, instance=self.get_object())
        return self._respond(invoice, status=201)

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Send a draft bill for approval."""
        return self._respond(self.call_service(services.bill_submit, instance=self.get_object()))

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve a bill (not the person who entered it)."""
        invoice = self.call_service(
            services.bill_approve, instance=self.get_object(), user=request.user
        )
        return self._respond(invoice)

    @extend_schema(request=RejectSerializer, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        data = RejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = self.call_service(
            services.bill_reject, instance=self.get_object(), **data.validated_data
        )
        return self._respond(invoice)

    @extend_schema(
        request={"multipart/form-data": InvoiceImportSerializer},
        responses={201: dict, 400: dict},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request: Request) -> Response:
        """Import and issue sales invoices from a CSV or XLSX file, all or nothing."""
        from trastienda.billing.invoice_import_views import api_import

        return api_import(request)


router.register("billing/invoices", InvoiceViewSet, basename="billing-invoice")
