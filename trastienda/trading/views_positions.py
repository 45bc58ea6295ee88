"""Pages of trading's positions part, under ``/c/<code>/trading/``.

- ``prices/``: the generic list of closing prices (filters, search, CSV/XLSX export), a
  price's page, "Add" (sets one price: :func:`~trastienda.trading.positions.price_set`, a
  different price of the same day replaces it), delete; ``prices/import/`` imports a CSV or
  XLSX file (:func:`~trastienda.trading.positions.prices_import`), all or nothing, its
  problems shown by line.
- ``positions/``: positions as of a date (:func:`~trastienda.trading.positions.positions`),
  filtered, grouped by account, instrument, trader, desk or broker; XLSX/CSV export.
- ``pnl/``: the daily P&L report of a date by trader, broker and desk from the snapshots
  (:func:`~trastienda.trading.positions.pnl_report`), bar charts, XLSX/CSV export, and the
  "Run P&L for this date" button (``pnl/run/``, POST,
  :func:`~trastienda.trading.positions.pnl_run`).
- ``pnl/history/``: total P&L per day over a date range, in all and per desk (line chart).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import include, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.core.exports import CONTENT_TYPES, export_bytes
from trastienda.core.filters import CompanyFilterSet
from trastienda.core.forms import BootstrapMixin, CompanyModelForm
from trastienda.core.generic import (
    REFUSED,
    CompanyView,
    ObjectEditView,
    ObjectListView,
    audit,
    company_url,
    deny,
)
from trastienda.core.money import Money
from trastienda.core.permissions import has_perm, model_perm
from trastienda.core.tables import BaseTable
from trastienda.trading import positions as book
from trastienda.trading.forms import IMPORT_MAX_BYTES
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    Broker,
    Desk,
    Instrument,
    PnlSnapshot,
    Price,
    Trader,
    TradingAccount,
)
from trastienda.trading.tables import ScaledColumn, scaled
from trastienda.trading.views import BookedViews, FileImportView

VIEW_PNL = model_perm(PnlSnapshot, "view")
RUN_PNL = model_perm(PnlSnapshot, "add")
EXPORT_FORMATS = ("csv", "xlsx")


def amount(minor: int | None, currency: str) -> Decimal | None:
    """Minor units as a Decimal of ``currency`` (None stays None)."""
    return None if minor is None else Money(int(minor), currency).to_decimal()


def export_response(
    request: HttpRequest, fmt: str, name: str, title: str, header: list[str], rows: list[Any]
) -> HttpResponse:
    """A CSV/XLSX download of a report, audited (needs ``core.export_data``)."""
    if not has_perm(request, "core.export_data"):
        raise deny(request, "core.export_data")
    company = request.company  # type: ignore[attr-defined]
    filename = f"{name}-{company.code}.{fmt}"
    audit(
        action="export",
        company=company,
        object_type=f"trading.{name.split('-')[0]}",
        object_repr=filename,
        extra={"format": fmt, "rows": len(rows), "query": request.GET.urlencode()},
    )
    response = HttpResponse(
        export_bytes(fmt, header, rows, title=title), content_type=CONTENT_TYPES[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- prices -----------------------------------------------------------------------------------


class PriceFilterSet(CompanyFilterSet):
    """``q`` searches the instrument's code, ISIN and name."""

    search_fields = ("instrument__code", "instrument__isin", "instrument__name")
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label=gettext_lazy("Date from")
    )
    date_to = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", label=gettext_lazy("Date to")
    )
    instrument = django_filters.ModelChoiceFilter(
        queryset=Instrument.objects.none(), label=gettext_lazy("Instrument")
    )
    source = django_filters.CharFilter(lookup_expr="iexact", label=gettext_lazy("Source"))

    class Meta:
        model = Price
        fields = ("date_from", "date_to", "instrument", "source")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        company = getattr(getattr(self, "request", None), "company", None)
        self.filters["instrument"].queryset = (
            Instrument.objects.for_company(company).order_by("code")
            if company is not None
            else Instrument.objects.none()
        )


