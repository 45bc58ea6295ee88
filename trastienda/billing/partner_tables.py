"""Tables of the reference-data lists of billing (django-tables2, see core/tables.py).

Amounts and prices are shown and exported as Decimals in the company currency; the partner
list's export uses the import's columns (codes, not labels, for the payment term), so the
file it gives can be imported back (:mod:`trastienda.billing.partner_imports`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from trastienda.billing.models import (
    BillingSettings,
    InvoiceSeries,
    Partner,
    PaymentTerm,
    Product,
    Tax,
)
from trastienda.billing.partners import amount_decimal, units_to_price
from trastienda.core.tables import BaseTable

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


def percent(rate: Decimal) -> Decimal:
    """A rate without its trailing zeros: 21.0000 → 21, 5.2000 → 5.2 (never 2E+1)."""
    return rate.quantize(Decimal(1)) if rate == rate.to_integral() else rate.normalize()


def _detail(record: Any) -> str:
    from django.urls import reverse

    meta = record._meta
    return reverse(
        f"billing:{meta.model_name}_detail",
        kwargs={"company": record.company.code, "pk": record.pk},
    )


class PartnerTable(BaseTable):
    code = tables.Column(linkify=_detail)
    legal_name = tables.Column(linkify=_detail)
    payment_term = tables.Column(order_by=("payment_term__code",))
    credit_limit = tables.Column(attrs=NUM)
    iban = tables.Column(accessor="default_iban", verbose_name=_("IBAN"), default="")
    bic = tables.Column(accessor="default_bic", verbose_name=_("BIC"), default="")

    class Meta(BaseTable.Meta):
        model = Partner
        fields = (
            "pk",
            "code",
            "legal_name",
            "trade_name",
            "tax_id",
            "country",
            "is_customer",
            "is_supplier",
            "address",
            "postal_code",
            "city",
            "province",
            "email",
            "phone",
            "language",
            "currency",
            "payment_term",
            "iban",
            "bic",
            "credit_limit",
            "blocked",
            "active",
            "notes",
        )
        default_columns = (
            "code",
            "legal_name",
            "tax_id",
            "country",
            "city",
            "is_customer",
            "is_supplier",
            "blocked",
        )

    def render_payment_term(self, record: Partner) -> str:
        return str(record.payment_term) if record.payment_term else ""

    def value_payment_term(self, record: Partner) -> str:
        return record.payment_term.code if record.payment_term else ""

    def render_credit_limit(self, record: Partner) -> Decimal | None:
        return amount_decimal(record.credit_limit, record.company.base_currency)

    def value_credit_limit(self, record: Partner) -> Decimal | None:
        return self.render_credit_limit(record)


class ProductTable(BaseTable):
    sku = tables.Column(linkify=_detail)
    name = tables.Column(
        accessor="name_en", verbose_name=_("Name"), order_by=("name_en", "sku"), linkify=_detail
    )
    sale_price = tables.Column(attrs=NUM)
    purchase_price = tables.Column(attrs=NUM)

    class Meta(BaseTable.Meta):
        model = Product
        fields = (
            "pk",
            "sku",
            "name",
            "unit",
            "sale_price",
            "purchase_price",
            "name_es",
            "name_it",
            "name_en",
            "active",
        )
        default_columns = ("sku", "name", "unit", "sale_price", "purchase_price", "active")

    def render_name(self, record: Product) -> str:
        return record.name

    def value_name(self, record: Product) -> str:
        return record.name

    def render_sale_price(self, record: Product) -> Decimal:
        return units_to_price(record.sale_price, record.company.base_currency)

    def value_sale_price(self, record: Product) -> Decimal:
        return self.render_sale_price(record)

    def render_purchase_price(self, record: Product) -> Decimal:
        return units_to_price(record.purchase_price, record.company.base_currency)

    def value_purchase_price(self, record: Product) -> Decimal:
        return self.render_purchase_price(record)


class PaymentTermTable(BaseTable):
    code = tables.Column(linkify=_detail)

    class Meta(BaseTable.Meta):
        model = PaymentTerm
        fields = ("pk", "code", "name", "days", "end_of_month", "active")
        default_columns = ("code", "name", "days", "end_of_month", "active")


class TaxTable(BaseTable):
    code = tables.Column(linkify=_detail)
    name = tables.Column(accessor="name_en", verbose_name=_("Name"), order_by=("name_en",))
    rate = tables.Column(attrs=NUM)
    sale_account = tables.Column(order_by=("sale_account__code",))
    purchase_account = tables.Column(order_by=("purchase_account__code",))

    class Meta(BaseTable.Meta):
        model = Tax
        fields = (
            "pk",
            "code",
            "name",
            "kind",
            "scope",
            "rate",
            "category",
            "nature",
            "price_included",
            "reverse_charge",
            "split_payment",
            "sale_account",
            "purchase_account",
            "report_base_box",
            "report_tax_box",
            "active",
        )
        default_columns = ("code", "name", "kind", "scope", "rate", "category", "active")

    def render_name(self, record: Tax) -> str:
        return record.name

    def value_name(self, record: Tax) -> str:
        return record.name

    def render_rate(self, record: Tax) -> Decimal:
        return percent(record.rate)

    def value_rate(self, record: Tax) -> Decimal:
        return record.rate

    def render_sale_account(self, record: Tax) -> str:
        return record.sale_account.code if record.sale_account else ""

    def value_sale_account(self, record: Tax) -> str:
        return self.render_sale_account(record)

    def render_purchase_account(self, record: Tax) -> str:
        return record.purchase_account.code if record.purchase_account else ""

    def value_purchase_account(self, record: Tax) -> str:
        return self.render_purchase_account(record)


class InvoiceSeriesTable(BaseTable):
    code = tables.Column(linkify=_detail)
    journal = tables.Column(order_by=("journal__code",))

    class Meta(BaseTable.Meta):
        model = InvoiceSeries
        fields = ("pk", "code", "name", "kind", "number_format", "journal", "active")
        default_columns = ("code", "name", "kind", "number_format", "journal", "active")

    def render_journal(self, record: InvoiceSeries) -> str:
        return record.journal.code

    def value_journal(self, record: InvoiceSeries) -> str:
        return record.journal.code


class BillingSettingsTable(BaseTable):
    name = tables.Column(
        accessor="pk", verbose_name=_("Settings"), linkify=_detail, orderable=False
    )
    iban = tables.Column()

    class Meta(BaseTable.Meta):
        model = BillingSettings
        fields = ("pk", "name", "iban", "late_interest_rate")
        default_columns = ("name", "iban", "late_interest_rate")

    def render_name(self, record: BillingSettings) -> str:
        return str(record)

    def value_name(self, record: BillingSettings) -> str:
        return str(record)
