"""REST API of billing's reference data, under ``/api/v1/billing/``: ``partners`` (with their
``contacts`` and ``bank_accounts`` nested, ``import`` of a CSV/XLSX file and the
``duplicates`` of one partner), ``products``, ``payment-terms``, ``taxes``, ``series`` and
``settings``.

Money and prices travel as decimal strings (``"1500.00"``, a price ``"12.5000"``), in the
company currency; a JSON number with a fraction is refused (it would be a float). Related
records are named by their codes (``payment_term: "30"``, ``sale_taxes: ["IVA21"]``,
``receivable_account: "4300"``, ``journal: "SAL"``). Writes go through the services of
:mod:`trastienda.billing.partners`: a ValidationError is a 400 naming the field
(``tax_id``, ``bank_accounts.0.iban``) and nothing is written.

Nested lists on update: ``contacts`` / ``bank_accounts``, when sent, are the partner's
complete lists — items with an ``id`` are kept and updated, items without one created, and
the partner's others deleted. Leave a list out to leave it as it is.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.billing import partners as services
from trastienda.billing.models import (
    BillingSettings,
    InvoiceSeries,
    Partner,
    PaymentTerm,
    Product,
    Tax,
)
from trastienda.billing.partner_filters import (
    BillingSettingsFilterSet,
    InvoiceSeriesFilterSet,
    PartnerFilterSet,
    PaymentTermFilterSet,
    ProductFilterSet,
    TaxFilterSet,
)
from trastienda.core.api import (
    CompanyModelSerializer,
    CompanyModelViewSet,
    CompanyReadOnlyModelViewSet,
    router,
)
from trastienda.core.money import Money
from trastienda.core.uploads import inspect_upload
from trastienda.ledger.models import Account, Journal

FLOAT_REFUSED = gettext_lazy('Send the number as a decimal string, such as "1234.56".')


@extend_schema_field(OpenApiTypes.STR)
class DecimalText(serializers.Field):
    """A decimal received and sent as text (``"21.5"``); ints accepted, floats refused."""

    default_error_messages = {"invalid": gettext_lazy("Enter a number, such as 1234.56.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal | None:
        if isinstance(data, bool | float):
            raise serializers.ValidationError(str(FLOAT_REFUSED))
        if data is None or (isinstance(data, str) and not data.strip()):
            if self.allow_null:
                return None
            self.fail("invalid")
        try:
            number = Decimal(str(data).strip())
        except InvalidOperation:
            self.fail("invalid")
        if not number.is_finite() or (not number.is_zero() and number.adjusted() > 30):
            self.fail("invalid")
        return number

    def to_representation(self, value: Any) -> Any:
        return None if value is None else str(value)


class AmountText(DecimalText):
    """An amount stored in minor units of the company currency, as a decimal string."""

    def get_attribute(self, instance: Any) -> Any:
        return (super().get_attribute(instance), instance.company.base_currency)

    def to_representation(self, value: Any) -> Any:
        minor, currency = value
        return None if minor is None else str(Money(minor, currency).to_decimal())


class PriceText(DecimalText):
    """A unit price stored in price units of the company currency, as a decimal string."""

    def get_attribute(self, instance: Any) -> Any:
        return (super().get_attribute(instance), instance.company.base_currency)

    def to_representation(self, value: Any) -> Any:
        units, currency = value
        return None if units is None else str(services.units_to_price(units, currency))


def _code_of(model: Any, **kwargs: Any) -> Any:
    return serializers.SlugRelatedField(
        slug_field="code", queryset=model.objects.all(), required=False, **kwargs
    )


class ContactSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False)
    name = serializers.CharField(max_length=150)
    role = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    receives_invoices = serializers.BooleanField(required=False)


class BankAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False)
    iban = serializers.CharField(max_length=50)
    bic = serializers.CharField(max_length=20, required=False, allow_blank=True)
    is_default = serializers.BooleanField(required=False)


class PartnerSerializer(CompanyModelSerializer):
    payment_term = _code_of(PaymentTerm, allow_null=True)
    receivable_account = _code_of(Account, allow_null=True)
    payable_account = _code_of(Account, allow_null=True)
    income_account = _code_of(Account, allow_null=True)
    expense_account = _code_of(Account, allow_null=True)
    sale_taxes = _code_of(Tax, many=True)
    purchase_taxes = _code_of(Tax, many=True)
    credit_limit = AmountText(allow_null=True, help_text=gettext_lazy("Empty: no limit."))
    tax_id = serializers.CharField(max_length=40, required=False, allow_blank=True)
    contacts = ContactSerializer(many=True, required=False)
    bank_accounts = BankAccountSerializer(many=True, required=False)

    class Meta:
        model = Partner
        fields = [
            "id",
            *services.PARTNER_FIELDS,
            "created_at",
            "contacts",
            "bank_accounts",
        ]
        read_only_fields = ["created_at"]
        extra_kwargs = {"country": {"required": False}, "language": {"required": False}}


class DuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    legal_name = serializers.CharField()
    tax_id = serializers.CharField()


class PartnerImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=gettext_lazy("CSV or XLSX file, one partner a row."))


class PartnerViewSet(CompanyModelViewSet):
    """Customers and suppliers, with their contacts and bank accounts."""

    model = Partner
    serializer_class = PartnerSerializer
    filterset_class = PartnerFilterSet  # q, is_customer, is_supplier, country, blocked, active
    ordering_fields = ["code", "legal_name", "country", "created_at"]
    select_related = (
        "company",
        "payment_term",
        "receivable_account",
        "payable_account",
        "income_account",
        "expense_account",
    )
    prefetch_related = ("contacts", "bank_accounts", "sale_taxes", "purchase_taxes")
    create_service = services.partner_create
    update_service = services.partner_update
    delete_service = services.partner_delete
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_perms = {"import_file": ("add", "change"), "duplicates": "view"}

    @extend_schema(responses=DuplicateSerializer(many=True))
    @action(detail=True, methods=["get"])
    def duplicates(self, request: Request, pk: str | None = None) -> Response:
        """Other partners with the same normalised legal or trade name (possible duplicates)."""
        found = services.partner_possible_duplicates(partner=self.get_object())
        return Response(DuplicateSerializer(found, many=True).data)

    @extend_schema(
        request={"multipart/form-data": PartnerImportSerializer},
        responses={201: dict, 400: dict},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request: Request) -> Response:
        """Import a CSV or XLSX file of partners, all or nothing: 201 with what was created
        and updated, 400 with the problems by file line (``fields: {"line 7": [...]}``)."""
        from trastienda.billing import partner_imports

        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"file": [_("Upload a file.")]})
        try:
            inspect_upload(upload, allowed=("csv", "xlsx"))
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"file": exc.messages}) from exc
        try:
            result = partner_imports.partners_import(
                company=request.company,  # type: ignore[attr-defined]
                content=upload.read(),
                filename=upload.name,
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(dict(partner_imports.error_list(exc))) from exc
        return Response(
            {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "bank_accounts": result.bank_accounts,
                "rows": result.rows,
                "sha256": result.sha256,
            },
            status=status.HTTP_201_CREATED,
        )


class ProductSerializer(CompanyModelSerializer):
    sale_price = PriceText()
    purchase_price = PriceText()
    sale_taxes = _code_of(Tax, many=True)
    purchase_taxes = _code_of(Tax, many=True)
    income_account = _code_of(Account, allow_null=True)
    expense_account = _code_of(Account, allow_null=True)
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "name_es",
            "name_it",
            "name_en",
            "unit",
            "sale_price",
            "purchase_price",
            "sale_taxes",
            "purchase_taxes",
            "income_account",
            "expense_account",
            "active",
        ]


class ProductViewSet(CompanyModelViewSet):
    """Products and services; prices with up to the currency's decimals plus two."""

    model = Product
    serializer_class = ProductSerializer
    filterset_class = ProductFilterSet
    ordering_fields = ["sku", "name_en", "sale_price"]
    select_related = ("company", "income_account", "expense_account")
    prefetch_related = ("sale_taxes", "purchase_taxes")
    create_service = services.product_create
    update_service = services.product_update
    delete_service = services.product_delete