class PriceTable(BaseTable):
    instrument = tables.Column(
        accessor="instrument__code",
        verbose_name=gettext_lazy("Instrument"),
        linkify=lambda record: record.get_absolute_url(),
    )
    isin = tables.Column(accessor="instrument__isin", verbose_name=gettext_lazy("ISIN"))
    name = tables.Column(accessor="instrument__name", verbose_name=gettext_lazy("Name"))
    currency = tables.Column(accessor="instrument__currency", verbose_name=gettext_lazy("Currency"))
    close = ScaledColumn(places=PRICE_PLACES, verbose_name=gettext_lazy("Closing price"))

    class Meta(BaseTable.Meta):
        model = Price
        fields = ("pk", "date", "instrument", "isin", "name", "currency", "close", "source")
        sequence = ("pk", "date", "instrument", "isin", "name", "currency", "close", "source")
        default_columns = ("date", "instrument", "name", "currency", "close", "source")


class PriceForm(CompanyModelForm):
    """One closing price; the service decides (a different price of the day replaces it)."""

    close = forms.DecimalField(
        label=gettext_lazy("closing price"),
        max_digits=30,
        decimal_places=PRICE_PLACES,
        min_value=Decimal(0),
        help_text=gettext_lazy("In the instrument's currency, at most 8 decimals."),
    )

    class Meta:
        model = Price
        fields = ("instrument", "date")
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instrument"].queryset = (  # type: ignore[attr-defined]
            Instrument.objects.none()
        )

    def set_company(self, company: Any) -> None:
        self.fields["instrument"].queryset = (  # type: ignore[attr-defined]
            Instrument.objects.for_company(company).order_by("code")
        )

    def _post_clean(self) -> None:
        """No model validation: the service checks the price, and a price of the same day is
        replaced by it, not refused here."""


class PriceImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=gettext_lazy("file"),
        help_text=gettext_lazy(
            "CSV or XLSX with a header row: date (YYYY-MM-DD), instrument (code or ISIN), "
            "close (at most 8 decimals)."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = str(upload.name or "").lower()
        if not name.endswith((".csv", ".xlsx", ".txt")):
            raise forms.ValidationError(_("Choose a CSV or XLSX file."))
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is too large (at most 10 MB)."))
        return upload


def price_create(*, company: Any, **data: Any) -> Price:
    """The "Add" page's service: set the price."""
    return book.price_set(company=company, **data)


class PriceListView(ObjectListView):
    """The generic list of prices with a button to the import page."""

    template_name = "trading/price_list.html"

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx.update(
            can_import=has_perm(self.request, model_perm(Price, "add")),
            import_url=company_url(self.request, "trading:price_import"),
        )
        return ctx


class PriceImportView(FileImportView):
    template_name = "trading/price_import.html"
    form_class = PriceImportForm
    title = gettext_lazy("Import prices")
    perm = model_perm(Price, "add")

    def importer(self, **kwargs: Any) -> Any:
        return book.prices_import(**kwargs)


class PriceEditView(ObjectEditView):
    """ "Add" sets (or replaces) the price of a day; a stored price is not edited."""

    def get_required_perm(self) -> str:
        return REFUSED if "pk" in self.kwargs else model_perm(Price, "add")


class PriceViews(BookedViews):
    model = Price
    table = PriceTable
    filterset = PriceFilterSet
    form = PriceForm
    select_related = ("company", "instrument")
    list_view = PriceListView
    edit_view = PriceEditView
    create_service = price_create
    detail_fields = ("instrument", "date", "close", "source", "imported_at")

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        shown = []
        for name, (label, value) in zip(cls.detail_fields, super().detail_values(obj), strict=True):
            if name == "close":
                value = f"{scaled(obj.close, PRICE_PLACES)} {obj.instrument.currency}"
            shown.append((label, value))
        return shown

    @classmethod
    def urls(cls) -> list[Any]:
        bind = {"views": cls}
        return [
            *super().urls(),
            path("import/", PriceImportView.as_view(**bind), name="price_import"),
        ]


# --- positions and P&L pages ------------------------------------------------------------------


class ReportView(CompanyView):
    """A report page of the positions part (not a model's list): its own breadcrumbs."""

    title: Any = ""

    def get_required_perm(self) -> str:
        return VIEW_PNL

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "title": self.title,
            "can_export": has_perm(self.request, "core.export_data"),
            "can_run": has_perm(self.request, RUN_PNL),
            "breadcrumbs": [
                {"label": _("Trading"), "url": None},
                {"label": self.title, "url": None},
            ],
        }
        ctx.update(extra)
        return ctx


