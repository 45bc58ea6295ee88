"""Forms of the ledger pages (no company field: the view sets it)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trastienda.core.forms import BootstrapMixin, CompanyModelForm
from trastienda.core.models import Company
from trastienda.ledger.models import (
    Account,
    CostCentre,
    ExchangeRate,
    FiscalYear,
    Journal,
    JournalEntry,
    LedgerSettings,
    Period,
    Project,
)


class ExchangeRateForm(CompanyModelForm):
    class Meta:
        model = ExchangeRate
        fields = ("date", "from_currency", "to_currency", "rate")


class AccountForm(CompanyModelForm):
    class Meta:
        model = Account
        fields = (
            "code",
            "parent",
            "name_es",
            "name_it",
            "name_en",
            "type",
            "subtype",
            "postable",
            "active",
            "reconcilable",
            "default_currency",
        )

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
        fields = ("hard_lock_date", "lock_date")


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


LINE_FORMAT = _(
    "One line per row: account; debit; credit; description; partner; currency; "
    "amount in currency; due date (YYYY-MM-DD). Amounts like 1234.56; the last four are optional."
)
LINE_COLUMNS = (
    "account",
    "debit",
    "credit",
    "description",
    "partner",
    "currency",
    "amount_currency",
    "due_date",
)


def lines_to_text(entry: JournalEntry) -> str:
    rows = []
    base = entry.company.base_currency
    for line in entry.lines.select_related("account", "currency").order_by("line_no"):
        from trastienda.core.money import Money

        debit = Money(line.debit, base).to_decimal() if line.debit else ""
        credit = Money(line.credit, base).to_decimal() if line.credit else ""
        values = [line.account.code, str(debit), str(credit), line.description, line.partner]
        if line.currency_id != base or line.due_date:
            amount = Money(line.amount_currency, line.currency_id).to_decimal()
            values += [
                line.currency_id,
                str(amount),
                line.due_date.isoformat() if line.due_date else "",
            ]
        rows.append("; ".join(values).rstrip("; "))
    return "\n".join(rows)


def text_to_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for row in text.splitlines():
        if not row.strip():
            continue
        values = [v.strip() for v in row.split(";")]
        line: dict[str, Any] = dict(zip(LINE_COLUMNS, values, strict=False))
        lines.append({k: v for k, v in line.items() if v != ""})
    return lines


class JournalEntryForm(CompanyModelForm):
    lines = forms.CharField(
        label=_("Lines"), widget=forms.Textarea(attrs={"rows": 8}), help_text=LINE_FORMAT
    )

    class Meta:
        model = JournalEntry
        fields = ("journal", "date", "reference", "description")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["lines"] = lines_to_text(self.instance)

    def set_company(self, company: Company) -> None:
        self.fields["journal"].queryset = Journal.objects.for_company(company).filter(  # type: ignore[attr-defined]
            active=True
        )

    def clean_lines(self) -> list[dict[str, Any]]:
        return text_to_lines(self.cleaned_data.get("lines") or "")


class ImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(label=_("File"))


class ReverseForm(BootstrapMixin, forms.Form):
    date = forms.DateField(label=_("Date of the reversal"), required=False)
