"""Billing: partners, products, taxes, sales invoices, supplier bills, payments, dunning.

Depends on core, documents and the ledger (accounts, journals, posting). Amounts are integer
minor units of the document's currency; unit prices are integers in units of
``10 ** -(exponent + PRICE_EXTRA_DIGITS)`` of the currency (EUR prices to 4 decimals).
Quantities, percentages and rates are decimals (they are not money). See
``trastienda/billing/DESIGN.md``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from trastienda.billing.calc import PRICE_EXTRA_DIGITS  # noqa: F401
from trastienda.core.models import CompanyOwned, Language


def _localised(obj: Any, field: str = "name") -> str:
    language = (get_language() or "en")[:2]
    names = {code: getattr(obj, f"{field}_{code}") for code in ("es", "it", "en")}
    return names.get(language) or names["en"] or names["es"] or names["it"]


class Direction(models.TextChoices):
    SALE = "sale", _("Sale")
    PURCHASE = "purchase", _("Purchase")


class PaymentTerm(CompanyOwned):
    """When an invoice falls due: one or more instalments ``days`` after the invoice date.

    ``days`` is a slash-separated list: ``0`` (on receipt), ``30``, ``30/60/90``. The total is
    split into equal instalments (the last one takes the rounding). ``end_of_month`` moves each
    due date to the end of its month.
    """

    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    days = models.CharField(
        _("days"), max_length=60, default="30", help_text=_("e.g. 0, 30, or 30/60/90.")
    )
    end_of_month = models.BooleanField(_("end of month"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("payment term")
        verbose_name_plural = _("payment terms")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="billing_term_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def day_list(self) -> list[int]:
        return [int(part) for part in self.days.split("/") if part.strip()]


class Tax(CompanyOwned):
    """A tax rule: VAT (IVA), equivalence surcharge (recargo) or withholding (IRPF, ritenuta).

    ``rate`` is a percentage. A withholding is subtracted from what the customer pays. The
    EN 16931 ``category`` (S standard, Z zero, E exempt, AE reverse charge, K intra-EU, G
    export, O outside scope) and the Italian ``nature`` (N1 to N7) go on the e-invoice and on
    the PDF's legal mentions. ``reverse_charge`` on a purchase: the buyer books both the input
    and the output VAT. ``split_payment`` (Italy, public bodies): the customer pays the VAT
    to the State, so it is not due to the seller.
    """

    class Kind(models.TextChoices):
        VAT = "vat", _("VAT")
        SURCHARGE = "surcharge", _("Equivalence surcharge")
        WITHHOLDING = "withholding", _("Withholding")

    class Scope(models.TextChoices):
        SALE = "sale", _("Sales")
        PURCHASE = "purchase", _("Purchases")
        BOTH = "both", _("Sales and purchases")

    class Category(models.TextChoices):
        STANDARD = "S", _("Standard rate")
        ZERO = "Z", _("Zero rated")
        EXEMPT = "E", _("Exempt")
        REVERSE_CHARGE = "AE", _("Reverse charge")
        INTRA_EU = "K", _("Intra-EU supply")
        EXPORT = "G", _("Export outside the EU")
        OUTSIDE_SCOPE = "O", _("Outside the scope of VAT")

    code = models.CharField(_("code"), max_length=20)
    name_es = models.CharField(_("name (Spanish)"), max_length=120, blank=True)
    name_it = models.CharField(_("name (Italian)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.VAT)
    scope = models.CharField(_("applies to"), max_length=10, choices=Scope.choices)
    rate = models.DecimalField(_("rate (%)"), max_digits=7, decimal_places=4)
    price_included = models.BooleanField(
        _("included in price"),
        default=False,
        help_text=_("Unit prices already include this tax (retail, simplified invoices)."),
    )
    category = models.CharField(
        _("VAT category"), max_length=2, choices=Category.choices, default=Category.STANDARD
    )
    nature = models.CharField(
        _("nature (Italy)"), max_length=6, blank=True, help_text=_("N1 to N7.4, for exempt lines.")
    )
    reverse_charge = models.BooleanField(_("reverse charge"), default=False)
    split_payment = models.BooleanField(_("split payment"), default=False)
    sale_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account on sales"),
    )
    purchase_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account on purchases"),
    )
    reverse_charge_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account of the self-assessed output tax"),
    )
    report_base_box = models.CharField(_("return box for the base"), max_length=10, blank=True)
    report_tax_box = models.CharField(_("return box for the tax"), max_length=10, blank=True)
    legal_mention_es = models.CharField(_("legal mention (Spanish)"), max_length=300, blank=True)
    legal_mention_it = models.CharField(_("legal mention (Italian)"), max_length=300, blank=True)
    legal_mention_en = models.CharField(_("legal mention (English)"), max_length=300, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("tax")
        verbose_name_plural = _("taxes")
        ordering = ["kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="billing_tax_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    @property
    def name(self) -> str:
        return _localised(self)

    def legal_mention(self, language: str) -> str:
        names = {
            "es": self.legal_mention_es,
            "it": self.legal_mention_it,
            "en": self.legal_mention_en,
        }
        return names.get(language) or self.legal_mention_en

    def get_absolute_url(self) -> str:
        return reverse("billing:tax_detail", kwargs={"company": self.company.code, "pk": self.pk})


class Partner(CompanyOwned):
    """A customer, a supplier, or both."""

    code = models.CharField(_("code"), max_length=20)
    legal_name = models.CharField(_("legal name"), max_length=200)
    trade_name = models.CharField(_("trade name"), max_length=200, blank=True)
    is_customer = models.BooleanField(_("customer"), default=True)
    is_supplier = models.BooleanField(_("supplier"), default=False)
    country = models.CharField(_("country"), max_length=2, default="ES")
    tax_id = models.CharField(_("tax id"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.SPANISH
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    payment_term = models.ForeignKey(
        PaymentTerm,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment term"),
    )
    receivable_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("receivable account"),
    )
    payable_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payable account"),
    )
    income_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default income account"),
    )
    expense_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default expense account"),
    )
    sale_taxes = models.ManyToManyField(
        Tax, blank=True, related_name="+", verbose_name=_("default taxes on sales")
    )
    purchase_taxes = models.ManyToManyField(
        Tax, blank=True, related_name="+", verbose_name=_("default taxes on purchases")
    )
    credit_limit = models.BigIntegerField(
        _("credit limit"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    blocked = models.BooleanField(
        _("blocked"), default=False, help_text=_("No new invoices while blocked (collections).")
    )
    notes = models.TextField(_("notes"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="billing_partner_code_unique"),
        ]
        indexes = [models.Index(fields=["company", "tax_id"], name="billing_partner_tax_id")]

    def __str__(self) -> str:
        return f"{self.code} · {self.legal_name}"

    def get_absolute_url(self) -> str:
        return reverse(
            "billing:partner_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class PartnerBankAccount(CompanyOwned):
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="bank_accounts", verbose_name=_("partner")
    )
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        verbose_name = _("partner bank account")
        verbose_name_plural = _("partner bank accounts")
        ordering = ["-is_default", "id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "iban"], name="billing_partner_iban_unique"),
        ]

    def __str__(self) -> str:
        return self.iban


class PartnerContact(CompanyOwned):
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("partner")
    )
    name = models.CharField(_("name"), max_length=150)
    role = models.CharField(_("role"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    receives_invoices = models.BooleanField(_("receives invoices"), default=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(CompanyOwned):
    class Unit(models.TextChoices):
        UNIT = "C62", pgettext_lazy("unit", "unit")
        HOUR = "HUR", _("hour")
        DAY = "DAY", _("day")
        KILOGRAM = "KGM", _("kilogram")
        METRE = "MTR", _("metre")
        LITRE = "LTR", _("litre")
        SERVICE = "E48", _("service")

    sku = models.CharField(_("SKU"), max_length=40)
    name_es = models.CharField(_("name (Spanish)"), max_length=200, blank=True)
    name_it = models.CharField(_("name (Italian)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=3, choices=Unit.choices, default=Unit.UNIT)
    sale_price = models.BigIntegerField(_("sale price"), default=0)
    purchase_price = models.BigIntegerField(_("purchase price"), default=0)
    sale_taxes = models.ManyToManyField(
        Tax, blank=True, related_name="+", verbose_name=_("taxes on sales")
    )
    purchase_taxes = models.ManyToManyField(
        Tax, blank=True, related_name="+", verbose_name=_("taxes on purchases")
    )
    income_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("income account"),
    )
    expense_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("expense account"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product or service")
        verbose_name_plural = _("products and services")
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["company", "sku"], name="billing_product_sku_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"

    @property
    def name(self) -> str:
        return _localised(self)

    def name_in(self, language: str) -> str:
        return getattr(self, f"name_{language}", "") or self.name

    def get_absolute_url(self) -> str:
        return reverse(
            "billing:product_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class BillingSettings(CompanyOwned):
    """Per-company settings of invoicing, payments and collections."""

    iban = models.CharField(_("IBAN for payments"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    legal_footer = models.TextField(
        _("legal mentions"),
        blank=True,
        help_text=_("Printed at the foot of every invoice (registry data, privacy notice)."),
    )
    approval_threshold = models.BigIntegerField(
        _("approval needed from"),
        null=True,
        blank=True,
        help_text=_(
            "Supplier bills with a total at or above this need a second person's approval."
        ),
    )
    write_off_limit = models.BigIntegerField(
        _("largest write-off"), default=0, help_text=_("Largest payment difference written off.")
    )
    write_off_income_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("write-off account (in favour)"),
    )
    write_off_expense_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("write-off account (against)"),
    )
    customer_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default receivable account"),
    )
    supplier_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default payable account"),
    )
    income_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default income account"),
    )
    expense_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default expense account"),
    )
    late_interest_rate = models.DecimalField(
        _("late-payment interest rate (%)"),
        max_digits=7,
        decimal_places=4,
        default=0,
        help_text=_(
            "Statutory rate per year (Spain: Law 3/2004; Italy: D.Lgs. 231/2002), "
            "published every half year."
        ),
    )
    late_fee_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account for late fees and interest"),
    )

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")
        constraints = [
            models.UniqueConstraint(fields=["company"], name="billing_settings_one_per_company"),
        ]

    def __str__(self) -> str:
        return str(_("Billing settings"))


class InvoiceSeries(CompanyOwned):
    """A numbering series of sales invoices: gap-free per fiscal year, dates non-decreasing."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoices")
        CREDIT_NOTE = "credit_note", _("Credit notes")
        SIMPLIFIED = "simplified", _("Simplified invoices")

    code = models.CharField(_("code"), max_length=10)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    number_format = models.CharField(
        _("number format"),
        max_length=60,
        default="{code}{year}-{number:05d}",
        help_text=_("Placeholders: {code}, {year}, {number}; e.g. F{year}-{number:05d}."),
    )
    journal = models.ForeignKey(
        "ledger.Journal", on_delete=models.PROTECT, related_name="+", verbose_name=_("journal")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("invoice series")
        verbose_name_plural = _("invoice series")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="billing_series_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class SeriesSequence(models.Model):
    """The last number and date issued in a series for a year; locked and bumped on issue."""

    company = models.ForeignKey("core.Company", on_delete=models.PROTECT, related_name="+")
    series = models.ForeignKey(InvoiceSeries, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveBigIntegerField(default=0)
    last_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="billing_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.series_id}/{self.year}: {self.last_number}"


class Invoice(CompanyOwned):
    """A sales invoice, credit note or simplified invoice, or a supplier bill.

    Drafts carry no number and are free to edit and delete. Issuing (a bill: posting) numbers
    the invoice in its series, freezes it and posts its journal entry, in one transaction.
    A credit note (``rectifies``) is the only way to cancel an issued invoice.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")
        SIMPLIFIED = "simplified", _("Simplified invoice")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        TO_APPROVE = "to_approve", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        ISSUED = "issued", _("Issued")

    class PaymentState(models.TextChoices):
        UNPAID = "unpaid", _("Unpaid")
        PARTLY_PAID = "partly_paid", _("Partly paid")
        PAID = "paid", _("Paid")

    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    payment_state = models.CharField(
        _("payment"), max_length=12, choices=PaymentState.choices, default=PaymentState.UNPAID
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("partner")
    )
    series = models.ForeignKey(
        InvoiceSeries,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("series"),
    )
    number = models.CharField(_("number"), max_length=60, null=True, blank=True)
    sequence_year = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    sequence_number = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    supplier_reference = models.CharField(
        _("supplier's number"), max_length=60, blank=True, help_text=_("The bill's own number.")
    )
    date = models.DateField(_("date"))
    operation_date = models.DateField(_("operation date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    rate = models.DecimalField(
        _("exchange rate"),
        max_digits=20,
        decimal_places=10,
        default=1,
        help_text=_("Company currency per unit of the invoice currency."),
    )
    payment_term = models.ForeignKey(
        PaymentTerm,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment term"),
    )
    rectifies = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("rectifies"),
    )
    rectification_reason = models.CharField(
        _("reason for the rectification"), max_length=300, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, blank=True)
    net_amount = models.BigIntegerField(_("net amount"), default=0)
    tax_amount = models.BigIntegerField(_("taxes"), default=0)
    withholding_amount = models.BigIntegerField(_("withholding"), default=0)
    total_amount = models.BigIntegerField(_("total"), default=0)
    payable_amount = models.BigIntegerField(
        _("amount due"),
        default=0,
        help_text=_("The total less withholding (and less VAT under split payment)."),
    )
    open_amount = models.BigIntegerField(_("outstanding"), default=0)
    entry = models.ForeignKey(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("journal entry"),
    )
    attachment = models.ForeignKey(
        "documents.Document",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("attached document"),
    )
    recurring = models.ForeignKey(
        "RecurringInvoice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("recurring schedule"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-date", "-id"]
        permissions = [
            ("issue_invoice", _("Can issue invoices and post bills")),
            ("approve_invoice", _("Can approve supplier bills")),
            ("send_invoice", _("Can e-mail invoices")),
        ]
        indexes = [
            # Lists by date; and, covering every column the days sales outstanding reads
            # (receivables.invoiced_in_query), its sum without reading the table.
            models.Index(
                fields=[
                    *("company", "direction", "date", "state", "kind"),
                    *("currency", "rate", "payable_amount"),
                ],
                name="billing_invoice_date",
            ),
            models.Index(fields=["company", "partner"], name="billing_invoice_partner"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "series", "number"],
                condition=models.Q(number__isnull=False),
                name="billing_invoice_number_unique",
            ),
            models.UniqueConstraint(
                fields=["series", "sequence_year", "sequence_number"],
                condition=models.Q(sequence_number__isnull=False),
                name="billing_invoice_sequence_unique",
            ),
            models.UniqueConstraint(
                fields=["company", "partner", "supplier_reference"],
                condition=models.Q(direction="purchase") & ~models.Q(supplier_reference=""),
                name="billing_bill_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        if self.number:
            return self.number
        if self.direction == Direction.PURCHASE and self.supplier_reference:
            return self.supplier_reference
        return str(_("Draft %(id)s") % {"id": self.pk})

    @property
    def is_issued(self) -> bool:
        return self.state == self.State.ISSUED

    @property
    def sign(self) -> int:
        """+1 for an invoice, -1 for a credit note (amounts are stored positive)."""
        return -1 if self.kind == self.Kind.CREDIT_NOTE else 1

    def get_absolute_url(self) -> str:
        name = (
            "billing:invoice_detail" if self.direction == Direction.SALE else "billing:bill_detail"
        )
        return reverse(name, kwargs={"company": self.company.code, "pk": self.pk})


class InvoiceLine(CompanyOwned):
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="lines", verbose_name=_("invoice")
    )
    line_no = models.PositiveIntegerField(_("line"))
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=15, decimal_places=4, default=1)
    unit = models.CharField(_("unit"), max_length=3, choices=Product.Unit.choices, default="C62")
    unit_price = models.BigIntegerField(_("unit price"), default=0)
    discount = models.DecimalField(_("discount (%)"), max_digits=7, decimal_places=4, default=0)
    taxes = models.ManyToManyField(Tax, blank=True, related_name="+", verbose_name=_("taxes"))
    account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    cost_centre = models.ForeignKey(
        "ledger.CostCentre",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cost centre"),
    )
    net_amount = models.BigIntegerField(_("net amount"), default=0)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "line_no"], name="billing_line_no_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.line_no}: {self.description}"


class InvoiceTax(CompanyOwned):
    """One row of an invoice's tax breakdown: the base and the amount per tax."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="tax_lines", verbose_name=_("invoice")
    )
    tax = models.ForeignKey(Tax, on_delete=models.PROTECT, related_name="+", verbose_name=_("tax"))
    base = models.BigIntegerField(_("base"))
    amount = models.BigIntegerField(_("amount"))

    class Meta:
        verbose_name = _("tax line")
        verbose_name_plural = _("tax lines")
        ordering = ["invoice", "id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "tax"], name="billing_invoice_tax_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.tax_id}: {self.base} / {self.amount}"


class Installment(CompanyOwned):
    """A due date of an issued invoice and what is still open of it."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="installments", verbose_name=_("invoice")
    )
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    due_date = models.DateField(_("due date"))
    amount = models.BigIntegerField(_("amount"))
    open_amount = models.BigIntegerField(_("outstanding"))
    # The open amount in the company currency, for ageing in one currency.
    open_base = models.BigIntegerField(_("outstanding (company currency)"), default=0)

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["due_date", "id"]
        indexes = [
            # Covers the aged report's aggregate (an index-only scan of the open instalments).
            models.Index(
                fields=["company", "direction", "partner", "due_date", "open_base", "open_amount"],
                name="billing_installment_open",
                condition=~models.Q(open_amount=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.due_date}: {self.open_amount}"


class Payment(CompanyOwned):
    """Money received from a customer or paid to a supplier, allocated to invoices.

    What is not allocated stays as the partner's credit (on the receivable or payable
    account) until a later allocation uses it. Undone only by reversal.
    """

    class State(models.TextChoices):
        POSTED = "posted", _("Posted")
        REVERSED = "reversed", _("Reversed")

    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.POSTED)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="payments", verbose_name=_("partner")
    )
    date = models.DateField(_("date"))
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    bank_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("bank or cash account"),
    )
    journal = models.ForeignKey(
        "ledger.Journal", on_delete=models.PROTECT, related_name="+", verbose_name=_("journal")
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    write_off_amount = models.BigIntegerField(_("written off"), default=0)
    unallocated_amount = models.BigIntegerField(_("credit kept"), default=0)
    entry = models.ForeignKey(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("journal entry"),
    )
    reversal_entry = models.ForeignKey(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reversal entry"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["company", "partner"], name="billing_payment_partner")]

    def __str__(self) -> str:
        return f"{self.date} {self.partner.code} {self.reference}".strip()

    def get_absolute_url(self) -> str:
        return reverse(
            "billing:payment_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class PaymentAllocation(CompanyOwned):
    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="allocations", verbose_name=_("payment")
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("invoice")
    )
    amount = models.BigIntegerField(_("amount"))

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["payment", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.invoice_id}: {self.amount}"


class RecurringInvoice(CompanyOwned):
    """A schedule that issues a copy of a template draft every ``interval_months``."""

    name = models.CharField(_("name"), max_length=100)
    template = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="+", verbose_name=_("template draft")
    )
    interval_months = models.PositiveSmallIntegerField(_("every (months)"), default=1)
    next_date = models.DateField(_("next date"))
    day = models.PositiveSmallIntegerField(
        _("day of the month"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The day invoices fall on (a shorter month's last day when it has fewer)."),
    )
    end_date = models.DateField(_("end date"), null=True, blank=True)
    auto_issue = models.BooleanField(
        _("issue automatically"), default=False, help_text=_("Otherwise a draft is created.")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("recurring invoice")
        verbose_name_plural = _("recurring invoices")
        ordering = ["next_date", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(
            "billing:recurringinvoice_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class InvoiceDelivery(CompanyOwned):
    """One e-mail of an invoice (or a dunning letter): to whom, when, by whom, how it went."""

    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("invoice"),
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="+", verbose_name=_("partner")
    )
    recipients = models.CharField(_("recipients"), max_length=500)
    subject = models.CharField(_("subject"), max_length=300)
    attachment_name = models.CharField(_("attachment"), max_length=200, blank=True)
    sent_by = models.CharField(_("sent by"), max_length=150, blank=True)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    ok = models.BooleanField(_("sent"), default=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("e-mail sent")
        verbose_name_plural = _("e-mails sent")
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.sent_at:%Y-%m-%d %H:%M} {self.recipients}"


# --- collections (dunning) ------------------------------------------------------------------


class DunningLevel(CompanyOwned):
    level = models.PositiveSmallIntegerField(_("level"))
    name = models.CharField(_("name"), max_length=100)
    days_overdue = models.PositiveIntegerField(_("days overdue"))
    fee = models.BigIntegerField(_("fee"), default=0)
    charge_interest = models.BooleanField(_("charge late-payment interest"), default=False)
    block_partner = models.BooleanField(_("block the partner"), default=False)
    text_es = models.TextField(_("letter text (Spanish)"), blank=True)
    text_it = models.TextField(_("letter text (Italian)"), blank=True)
    text_en = models.TextField(_("letter text (English)"), blank=True)

    class Meta:
        verbose_name = _("dunning level")
        verbose_name_plural = _("dunning levels")
        ordering = ["level"]
        constraints = [
            models.UniqueConstraint(fields=["company", "level"], name="billing_dunning_level"),
        ]

    def __str__(self) -> str:
        return f"{self.level} · {self.name}"

    def text_in(self, language: str) -> str:
        return getattr(self, f"text_{language}", "") or self.text_en


class DunningRun(CompanyOwned):
    class State(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Confirmed")
        DISCARDED = "discarded", _("Discarded")

    date = models.DateField(_("date"))
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PROPOSED
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    confirmed_by = models.CharField(_("confirmed by"), max_length=150, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dunning run")
        verbose_name_plural = _("dunning runs")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return str(_("Dunning run of %(date)s") % {"date": self.date})

    def get_absolute_url(self) -> str:
        return reverse(
            "billing:dunningrun_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class DunningLetter(CompanyOwned):
    """One partner's letter in a run: the overdue invoices, the level, the customer's credit
    set against them, fee and interest."""

    run = models.ForeignKey(
        DunningRun, on_delete=models.CASCADE, related_name="letters", verbose_name=_("run")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="dunning_letters", verbose_name=_("partner")
    )
    level = models.ForeignKey(
        DunningLevel, on_delete=models.PROTECT, related_name="+", verbose_name=_("level")
    )
    invoices = models.ManyToManyField(Invoice, related_name="+", verbose_name=_("invoices"))
    overdue_amount = models.BigIntegerField(_("overdue"))
    interest_amount = models.BigIntegerField(_("interest"), default=0)
    fee_amount = models.BigIntegerField(_("fee"), default=0)
    # The customer's credit (payments kept as credit, open credit notes) set against the
    # overdue amount, at most the overdue amount.
    credit_amount = models.BigIntegerField(_("customer credit"), default=0)
    currency = models.CharField(_("currency"), max_length=3)
    included = models.BooleanField(_("included"), default=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dunning letter")
        verbose_name_plural = _("dunning letters")
        ordering = ["run", "partner__code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_amount__gte=0),
                name="billing_dunningletter_credit_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} · {self.level}"

    @property
    def total_amount(self) -> int:
        """What the letter claims: overdue less credit, plus interest and fee (minor units)."""
        return self.overdue_amount - self.credit_amount + self.interest_amount + self.fee_amount


class PromiseToPay(CompanyOwned):
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="promises", verbose_name=_("partner")
    )
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invoice"),
    )
    promised_date = models.DateField(_("promised date"))
    amount = models.BigIntegerField(_("amount"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.CharField(_("recorded by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["-promised_date", "-id"]

    def __str__(self) -> str:
        return f"{self.partner} · {self.promised_date}"