class PaymentTermSerializer(CompanyModelSerializer):
    class Meta:
        model = PaymentTerm
        fields = ["id", "code", "name", "days", "end_of_month", "active"]


class PaymentTermViewSet(CompanyModelViewSet):
    """Payment terms: ``days`` such as ``"0"``, ``"30"`` or ``"30/60/90"``."""

    model = PaymentTerm
    serializer_class = PaymentTermSerializer
    filterset_class = PaymentTermFilterSet
    ordering_fields = ["code", "name"]
    create_service = services.payment_term_create
    update_service = services.payment_term_update
    delete_service = services.payment_term_delete


class TaxSerializer(CompanyModelSerializer):
    rate = DecimalText(help_text=gettext_lazy('A percentage, such as "21" or "5.2".'))
    sale_account = _code_of(Account, allow_null=True)
    purchase_account = _code_of(Account, allow_null=True)
    reverse_charge_account = _code_of(Account, allow_null=True)
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Tax
        fields = ["id", "name", *services.TAX_FIELDS]


class TaxViewSet(CompanyModelViewSet):
    """VAT, equivalence surcharges and withholdings, with their accounts and legal mentions."""

    model = Tax
    serializer_class = TaxSerializer
    filterset_class = TaxFilterSet
    ordering_fields = ["code", "kind", "rate"]
    select_related = ("company", "sale_account", "purchase_account", "reverse_charge_account")
    create_service = services.tax_create
    update_service = services.tax_update
    delete_service = services.tax_delete


