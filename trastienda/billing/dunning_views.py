"""Pages of collections (dunning), under ``/c/<code>/billing/``.

- ``dunning/runs/``: the runs, with a "propose now" form; ``dunning/runs/<pk>/``: the review
  screen of a run (letters with include/exclude checkboxes, totals per currency, a PDF preview
  per letter, confirm and discard), or what was sent;
- ``dunning/levels/``: the levels (generic list, detail, add, edit, delete);
- ``dunning/promises/``: promises to pay (generic pages);
- ``partners/<pk>/collections/``: one partner's letters, e-mails, promises and blocks, with the
  block/unblock form.

Viewing needs ``billing.view_dunningrun``; proposing ``billing.add_dunningrun``; selecting,
confirming, discarding and sending again ``billing.change_dunningrun``; blocking a partner
``billing.change_partner``. Every write goes through :mod:`trastienda.billing.dunning`.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any, ClassVar

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import include, path
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from trastienda.billing import dunning
from trastienda.billing.models import (
    DunningLetter,
    DunningLevel,
    DunningRun,
    Invoice,
    Partner,
    PromiseToPay,
)
from trastienda.core.filters import CompanyFilterSet
from trastienda.core.forms import CompanyModelForm
from trastienda.core.generic import (
    CompanyView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    ObjectViews,
    company_url,
)
from trastienda.core.money import Money
from trastienda.core.permissions import has_perm, model_perm
from trastienda.core.tables import BaseTable, MoneyColumn

VIEW_RUNS = model_perm(DunningRun, "view")
PROPOSE = model_perm(DunningRun, "add")
REVIEW = model_perm(DunningRun, "change")
BLOCK = model_perm(Partner, "change")
NUM = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(str(m) for messages_ in exc.message_dict.values() for m in messages_)
    return " ".join(str(m) for m in exc.messages)


def money(minor: int | None, currency: str) -> Decimal | None:
    """Minor units as the Decimal people read (and exports keep as numbers)."""
    if minor is None:
        return None
    return Money(int(minor), currency).to_decimal()


# --- levels -----------------------------------------------------------------------------------


class DunningLevelTable(BaseTable):
    level = tables.Column(linkify=lambda record: _detail(record, "dunninglevel"))
    fee = MoneyColumn(currency=lambda record: record.company.base_currency)

    class Meta(BaseTable.Meta):
        model = DunningLevel
        fields = (
            "pk",
            "level",
            "name",
            "days_overdue",
            "fee",
            "charge_interest",
            "block_partner",
        )


class DunningLevelFilterSet(CompanyFilterSet):
    search_fields = ("name", "text_es", "text_it", "text_en")

    class Meta:
        model = DunningLevel
        fields = ("block_partner", "charge_interest")


class DunningLevelForm(CompanyModelForm):
    fee = forms.DecimalField(
        label=gettext_lazy("Fee"),
        required=False,
        min_value=Decimal(0),
        max_digits=15,
        decimal_places=4,
        help_text=gettext_lazy(
            "The fixed compensation the letter claims, in the company currency."
        ),
    )
    field_order = ("level", "name", "days_overdue", "fee")

    class Meta:
        model = DunningLevel
        fields = (
            "level",
            "name",
            "days_overdue",
            "charge_interest",
            "block_partner",
            "text_es",
            "text_it",
            "text_en",
        )
        widgets = {
            "text_es": forms.Textarea(attrs={"rows": 4}),
            "text_it": forms.Textarea(attrs={"rows": 4}),
            "text_en": forms.Textarea(attrs={"rows": 4}),
        }

    def set_company(self, company: Any) -> None:
        self.fields["fee"].help_text = _(
            "The fixed compensation the letter claims, in %(currency)s."
        ) % {"currency": company.base_currency}
        if self.instance.pk is not None and not self.is_bound:
            self.initial["fee"] = money(self.instance.fee, company.base_currency)


class LevelListView(ObjectListView):
    """The levels, with a button that creates the defaults while there are none."""

    template_name = "billing/dunning_level_list.html"

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["no_levels"] = not (
            DunningLevel.objects.for_company(self.request.company).exists()  # type: ignore[attr-defined]
        )
        return ctx


class LevelDetailView(ObjectDetailView):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        level = ctx.get("object")
        if level is not None:
            ctx["fee"] = money(level.fee, level.company.base_currency)
            ctx["currency"] = level.company.base_currency
        return ctx


class DunningLevelViews(ObjectViews):
    model = DunningLevel
    table = DunningLevelTable
    filterset = DunningLevelFilterSet
    form = DunningLevelForm
    select_related = ("company",)
    detail_fields = (
        "level",
        "name",
        "days_overdue",
        "charge_interest",
        "block_partner",
        "text_es",
        "text_it",
        "text_en",
    )
    detail_template = "billing/dunning_level_extra.html"
    list_view = LevelListView
    detail_view = LevelDetailView
    create_service = dunning.dunning_level_create
    update_service = dunning.dunning_level_update
    delete_service = dunning.dunning_level_delete


class LevelDefaultsView(CompanyView):
    """POST: create the default levels of a company that has none."""

    views = DunningLevelViews
    required_perm = model_perm(DunningLevel, "add")

    def post(self, request: HttpRequest) -> HttpResponse:
        levels = dunning.dunning_levels_default(request.company)  # type: ignore[attr-defined]
        messages.success(request, _("%(count)d levels ready.") % {"count": len(levels)})
        return HttpResponseRedirect(company_url(request, "billing:dunninglevel_list"))


def level_urls() -> list[Any]:
    return [
        *DunningLevelViews.urls(),
        path("defaults/", LevelDefaultsView.as_view(), name="dunninglevel_defaults"),
    ]


def _detail(record: Any, name: str) -> str:
    from django.urls import reverse

    return reverse(
        f"billing:{name}_detail", kwargs={"company": record.company.code, "pk": record.pk}
    )


# --- runs -------------------------------------------------------------------------------------


class DunningRunTable(BaseTable):
    date = tables.Column(linkify=lambda record: record.get_absolute_url())
    letter_count = tables.Column(verbose_name=gettext_lazy("Letters"), attrs=NUM)
    included_count = tables.Column(verbose_name=gettext_lazy("Included"), attrs=NUM)

    class Meta(BaseTable.Meta):
        model = DunningRun
        fields = (
            "date",
            "state",
            "letter_count",
            "included_count",
            "created_at",
            "confirmed_by",
            "confirmed_at",
        )


class DunningRunFilterSet(CompanyFilterSet):
    search_fields = ("letters__partner__code", "letters__partner__legal_name", "confirmed_by")
    state = django_filters.ChoiceFilter(
        choices=DunningRun.State.choices, label=gettext_lazy("State")
    )
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label=gettext_lazy("Date from")
    )
    date_to = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", label=gettext_lazy("Date to")
    )

    class Meta:
        model = DunningRun
        fields = ("state",)

    def filter_search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return super().filter_search(queryset, name, value).distinct()


class _RunForm(forms.ModelForm):
    """Never shown: runs are made by proposing, not by a form."""

    class Meta:
        model = DunningRun
        fields = ("date",)


class ProposeForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("Date"), required=False)


class RunListView(ObjectListView):
    """The runs, with "propose now" and links to the levels and promises."""

    template_name = "billing/dunning_run_list.html"

    def apply_columns(self, table: Any, columns: list[str]) -> None:
        super().apply_columns(table, columns)
        table.columns.hide("pk")  # no bulk deletion: the history of collections stays

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_add"] = False  # runs are proposed, not added by a form
        ctx["can_delete"] = False  # the history of collections stays
        ctx["can_propose"] = has_perm(self.request, PROPOSE)
        ctx["today"] = timezone.localdate()
        ctx["pending"] = (
            DunningRun.objects.for_company(self.request.company)  # type: ignore[attr-defined]
            .filter(state=DunningRun.State.PROPOSED)
            .order_by("-pk")
            .first()
        )
        return ctx


def _credit(minor: int, currency: str) -> Decimal | None:
    """The customer's credit as subtracted on the letters (negative), or None when there is
    none (an empty cell)."""
    return money(-minor, currency) if minor else None


def _totals(letters: list[DunningLetter]) -> list[dict[str, Any]]:
    """Per currency: letters included, overdue, credit on account, interest, fees and total
    claimed."""
    sums: dict[str, dict[str, int]] = defaultdict(
        lambda: {"count": 0, "overdue": 0, "credit": 0, "interest": 0, "fee": 0, "total": 0}
    )
    for letter in letters:
        if not letter.included:
            continue
        row = sums[letter.currency]
        row["count"] += 1
        row["overdue"] += letter.overdue_amount
        row["credit"] += letter.credit_amount
        row["interest"] += letter.interest_amount
        row["fee"] += letter.fee_amount
        row["total"] += letter.total_amount
    return [
        {
            "currency": currency,
            "count": row["count"],
            "overdue": money(row["overdue"], currency),
            "credit": _credit(row["credit"], currency),
            "interest": money(row["interest"], currency),
            "fee": money(row["fee"], currency),
            "total": money(row["total"], currency),
        }
        for currency, row in sorted(sums.items())
    ]


def _letter_rows(letters: list[DunningLetter]) -> list[dict[str, Any]]:
    deliveries = dunning.letter_deliveries(letters)
    rows = []
    for letter in letters:
        currency = letter.currency
        rows.append(
            {
                "letter": letter,
                "partner": letter.partner,
                "invoices": sorted(letter.invoices.all(), key=lambda inv: (inv.date, inv.pk)),
                "overdue": money(letter.overdue_amount, currency),
                "credit": _credit(letter.credit_amount, currency),
                "interest": money(letter.interest_amount, currency),
                "fee": money(letter.fee_amount, currency),
                "total": money(letter.total_amount, currency),
                "recipients": dunning.letter_recipients(letter.partner),
                "deliveries": deliveries.get(letter.pk, []),
            }
        )
    return rows


class RunReviewView(ObjectDetailView):
    """The review screen of a proposed run, or the record of a confirmed or discarded one."""

    template_name = "billing/dunning_run_detail.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self.get_object()
        letters = list(
            run.letters.select_related("partner", "level", "run", "company")
            .prefetch_related("invoices")
            .order_by("partner__code", "currency")
        )
        settings = dunning.settings_of(request.company)  # type: ignore[attr-defined]
        rate = settings.late_interest_rate if settings is not None else Decimal(0)
        ctx = self.base_context(
            object=run,
            run=run,
            letters=_letter_rows(letters),
            totals=_totals(letters),
            proposed=run.state == DunningRun.State.PROPOSED,
            can_review=has_perm(request, REVIEW),
            no_rate=rate <= 0 and any(letter.level.charge_interest for letter in letters),
            no_iban=settings is None or not settings.iban,
            sync_limit=dunning.DELIVER_SYNC_LIMIT,
        )
        ctx["breadcrumbs"].append({"label": str(run), "url": None})
        if getattr(request, "htmx", False) and request.headers.get("HX-Target") == "run-totals":
            return render(request, "billing/dunning_run_totals.html", ctx)
        return render(request, self.template_name, ctx)


class DunningRunViews(ObjectViews):
    model = DunningRun
    table = DunningRunTable
    filterset = DunningRunFilterSet
    form = _RunForm
    list_view = RunListView
    detail_view = RunReviewView

    @classmethod
    def get_queryset(cls, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                letter_count=Count("letters", distinct=True),
                included_count=Count("letters", filter=Q(letters__included=True), distinct=True),
            )
        )

    @classmethod
    def urls(cls) -> list[Any]:
        bind = {"views": cls}
        return [
            path("", cls.list_view.as_view(**bind), name="dunningrun_list"),
            path("propose/", ProposeView.as_view(), name="dunningrun_propose"),
            path("<int:pk>/", cls.detail_view.as_view(**bind), name="dunningrun_detail"),
            path(
                "<int:pk>/select/", RunActionView.as_view(action="select"), name="dunningrun_select"
            ),
            path(
                "<int:pk>/confirm/",
                RunActionView.as_view(action="confirm"),
                name="dunningrun_confirm",
            ),
            path(
                "<int:pk>/discard/",
                RunActionView.as_view(action="discard"),
                name="dunningrun_discard",
            ),
        ]


class ProposeView(CompanyView):
    """POST ``date`` (default today): propose a run, then show it for review."""

    views = DunningRunViews
    required_perm = PROPOSE

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ProposeForm(request.POST)
        list_url = company_url(request, "billing:dunningrun_list")
        if not form.is_valid():
            messages.error(request, _errors(ValidationError(form.errors)))
            return HttpResponseRedirect(list_url)
        date = form.cleaned_data.get("date") or timezone.localdate()
        try:
            run = dunning.dunning_run_propose(company=request.company, date=date)  # type: ignore[attr-defined]
        except ValidationError as exc:
            messages.warning(request, _errors(exc))
            return HttpResponseRedirect(list_url)
        count = run.letters.count()
        messages.success(
            request,
            ngettext(
                "Run of %(date)s proposed with %(count)d letter: review it and confirm.",
                "Run of %(date)s proposed with %(count)d letters: review them and confirm.",
                count,
            )
            % {"date": run.date.isoformat(), "count": count},
        )
        return HttpResponseRedirect(company_url(request, "billing:dunningrun_detail", pk=run.pk))


class RunActionView(CompanyView):
    """POST: ``select`` (the ``included`` letter ids), ``confirm`` (applies the selection sent
    with it first, when the form sends ``selection``) or ``discard``."""

    views = DunningRunViews
    required_perm = REVIEW
    action: ClassVar[str] = ""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self.get_object()
        detail = company_url(request, "billing:dunningrun_detail", pk=run.pk)
        try:
            if self.action in ("select", "confirm") and request.POST.get("selection"):
                _apply_selection(run, request.POST.getlist("included"))
            if self.action == "confirm":
                run = dunning.dunning_run_confirm(run=run, user=request.user)
                sent = run.letters.filter(included=True).count()
                text = (
                    ngettext(
                        "%(count)d letter sent; the e-mails go out now.",
                        "%(count)d letters sent; the e-mails go out now.",
                        sent,
                    )
                    if sent <= dunning.DELIVER_SYNC_LIMIT
                    else ngettext(
                        "%(count)d letter sent; the e-mails go out in the background.",
                        "%(count)d letters sent; the e-mails go out in the background.",
                        sent,
                    )
                )
                messages.success(request, text % {"count": sent})
            elif self.action == "discard":
                dunning.dunning_run_discard(run=run)
                messages.success(request, _("Run discarded: nothing was sent."))
            elif getattr(request, "htmx", False):  # a checkbox changed: the new totals
                letters = list(run.letters.all())
                return render(
                    request,
                    "billing/dunning_run_totals.html",
                    {"totals": _totals(letters), "run": run},
                )
            else:
                messages.success(request, _("Selection saved."))
        except ValidationError as exc:
            if getattr(request, "htmx", False):
                return HttpResponse(_errors(exc), status=400)
            messages.error(request, _errors(exc))
        return HttpResponseRedirect(detail)


def _apply_selection(run: DunningRun, included_ids: list[str]) -> None:
    wanted = {int(value) for value in included_ids if value.isdigit()}
    for letter in run.letters.all():
        if letter.included and letter.pk not in wanted:
            dunning.letter_exclude(letter=letter)
        elif not letter.included and letter.pk in wanted:
            dunning.letter_include(letter=letter)


# --- letters ----------------------------------------------------------------------------------


class LetterScope:
    """What the letter pages read: the company's letters (not a generic list of its own)."""

    model = DunningLetter

    @classmethod
    def get_queryset(cls, request: Any) -> QuerySet[Any]:
        return DunningLetter.objects.for_company(request.company).select_related(
            "run", "partner", "level", "company"
        )