def _company_choices(form: forms.Form, company: Any) -> None:
    for name, model in (
        ("account", TradingAccount),
        ("instrument", Instrument),
        ("trader", Trader),
        ("desk", Desk),
        ("broker", Broker),
    ):
        if name in form.fields:
            form.fields[name].queryset = model.objects.for_company(  # type: ignore[attr-defined]
                company
            ).order_by("code")


def _date_field(label: Any, required: bool = False) -> forms.DateField:
    return forms.DateField(
        label=label, required=required, widget=forms.DateInput(attrs={"type": "date"})
    )


def _choice(label: Any, model: Any) -> forms.ModelChoiceField[Any]:
    return forms.ModelChoiceField(label=label, queryset=model.objects.none(), required=False)


class PositionsForm(BootstrapMixin, forms.Form):
    date = _date_field(gettext_lazy("as of"))
    group = forms.ChoiceField(
        label=gettext_lazy("group by"),
        required=False,
        choices=[
            ("", gettext_lazy("Nothing (every line)")),
            ("account", gettext_lazy("Account")),
            ("instrument", gettext_lazy("Instrument")),
            ("trader", gettext_lazy("Trader")),
            ("desk", gettext_lazy("Desk")),
            ("broker", gettext_lazy("Broker")),
        ],
    )
    account = _choice(gettext_lazy("account"), TradingAccount)
    instrument = _choice(gettext_lazy("instrument"), Instrument)
    trader = _choice(gettext_lazy("trader"), Trader)
    desk = _choice(gettext_lazy("desk"), Desk)
    broker = _choice(gettext_lazy("broker"), Broker)


def position_header() -> list[str]:
    return [
        _("Account"),
        _("Instrument"),
        _("Trader"),
        _("Desk"),
        _("Broker"),
        _("Currency"),
        _("Quantity"),
        _("Cost"),
        _("Closing price"),
        _("Price date"),
        _("Market value"),
        _("Unrealised P&L"),
        _("Realised P&L (day)"),
        _("Realised P&L to date"),
        _("Fees and commissions (day)"),
    ]


def position_cells(row: book.PositionRow) -> list[Any]:
    c = row.currency
    return [
        row.account.code,
        row.instrument.code,
        row.trader.code,
        row.desk.code,
        row.broker.code,
        c,
        scaled(row.quantity, QUANTITY_PLACES),
        amount(row.cost, c),
        scaled(row.close, PRICE_PLACES),
        row.close_date,
        amount(row.market_value, c),
        amount(row.unrealised, c),
        amount(row.realised, c),
        amount(row.realised_to_date, c),
        amount(row.fees, c),
    ]


def group_header(group: str) -> list[str]:
    return [
        str(dict(PositionsForm.base_fields["group"].choices)[group]),  # type: ignore[attr-defined]
        _("Name"),
        _("Currency"),
        _("Quantity"),
        _("Cost"),
        _("Market value"),
        _("Unrealised P&L"),
        _("Realised P&L (day)"),
        _("Realised P&L to date"),
        _("Total P&L"),
        _("Fees and commissions (day)"),
        _("Lines without a price"),
    ]


def group_cells(item: book.GroupRow) -> list[Any]:
    c = item.currency
    return [
        item.key.code,
        item.key.name,
        c,
        None if item.quantity is None else scaled(item.quantity, QUANTITY_PLACES),
        amount(item.cost, c),
        amount(item.market_value, c),
        amount(item.unrealised, c),
        amount(item.realised, c),
        amount(item.realised_to_date, c),
        amount(item.total, c),
        amount(item.fees, c),
        item.unpriced,
    ]


