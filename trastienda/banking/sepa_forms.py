"""Forms of the SEPA pages: a mandate, and what a new payment batch is made from. They parse;
the services in :mod:`trastienda.banking.sepa` decide."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trastienda.banking.models import BankAccount, Mandate, PaymentBatch
from trastienda.banking.sepa import SEPA_CURRENCY
from trastienda.billing.models import Partner
from trastienda.core.forms import BootstrapMixin, CompanyModelForm
from trastienda.core.models import Company


class MandateForm(CompanyModelForm):
    class Meta:
        model = Mandate
        fields = ("partner", "reference", "scheme", "iban", "bic", "signed_on")
        help_texts = {
            "reference": _("The mandate id printed on the form the customer signed."),
            "bic": _("Empty: taken from the IBAN."),
        }

    def set_company(self, company: Company) -> None:
        field: Any = self.fields["partner"]
        field.queryset = Partner.objects.for_company(company).filter(is_customer=True, active=True)

    def clean_iban(self) -> str:
        # Written in groups of four, an IBAN is longer than the stored compact form.
        return re.sub(r"\s", "", self.cleaned_data.get("iban") or "").upper()

    def clean_bic(self) -> str:
        return re.sub(r"\s", "", self.cleaned_data.get("bic") or "").upper()


def default_date() -> dt.date:
    """The next working day: the earliest date a bank executes a file sent today."""
    day = timezone.localdate() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def bank_accounts(company: Company) -> Any:
    return BankAccount.objects.for_company(company).filter(active=True, currency=SEPA_CURRENCY)


class BatchForm(BootstrapMixin, forms.Form):
    """What a batch is made from: the account, the date the bank executes it, and the last
    due date included. For direct debits, the scheme (CORE and B2B go in separate files)."""

    bank_account = forms.ModelChoiceField(
        label=_("Bank account"), queryset=BankAccount.objects.none()
    )
    date = forms.DateField(label=_("Execution date"))
    due_until = forms.DateField(
        label=_("Due until"),
        required=False,
        help_text=_("Include what is due on or before this date. Empty: the execution date."),
    )
    scheme = forms.ChoiceField(
        label=_("Scheme"), choices=Mandate.Scheme.choices, initial=Mandate.Scheme.CORE
    )

    def __init__(self, *args: Any, company: Company, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        fields: dict[str, Any] = self.fields
        fields["bank_account"].queryset = bank_accounts(company)
        if kind == PaymentBatch.Kind.DEBIT:
            fields["date"].label = _("Collection date")
            fields["due_until"].help_text = _(
                "Include what is due on or before this date. Empty: the collection date."
            )
        else:
            del fields["scheme"]