class LetterPdfView(CompanyView):
    """The letter as a PDF, shown in the browser: the archived copy once sent, else a preview
    rendered now in the partner's language."""

    views = LetterScope  # type: ignore[assignment]
    required_perm = VIEW_RUNS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        letter = self.get_object()
        response = HttpResponse(dunning.letter_stored_pdf(letter), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{dunning.letter_filename(letter)}"'
        response["Cache-Control"] = "private, no-store"
        return response


class LetterSendView(CompanyView):
    """POST: e-mail a sent letter again (its archived PDF)."""

    views = LetterScope  # type: ignore[assignment]
    required_perm = REVIEW

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        letter = self.get_object()
        try:
            delivery = dunning.letter_send(letter=letter)
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            if delivery.ok:
                messages.success(
                    request, _("Letter e-mailed to %(to)s.") % {"to": delivery.recipients}
                )
            else:
                messages.warning(request, delivery.error or _("The e-mail could not be sent."))
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = company_url(request, "billing:dunningrun_detail", pk=letter.run_id)
        return HttpResponseRedirect(back)


# --- promises to pay --------------------------------------------------------------------------


class PromiseToPayTable(BaseTable):
    partner = tables.Column(
        accessor="partner__legal_name",
        verbose_name=gettext_lazy("Partner"),
        linkify=lambda record: company_partner_url(record),
    )
    invoice = tables.Column(verbose_name=gettext_lazy("Invoice"))
    promised_date = tables.Column(linkify=lambda record: _detail(record, "promisetopay"))
    amount = MoneyColumn(
        currency=lambda record: dunning.promise_currency(record.partner, record.invoice)
    )

    class Meta(BaseTable.Meta):
        model = PromiseToPay
        fields = (
            "pk",
            "promised_date",
            "partner",
            "invoice",
            "amount",
            "note",
            "recorded_by",
            "created_at",
        )
        default_columns = ("promised_date", "partner", "invoice", "amount", "note", "recorded_by")

    def value_invoice(self, record: PromiseToPay) -> str:
        return str(record.invoice) if record.invoice else ""


def company_partner_url(record: Any) -> str:
    from django.urls import reverse

    return reverse(
        "billing:partner_collections",
        kwargs={"company": record.company.code, "pk": record.partner_id},
    )


class PromiseToPayFilterSet(CompanyFilterSet):
    search_fields = ("partner__code", "partner__legal_name", "invoice__number", "note")
    partner = django_filters.CharFilter(
        field_name="partner__code", label=gettext_lazy("Partner code")
    )
    pending = django_filters.BooleanFilter(
        method="filter_pending", label=gettext_lazy("Not yet due")
    )
    date_from = django_filters.DateFilter(
        field_name="promised_date", lookup_expr="gte", label=gettext_lazy("Date from")
    )
    date_to = django_filters.DateFilter(
        field_name="promised_date", lookup_expr="lte", label=gettext_lazy("Date to")
    )

    class Meta:
        model = PromiseToPay
        fields: tuple[str, ...] = ()

    def filter_pending(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        if value is None:
            return queryset
        today = timezone.localdate()
        return (
            queryset.filter(promised_date__gte=today)
            if value
            else queryset.filter(promised_date__lt=today)
        )


class PromiseToPayForm(CompanyModelForm):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"),
        required=False,
        min_value=Decimal("0.0001"),
        max_digits=18,
        decimal_places=4,
        help_text=gettext_lazy("Optional: in the invoice's currency."),
    )
    field_order = ("partner", "invoice", "promised_date", "amount", "note")

    class Meta:
        model = PromiseToPay
        fields = ("partner", "invoice", "promised_date", "note")
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}

    def set_company(self, company: Any) -> None:
        partners = Partner.objects.for_company(company).filter(is_customer=True)
        self.fields["partner"].queryset = partners.order_by("code")  # type: ignore[attr-defined]
        invoices = (
            Invoice.objects.for_company(company)
            .filter(direction="sale", state=Invoice.State.ISSUED, open_amount__gt=0)
            .select_related("partner")
            .order_by("partner__code", "date", "pk")
        )
        self.fields["invoice"].queryset = invoices  # type: ignore[attr-defined]
        self.fields["invoice"].label_from_instance = lambda inv: (  # type: ignore[attr-defined]
            f"{inv} · {inv.partner.code} · {Money(inv.open_amount, inv.currency)}"
        )
        if self.instance.pk is not None and not self.is_bound and self.instance.amount:
            currency = dunning.promise_currency(self.instance.partner, self.instance.invoice)
            self.initial["amount"] = money(self.instance.amount, currency)

    def _post_clean(self) -> None:
        pass  # the service validates (the instance must not be changed by the form)


