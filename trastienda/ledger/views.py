"""Pages of the ledger: the generic views, plus posting, reversal and file imports."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from trastienda.core.generic import (
    BulkDeleteView,
    CompanyView,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    ObjectViews,
    company_url,
)
from trastienda.core.permissions import has_perm, model_perm
from trastienda.ledger import filters, forms, services, tables
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

POST_PERM = "ledger.post_journalentry"
LOCK_PERM = "ledger.post_before_lock"


class _NoAddList(ObjectListView):
    """Lists of records the company does not add or delete (one per month, one per company)."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_add"] = ctx["can_delete"] = False
        return ctx


class _NoAddDetail(ObjectDetailView):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_delete"] = False
        return ctx


class _ReadOnlyList(_NoAddList):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_change"] = False
        return ctx


class _ReadOnlyDetail(_NoAddDetail):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_change"] = False
        return ctx


# A permission no role holds: pages for actions the ledger does not offer (adding a period,
# deleting the lock-date settings, changing the shared currencies) answer 403 to everyone.
REFUSED = "ledger.refused"


class _NoAddEdit(ObjectEditView):
    def get_required_perm(self) -> str:
        return super().get_required_perm() if "pk" in self.kwargs else REFUSED


class _RefusedEdit(ObjectEditView):
    def get_required_perm(self) -> str:
        return REFUSED


class _RefusedDelete(ObjectDeleteView):
    def get_required_perm(self) -> str:
        return REFUSED


class _RefusedBulkDelete(BulkDeleteView):
    def get_required_perm(self) -> str:
        return REFUSED


class CurrencyViews(ObjectViews):
    """Shared reference data: read-only here (seeded by a migration from ISO 4217)."""

    model = Currency
    table = tables.CurrencyTable
    filterset = filters.CurrencyFilterSet
    form = forms.ExchangeRateForm  # never used: no add or edit page
    list_view = _ReadOnlyList
    detail_view = _ReadOnlyDetail
    edit_view = _RefusedEdit
    delete_view = _RefusedDelete
    bulk_delete_view = _RefusedBulkDelete
    detail_fields = ("code", "name", "exponent", "active")


class ExchangeRateViews(ObjectViews):
    model = ExchangeRate
    table = tables.ExchangeRateTable
    filterset = filters.ExchangeRateFilterSet
    form = forms.ExchangeRateForm
    select_related = ("company",)
    create_service = services.exchange_rate_create
    update_service = services.exchange_rate_update
    delete_service = services.exchange_rate_delete


