"""Forms of the ledger pages (no company field: the view sets it)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.choices import BaseChoiceIterator
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from trastienda.core.forms import BootstrapMixin, CompanyModelForm
from trastienda.core.models import Company
from trastienda.core.money import Money, currency_exponent
from trastienda.ledger.account_search import display_name, name_fields
from trastienda.ledger.models import (
    Account,
    CostCentre,
    Currency,
    ExchangeRate,
    FiscalYear,
    Journal,
    JournalEntry,
    LedgerSettings,
    Period,
    Project,
)
from trastienda.ledger.services import ACCOUNT_FIELDS


class ExchangeRateForm(CompanyModelForm):
    class Meta:
        model = ExchangeRate
        fields = ("date", "from_currency", "to_currency", "rate")


class AccountForm(CompanyModelForm):
    class Meta:
        model = Account
        fields = ACCOUNT_FIELDS

    def set_company(self, company: Company) -> None:
        field = self.fields["parent"]
        field.queryset = Account.objects.for_company(company).filter(postable=False)  # type: ignore[attr-defined]


class FiscalYearForm(CompanyModelForm):
    class Meta:
        model = FiscalYear
        fields = ("name", "start_date", "end_date", "state")


class PeriodForm(CompanyModelForm):
    class Meta:
        model = Period
        fields = ("state",)


class LedgerSettingsForm(CompanyModelForm):
    class Meta:
        model = LedgerSettings
        fields = ("hard_lock_date", "lock_date", "exchange_gain_account", "exchange_loss_account")

    def set_company(self, company: Company) -> None:
        accounts = Account.objects.for_company(company).filter(postable=True).order_by("code")
        for name in ("exchange_gain_account", "exchange_loss_account"):
            self.fields[name].queryset = accounts  # type: ignore[attr-defined]


class JournalForm(CompanyModelForm):
    class Meta:
        model = Journal
        fields = ("code", "name", "type", "number_format", "active")


class CostCentreForm(CompanyModelForm):
    class Meta:
        model = CostCentre
        fields = ("code", "name", "active")


class ProjectForm(CompanyModelForm):
    class Meta:
        model = Project
        fields = ("code", "name", "active")


def parse_amount(value: Any) -> Decimal | None:
    """A decimal typed in the user's locale ("1.234,56" in Spanish, "1,234.56" in English).

    Exact: the text becomes a Decimal, never a float. Where "." groups thousands (es, it),
    "1.000" and "12.345.678" are read as grouped whole numbers, as people there write them;
    any other lone "." ("12.5", from a numeric keypad) is the decimal point. Empty → None.
    Anything else → ValidationError.
    """
    if value in (None, ""):
        return None
    if isinstance(value, float):
        raise TypeError("floats are not accepted for amounts")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    text = str(value).strip().replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if not text:
        return None
    decimal_sep = str(get_format("DECIMAL_SEPARATOR"))
    thousand_sep = str(get_format("THOUSAND_SEPARATOR"))
    if decimal_sep != "." and decimal_sep in text:
        text = text.replace(thousand_sep, "").replace(decimal_sep, ".")
    elif thousand_sep == "." and GROUPED_RE.match(text):
        text = text.replace(".", "")
    elif thousand_sep != ".":
        text = text.replace(thousand_sep, "")
    if not AMOUNT_RE.match(text):
        raise forms.ValidationError(_("Enter a number."), code="invalid")
    return Decimal(text)


AMOUNT_RE = re.compile(r"^-?\d+(\.\d+)?$")
GROUPED_RE = re.compile(r"^-?\d{1,3}(\.\d{3})+$")


def format_amount(value: Decimal | None) -> str:
    """A Decimal as the user's locale types it (no grouping: it is read back by parse_amount)."""
    if value is None:
        return ""
    return str(value).replace(".", str(get_format("DECIMAL_SEPARATOR")))