class PromiseEditView(ObjectEditView):
    """Add or edit; the add page takes ``?partner=<id>&invoice=<id>`` to fill them in."""

    def get_form(self, instance: Any) -> Any:
        form = super().get_form(instance)
        if instance is None and self.request.method == "GET":
            for name in ("partner", "invoice"):
                value = self.request.GET.get(name, "")
                if value.isdigit():
                    form.initial[name] = int(value)
        return form


class PromiseDetailView(ObjectDetailView):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        promise = ctx.get("object")
        if promise is not None and promise.amount is not None:
            currency = dunning.promise_currency(promise.partner, promise.invoice)
            ctx["amount"] = money(promise.amount, currency)
            ctx["currency"] = currency
        return ctx


class PromiseToPayViews(ObjectViews):
    model = PromiseToPay
    table = PromiseToPayTable
    filterset = PromiseToPayFilterSet
    form = PromiseToPayForm
    select_related = ("company", "partner", "invoice")
    detail_fields = ("partner", "invoice", "promised_date", "note", "recorded_by", "created_at")
    detail_template = "billing/dunning_promise_extra.html"
    edit_view = PromiseEditView
    detail_view = PromiseDetailView
    create_service = dunning.promise_to_pay_create
    update_service = dunning.promise_to_pay_update
    delete_service = dunning.promise_to_pay_delete