class PositionsView(ReportView):
    """GET: the positions as of a date (default today), filtered and grouped; ``export``."""

    template_name = "trading/positions_page.html"
    title = gettext_lazy("Positions")

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        form = PositionsForm(request.GET or None)
        _company_choices(form, company)
        today = timezone.localdate()
        if form.is_bound and not form.is_valid():
            return render(
                request, self.template_name, self.base_context(form=form, day=today), status=400
            )
        data = form.cleaned_data if form.is_bound else {}
        day = data.get("date") or today
        group = data.get("group") or ""
        rows = book.positions(company, day, data)
        groups = book.positions_grouped(rows, group) if group else []
        fmt = request.GET.get("export")
        if fmt in EXPORT_FORMATS:
            if group:
                header, cells = group_header(group), [group_cells(g) for g in groups]
            else:
                header, cells = position_header(), [position_cells(r) for r in rows]
            return export_response(
                request, fmt, f"positions-{day.isoformat()}", str(_("Positions")), header, cells
            )
        query = request.GET.copy()
        query.pop("export", None)
        ctx = self.base_context(
            form=form,
            day=day,
            group=group,
            rows=[position_cells(r) for r in rows],
            header=position_header(),
            groups=[group_cells(g) for g in groups],
            group_head=group_header(group) if group else [],
            unpriced=sum(1 for r in rows if r.quantity and r.close is None),
            cost_method=book.cost_method_of(company),
            query=query.urlencode(),
        )
        return render(request, self.template_name, ctx)


class PnlDateForm(BootstrapMixin, forms.Form):
    date = _date_field(gettext_lazy("date"))


class PnlRunForm(BootstrapMixin, forms.Form):
    date = _date_field(gettext_lazy("date"), required=True)


PNL_SECTIONS = (
    ("trader", gettext_lazy("By trader")),
    ("broker", gettext_lazy("By broker")),
    ("desk", gettext_lazy("By desk")),
)


def pnl_header() -> list[str]:
    return [
        _("Group"),
        _("Code"),
        _("Name"),
        _("Currency"),
        _("Realised P&L (day)"),
        _("Realised P&L to date"),
        _("Unrealised P&L"),
        _("Total P&L"),
        _("Fees and commissions (day)"),
        _("Lines without a price"),
    ]


def pnl_cells(label: Any, item: book.PnlGroup) -> list[Any]:
    c = item.currency
    return [
        str(label),
        item.key.code,
        item.key.name,
        c,
        amount(item.realised, c),
        amount(item.realised_to_date, c),
        amount(item.unrealised, c),
        amount(item.total, c),
        amount(item.fees, c),
        item.unpriced,
    ]


def pnl_chart(items: list[book.PnlGroup], currency: str) -> dict[str, Any]:
    """Bar chart of one group: realised of the day, unrealised and total, in ``currency``."""
    shown = [item for item in items if item.currency == currency]
    return {
        "type": "bar",
        "labels": [item.key.code for item in shown],
        "datasets": [
            {
                "label": str(_("Realised (day)")),
                "values": [str(amount(i.realised, currency)) for i in shown],
            },
            {
                "label": str(_("Unrealised")),
                "values": [str(amount(i.unrealised, currency)) for i in shown],
            },
            {
                "label": str(_("Total")),
                "values": [str(amount(i.total, currency)) for i in shown],
            },
        ],
    }


class PnlReportView(ReportView):
    """GET: the daily P&L of a date (default: the latest run) by trader, broker and desk."""

    template_name = "trading/pnl_report.html"
    title = gettext_lazy("Daily P&L")

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        form = PnlDateForm(request.GET or None)
        runs = book.snapshot_dates(company)
        if form.is_bound and not form.is_valid():
            ctx = self.base_context(form=form, sections=[], runs=runs, day=None)
            return render(request, self.template_name, ctx, status=400)
        day = (form.cleaned_data.get("date") if form.is_bound else None) or (
            runs[0] if runs else timezone.localdate()
        )
        currency = company.base_currency
        sections = []
        cells: list[list[Any]] = []
        for index, (group, label) in enumerate(PNL_SECTIONS):
            items = book.pnl_report(company, day, group)
            cells += [pnl_cells(label, item) for item in items]
            sections.append(
                {
                    "group": group,
                    "label": label,
                    "rows": [pnl_cells(label, item)[1:] for item in items],
                    "chart_id": f"pnl-chart-{index}",
                    "chart": pnl_chart(items, currency),
                }
            )
        fmt = request.GET.get("export")
        if fmt in EXPORT_FORMATS:
            return export_response(
                request, fmt, f"pnl-{day.isoformat()}", str(_("Daily P&L")), pnl_header(), cells
            )
        ran = PnlSnapshot.objects.filter(company=company, date=day).exists()
        ctx = self.base_context(
            form=PnlDateForm(initial={"date": day}),
            run_form=PnlRunForm(initial={"date": day}),
            run_url=company_url(request, "trading:pnl_run"),
            history_url=company_url(request, "trading:pnl_history"),
            day=day,
            ran=ran,
            runs=runs,
            sections=sections,
            header=pnl_header()[1:],
            currency=currency,
            query=f"date={day.isoformat()}",
        )
        return render(request, self.template_name, ctx)


