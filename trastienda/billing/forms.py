"""Forms of the sales invoice and supplier bill pages: the header (:class:`InvoiceForm`) and
the lines (:class:`InvoiceLineForm` in :data:`InvoiceLineFormSet`), built like the ledger's
entry form (shared select options, every row may be left blank, decimals typed in the user's
locale). They parse; the services (``invoice_create_draft`` / ``invoice_update_draft``)
decide. No company field: the view gives the company.
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from trastienda.billing import calc
from trastienda.billing.models import (
    Direction,
    Invoice,
    InvoiceSeries,
    Partner,
    PaymentTerm,
    Product,
    Tax,
)
from trastienda.core.forms import BootstrapMixin, CompanyModelForm
from trastienda.core.models import Company
from trastienda.core.money import currency_exponent
from trastienda.ledger.account_search import display_name, name_fields
from trastienda.ledger.forms import AmountField, FastSelect, SharedChoices, format_amount
from trastienda.ledger.models import Account, CostCentre, Currency

KINDS = {
    Direction.SALE: (Invoice.Kind.INVOICE, Invoice.Kind.SIMPLIFIED, Invoice.Kind.CREDIT_NOTE),
    Direction.PURCHASE: (Invoice.Kind.INVOICE, Invoice.Kind.CREDIT_NOTE),
}
SERIES_KIND = {
    Invoice.Kind.INVOICE: InvoiceSeries.Kind.INVOICE,
    Invoice.Kind.CREDIT_NOTE: InvoiceSeries.Kind.CREDIT_NOTE,
    Invoice.Kind.SIMPLIFIED: InvoiceSeries.Kind.SIMPLIFIED,
}
MAX_LINES = 500


def plain_decimal(value: Decimal | None) -> Decimal | None:
    """``Decimal("2.5000")`` → ``2.5``, ``Decimal("3.0000")`` → ``3`` (never ``3E+0``)."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def price_decimal(units: int, currency: str) -> Decimal:
    """A stored unit price as typed: at least the currency's decimals, more only if used
    (``100050`` EUR → ``10.005``, ``100000`` → ``10.00``)."""
    value = calc.units_to_price(units, currency)
    minimum = Decimal(1).scaleb(-currency_exponent(currency))
    if value == value.quantize(minimum):
        return value.quantize(minimum)
    return value.normalize()


def format_price(units: int, currency: str) -> str:
    """A stored unit price as the user's locale types it (``10,005`` in Spanish)."""
    return format_amount(price_decimal(units, currency))


def tax_scope(direction: str) -> tuple[str, str]:
    return ("sale", "both") if direction == Direction.SALE else ("purchase", "both")


