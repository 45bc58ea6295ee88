"""Pages of trading's expiry part, under ``/c/<code>/trading/``.

- ``expiries/``: the month view of the expiry calendar (``?month=YYYY-MM``; previous/next
  month, events coloured by kind, today marked); ``expiries/list/``: the same events as a
  list between two dates (``from``, ``to``; default today and 90 days on) of one ``kind``,
  exported as CSV or XLSX (``export=csv|xlsx``, permission ``core.export_data``).
  Both need ``trading.view_trade`` (they show open positions).
- ``expiries/calendar.ics``: the iCalendar feed (365 days back, 2 years ahead). A signed-in
  member who may view trades gets it with the session; calendar clients use the personal URL
  shown on the month page, ``?token=`` (:func:`~trastienda.trading.expiry.ical_token`: signed
  with ``SECRET_KEY`` and the user's password hash, so a password change revokes it; checked
  against the user's membership and permission on every fetch).
- ``expiries/process/``: the expiry process of a date: a preview of what will happen
  (``?date=``), then the run on POST (``trading.add_expiryrun``).
- ``expiry-runs/``: the runs (read only) and each run's events with links to their trades.
- ``obligations/``: list, detail, add, edit and delete of the dated obligations, writing
  through :mod:`trastienda.trading.expiry` (``obligation_create`` / ``_update`` /
  ``_delete``).
"""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import include, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.core.exports import CONTENT_TYPES, export_bytes
from trastienda.core.filters import CompanyFilterSet
from trastienda.core.forms import BootstrapMixin, CompanyModelForm
from trastienda.core.generic import (
    CompanyView,
    ObjectDetailView,
    ObjectListView,
    ObjectViews,
    RefusedBulkDeleteView,
    RefusedDeleteView,
    RefusedEditView,
    audit,
    company_url,
    deny,
)
from trastienda.core.models import Company
from trastienda.core.permissions import has_perm, model_perm
from trastienda.core.tables import NUM, BaseTable
from trastienda.trading import expiry
from trastienda.trading.models import ExpiryRun, Obligation
from trastienda.trading.views import FormActionView, apply_errors

VIEW_TRADES = "trading.view_trade"
EXPORT_PERM = "core.export_data"
LIST_DEFAULT_DAYS = 90
FEED_PAST_DAYS = 365
FEED_FUTURE_DAYS = 730
# Bootstrap colour of each kind of event (badges and the month grid).
KIND_COLOURS = {
    expiry.EventKind.OPTION: "primary",
    expiry.EventKind.FUTURE: "info",
    expiry.EventKind.FX_FORWARD: "secondary",
    expiry.EventKind.BOND: "success",
    expiry.EventKind.OBLIGATION: "warning",
}


def _link(record: Any) -> str:
    return str(record.get_absolute_url())


# --- obligations ------------------------------------------------------------------------------


class ObligationTable(BaseTable):
    title = tables.Column(linkify=_link)
    owner = tables.Column(accessor="owner__username", verbose_name=gettext_lazy("Owner"))

    class Meta(BaseTable.Meta):
        model = Obligation
        fields = (
            "pk",
            "due_date",
            "title",
            "kind",
            "counterparty",
            "reminder_days",
            "owner",
            "done",
        )


class ObligationFilterSet(CompanyFilterSet):
    search_fields = ("title", "counterparty", "description")
    kind = django_filters.ChoiceFilter(choices=Obligation.Kind.choices, label=gettext_lazy("Kind"))
    done = django_filters.BooleanFilter(label=gettext_lazy("Done"))
    due_from = django_filters.DateFilter(
        field_name="due_date", lookup_expr="gte", label=gettext_lazy("Due from")
    )
    due_to = django_filters.DateFilter(
        field_name="due_date", lookup_expr="lte", label=gettext_lazy("Due until")
    )

    class Meta:
        model = Obligation
        fields = ("kind", "done")


class ObligationForm(CompanyModelForm):
    class Meta:
        model = Obligation
        fields = expiry.OBLIGATION_FIELDS
        widgets = {"due_date": forms.DateInput(attrs={"type": "date"})}

    def set_company(self, company: Company) -> None:
        from trastienda.trading.filters import company_members

        self.fields["owner"].queryset = company_members(company)  # type: ignore[attr-defined]