class InvoiceSeriesSerializer(CompanyModelSerializer):
    journal = serializers.SlugRelatedField(slug_field="code", queryset=Journal.objects.all())

    class Meta:
        model = InvoiceSeries
        fields = ["id", *services.SERIES_FIELDS]


class InvoiceSeriesViewSet(CompanyModelViewSet):
    """Numbering series of sales invoices, on a sales journal."""

    model = InvoiceSeries
    serializer_class = InvoiceSeriesSerializer
    filterset_class = InvoiceSeriesFilterSet
    ordering_fields = ["code", "name"]
    select_related = ("company", "journal")
    create_service = services.series_create
    update_service = services.series_update
    delete_service = services.series_delete


class BillingSettingsSerializer(CompanyModelSerializer):
    approval_threshold = AmountText(allow_null=True)
    write_off_limit = AmountText()
    late_interest_rate = DecimalText()
    write_off_income_account = _code_of(Account, allow_null=True)
    write_off_expense_account = _code_of(Account, allow_null=True)
    customer_account = _code_of(Account, allow_null=True)
    supplier_account = _code_of(Account, allow_null=True)
    income_account = _code_of(Account, allow_null=True)
    expense_account = _code_of(Account, allow_null=True)
    late_fee_account = _code_of(Account, allow_null=True)
    iban = serializers.CharField(max_length=50, required=False, allow_blank=True)
    bic = serializers.CharField(max_length=20, required=False, allow_blank=True)

    class Meta:
        model = BillingSettings
        fields = ["id", *services.SETTINGS_FIELDS]


class BillingSettingsViewSet(mixins.UpdateModelMixin, CompanyReadOnlyModelViewSet):
    """The company's billing settings (one row): read, and change with PUT or PATCH."""

    model = BillingSettings
    queryset = BillingSettings.objects.order_by("pk")
    serializer_class = BillingSettingsSerializer
    filterset_class = BillingSettingsFilterSet
    select_related = ("company",)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = self.call_service(
            services.settings_update,
            serializer,
            company=serializer.instance.company,
            **serializer.validated_data,
        )


router.register("billing/partners", PartnerViewSet, basename="billing-partner")
router.register("billing/products", ProductViewSet, basename="billing-product")
router.register("billing/payment-terms", PaymentTermViewSet, basename="billing-paymentterm")
router.register("billing/taxes", TaxViewSet, basename="billing-tax")
router.register("billing/series", InvoiceSeriesViewSet, basename="billing-series")
router.register("billing/settings", BillingSettingsViewSet, basename="billing-settings")
