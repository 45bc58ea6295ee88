"""Pages of the ledger: the generic views, plus posting, reversal and file imports."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from trastienda.core.generic import (
    REFUSED,
    CompanyView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    ObjectViews,
    RefusedBulkDeleteView,
    RefusedDeleteView,
    RefusedEditView,
    company_url,
)
from trastienda.core.money import currency_exponent
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


class _NoAddEdit(ObjectEditView):
    def get_required_perm(self) -> str:
        return super().get_required_perm() if "pk" in self.kwargs else REFUSED


class CurrencyViews(ObjectViews):
    """Shared reference data: read-only here (seeded by a migration from ISO 4217)."""

    model = Currency
    table = tables.CurrencyTable
    filterset = filters.CurrencyFilterSet
    form = forms.ExchangeRateForm  # never used: no add or edit page
    list_view = _ReadOnlyList
    detail_view = _ReadOnlyDetail
    edit_view = RefusedEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
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
    detail_fields = services.ACCOUNT_FIELDS
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
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
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
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
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


POSTED_REFUSED = _l("Entry %(number)s is posted: it cannot be changed. Reverse it instead.")


class EntryEditView(ObjectEditView):
    """Header form plus a formset of lines; "add line" fetches a row over HTMX.

    The lines go to entry_create_draft / entry_update_draft (and, with "Save and post", to
    entry_post in the same transaction): a ValidationError rolls everything back and its
    ``lines.N`` errors are shown on the N-th filled row, as "Line N: ...".
    """

    template_name = "ledger/entry_form.html"

    def get_formset(self, instance: JournalEntry | None) -> forms.BaseEntryLineFormSet:
        company = self.request.company  # type: ignore[attr-defined]
        kwargs: dict[str, Any] = {"prefix": "lines", "form_kwargs": {"company": company}}
        if self.request.method == "POST":
            kwargs["data"] = self.request.POST
        elif instance is not None:
            kwargs["initial"] = forms.entry_line_initial(instance) or [{}, {}]
        else:
            kwargs["initial"] = [{}, {}, {}]
        formset: forms.BaseEntryLineFormSet = forms.EntryLineFormSet(**kwargs)  # type: ignore[assignment]
        return formset

    def refused(self, instance: JournalEntry) -> HttpResponse:
        ctx = self.base_context(
            object=instance,
            refused=POSTED_REFUSED % {"number": instance.number},
            detail_url=company_url(self.request, "ledger:journalentry_detail", pk=instance.pk),
        )
        return render(self.request, "ledger/entry_refused.html", ctx, status=400)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        instance = self.get_object() if pk is not None else None
        if instance is not None and instance.is_posted:
            # a link followed to a posted entry: back to its page, with the reason
            messages.error(request, str(POSTED_REFUSED % {"number": instance.number}))
            return HttpResponseRedirect(
                company_url(request, "ledger:journalentry_detail", pk=instance.pk)
            )
        return self.render_entry(self.get_form(instance), self.get_formset(instance), instance)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        instance = self.get_object() if pk is not None else None
        if instance is not None and instance.is_posted:
            return self.refused(instance)
        form = self.get_form(instance)
        formset = self.get_formset(instance)
        valid = form.is_valid()
        valid = formset.is_valid() and valid
        if not valid:
            return self.render_entry(form, formset, instance, status=400)
        filled = formset.non_blank_forms()
        data = dict(form.cleaned_data)
        data["lines"] = [line.as_service_line() for line in filled]
        post_now = "post" in request.POST and has_perm(request, POST_PERM)
        try:
            with transaction.atomic():
                if instance is None:
                    entry = self.views.create(request, data)
                else:
                    entry = self.views.update(request, instance, data)
                if post_now:
                    entry = services.entry_post(
                        instance=entry, allow_before_lock=has_perm(request, LOCK_PERM)
                    )
        except ValidationError as exc:
            self.apply_errors(form, formset, filled, exc)
            return self.render_entry(form, formset, instance, status=400)
        if post_now:
            messages.success(request, _("Entry %(number)s posted.") % {"number": entry.number})
        else:
            messages.success(request, _("%(obj)s saved.") % {"obj": entry})
        return HttpResponseRedirect(company_url(request, "ledger:journalentry_detail", pk=entry.pk))

    @staticmethod
    def apply_errors(form: Any, formset: Any, filled: list[Any], exc: ValidationError) -> None:
        """The service's errors onto the header and the rows (``lines.N`` → N-th filled row)."""
        if not hasattr(exc, "error_dict"):
            form.add_error(None, exc.messages)
            return
        for key, messages_ in exc.message_dict.items():
            head, _sep, rest = key.partition(".")
            if head == "lines" and rest.isdigit() and 0 < int(rest) <= len(filled):
                filled[int(rest) - 1].add_error(None, messages_)
            elif key in form.fields:
                form.add_error(key, messages_)
            else:
                form.add_error(None, messages_)

    def render_entry(
        self, form: Any, formset: Any, instance: JournalEntry | None, status: int = 200
    ) -> HttpResponse:
        company = self.request.company  # type: ignore[attr-defined]
        line_errors = []
        for number, line_form in enumerate(formset.forms, start=1):
            for error in line_form.non_field_errors():
                line_errors.append(_("Line %(n)d: %(error)s") % {"n": number, "error": error})
            for name, errors in line_form.errors.items():
                if name == "__all__":
                    continue
                label = line_form.fields[name].label if name in line_form.fields else name
                for error in errors:
                    line_errors.append(
                        _("Line %(n)d: %(field)s: %(error)s")
                        % {"n": number, "field": label, "error": error}
                    )
        for error in formset.non_form_errors():
            line_errors.append(str(error))
        ctx = self.base_context(
            form=form,
            formset=formset,
            object=instance,
            line_errors=line_errors,
            can_post=has_perm(self.request, POST_PERM),
            base_currency=company.base_currency,
            base_exponent=currency_exponent(company.base_currency),
            decimal_separator=get_format("DECIMAL_SEPARATOR"),
            thousand_separator=get_format("THOUSAND_SEPARATOR"),
            line_url=company_url(self.request, "ledger:journalentry_line"),
        )
        if instance is not None:
            detail = company_url(self.request, "ledger:journalentry_detail", pk=instance.pk)
            ctx["breadcrumbs"].append({"label": str(instance), "url": detail})
            ctx["breadcrumbs"].append({"label": _("Edit"), "url": None})
            ctx["action_url"] = company_url(
                self.request, "ledger:journalentry_edit", pk=instance.pk
            )
        else:
            ctx["breadcrumbs"].append({"label": _("New"), "url": None})
            ctx["action_url"] = company_url(self.request, "ledger:journalentry_add")
        return render(self.request, self.template_name, ctx, status=status)