# --- one partner's collections ----------------------------------------------------------------


class PartnerScope:
    """The partners the collections pages read (the partner pages are the partners module's)."""

    model = Partner

    @classmethod
    def get_queryset(cls, request: Any) -> QuerySet[Any]:
        return Partner.objects.for_company(request.company)


class BlockForm(forms.Form):
    blocked = forms.BooleanField(required=False)
    reason = forms.CharField(max_length=500, required=False)


class PartnerCollectionsView(CompanyView):
    """A partner's collections: what is overdue now, letters, e-mails, promises, blocks."""

    views = PartnerScope  # type: ignore[assignment]
    required_perm = VIEW_RUNS
    template_name = "billing/dunning_partner.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        partner = self.get_object()
        today = timezone.localdate()
        overdue = (
            dunning.overdue_installments(request.company, today)  # type: ignore[attr-defined]
            .filter(partner=partner)
            .select_related("invoice")
        )
        open_rows = [
            {
                "invoice": item.invoice,
                "due_date": item.due_date,
                "days": (today - item.due_date).days,
                "open": money(item.open_amount, item.invoice.currency),
                "currency": item.invoice.currency,
            }
            for item in overdue
        ]
        letters = list(dunning.partner_letters(partner))
        promises = list(
            PromiseToPay.objects.for_company(request.company)  # type: ignore[attr-defined]
            .filter(partner=partner)
            .select_related("invoice")
            .order_by("-promised_date", "-pk")
        )
        ctx = {
            "partner": partner,
            "open_rows": open_rows,
            "letters": _letter_rows(letters),
            "deliveries": list(dunning.partner_deliveries(partner)[:100]),
            "promises": [
                {
                    "promise": promise,
                    "amount": money(
                        promise.amount, dunning.promise_currency(partner, promise.invoice)
                    ),
                    "currency": dunning.promise_currency(partner, promise.invoice),
                    "pending": promise.promised_date >= today,
                }
                for promise in promises
            ],
            "blocks": dunning.partner_block_history(partner),
            "can_block": has_perm(request, BLOCK),
            "can_review": has_perm(request, REVIEW),
            "can_promise": has_perm(request, model_perm(PromiseToPay, "add")),
            "breadcrumbs": [
                {"label": _("Billing"), "url": None},
                {
                    "label": _("Collections"),
                    "url": company_url(request, "billing:dunningrun_list"),
                },
                {"label": str(partner), "url": None},
            ],
        }
        return render(request, self.template_name, ctx)


