"""Forms of billing's reference data. They parse; the services in
:mod:`trastienda.billing.partners` decide (the views show the services' errors on the fields).

Amounts and prices are typed as decimals in the user's locale (``1.234,56`` in Spanish) and
reach the services as Decimals; choices of accounts, taxes, payment terms and journals are
narrowed to the company's in ``set_company`` (called by the generic edit view).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trastienda.billing.models import (
    BillingSettings,
    InvoiceSeries,
    Partner,
    PartnerContact,
    PaymentTerm,
    Product,
    Tax,
)
from trastienda.billing.partners import (
    SETTINGS_ACCOUNTS,
    amount_decimal,
    country_choices,
    price_scale,
    units_to_price,
)
from trastienda.core.forms import BootstrapMixin, CompanyModelForm
from trastienda.core.models import Company
from trastienda.core.uploads import UploadValidator
from trastienda.ledger.forms import AmountField
from trastienda.ledger.models import Account, Journal


def postable_accounts(company: Company) -> Any:
    return Account.objects.for_company(company).filter(postable=True, active=True).order_by("code")


def _compact(value: Any) -> str:
    return "".join(str(value or "").split()).upper()


class CountryField(forms.ChoiceField):
    """ISO 3166 countries by name in the active language (the value is the code)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", country_choices)
        super().__init__(**kwargs)