class PnlRunView(ReportView):
    """POST: run the P&L of a date (replacing its snapshots), then show its report."""

    def get_required_perm(self) -> str:
        return RUN_PNL

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PnlRunForm(request.POST)
        report = company_url(request, "trading:pnl_report")
        if not form.is_valid():
            for errors in form.errors.values():
                messages.error(request, " ".join(str(e) for e in errors))
            return HttpResponseRedirect(report)
        day = form.cleaned_data["date"]
        try:
            result = book.pnl_run(
                company=request.company,  # type: ignore[attr-defined]
                date=day,
                user=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(report)
        messages.success(
            request,
            _("P&L of %(date)s computed: %(rows)d lines.")
            % {"date": day.isoformat(), "rows": result.rows},
        )
        if result.unpriced:
            messages.warning(
                request,
                _("%(count)d open positions have no closing price: import the prices.")
                % {"count": result.unpriced},
            )
        return HttpResponseRedirect(f"{report}?date={day.isoformat()}")


class PnlHistoryForm(BootstrapMixin, forms.Form):
    date_from = _date_field(gettext_lazy("from"))
    date_to = _date_field(gettext_lazy("to"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end is before the start."))
        return data


class PnlHistoryView(ReportView):
    """GET: total P&L per snapshot date over a range (default: the last 90 days), in all and
    per desk; ``export``."""

    template_name = "trading/pnl_history.html"
    title = gettext_lazy("P&L history")

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        form = PnlHistoryForm(request.GET or None)
        if form.is_bound and not form.is_valid():
            return render(request, self.template_name, self.base_context(form=form), status=400)
        data = form.cleaned_data if form.is_bound else {}
        end = data.get("date_to") or timezone.localdate()
        start = data.get("date_from") or end - dt.timedelta(days=90)
        history = book.pnl_history(company, start, end)
        c = history.currency
        header = [_("Date"), _("Total P&L"), _("P&L of the day")] + [
            desk.code for desk in history.desks
        ]
        rows = [
            [day, amount(total, c), amount(change, c)]
            + [amount(values[i], c) for values in history.desks.values()]
            for i, (day, total, change) in enumerate(
                zip(history.dates, history.totals, history.changes, strict=True)
            )
        ]
        fmt = request.GET.get("export")
        if fmt in EXPORT_FORMATS:
            return export_response(
                request, fmt, f"pnl-history-{end.isoformat()}", str(_("P&L history")), header, rows
            )
        chart = {
            "type": "line",
            "labels": [day.isoformat() for day in history.dates],
            "datasets": [
                {
                    "label": str(_("Total")),
                    "values": [str(amount(v, c)) for v in history.totals],
                },
                *(
                    {"label": desk.code, "values": [str(amount(v, c)) for v in values]}
                    for desk, values in history.desks.items()
                ),
            ],
        }
        ctx = self.base_context(
            form=PnlHistoryForm(initial={"date_from": start, "date_to": end}),
            start=start,
            end=end,
            header=header,
            rows=rows,
            chart=chart,
            currency=c,
            query=f"date_from={start.isoformat()}&date_to={end.isoformat()}",
            report_url=company_url(request, "trading:pnl_report"),
        )
        return render(request, self.template_name, ctx)


urlpatterns: list[Any] = [
    path("prices/", include(PriceViews.urls())),
    path("positions/", PositionsView.as_view(), name="positions"),
    path("pnl/", PnlReportView.as_view(), name="pnl_report"),
    path("pnl/run/", PnlRunView.as_view(), name="pnl_run"),
    path("pnl/history/", PnlHistoryView.as_view(), name="pnl_history"),
]