class AmountField(forms.CharField):
    """A money amount typed as a decimal in the user's locale; cleans to Decimal or None."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "num"}),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return format_amount(value) if isinstance(value, Decimal) else value

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        return parse_amount(super().to_python(value))


class JournalEntryForm(CompanyModelForm):
    """The entry's header; its lines are :class:`EntryLineFormSet`."""

    class Meta:
        model = JournalEntry
        fields = ("journal", "date", "reference", "description")

    def set_company(self, company: Company) -> None:
        self.fields["journal"].queryset = Journal.objects.for_company(company).filter(  # type: ignore[attr-defined]
            active=True
        )


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} · {obj.name}"


class FastSelect(forms.Select):
    """``forms.Select``'s HTML, drawn in Python.

    A line of the entry form has hundreds of options (the chart, the currencies) and Django
    renders each option through its own template, about a millisecond apiece: a new line took
    over half a second, the page a second. This draws the same markup in a millisecond or two.
    """

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        selected = set(self.format_value(value))
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        parts = [f'<select name="{html.escape(name)}"{attributes}>']
        for option_value, label in self.choices:
            if isinstance(label, list | tuple):
                parts.append(f'<optgroup label="{html.escape(str(option_value))}">')
                parts.extend(self._option(sub_value, sub, selected) for sub_value, sub in label)
                parts.append("</optgroup>")
            else:
                parts.append(self._option(option_value, label, selected))
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value and label is escaped

    @staticmethod
    def _option(value: Any, label: Any, selected: set[str]) -> str:
        text = "" if value is None else str(value)
        mark = " selected" if text in selected else ""
        return f'<option value="{html.escape(text)}"{mark}>{html.escape(str(label))}</option>'