class EntryListView(ObjectListView):
    """The entries list, with a link to the import page (import_views.EntryImportView)."""

    template_name = "ledger/entry_list.html"


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
    list_view = EntryListView
    detail_view = EntryDetailView
    edit_view = EntryEditView
    create_service = services.entry_create_draft
    update_service = services.entry_update_draft
    delete_service = services.entry_delete_draft

    @classmethod
    def get_queryset(cls, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(total_debit=Sum("lines__debit"))


class EntryLineView(CompanyView):
    """GET (HTMX): one empty line row of the entry form, numbered by ``lines-TOTAL_FORMS``."""

    views = JournalEntryViews
    template_name = "ledger/entry_line.html"

    def get_required_perm(self) -> str:
        return model_perm(JournalEntry, "add")

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            index = int(request.GET.get("lines-TOTAL_FORMS", "0"))
        except ValueError:
            index = 0
        index = max(0, min(index, 499))
        formset = forms.EntryLineFormSet(
            prefix="lines",
            form_kwargs={"company": request.company},  # type: ignore[attr-defined]
        )
        line_form = formset.form(
            prefix=formset.add_prefix(index),
            company=request.company,  # type: ignore[attr-defined]
            empty_permitted=True,
            use_required_attribute=False,
        )
        return render(request, self.template_name, {"line": line_form, "number": index + 1})


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
        path("line/", EntryLineView.as_view(), name="journalentry_line"),
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


class AccountSearchView(CompanyView):
    """GET ``?q=``: the account picker's search, as JSON.

    ``{"results": [{"id", "code", "name", "label", "path"}, ...], "more": bool}``: up to 20
    postable, active accounts of the company, ordered by code (see ``account_search``).
    Needs the permission to view accounts.
    """

    views = AccountViews

    def get_required_perm(self) -> str:
        return model_perm(Account, "view")

    def get(self, request: HttpRequest) -> HttpResponse:
        from django.http import JsonResponse

        from trastienda.ledger.account_search import LIMIT, account_search

        company = request.company  # type: ignore[attr-defined]
        hits = account_search(company, request.GET.get("q", ""), limit=LIMIT + 1)
        response = JsonResponse(
            {"results": [hit.as_json() for hit in hits[:LIMIT]], "more": len(hits) > LIMIT}
        )
        response["Cache-Control"] = "private, no-store"
        return response