class ObligationViews(ObjectViews):
    model = Obligation
    table = ObligationTable
    filterset = ObligationFilterSet
    form = ObligationForm
    select_related = ("company", "owner")
    detail_fields = expiry.OBLIGATION_FIELDS
    create_service = expiry.obligation_create
    update_service = expiry.obligation_update
    delete_service = expiry.obligation_delete


# --- expiry runs ------------------------------------------------------------------------------


class ExpiryRunTable(BaseTable):
    id = tables.Column(linkify=_link, verbose_name=gettext_lazy("Run"), attrs=NUM)
    events = tables.Column(attrs=NUM)
    trades = tables.Column(attrs=NUM)
    created_by = tables.Column(accessor="created_by__username", verbose_name=gettext_lazy("Run by"))

    class Meta(BaseTable.Meta):
        model = ExpiryRun
        fields = ("pk", "id", "date", "events", "trades", "created_by", "created_at")


class ExpiryRunFilterSet(CompanyFilterSet):
    date = django_filters.DateFilter(label=gettext_lazy("Date"))
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label=gettext_lazy("From")
    )
    date_to = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", label=gettext_lazy("To")
    )

    class Meta:
        model = ExpiryRun
        fields = ("date",)


class ExpiryRunListView(ObjectListView):
    """The runs; a button leads to the expiry process."""

    template_name = "trading/expiry_run_list.html"

    def apply_columns(self, table: Any, columns: list[str]) -> None:
        super().apply_columns(table, columns)
        table.columns.hide("pk")

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx.update(
            can_add=False,
            can_delete=False,
            can_act=has_perm(self.request, model_perm(ExpiryRun, "add")),
            act_url=company_url(self.request, "trading:expiry_process"),
        )
        return ctx


class ExpiryRunDetailView(ObjectDetailView):
    """The run and what it did to each position, with links to the resulting trades."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx.update(can_change=False, can_delete=False)
        run = extra.get("object")
        if run is not None:
            ctx["run_events"] = expiry.run_events(run)
        return ctx


class ExpiryRunViews(ObjectViews):
    model = ExpiryRun
    table = ExpiryRunTable
    filterset = ExpiryRunFilterSet
    select_related = ("company", "created_by")
    list_view = ExpiryRunListView
    detail_view = ExpiryRunDetailView
    edit_view = RefusedEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
    detail_template = "trading/expiry_run_detail_extra.html"
    detail_fields = ("date", "events", "trades", "created_by", "created_at")


# --- the calendar -----------------------------------------------------------------------------


def _parse_month(text: str, today: dt.date) -> dt.date:
    try:
        year, month = (int(part) for part in text.split("-", 1))
        return dt.date(year, month, 1)
    except (ValueError, TypeError):
        return today.replace(day=1)


def _shift_month(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


class CalendarPage(CompanyView):
    """Shared by the calendar's pages: permission and breadcrumbs."""

    views = ObligationViews  # for the generic context; the pages are about the calendar

    def get_required_perm(self) -> str:
        return VIEW_TRADES

    def page_context(self, title: str, **extra: Any) -> dict[str, Any]:
        ctx = self.base_context(title=title, **extra)
        ctx["breadcrumbs"] = [
            {"label": _("Trading"), "url": None},
            {
                "label": _("Expiry calendar"),
                "url": company_url(self.request, "trading:expiry_calendar"),
            },
            {"label": title, "url": None},
        ]
        ctx.update(
            kind_colours=KIND_COLOURS,
            month_url=company_url(self.request, "trading:expiry_calendar"),
            events_list_url=company_url(self.request, "trading:expiry_list"),
            obligations_url=company_url(self.request, "trading:obligation_list"),
            can_process=has_perm(self.request, model_perm(ExpiryRun, "add")),
            process_url=company_url(self.request, "trading:expiry_process"),
            kinds=[
                (value, label, KIND_COLOURS[value]) for value, label in expiry.EventKind.choices
            ],
        )
        return ctx


