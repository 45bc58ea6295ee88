"""The revaluation page: pick a date, preview the unrealised exchange differences, post them.

Needs ``ledger.post_journalentry``. ``GET ?date=YYYY-MM-DD`` shows the preview (nothing is
written); ``POST`` (CSRF) posts the entry and redirects to it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.core.forms import BootstrapMixin
from trastienda.core.generic import CompanyView, company_url
from trastienda.core.models import Company
from trastienda.core.money import Money, currency_exponent
from trastienda.core.permissions import has_perm
from trastienda.ledger import fx

POST_PERM = "ledger.post_journalentry"
LOCK_PERM = "ledger.post_before_lock"


class RevaluationForm(BootstrapMixin, forms.Form):
    date = forms.DateField(label=gettext_lazy("Revaluation date"))
    reverse_on = forms.DateField(
        label=gettext_lazy("Reverse on"),
        required=False,
        help_text=gettext_lazy("Optional: post the reversal on this date (usually the next day)."),
    )


def _fmt(minor: int, currency: str) -> str:
    value = Money(minor, currency).to_decimal()
    return number_format(value, decimal_pos=currency_exponent(currency), force_grouping=True)


def preview_rows(company: Company, lines: list[fx.RevaluationLine]) -> dict[str, Any]:
    """The preview table for the template: formatted rows and the company-currency totals."""
    base = company.base_currency
    rows = [
        {
            "account": line.account,
            "partner": line.partner,
            "currency": line.currency,
            "balance": _fmt(line.balance, line.currency),
            "rate": str(line.rate),
            "rate_date": line.rate.date,
            "revalued": _fmt(line.revalued, base),
            "book_value": _fmt(line.book_value, base),
            "difference": _fmt(line.difference, base),
            "gain": line.difference > 0,
            "loss": line.difference < 0,
        }
        for line in lines
    ]
    totals = {
        "revalued": _fmt(sum(x.revalued for x in lines), base),
        "book_value": _fmt(sum(x.book_value for x in lines), base),
        "difference": _fmt(sum(x.difference for x in lines), base),
        "gains": _fmt(sum(x.difference for x in lines if x.difference > 0), base),
        "losses": _fmt(-sum(x.difference for x in lines if x.difference < 0), base),
    }
    return {"rows": rows, "totals": totals, "to_post": any(x.difference for x in lines)}


class RevaluationView(CompanyView):
    required_perm = POST_PERM
    template_name = "ledger/revaluation.html"

    def render_page(
        self, form: RevaluationForm, preview: dict[str, Any] | None, status: int = 200
    ) -> HttpResponse:
        company: Company = self.request.company  # type: ignore[attr-defined]
        title = _("Revaluation of foreign-currency balances")
        ctx = {
            "title": title,
            "form": form,
            "preview": preview,
            "currency": company.base_currency,
            "breadcrumbs": [{"label": _("Ledger"), "url": None}, {"label": title, "url": None}],
        }
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        company: Company = request.company  # type: ignore[attr-defined]
        if "date" not in request.GET:
            today = timezone.localdate()
            form = RevaluationForm(
                initial={"date": today, "reverse_on": today + dt.timedelta(days=1)}
            )
            return self.render_page(form, None)
        form = RevaluationForm(request.GET)
        if not form.is_valid():
            return self.render_page(form, None, status=400)
        try:
            lines = fx.revaluation_preview(company=company, date=form.cleaned_data["date"])
        except ValidationError as exc:
            _add_errors(form, exc)
            return self.render_page(form, None, status=400)
        return self.render_page(form, preview_rows(company, lines))

    def post(self, request: HttpRequest) -> HttpResponse:
        company: Company = request.company  # type: ignore[attr-defined]
        form = RevaluationForm(request.POST)
        if not form.is_valid():
            return self.render_page(form, None, status=400)
        date, reverse_on = form.cleaned_data["date"], form.cleaned_data.get("reverse_on")
        try:
            entry = fx.revaluation_post(
                company=company,
                date=date,
                reverse_on=reverse_on,
                allow_before_lock=has_perm(request, LOCK_PERM),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
            return self.render_page(form, None, status=400)
        if entry is None:
            messages.info(
                request, _("Nothing to revalue at %(date)s.") % {"date": date_format(date)}
            )
            query = urlencode({"date": date.isoformat()})
            return HttpResponseRedirect(f"{company_url(request, 'ledger:revaluation')}?{query}")
        messages.success(
            request, _("Revaluation posted as entry %(number)s.") % {"number": entry.number}
        )
        return HttpResponseRedirect(company_url(request, "ledger:journalentry_detail", pk=entry.pk))


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's errors onto the form: its fields where they match, the rest on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.message_dict.items():
        form.add_error(key if key in form.fields else None, errors)