class SharedChoices(BaseChoiceIterator):
    """Options read once and given to the selects of every line as they are (Django
    normalises a plain list again for each field and widget it is set on)."""

    def __init__(self, items: list[tuple[Any, Any]]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class EntryLineForm(forms.Form):
    """One line of an entry. Amounts clean to Money via Money.from_decimal (exact).

    ``choices``: a dict shared by the lines of one page, so that the options of the selects
    (accounts, currencies, cost centres, projects) are read once, not once per line.
    """

    account = AccountChoiceField(
        label=_("Account"), queryset=Account.objects.none(), widget=FastSelect
    )
    debit = AmountField(label=_("Debit"))
    credit = AmountField(label=_("Credit"))
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    partner = forms.CharField(label=_("Partner"), max_length=200, required=False)
    currency = forms.ChoiceField(label=_("Currency"), required=False, widget=FastSelect)
    amount_currency = AmountField(label=_("Amount in currency"))
    due_date = forms.DateField(label=_("Due date"), required=False)
    cost_centre = forms.ModelChoiceField(
        label=_("Cost centre"),
        queryset=CostCentre.objects.none(),
        required=False,
        widget=FastSelect,
    )
    project = forms.ModelChoiceField(
        label=_("Project"), queryset=Project.objects.none(), required=False, widget=FastSelect
    )

    def __init__(
        self,
        *args: Any,
        company: Company,
        choices: dict[str, SharedChoices] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        base = company.base_currency
        choices = {} if choices is None else choices
        querysets = {
            "account": Account.objects.for_company(company)
            .filter(postable=True, active=True)
            .order_by("code"),
            "cost_centre": CostCentre.objects.for_company(company).filter(active=True),
            "project": Project.objects.for_company(company).filter(active=True),
        }
        if "account" not in choices:  # read as values: a chart has hundreds of accounts
            fields = name_fields()
            rows = querysets["account"].values("id", "code", *fields)
            choices["account"] = SharedChoices(
                [
                    ("", self.fields["account"].empty_label),  # type: ignore[attr-defined]
                    *((row["id"], f"{row['code']} · {display_name(row, fields)}") for row in rows),
                ]
            )
        for name, queryset in querysets.items():
            field = self.fields[name]
            field.queryset = queryset  # type: ignore[attr-defined]  # validation reads it
            if name not in choices:
                choices[name] = SharedChoices(list(field.choices))  # type: ignore[attr-defined]
            field.widget.choices = choices[name]
        # The page turns this select into a searchable picker (static/ledger/account_picker.js)
        self.fields["account"].widget.attrs["data-account-search"] = reverse(
            "ledger:account_search", kwargs={"company": company.code}
        )
        if "currency" not in choices:
            codes = list(
                Currency.objects.filter(active=True).order_by("code").values_list("code", flat=True)
            )
            if base not in codes:
                codes.insert(0, base)
            choices["currency"] = SharedChoices([(code, code) for code in codes])
        currency = self.fields["currency"]
        currency.choices = choices["currency"]  # type: ignore[attr-defined]
        currency.initial = base
        # Bootstrap classes (not BootstrapMixin: it validates before the querysets are set)
        for field in self.fields.values():
            widget = field.widget
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = (widget.attrs.get("class", "") + f" {css} {css}-sm").strip()
            if isinstance(widget, forms.DateInput):
                widget.input_type = "date"
                widget.format = "%Y-%m-%d"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"

    def _money(self, name: str, currency: str) -> Money | None:
        value = self.cleaned_data.get(name)
        if value is None:
            return None
        try:
            return Money.from_decimal(value, currency)
        except ValueError:
            self.add_error(
                name,
                _("Too many decimals for %(currency)s (at most %(places)d).")
                % {"currency": currency, "places": currency_exponent(currency)},
            )
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        base = self.company.base_currency
        currency = data.get("currency") or base
        data["currency"] = currency
        for name in ("debit", "credit"):
            money = self._money(name, base)
            if money is not None and money.is_negative():
                self.add_error(name, _("Debit and credit cannot be negative."))
            data[f"{name}_money"] = money
        data["amount_currency_money"] = self._money("amount_currency", currency)
        return data

    def as_service_line(self) -> dict[str, Any]:
        """The line as entry_create_draft / entry_update_draft take it (decimal strings)."""
        data = self.cleaned_data
        line: dict[str, Any] = {
            "account": data["account"],
            "description": data.get("description") or "",
            "partner": data.get("partner") or "",
            "currency": data["currency"],
            "due_date": data.get("due_date"),
            "cost_centre": data.get("cost_centre"),
            "project": data.get("project"),
        }
        for name in ("debit", "credit", "amount_currency"):
            money = data.get(f"{name}_money")
            if money is not None:
                line[name] = money.to_decimal()
        return line


class BaseEntryLineFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        # Every row may be left blank, the initial ones included: the page offers three empty
        # rows (INITIAL_FORMS=3) and "remove line" blanks or drops rows of a draft.
        # The rows share one read of the selects' options.
        if not hasattr(self, "_line_choices"):
            self._line_choices: dict[str, SharedChoices] = {}
        kwargs = {**super().get_form_kwargs(index), "empty_permitted": True}
        kwargs.setdefault("choices", self._line_choices)
        return kwargs

    def non_blank_forms(self) -> list[EntryLineForm]:
        """The rows the user filled (an untouched row is ignored, not an error)."""
        return [
            form
            for form in self.forms
            if form.has_changed() and getattr(form, "cleaned_data", None) is not None
        ]


EntryLineFormSet = forms.formset_factory(
    EntryLineForm, formset=BaseEntryLineFormSet, extra=0, min_num=0, max_num=500
)


def entry_line_initial(entry: JournalEntry) -> list[dict[str, Any]]:
    """The initial data of the line formset for an existing draft."""
    base = entry.company.base_currency
    rows = []
    for line in entry.lines.select_related("account").order_by("line_no"):
        rows.append(
            {
                "account": line.account_id,
                "debit": Money(line.debit, base).to_decimal() if line.debit else None,
                "credit": Money(line.credit, base).to_decimal() if line.credit else None,
                "description": line.description,
                "partner": line.partner,
                "currency": line.currency_id,
                "amount_currency": (
                    Money(line.amount_currency, line.currency_id).to_decimal()
                    if line.currency_id != base
                    else None
                ),
                "due_date": line.due_date,
                "cost_centre": line.cost_centre_id,
                "project": line.project_id,
            }
        )
    return rows


class ImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(label=_("File"))


class ReverseForm(BootstrapMixin, forms.Form):
    date = forms.DateField(label=_("Date of the reversal"), required=False)
