"""Forms of bank accounts, their CSV/XLSX column mapping and reconciliation rules. They parse;
the services of :mod:`trastienda.banking.services` and :mod:`trastienda.banking.rules` decide
(the views show the services' errors on the fields). Choices of ledger accounts, journals and
bank accounts are narrowed to the company's in ``set_company``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trastienda.banking.models import BankAccount, ReconciliationRule
from trastienda.banking.services import BANK_ACCOUNT_FIELDS
from trastienda.core.forms import CompanyModelForm, TabularLayoutForm
from trastienda.core.models import Company
from trastienda.ledger.models import Account, AccountType, Journal


def _compact(value: Any) -> str:
    return "".join(str(value or "").split()).upper()


class BankAccountForm(CompanyModelForm):
    # Typed with spaces (``ES91 2100 0418 …``): longer than stored; the service compacts it.
    iban = forms.CharField(label=_("IBAN"), max_length=50)
    bic = forms.CharField(label=_("BIC"), max_length=20, required=False)
    creditor_id = forms.CharField(
        label=_("SEPA creditor identifier"),
        max_length=50,
        required=False,
        help_text=_("Needed for direct debits, e.g. ES12000B12345678."),
    )

    class Meta:
        model = BankAccount
        fields = BANK_ACCOUNT_FIELDS
        help_texts = {
            "account": _("Empty: the chart's bank account, or a new one numbered after it."),
            "journal": _("Empty: the first bank journal."),
        }

    def set_company(self, company: Company) -> None:
        accounts = (
            Account.objects.for_company(company)
            .filter(type=AccountType.ASSET, postable=True, active=True)
            .order_by("code")
        )
        journals = (
            Journal.objects.for_company(company)
            .filter(type__in=(Journal.Type.BANK, Journal.Type.CASH), active=True)
            .order_by("code")
        )
        if self.instance.pk:  # keep the current choices listed even if no longer offered
            accounts = accounts | Account.objects.filter(pk=self.instance.account_id)
            journals = journals | Journal.objects.filter(pk=self.instance.journal_id)
            # An existing account keeps a ledger account and a journal (never "automatic").
            self.fields["account"].required = True
            self.fields["journal"].required = True
            self.fields["account"].help_text = ""
            self.fields["journal"].help_text = ""
        else:  # empty: the service chooses (see the help texts)
            self.fields["account"].required = False
            self.fields["journal"].required = False
        self.fields["account"].queryset = accounts  # type: ignore[attr-defined]
        self.fields["journal"].queryset = journals  # type: ignore[attr-defined]
        if not self.instance.pk and not self.is_bound:
            self.initial.setdefault("currency", company.base_currency)

    def clean_iban(self) -> str:
        return _compact(self.cleaned_data.get("iban"))

    def clean_bic(self) -> str:
        return _compact(self.cleaned_data.get("bic"))

    def clean_creditor_id(self) -> str:
        return _compact(self.cleaned_data.get("creditor_id")).replace("-", "")

    def clean_currency(self) -> str:
        return str(self.cleaned_data.get("currency") or "").strip().upper()


class ReconciliationRuleForm(CompanyModelForm):
    class Meta:
        model = ReconciliationRule
        fields = (
            "name",
            "priority",
            "bank_account",
            "text_contains",
            "direction",
            "account",
            "entry_description",
            "auto_post",
            "active",
        )
        help_texts = {"priority": _("Lower numbers are tried first.")}

    def set_company(self, company: Company) -> None:
        self.fields["bank_account"].queryset = BankAccount.objects.for_company(  # type: ignore[attr-defined]
            company
        ).order_by("name")
        accounts = (
            Account.objects.for_company(company).filter(postable=True, active=True).order_by("code")
        )
        if self.instance.pk:
            accounts = accounts | Account.objects.filter(pk=self.instance.account_id)
        self.fields["account"].queryset = accounts  # type: ignore[attr-defined]


# --- the CSV/XLSX column mapping ----------------------------------------------------------------

COLUMN_HELP = _("The column's header text, or its position (1, 2, 3...).")


class ColumnMappingForm(TabularLayoutForm):
    """The settings of :class:`~trastienda.banking.formats.tabular.ColumnMapping`, and a
    sample file whose first rows are shown (nothing of the file is stored)."""

    date = forms.CharField(label=_("Date column"), max_length=100, help_text=COLUMN_HELP)
    amount = forms.CharField(
        label=_("Amount column"),
        max_length=100,
        required=False,
        help_text=_("Signed: money out negative. Or leave it empty and give debit and credit."),
    )
    debit = forms.CharField(label=_("Debit column (money out)"), max_length=100, required=False)
    credit = forms.CharField(label=_("Credit column (money in)"), max_length=100, required=False)
    value_date = forms.CharField(label=_("Value date column"), max_length=100, required=False)
    description = forms.CharField(
        label=_("Description columns"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One column per line; their texts are joined."),
    )
    reference = forms.CharField(label=_("Reference column"), max_length=100, required=False)
    counterparty_name = forms.CharField(
        label=_("Counterparty column"), max_length=100, required=False
    )
    counterparty_iban = forms.CharField(
        label=_("Counterparty IBAN column"), max_length=100, required=False
    )
    balance = forms.CharField(
        label=_("Balance column"),
        max_length=100,
        required=False,
        help_text=_("The running balance after each row: gives the opening and closing balance."),
    )
    date_format = forms.CharField(
        label=_("Date format"),
        max_length=40,
        initial="%d/%m/%Y",
        help_text=_("%d day, %m month, %Y year (%y: two digits): %d/%m/%Y, %d.%m.%Y, %Y-%m-%d..."),
    )
    skip_rows = forms.IntegerField(
        label=_("Lines before the header"),
        min_value=0,
        max_value=1000,
        initial=0,
        help_text=_("Title lines the bank puts above the table."),
    )
    sample = forms.FileField(
        label=_("Sample file"),
        required=False,
        help_text=_("A CSV or XLSX statement of this bank: its first rows are shown below."),
    )

    MAPPING_FIELDS = (
        "date",
        "amount",
        "debit",
        "credit",
        "value_date",
        "description",
        "reference",
        "counterparty_name",
        "counterparty_iban",
        "balance",
        "date_format",
        "decimal_separator",
        "thousands_separator",
        "delimiter",
        "encoding",
        "skip_rows",
        "has_header",
    )
    field_order = (*MAPPING_FIELDS, "sample")

    @classmethod
    def initial_from(cls, saved: dict[str, Any]) -> dict[str, Any]:
        """Form values from a saved mapping (its JSON form); defaults when there is none."""
        if not saved:
            return {"has_header": True}
        values = {name: saved.get(name, "") for name in cls.MAPPING_FIELDS}
        values["description"] = "\n".join(saved.get("description") or ())
        values["has_header"] = bool(saved.get("has_header", True))
        values["skip_rows"] = int(saved.get("skip_rows") or 0)
        return values

    def mapping_dict(self) -> dict[str, Any]:
        """The cleaned settings as :meth:`ColumnMapping.from_dict` takes them."""
        data: dict[str, Any] = {}
        for name in self.MAPPING_FIELDS:
            value = self.cleaned_data.get(name)
            if isinstance(value, str) and name not in ("thousands_separator", "delimiter"):
                value = value.strip()
            data[name] = value
        data["description"] = [
            line.strip() for line in str(data["description"] or "").splitlines() if line.strip()
        ]
        data["skip_rows"] = int(data["skip_rows"] or 0)
        data["has_header"] = bool(data["has_header"])
        data["thousands_separator"] = data["thousands_separator"] or ""
        data["delimiter"] = data["delimiter"] or ""
        return data

    def check_upload(self, sample: Any) -> str:
        from trastienda.banking.statement_forms import check_statement_upload

        _name, extension = check_statement_upload(sample)
        return str(extension)