class PartnerBlockView(CompanyView):
    """POST ``blocked`` (1 to block, empty to unblock) and ``reason``."""

    views = PartnerScope  # type: ignore[assignment]
    required_perm = BLOCK

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        partner = self.get_object()
        form = BlockForm(request.POST)
        back = company_url(request, "billing:partner_collections", pk=partner.pk)
        if not form.is_valid():
            messages.error(request, _errors(ValidationError(form.errors)))
            return HttpResponseRedirect(back)
        blocked = bool(form.cleaned_data["blocked"])
        try:
            dunning.partner_block(
                partner=partner,
                blocked=blocked,
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except ValidationError as exc:
            messages.error(request, _errors(exc))
            return HttpResponseRedirect(back)
        messages.success(
            request,
            (
                _("%(partner)s is blocked: no new invoices.")
                if blocked
                else _("%(partner)s is unblocked.")
            )
            % {"partner": partner.code},
        )
        return HttpResponseRedirect(back)


urlpatterns = [
    path("dunning/runs/", include(DunningRunViews.urls())),
    path("dunning/levels/", include(level_urls())),
    path("dunning/promises/", include(PromiseToPayViews.urls())),
    path("dunning/letters/<int:pk>/pdf/", LetterPdfView.as_view(), name="dunningletter_pdf"),
    path("dunning/letters/<int:pk>/send/", LetterSendView.as_view(), name="dunningletter_send"),
    path(
        "partners/<int:pk>/collections/",
        PartnerCollectionsView.as_view(),
        name="partner_collections",
    ),
    path(
        "partners/<int:pk>/collections/block/",
        PartnerBlockView.as_view(),
        name="partner_block",
    ),
]