def _decorate(events: list[expiry.CalendarEvent]) -> list[dict[str, Any]]:
    return [
        {"event": event, "colour": KIND_COLOURS[event.kind], "url": event.url()} for event in events
    ]


class ExpiryCalendarView(CalendarPage):
    """The month grid (weeks from Monday) with the month's events."""

    template_name = "trading/expiry_calendar.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        today = timezone.localdate()
        first = _parse_month(request.GET.get("month", ""), today)
        weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
        events = expiry.calendar_events(company, weeks[0][0], weeks[-1][-1], today=today)
        by_day: dict[dt.date, list[expiry.CalendarEvent]] = defaultdict(list)
        for event in events:
            by_day[event.date].append(event)
        grid = [
            [
                {
                    "date": day,
                    "in_month": day.month == first.month,
                    "today": day == today,
                    "events": _decorate(by_day.get(day, [])),
                }
                for day in week
            ]
            for week in weeks
        ]
        feed = request.build_absolute_uri(
            reverse("trading:expiry_ical", kwargs={"company": company.code})
        )
        ctx = self.page_context(
            str(date_format(first, "YEAR_MONTH_FORMAT")),
            month=first,
            grid=grid,
            weekdays=[dt.date(2024, 1, day) for day in range(1, 8)],  # Monday to Sunday
            previous_month=_shift_month(first, -1).strftime("%Y-%m"),
            next_month=_shift_month(first, 1).strftime("%Y-%m"),
            this_month=today.strftime("%Y-%m"),
            month_events=[e for e in events if e.date.month == first.month],
            feed_url=f"{feed}?token={expiry.ical_token(request.user, company)}",
        )
        return render(request, self.template_name, ctx)


class EventsForm(BootstrapMixin, forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("kind"),
        required=False,
        choices=[("", "—"), *expiry.EventKind.choices],
    )


