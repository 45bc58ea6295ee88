"""The year-end closing page: close a year, open the next one, or reopen a year by reversal."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from trastienda.core.generic import CompanyView, company_url
from trastienda.core.permissions import has_perm
from trastienda.ledger import closing
from trastienda.ledger.models import FiscalYear
from trastienda.ledger.views import LOCK_PERM, FiscalYearViews


class FiscalYearClosingView(CompanyView):
    """GET: the year's state and its closing entries; POST ``action`` = close | open_next |
    reopen. Needs ``ledger.change_fiscalyear`` (administrators and chief
    accountants by default)."""

    views = FiscalYearViews
    required_perm = "ledger.change_fiscalyear"
    template_name = "ledger/closing.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        year: FiscalYear = self.get_object()
        ctx = self.base_context(
            object=year,
            entries=closing.closing_entries(fiscal_year=year),
            title=_("Year-end closing of %(name)s") % {"name": year.name},
        )
        ctx["breadcrumbs"].append({"label": year.name, "url": None})
        return render(request, self.template_name, ctx)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        year: FiscalYear = self.get_object()
        action = request.POST.get("action", "")
        allow = has_perm(request, LOCK_PERM)
        try:
            if action == "close":
                closing.fiscal_year_close(fiscal_year=year, allow_before_lock=allow)
                messages.success(request, _("Fiscal year %(name)s closed.") % {"name": year.name})
            elif action == "open_next":
                following, _entry = closing.fiscal_year_open_next(
                    fiscal_year=year, allow_before_lock=allow
                )
                messages.success(
                    request, _("Fiscal year %(name)s opened.") % {"name": following.name}
                )
            elif action == "reopen":
                closing.fiscal_year_reopen(fiscal_year=year, allow_before_lock=allow)
                messages.success(request, _("Fiscal year %(name)s reopened.") % {"name": year.name})
            else:
                messages.error(request, _("Unknown action."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(company_url(request, "ledger:fiscalyear_closing", pk=year.pk))