class PartnerForm(CompanyModelForm):
    country = CountryField(label=_("Country"))
    tax_id = forms.CharField(  # typed with spaces, dots or dashes: longer than it is stored
        label=_("Tax id"),
        max_length=40,
        required=False,
        help_text=_(
            "NIF/CIF/NIE in Spain, partita IVA or codice fiscale in Italy, the VAT number "
            "elsewhere in the EU. Required for suppliers and for partners in Spain and Italy."
        ),
    )
    credit_limit = AmountField(
        label=_("Credit limit"), help_text=_("In the company currency. Empty: no limit.")
    )

    class Meta:
        model = Partner
        fields = (
            "code",
            "legal_name",
            "trade_name",
            "is_customer",
            "is_supplier",
            "country",
            "tax_id",
            "address",
            "postal_code",
            "city",
            "province",
            "email",
            "phone",
            "language",
            "currency",
            "payment_term",
            "receivable_account",
            "payable_account",
            "income_account",
            "expense_account",
            "sale_taxes",
            "purchase_taxes",
            "blocked",
            "active",
            "notes",
        )
        widgets = {
            "sale_taxes": forms.SelectMultiple(attrs={"size": 8}),
            "purchase_taxes": forms.SelectMultiple(attrs={"size": 8}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"currency": _("Empty: the company currency.")}

    field_order = [*Meta.fields[:-3], "credit_limit", *Meta.fields[-3:]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["credit_limit"] = amount_decimal(
                self.instance.credit_limit, self.instance.company.base_currency
            )

    def set_company(self, company: Company) -> None:
        if not self.instance.pk and not self.is_bound:
            self.initial.setdefault("country", company.country)
            self.initial.setdefault("language", company.language)
        current = self.instance.payment_term_id
        terms = PaymentTerm.objects.for_company(company).order_by("code")
        self.fields["payment_term"].queryset = (  # type: ignore[attr-defined]
            terms.filter(active=True) | terms.filter(pk=current)
            if current
            else terms.filter(active=True)
        )
        accounts = postable_accounts(company)
        for name in ("receivable_account", "payable_account", "income_account", "expense_account"):
            self.fields[name].queryset = accounts  # type: ignore[attr-defined]
        taxes = Tax.objects.for_company(company).order_by("kind", "code")
        self.fields["sale_taxes"].queryset = taxes.exclude(scope=Tax.Scope.PURCHASE)  # type: ignore[attr-defined]
        self.fields["purchase_taxes"].queryset = taxes.exclude(scope=Tax.Scope.SALE)  # type: ignore[attr-defined]
        self.fields["credit_limit"].label = _("Credit limit (%(currency)s)") % {
            "currency": company.base_currency
        }

    def clean_tax_id(self) -> str:
        text = str(self.cleaned_data.get("tax_id") or "")
        return "".join(c for c in text if c not in " .-").upper()


class ContactForm(BootstrapMixin, forms.ModelForm):
    """A contact person added on the partner's page."""

    class Meta:
        model = PartnerContact
        fields = ("name", "role", "email", "phone", "receives_invoices")


class BankAccountForm(BootstrapMixin, forms.Form):
    """A bank account added on the partner's page (checked by schwifty in the service)."""

    iban = forms.CharField(label=_("IBAN"), max_length=50)
    bic = forms.CharField(label=_("BIC"), max_length=20, required=False)
    is_default = forms.BooleanField(label=_("Default"), required=False)


class ProductForm(CompanyModelForm):
    sale_price = AmountField(label=_("Sale price"))
    purchase_price = AmountField(label=_("Purchase price"))

    class Meta:
        model = Product
        fields = (
            "sku",
            "name_es",
            "name_it",
            "name_en",
            "unit",
            "sale_taxes",
            "purchase_taxes",
            "income_account",
            "expense_account",
            "active",
        )
        widgets = {
            "sale_taxes": forms.SelectMultiple(attrs={"size": 8}),
            "purchase_taxes": forms.SelectMultiple(attrs={"size": 8}),
        }

    field_order = ["sku", "name_es", "name_it", "name_en", "unit", "sale_price", "purchase_price"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            currency = self.instance.company.base_currency
            self.initial["sale_price"] = units_to_price(self.instance.sale_price, currency)
            self.initial["purchase_price"] = units_to_price(self.instance.purchase_price, currency)

    def set_company(self, company: Company) -> None:
        accounts = postable_accounts(company)
        for name in ("income_account", "expense_account"):
            self.fields[name].queryset = accounts  # type: ignore[attr-defined]
        taxes = Tax.objects.for_company(company).order_by("kind", "code")
        self.fields["sale_taxes"].queryset = taxes.exclude(scope=Tax.Scope.PURCHASE)  # type: ignore[attr-defined]
        self.fields["purchase_taxes"].queryset = taxes.exclude(scope=Tax.Scope.SALE)  # type: ignore[attr-defined]
        places = price_scale(company.base_currency)
        for name, label in (
            ("sale_price", _("Sale price")),
            ("purchase_price", _("Purchase price")),
        ):
            self.fields[name].label = f"{label} ({company.base_currency})"
            self.fields[name].help_text = _("Up to %(places)d decimals.") % {"places": places}


class PaymentTermForm(CompanyModelForm):
    class Meta:
        model = PaymentTerm
        fields = ("code", "name", "days", "end_of_month", "active")


class TaxForm(CompanyModelForm):
    class Meta:
        model = Tax
        fields = (
            "code",
            "name_es",
            "name_it",
            "name_en",
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
            "reverse_charge_account",
            "report_base_box",
            "report_tax_box",
            "legal_mention_es",
            "legal_mention_it",
            "legal_mention_en",
            "active",
        )
        localized_fields = ("rate",)
        help_texts = {
            "purchase_account": _(
                "Empty on a purchase VAT: not deductible (it joins the expense of the lines)."
            ),
        }
        widgets = {
            "legal_mention_es": forms.Textarea(attrs={"rows": 2}),
            "legal_mention_it": forms.Textarea(attrs={"rows": 2}),
            "legal_mention_en": forms.Textarea(attrs={"rows": 2}),
        }

    def set_company(self, company: Company) -> None:
        accounts = postable_accounts(company)
        for name in ("sale_account", "purchase_account", "reverse_charge_account"):
            self.fields[name].queryset = accounts  # type: ignore[attr-defined]


class InvoiceSeriesForm(CompanyModelForm):
    class Meta:
        model = InvoiceSeries
        fields = ("code", "name", "kind", "number_format", "journal", "active")

    def set_company(self, company: Company) -> None:
        self.fields["journal"].queryset = (  # type: ignore[attr-defined]
            Journal.objects.for_company(company)
            .filter(type=Journal.Type.SALES, active=True)
            .order_by("code")
        )


class BillingSettingsForm(CompanyModelForm):
    iban = forms.CharField(label=_("IBAN for payments"), max_length=50, required=False)
    bic = forms.CharField(label=_("BIC"), max_length=20, required=False)
    approval_threshold = AmountField(
        label=_("Approval needed from"),
        help_text=_(
            "Supplier bills with a total at or above this need a second person's approval. "
            "Empty: no approval."
        ),
    )
    write_off_limit = AmountField(
        label=_("Largest write-off"), help_text=_("Largest payment difference written off.")
    )

    class Meta:
        model = BillingSettings
        fields = (
            "iban",
            "bic",
            "legal_footer",
            *SETTINGS_ACCOUNTS,
            "late_interest_rate",
        )
        localized_fields = ("late_interest_rate",)
        widgets = {"legal_footer": forms.Textarea(attrs={"rows": 3})}

    field_order = ["iban", "bic", "legal_footer", "approval_threshold", "write_off_limit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currency = self.instance.company.base_currency if self.instance.company_id else None
        if currency:
            self.initial["approval_threshold"] = amount_decimal(
                self.instance.approval_threshold, currency
            )
            self.initial["write_off_limit"] = amount_decimal(
                self.instance.write_off_limit, currency
            )

    def set_company(self, company: Company) -> None:
        accounts = postable_accounts(company)
        for name in SETTINGS_ACCOUNTS:
            self.fields[name].queryset = accounts  # type: ignore[attr-defined]
        for name in ("approval_threshold", "write_off_limit"):
            label = self.fields[name].label
            self.fields[name].label = f"{label} ({company.base_currency})"

    def clean_iban(self) -> str:
        return _compact(self.cleaned_data.get("iban"))

    def clean_bic(self) -> str:
        return _compact(self.cleaned_data.get("bic"))


class PartnerImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=_("File (CSV or XLSX)"), validators=[UploadValidator(allowed=("csv", "xlsx"))]
    )