class ExpiryListView(CalendarPage):
    """The events between two dates as a list, exported as CSV or XLSX."""

    template_name = "trading/expiry_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        today = timezone.localdate()
        data = {
            "date_from": request.GET.get("from", "") or today.isoformat(),
            "date_to": request.GET.get("to", "")
            or (today + dt.timedelta(days=LIST_DEFAULT_DAYS)).isoformat(),
            "kind": request.GET.get("kind", ""),
        }
        form = EventsForm(data)
        title = _("Expiries and obligations")
        if not form.is_valid():
            ctx = self.page_context(title, form=form, events=[])
            return render(request, self.template_name, ctx, status=400)
        kind = form.cleaned_data["kind"]
        try:
            events = expiry.calendar_events(
                company,
                form.cleaned_data["date_from"],
                form.cleaned_data["date_to"],
                kinds=[kind] if kind else None,
                today=today,
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error({"from": "date_from", "to": "date_to"}.get(name), errors)
            ctx = self.page_context(title, form=form, events=[])
            return render(request, self.template_name, ctx, status=400)
        fmt = request.GET.get("export")
        if fmt:
            return self.export(fmt, events, form.cleaned_data)
        query = request.GET.copy()
        query.pop("export", None)
        ctx = self.page_context(
            title,
            form=form,
            events=_decorate(events),
            can_export=has_perm(request, EXPORT_PERM),
            query_without_page=query.urlencode(),
        )
        return render(request, self.template_name, ctx)

    def export(
        self, fmt: str, events: list[expiry.CalendarEvent], params: dict[str, Any]
    ) -> HttpResponse:
        if fmt not in CONTENT_TYPES:
            return HttpResponse(_("Unknown export format."), status=400)
        if not has_perm(self.request, EXPORT_PERM):
            raise deny(self.request, EXPORT_PERM)
        header = [
            _("Date"),
            _("Kind"),
            _("Event"),
            _("Open position"),
            _("Positions by account"),
            _("Processed"),
            _("Done"),
        ]
        rows = [
            [
                event.date,
                event.kind_label,
                event.title,
                Decimal(event.position_text) if event.position is not None else None,
                event.positions_text,
                _("Yes") if event.processed else "",
                _("Yes") if event.done else "",
            ]
            for event in events
        ]
        title = str(_("Expiry calendar"))
        data = export_bytes(fmt, header, rows, title=title)
        filename = (
            f"{slugify(title)}-{params['date_from'].isoformat()}-{params['date_to'].isoformat()}"
            f".{fmt}"
        )
        audit(
            action="export",
            company=self.request.company,  # type: ignore[attr-defined]
            object_type="trading.expirycalendar",
            object_repr=filename,
            extra={"format": fmt, "rows": len(rows), "query": self.request.GET.urlencode()},
        )
        response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


def expiry_ical(request: HttpRequest) -> HttpResponse:
    """The iCalendar feed: the personal ``token`` (calendar clients) or the session."""
    company = getattr(request, "company", None)
    token = request.GET.get("token", "")
    if token:
        if company is None:  # anonymous: the URL's company, which the middleware set aside
            code = request.path_info.split("/")[2] if request.path_info.startswith("/c/") else ""
            company = Company.objects.filter(code=code.upper(), is_active=True).first()
        if company is None or expiry.ical_user(token, company) is None:
            raise Http404
    else:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if company is None:
            raise Http404
        if not has_perm(request, VIEW_TRADES):
            raise deny(request, VIEW_TRADES)
    today = timezone.localdate()
    data = expiry.ical_feed(
        company,
        today - dt.timedelta(days=FEED_PAST_DAYS),
        today + dt.timedelta(days=FEED_FUTURE_DAYS),
    )
    response = HttpResponse(data, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="expiries-{company.code}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


expiry_ical.required_perm = VIEW_TRADES  # type: ignore[attr-defined]  # for the permission matrix


# --- the expiry process -----------------------------------------------------------------------


class ExpiryProcessForm(BootstrapMixin, forms.Form):
    date = forms.DateField(
        label=gettext_lazy("date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy(
            "Options, futures and bonds expiring or maturing this day with open positions."
        ),
    )


class ExpiryProcessView(FormActionView):
    """GET: a date and, once chosen, the preview of what the process will do. POST: run it
    (:func:`~trastienda.trading.expiry.expiry_process`) and show the run."""

    template_name = "trading/expiry_process.html"
    form_class = ExpiryProcessForm
    title = gettext_lazy("Expiry process")
    perm = model_perm(ExpiryRun, "add")
    views = ExpiryRunViews

    def initial(self) -> dict[str, Any]:
        return {"date": timezone.localdate()}

    def get(self, request: HttpRequest) -> HttpResponse:
        if "date" not in request.GET:
            return super().get(request)
        form = ExpiryProcessForm(request.GET)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            plan = expiry.expiry_preview(
                company=request.company,  # type: ignore[attr-defined]
                date=form.cleaned_data["date"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
            return self.page(form, status=400)
        return self.page(form, plan=plan)

    def act(self, form: forms.Form) -> HttpResponse:
        request = self.request
        run = expiry.expiry_process(
            company=request.company,  # type: ignore[attr-defined]
            date=form.cleaned_data["date"],
            user=request.user,
        )
        messages.success(
            request,
            _("Expiry run of %(date)s: %(events)d positions processed, %(trades)d trades booked.")
            % {"date": run.date.isoformat(), "events": run.events, "trades": run.trades},
        )
        return HttpResponseRedirect(run.get_absolute_url())


urlpatterns: list[Any] = [
    path("expiries/", ExpiryCalendarView.as_view(), name="expiry_calendar"),
    path("expiries/list/", ExpiryListView.as_view(), name="expiry_list"),
    path("expiries/calendar.ics", expiry_ical, name="expiry_ical"),
    path(
        "expiries/process/",
        ExpiryProcessView.as_view(views=ExpiryRunViews),
        name="expiry_process",
    ),
    path("expiry-runs/", include(ExpiryRunViews.urls())),
    path("obligations/", include(ObligationViews.urls())),
]

__all__ = [
    "ExpiryCalendarView",
    "ExpiryListView",
    "ExpiryProcessView",
    "ExpiryRunViews",
    "ObligationViews",
    "expiry_ical",
]