class DataSelect(FastSelect):
    """:class:`FastSelect` whose options carry ``data-*`` attributes (``option_data`` maps an
    option's value to its attributes): what the page's script needs to fill related fields."""

    option_data: dict[str, dict[str, str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.option_data = {}

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        selected = set(self.format_value(value))
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        parts = [f'<select name="{html.escape(name)}"{attributes}>']
        for option_value, label in self.choices:
            text = "" if option_value is None else str(option_value)
            extra = "".join(
                f' data-{key}="{html.escape(str(data))}"'
                for key, data in self.option_data.get(text, {}).items()
            )
            mark = " selected" if text in selected else ""
            value_ = html.escape(text)
            parts.append(
                f'<option value="{value_}"{extra}{mark}>{html.escape(str(label))}</option>'
            )
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value and label is escaped


class FastSelectMultiple(FastSelect):
    """The multiple-choice :class:`FastSelect` (a line's taxes)."""

    allow_multiple_selected = True

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        return super().render(name, value, {**(attrs or {}), "multiple": True}, renderer)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        getter = getattr(data, "getlist", None)
        return getter(name) if getter is not None else data.get(name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False  # an unselected <select multiple> sends nothing: that is "no taxes"


# --- lines ------------------------------------------------------------------------------------


class InvoiceLineForm(forms.Form):
    """One line. ``choices``: a dict shared by the lines of one page, so the options of the
    selects (products, taxes, accounts, cost centres) are read once, not once per line."""

    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.none(), required=False, widget=DataSelect
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    quantity = AmountField(label=_("Quantity"), initial=Decimal(1))
    unit = forms.ChoiceField(
        label=_("Unit"), choices=Product.Unit.choices, initial=Product.Unit.UNIT, widget=FastSelect
    )
    unit_price = AmountField(label=_("Unit price"))
    discount = AmountField(label=_("Discount %"))
    taxes = forms.ModelMultipleChoiceField(
        label=_("Taxes"), queryset=Tax.objects.none(), required=False, widget=FastSelectMultiple
    )
    account = forms.ModelChoiceField(
        label=_("Account"), queryset=Account.objects.none(), required=False, widget=FastSelect
    )
    cost_centre = forms.ModelChoiceField(
        label=_("Cost centre"),
        queryset=CostCentre.objects.none(),
        required=False,
        widget=FastSelect,
    )

    def __init__(
        self,
        *args: Any,
        company: Company,
        direction: str,
        choices: dict[str, SharedChoices] | None = None,
        account_search: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        self.direction = direction
        choices = {} if choices is None else choices
        querysets: dict[str, Any] = {
            "product": Product.objects.for_company(company).filter(active=True).order_by("sku"),
            "taxes": Tax.objects.for_company(company).filter(
                active=True, scope__in=tax_scope(direction)
            ),
            "account": Account.objects.for_company(company)
            .filter(postable=True, active=True)
            .order_by("code"),
            "cost_centre": CostCentre.objects.for_company(company).filter(active=True),
        }
        fields = name_fields()
        if "product" not in choices:  # read as values: a catalogue can be long
            rows = querysets["product"].values("id", "sku", *fields)
            choices["product"] = SharedChoices(
                [("", "—"), *((r["id"], f"{r['sku']} · {display_name(r, fields)}") for r in rows)]
            )
        if "account" not in choices:
            rows = querysets["account"].values("id", "code", *fields)
            choices["account"] = SharedChoices(
                [("", "—"), *((r["id"], f"{r['code']} · {display_name(r, fields)}") for r in rows)]
            )
        if "taxes" not in choices:  # the usual VAT first, highest rate first; codes are short
            order = {Tax.Kind.VAT: 0, Tax.Kind.SURCHARGE: 1, Tax.Kind.WITHHOLDING: 2}
            taxes = sorted(
                querysets["taxes"],
                key=lambda t: (
                    order.get(t.kind, 3),
                    t.reverse_charge or t.category != Tax.Category.STANDARD,
                    -t.rate,
                    t.code,
                ),
            )
            choices["taxes"] = SharedChoices([(tax.pk, tax.code) for tax in taxes])
        for name, queryset in querysets.items():
            field = self.fields[name]
            field.queryset = queryset  # type: ignore[attr-defined]  # validation reads it
            if name not in choices:
                choices[name] = SharedChoices(list(field.choices))  # type: ignore[attr-defined]
            field.widget.choices = choices[name]
        if account_search:  # the ledger's picker (static/ledger/account_picker.js)
            self.fields["account"].widget.attrs["data-account-search"] = reverse(
                "ledger:account_search", kwargs={"company": company.code}
            )
        self.fields["taxes"].widget.attrs["size"] = "2"
        for field in self.fields.values():
            widget = field.widget
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = (widget.attrs.get("class", "") + f" {css} {css}-sm").strip()
            widget.attrs.setdefault("aria-label", str(field.label))
        for name in ("quantity", "unit_price", "discount"):
            self.fields[name].widget.attrs["class"] += " num"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"

    def as_service_line(self) -> dict[str, Any]:
        """The line as the services take it: decimals, records; what is left empty is left
        out, so the service applies its defaults (a product's description, price and unit)."""
        data = self.cleaned_data
        product = data.get("product")
        line: dict[str, Any] = {
            "description": (data.get("description") or "").strip(),
            "taxes": list(data.get("taxes") or []),
            "account": data.get("account"),
            "product": product,
            "cost_centre": data.get("cost_centre"),
        }
        for name in ("quantity", "unit_price", "discount"):
            if data.get(name) is not None:
                line[name] = data[name]
        if product is None or "unit" in self.changed_data:
            line["unit"] = data.get("unit") or Product.Unit.UNIT
        return line


class BaseInvoiceLineFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        # Every row may be left blank (the page offers empty rows); the rows share one read of
        # the selects' options.
        if not hasattr(self, "_line_choices"):
            self._line_choices: dict[str, SharedChoices] = {}
        kwargs = {**super().get_form_kwargs(index), "empty_permitted": True}
        kwargs.setdefault("choices", self._line_choices)
        return kwargs

    def non_blank_forms(self) -> list[InvoiceLineForm]:
        """The rows the user filled, in order (an untouched row is ignored, not an error)."""
        return [
            form
            for form in self.forms
            if form.has_changed() and getattr(form, "cleaned_data", None) is not None
        ]


InvoiceLineFormSet = forms.formset_factory(
    InvoiceLineForm, formset=BaseInvoiceLineFormSet, extra=0, min_num=0, max_num=MAX_LINES
)


def invoice_line_initial(invoice: Invoice) -> list[dict[str, Any]]:
    """The initial data of the line formset for an existing draft."""
    rows = []
    lines = invoice.lines.prefetch_related("taxes").order_by("line_no")
    for line in lines:
        rows.append(
            {
                "product": line.product_id,
                "description": line.description,
                "quantity": plain_decimal(line.quantity),
                "unit": line.unit,
                "unit_price": price_decimal(line.unit_price, invoice.currency),
                "discount": plain_decimal(line.discount) if line.discount else None,
                "taxes": [tax.pk for tax in line.taxes.all()],
                "account": line.account_id,
                "cost_centre": line.cost_centre_id,
            }
        )
    return rows


# --- header -----------------------------------------------------------------------------------


class InvoiceForm(CompanyModelForm):
    """The header of a sales invoice or supplier bill (``direction``). Its lines are
    :data:`InvoiceLineFormSet`; a bill may carry the supplier's file (``attachment_file``)."""

    currency = forms.ChoiceField(label=_("Currency"), required=False)
    rate = AmountField(
        label=_("Exchange rate"),
        help_text=_("Company currency per unit of the invoice currency."),
    )
    rectifies = forms.CharField(
        label=_("Rectified invoice"),
        max_length=60,
        required=False,
        help_text=_("The number of the issued invoice this credit note corrects."),
    )
    attachment_file = forms.FileField(
        label=_("Supplier's document"),
        required=False,
        help_text=_("The bill as received (PDF or image); it is filed in the documents."),
    )

    class Meta:
        model = Invoice
        fields = (
            "partner",
            "kind",
            "series",
            "supplier_reference",
            "date",
            "operation_date",
            "due_date",
            "payment_term",
            "currency",
            "rate",
            "language",
            "rectifies",
            "rectification_reason",
            "notes",
        )
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 2}),
            "partner": DataSelect,
            "series": DataSelect,
            "payment_term": FastSelect,
        }
        help_texts = {
            "due_date": _("Empty: from the payment term."),
            "payment_term": _("Empty: the partner's."),
        }

    def __init__(self, *args: Any, direction: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.direction = direction
        sale = direction == Direction.SALE
        drop = ("supplier_reference", "attachment_file") if sale else ("series", "language")
        for name in drop:
            del self.fields[name]
        kind = self.fields["kind"]
        kind.choices = [(k.value, k.label) for k in KINDS[Direction(direction)]]  # type: ignore[attr-defined]
        self.fields["partner"].label = _("Customer") if sale else _("Supplier")
        if sale:
            self.fields["series"].help_text = _("Empty: the first active series of the kind.")
        else:
            self.fields["supplier_reference"].required = True
            self.fields["supplier_reference"].help_text = _("The number printed on the bill.")
        instance = self.instance
        if instance is not None and instance.pk:
            original = instance.rectifies
            if original is not None:
                self.initial["rectifies"] = original.number or original.supplier_reference
            if instance.rate is not None:
                self.initial["rate"] = plain_decimal(Decimal(instance.rate))
        else:
            self.initial.setdefault("rate", None)
        self.company: Company | None = None

    def set_company(self, company: Company) -> None:
        """Narrow the choices to the company's records (the current ones kept)."""
        self.company = company
        instance = self.instance if self.instance.pk else None
        sale = self.direction == Direction.SALE
        partners = Partner.objects.for_company(company).filter(
            active=True, **({"is_customer": True} if sale else {"is_supplier": True})
        )
        if instance is not None:
            partners = partners | Partner.objects.filter(pk=instance.partner_id)
        partners = partners.order_by("code").prefetch_related(
            "sale_taxes" if sale else "purchase_taxes"
        )
        partner_field = self.fields["partner"]
        partner_field.queryset = partners  # type: ignore[attr-defined]
        widget = partner_field.widget
        widget.choices = [("", "—"), *((p.pk, f"{p.code} · {p.legal_name}") for p in partners)]
        widget.option_data = {
            str(p.pk): {
                "currency": p.currency or company.base_currency,
                "term": str(p.payment_term_id or ""),
                "language": p.language,
                "taxes": ",".join(
                    str(t.pk) for t in (p.sale_taxes.all() if sale else p.purchase_taxes.all())
                ),
                "blocked": "1" if p.blocked else "",
            }
            for p in partners
        }
        if sale:
            series = InvoiceSeries.objects.for_company(company).filter(active=True)
            if instance is not None and instance.series_id:
                series = series | InvoiceSeries.objects.filter(pk=instance.series_id)
            series = series.order_by("kind", "code")
            series_field = self.fields["series"]
            series_field.queryset = series  # type: ignore[attr-defined]
            series_field.widget.choices = [
                ("", "—"),
                *((s.pk, f"{s.code} · {s.name}") for s in series),
            ]
            series_field.widget.option_data = {str(s.pk): {"kind": s.kind} for s in series}
        terms = PaymentTerm.objects.for_company(company).filter(active=True)
        if instance is not None and instance.payment_term_id:
            terms = terms | PaymentTerm.objects.filter(pk=instance.payment_term_id)
        term_field = self.fields["payment_term"]
        term_field.queryset = terms.order_by("code")  # type: ignore[attr-defined]
        term_field.widget.choices = [("", "—"), *((t.pk, str(t)) for t in terms.order_by("code"))]
        codes = list(
            Currency.objects.filter(active=True).order_by("code").values_list("code", flat=True)
        )
        base = company.base_currency
        if base not in codes:
            codes.insert(0, base)
        if instance is not None and instance.currency not in codes:
            codes.append(instance.currency)
        self.fields["currency"].choices = [  # type: ignore[attr-defined]
            ("", _("The partner's")),
            *((code, code) for code in codes),
        ]

    def _post_clean(self) -> None:
        """Nothing: the services validate the invoice (and the form never touches the
        instance it was given)."""

    def clean_attachment_file(self) -> Any:
        from trastienda.core.uploads import validate_upload

        upload = self.cleaned_data.get("attachment_file")
        if upload and hasattr(upload, "content_type"):
            validate_upload(upload, allowed=("pdf", "png", "jpg", "jpeg", "xml"))
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        company = self.company
        if company is None:  # pragma: no cover - the view always sets it
            return data
        partner = data.get("partner")
        base = company.base_currency
        currency = data.get("currency") or (partner.currency if partner else "") or base
        data["currency"] = currency
        if currency == base:
            data["rate"] = Decimal(1)
        elif data.get("rate") is None and "rate" not in self.errors:
            self.add_error(
                "rate",
                _("Enter how many %(base)s one %(currency)s is worth.")
                % {"base": base, "currency": currency},
            )
        text = (data.get("rectifies") or "").strip()
        data["rectifies"] = None
        if text:
            data["rectifies"] = self._rectified(company, text, partner)
        return data

    def _rectified(self, company: Company, text: str, partner: Partner | None) -> Invoice | None:
        candidates = Invoice.objects.for_company(company).filter(
            direction=self.direction, state=Invoice.State.ISSUED
        )
        if self.direction == Direction.SALE:
            found = list(candidates.filter(number=text)[:2])
        else:
            found = list(candidates.filter(supplier_reference=text)[:20])
            if len(found) > 1 and partner is not None:
                found = [bill for bill in found if bill.partner_id == partner.pk]
        if not found:
            self.add_error("rectifies", _("No issued invoice %(number)s.") % {"number": text})
            return None
        if len(found) > 1:
            self.add_error(
                "rectifies", _("Several bills are numbered %(number)s.") % {"number": text}
            )
            return None
        return found[0]

    def service_data(self) -> dict[str, Any]:
        """The header as ``invoice_create_draft`` / ``invoice_update_draft`` take it."""
        data = self.cleaned_data
        values: dict[str, Any] = {
            "partner": data["partner"],
            "kind": data.get("kind") or Invoice.Kind.INVOICE,
            "date": data["date"],
            "operation_date": data.get("operation_date"),
            "due_date": data.get("due_date"),
            "currency": data["currency"],
            "rate": data.get("rate") or Decimal(1),
            "payment_term": data.get("payment_term"),
            "rectifies": data.get("rectifies"),
            "rectification_reason": data.get("rectification_reason") or "",
            "notes": data.get("notes") or "",
        }
        if self.direction == Direction.SALE:
            values["series"] = data.get("series")
            values["language"] = data.get("language") or ""
        else:
            values["supplier_reference"] = (data.get("supplier_reference") or "").strip()
        return values


class CreditNoteForm(BootstrapMixin, forms.Form):
    """The detail page's "Credit note" action: the date and the reason."""

    date = forms.DateField(label=_("Date"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=300)


class RejectForm(BootstrapMixin, forms.Form):
    """Sending a bill back to draft: an optional reason (added to its notes)."""

    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