class AccountViews(ObjectViews):
    model = Account
    table = tables.AccountTable
    filterset = filters.AccountFilterSet
    form = forms.AccountForm
    select_related = ("company", "parent")
    detail_fields = (
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
    create_service = services.account_create
    update_service = services.account_update
    delete_service = services.account_delete


class FiscalYearViews(ObjectViews):
    model = FiscalYear
    table = tables.FiscalYearTable
    filterset = filters.FiscalYearFilterSet
    form = forms.FiscalYearForm
    select_related = ("company",)
    detail_template = "ledger/fiscalyear_extra.html"
    create_service = services.fiscal_year_create
    update_service = services.fiscal_year_update
    delete_service = services.fiscal_year_delete


class PeriodViews(ObjectViews):
    model = Period
    table = tables.PeriodTable
    filterset = filters.PeriodFilterSet
    form = forms.PeriodForm
    select_related = ("company", "fiscal_year")
    list_view = _NoAddList
    detail_view = _NoAddDetail
    edit_view = _NoAddEdit
    delete_view = _RefusedDelete
    bulk_delete_view = _RefusedBulkDelete
    update_service = services.period_update


class LedgerSettingsViews(ObjectViews):
    model = LedgerSettings
    table = tables.LedgerSettingsTable
    filterset = filters.LedgerSettingsFilterSet
    form = forms.LedgerSettingsForm
    select_related = ("company",)
    list_view = _NoAddList
    detail_view = _NoAddDetail
    edit_view = _NoAddEdit
    delete_view = _RefusedDelete
    bulk_delete_view = _RefusedBulkDelete
    update_service = services.settings_update


class JournalViews(ObjectViews):
    model = Journal
    table = tables.JournalTable
    filterset = filters.JournalFilterSet
    form = forms.JournalForm
    select_related = ("company",)
    create_service = services.journal_create
    update_service = services.journal_update
    delete_service = services.journal_delete


class CostCentreViews(ObjectViews):
    model = CostCentre
    table = tables.CostCentreTable
    filterset = filters.CostCentreFilterSet
    form = forms.CostCentreForm
    select_related = ("company",)


class ProjectViews(ObjectViews):
    model = Project
    table = tables.ProjectTable
    filterset = filters.ProjectFilterSet
    form = forms.ProjectForm
    select_related = ("company",)


class EntryDetailView(ObjectDetailView):
    """The generic detail page, with the lines, their totals and the post/reverse buttons."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        from trastienda.core.money import Money

        ctx = super().base_context(**extra)
        entry = extra.get("object")
        if entry is None:
            return ctx
        base = entry.company.base_currency
        lines = list(entry.lines.select_related("account").order_by("line_no"))
        for line in lines:
            line.debit_display = Money(line.debit, base).to_decimal() if line.debit else ""
            line.credit_display = Money(line.credit, base).to_decimal() if line.credit else ""
            line.amount_display = Money(line.amount_currency, line.currency_id).to_decimal()
        ctx["entry_lines"] = lines
        ctx["entry_totals"] = {
            "debit": Money(sum(x.debit for x in lines), base).to_decimal(),
            "credit": Money(sum(x.credit for x in lines), base).to_decimal(),
        }
        ctx["can_post"] = has_perm(self.request, POST_PERM)
        if entry.is_posted:
            ctx["can_change"] = ctx["can_delete"] = False
        return ctx


class JournalEntryViews(ObjectViews):
    model = JournalEntry
    table = tables.JournalEntryTable
    filterset = filters.JournalEntryFilterSet
    form = forms.JournalEntryForm
    select_related = ("company", "journal", "reversal_of")
    detail_fields = (
        "number",
        "state",
        "date",
        "journal",
        "reference",
        "description",
        "reversal_of",
        "posted_at",
        "posted_by",
        "chain_seq",
        "hash",
        "hash_version",
    )
    detail_template = "ledger/entry_extra.html"
    detail_view = EntryDetailView
    create_service = services.entry_create_draft
    update_service = services.entry_update_draft
    delete_service = services.entry_delete_draft

    @classmethod
    def get_queryset(cls, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(total_debit=Sum("lines__debit"))


class EntryActionView(CompanyView):
    """POST only: post a draft, or reverse a posted entry."""

    views = JournalEntryViews
    required_perm = POST_PERM
    action: ClassVar[str] = "post"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        entry = self.get_object()
        allow = has_perm(request, LOCK_PERM)
        try:
            if self.action == "post":
                entry = services.entry_post(instance=entry, allow_before_lock=allow)
                messages.success(request, _("Entry %(number)s posted.") % {"number": entry.number})
            else:
                form = forms.ReverseForm(request.POST)
                date = form.cleaned_data.get("date") if form.is_valid() else None
                entry = services.entry_reverse(instance=entry, date=date, allow_before_lock=allow)
                messages.success(
                    request, _("Reversal %(number)s posted.") % {"number": entry.number}
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(company_url(request, "ledger:journalentry_detail", pk=entry.pk))


class ImportView(CompanyView):
    """Upload a file and import it through a service (all or nothing, errors by line)."""

    template_name = "ledger/import.html"
    views: ClassVar[type[ObjectViews]]
    title: ClassVar[str] = ""
    help_text: ClassVar[str] = ""

    def get_required_perm(self) -> str:
        return model_perm(self.views.model, "add")

    def run(self, content: bytes, filename: str) -> int:
        raise NotImplementedError

    def page(self, form: Any, errors: Any = None, status: int = 200) -> HttpResponse:
        ctx = self.base_context(
            form=form, errors=errors, title=self.title, help_text=self.help_text
        )
        ctx["breadcrumbs"].append({"label": self.title, "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(forms.ImportForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(form, status=400)
        upload = form.cleaned_data["file"]
        try:
            count = self.run(upload.read(), upload.name)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            return self.page(form, errors=errors, status=400)
        messages.success(request, _("%(count)d rows imported.") % {"count": count})
        return HttpResponseRedirect(company_url(request, self.views.url_name("list")))


class RatesImportView(ImportView):
    views = ExchangeRateViews
    title = _("Import exchange rates")
    help_text = _(
        "A CSV file with the columns date,from_currency,to_currency,rate, or an ECB euro "
        "reference rates XML file (eurofxref-daily.xml or eurofxref-hist.xml)."
    )

    def run(self, content: bytes, filename: str) -> int:
        company = self.request.company  # type: ignore[attr-defined]
        if filename.lower().endswith(".xml"):
            return services.exchange_rates_import_ecb(company=company, content=content)
        return services.exchange_rates_import_csv(company=company, content=content)


class ChartImportView(ImportView):
    views = AccountViews
    title = _("Import accounts")
    help_text = _(
        "A CSV or XLSX file with the columns code, parent_code, name_es, name_it, name_en, "
        "type, subtype, postable, reconcilable (the list's export can be imported back). "
        "New codes are added, existing ones updated; one wrong line imports nothing."
    )

    def run(self, content: bytes, filename: str) -> int:
        company = self.request.company  # type: ignore[attr-defined]
        return services.chart_import(company=company, content=content, filename=filename)


def entry_urls() -> list[Any]:
    return [
        *JournalEntryViews.urls(),
        path(
            "<int:pk>/post/",
            EntryActionView.as_view(action="post"),
            name="journalentry_post",
        ),
        path(
            "<int:pk>/reverse/",
            EntryActionView.as_view(action="reverse"),
            name="journalentry_reverse",
        ),
    ]
