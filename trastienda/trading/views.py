"""Pages of trading, under ``/c/<code>/trading/``.

- ``desks/``, ``traders/``, ``brokers/``, ``accounts/``, ``instruments/``: the generic list,
  detail, add, edit and delete of the reference data, writing through
  :mod:`trastienda.trading.reference` (codes unique, ISIN, currency and market checked, the
  fields an instrument's type needs; deletion refused while trades use the record).
- ``trades/``: the list of trades (current versions; ``all_versions`` shows every version),
  the detail of a version with the trade's version history and what each version changed,
  "New trade" (:func:`~trastienda.trading.services.trade_book`), "Amend" (the edit page,
  :func:`~trastienda.trading.services.trade_amend`) and "Cancel"
  (:func:`~trastienda.trading.services.trade_cancel`). Trades are never deleted.
- ``trades/import/``: upload a CSV or XLSX file of trades
  (:func:`~trastienda.trading.services.trades_import`), imported in the request, all or
  nothing; a refused file shows its problems by line.
- ``confirmations/``: the brokers' confirmations (read only) and ``confirmations/import/``
  (:func:`~trastienda.trading.reconciliation.confirmations_import`, all or nothing).
- ``reconciliation-runs/``: the runs and ``reconciliation-runs/reconcile/`` (a trade date,
  :func:`~trastienda.trading.reconciliation.trades_reconcile`).
- ``breaks/``: the breaks, open ones by broker and kind on top
  (:func:`~trastienda.trading.reconciliation.open_breaks_by`), and on a break's page Assign
  (:func:`~trastienda.trading.reconciliation.break_assign`) and Resolve
  (:func:`~trastienda.trading.reconciliation.break_resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import include, path
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from trastienda.core.errors import errors_by_place as import_errors
from trastienda.core.generic import (
    CompanyView,
    ObjectDetailView,
    ObjectListView,
    ObjectViews,
    RefusedBulkDeleteView,
    RefusedDeleteView,
    RefusedEditView,
    company_url,
)
from trastienda.core.money import Money, format_money
from trastienda.core.permissions import has_perm, model_perm
from trastienda.trading import reconciliation, reference, services
from trastienda.trading.filters import (
    BreakFilterSet,
    BrokerFilterSet,
    ConfirmationFilterSet,
    DeskFilterSet,
    InstrumentFilterSet,
    ReconciliationRunFilterSet,
    TradeFilterSet,
    TraderFilterSet,
    TradingAccountFilterSet,
    wants_all_versions,
)
from trastienda.trading.forms import (
    BreakAssignForm,
    BreakResolveForm,
    BrokerForm,
    ConfirmationImportForm,
    DeskForm,
    InstrumentForm,
    ReconcileForm,
    TradeAmendForm,
    TradeCancelForm,
    TradeForm,
    TradeImportForm,
    TraderForm,
    TradingAccountForm,
    trade_values,
)
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    Break,
    Broker,
    Confirmation,
    Desk,
    Instrument,
    ReconciliationRun,
    SettlementInstruction,
    Trade,
    Trader,
    TradingAccount,
)
from trastienda.trading.tables import (
    BreakTable,
    BrokerTable,
    ConfirmationTable,
    DeskTable,
    InstrumentTable,
    ReconciliationRunTable,
    TraderTable,
    TradeTable,
    TradingAccountTable,
    scaled,
)

WEB_SOURCE = "web"


# --- reference data ---------------------------------------------------------------------------


class BookedViews(ObjectViews):
    """The views of a trade-shaped record (a trade version, a confirmation, a settlement
    instruction): its audited quantities, prices and amounts read as decimals."""

    QUANTITIES = frozenset({"quantity"})
    PRICES = frozenset({"price", "close"})
    AMOUNTS = frozenset({"gross_amount", "fees", "commission", "cash_amount", "amount"})

    @classmethod
    def change_value(
        cls,
        name: str,
        value: Any,
        obj: Any = None,
        related: dict[tuple[str, Any], Any] | None = None,
    ) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if name in cls.QUANTITIES:
                return scaled(value, QUANTITY_PLACES)
            if name in cls.PRICES:
                return scaled(value, PRICE_PLACES)
            currency = getattr(obj, "currency", "")
            if name in cls.AMOUNTS and currency:
                return format_money(Money(value, currency), (get_language() or "en")[:2])
        return super().change_value(name, value, obj, related)


class DeskViews(ObjectViews):
    model = Desk
    table = DeskTable
    filterset = DeskFilterSet
    form = DeskForm
    select_related = ("company",)
    create_service = reference.desk_create
    update_service = reference.desk_update
    delete_service = reference.desk_delete


class TraderViews(ObjectViews):
    model = Trader
    table = TraderTable
    filterset = TraderFilterSet
    form = TraderForm
    select_related = ("company", "desk", "user")
    create_service = reference.trader_create
    update_service = reference.trader_update
    delete_service = reference.trader_delete


class BrokerViews(ObjectViews):
    model = Broker
    table = BrokerTable
    filterset = BrokerFilterSet
    form = BrokerForm
    detail_template = "trading/broker_detail_extra.html"
    select_related = ("company",)
    detail_fields = reference.BROKER_FIELDS
    create_service = reference.broker_create
    update_service = reference.broker_update
    delete_service = reference.broker_delete


class TradingAccountViews(ObjectViews):
    model = TradingAccount
    table = TradingAccountTable
    filterset = TradingAccountFilterSet
    form = TradingAccountForm
    select_related = ("company", "desk", "partner")
    create_service = reference.trading_account_create
    update_service = reference.trading_account_update
    delete_service = reference.trading_account_delete


class InstrumentViews(ObjectViews):
    model = Instrument
    table = InstrumentTable
    filterset = InstrumentFilterSet
    form = InstrumentForm
    select_related = ("company", "underlying")
    detail_fields = reference.INSTRUMENT_FIELDS
    create_service = reference.instrument_create
    update_service = reference.instrument_update
    delete_service = reference.instrument_delete


# --- trades -----------------------------------------------------------------------------------

AMOUNT_FIELDS = ("gross_amount", "fees", "commission")
# What a version may change, in the order the history shows it.
VERSIONED_FIELDS = ("status", *services.AMENDABLE)


def trade_field_display(trade: Trade, name: str) -> Any:
    if name == "quantity":
        return scaled(trade.quantity, QUANTITY_PLACES)
    if name == "price":
        return scaled(trade.price, PRICE_PLACES)
    if name in AMOUNT_FIELDS:
        return f"{Money(int(getattr(trade, name)), trade.currency).to_decimal()} {trade.currency}"
    return None


@dataclass(frozen=True)
class VersionRow:
    trade: Trade
    changes: list[tuple[str, str, str]]  # (field label, before, after)
    is_shown: bool


def version_rows(trade: Trade, shown: Trade | None = None) -> list[VersionRow]:
    """Every version of ``trade``'s trade id, oldest first, with what each changed."""
    labels = {f.name: capfirst(str(f.verbose_name)) for f in Trade._meta.fields}
    versions = list(
        Trade.objects.filter(company=trade.company, trade_id=trade.trade_id)
        .select_related("company", "account", "trader", "instrument", "broker", "created_by")
        .order_by("version")
    )
    rows: list[VersionRow] = []
    previous: dict[str, str] | None = None
    for version in versions:
        values = {**trade_values(version), "status": version.get_status_display()}
        changes = []
        if previous is not None:
            for name in VERSIONED_FIELDS:
                if values.get(name, "") != previous.get(name, ""):
                    changes.append((labels.get(name, name), previous.get(name, ""), values[name]))
        rows.append(VersionRow(version, changes, shown is not None and version.pk == shown.pk))
        previous = values
    return rows


class TradeListView(ObjectListView):
    """The generic list of current versions (``all_versions`` lists them all); "Add" books
    a trade, and a button leads to the import page."""

    template_name = "trading/trade_list.html"

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        if not wants_all_versions(self.request.GET):
            queryset = queryset.filter(is_current=True)
        return queryset

    def apply_columns(self, table: Any, columns: list[str]) -> None:
        super().apply_columns(table, columns)
        table.columns.hide("pk")  # trades are never deleted

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx.update(
            can_delete=False,
            can_import=has_perm(self.request, model_perm(Trade, "add")),
            import_url=company_url(self.request, "trading:trade_import"),
        )
        return ctx


class TradeDetailView(ObjectDetailView):
    """The generic detail of a version, its trade's versions and what each changed, and the
    Amend and Cancel buttons on the current version of an active trade."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        trade = extra.get("object")
        ctx.update(can_change=False, can_delete=False)
        if trade is None:
            return ctx
        request = self.request
        open_trade = trade.is_current and trade.status == Trade.Status.ACTIVE
        current = (
            trade
            if trade.is_current
            else Trade.objects.filter(
                company=trade.company, trade_id=trade.trade_id, is_current=True
            ).first()
        )
        ctx.update(
            versions=version_rows(trade, shown=trade),
            current=current,
            can_amend=open_trade and has_perm(request, model_perm(Trade, "change")),
            amend_url=company_url(request, "trading:trade_edit", pk=trade.pk),
            cancel_url=company_url(request, "trading:trade_cancel", pk=trade.pk),
        )
        return ctx


class TradeFormView(CompanyView):
    """Shared by the booking and amending pages: the generic edit page and its HTMX check."""

    template_name = "generic/object_edit.html"

    def form_page(
        self, form: Form, action_url: str, instance: Any = None, status: int = 200
    ) -> HttpResponse:
        ctx = self.base_context(form=form, object=instance, action_url=action_url)
        if instance is not None:
            ctx["breadcrumbs"].append({"label": str(instance), "url": instance.get_absolute_url()})
            ctx["breadcrumbs"].append({"label": _("Amend"), "url": None})
        else:
            ctx["breadcrumbs"].append({"label": _("New"), "url": None})
        template = (
            "generic/object_form.html"
            if getattr(self.request, "htmx", False)
            else self.template_name
        )
        return render(self.request, template, ctx, status=status)


def apply_errors(form: Form, exc: ValidationError) -> None:
    """The service's errors on the form's fields (others above the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class TradeCreateView(TradeFormView):
    """GET: the new trade form. POST: book it (``trade_book``)."""

    def get_required_perm(self) -> str:
        return model_perm(Trade, "add")

    def action_url(self) -> str:
        return company_url(self.request, "trading:trade_add")

    def get(self, request: HttpRequest) -> HttpResponse:
        form = TradeForm(company=request.company)  # type: ignore[attr-defined]
        return self.form_page(form, self.action_url())

    def post(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        form = TradeForm(request.POST, company=company)
        if request.GET.get("validate"):
            form.is_valid()
            return self.form_page(form, self.action_url())
        if not form.is_valid():
            return self.form_page(form, self.action_url(), status=400)
        try:
            trade = services.trade_book(
                company=company, user=request.user, source=WEB_SOURCE, **form.service_data()
            )
        except ValidationError as exc:
            apply_errors(form, exc)
            return self.form_page(form, self.action_url(), status=400)
        messages.success(request, _("Trade %(id)s booked.") % {"id": trade.trade_id})
        return HttpResponseRedirect(trade.get_absolute_url())


class TradeAmendView(TradeFormView):
    """GET: the current version's values to change. POST: a new version with the changed
    values (``trade_amend``). Old versions and cancelled trades lead back to the trade."""

    def get_required_perm(self) -> str:
        return model_perm(Trade, "change")

    def closed(self, trade: Trade) -> HttpResponse | None:
        if trade.is_current and trade.status == Trade.Status.ACTIVE:
            return None
        messages.warning(
            self.request,
            _("Only the current version of an active trade can be amended."),
        )
        return HttpResponseRedirect(trade.get_absolute_url())

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        trade = self.get_object()
        refused = self.closed(trade)
        if refused is not None:
            return refused
        action = company_url(request, "trading:trade_edit", pk=trade.pk)
        return self.form_page(TradeAmendForm(trade=trade), action, trade)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        trade = self.get_object()
        refused = self.closed(trade)
        if refused is not None:
            return refused
        action = company_url(request, "trading:trade_edit", pk=trade.pk)
        form = TradeAmendForm(request.POST, trade=trade)
        if request.GET.get("validate"):
            form.is_valid()
            return self.form_page(form, action, trade)
        if not form.is_valid():
            return self.form_page(form, action, trade, status=400)
        changes = form.changes()
        if not changes:
            messages.info(request, _("Nothing changed: no new version."))
            return HttpResponseRedirect(trade.get_absolute_url())
        try:
            amended = services.trade_amend(
                company=request.company,  # type: ignore[attr-defined]
                trade_id=trade.trade_id,
                user=request.user,
                source=WEB_SOURCE,
                **changes,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
            return self.form_page(form, action, trade, status=400)
        messages.success(
            request,
            _("Trade %(id)s amended: version %(version)d.")
            % {"id": amended.trade_id, "version": amended.version},
        )
        return HttpResponseRedirect(amended.get_absolute_url())


class TradeCancelView(CompanyView):
    """GET: ask for the reason. POST: a cancelled version (``trade_cancel``)."""

    template_name = "trading/trade_cancel.html"

    def get_required_perm(self) -> str:
        return model_perm(Trade, "change")

    def page(self, trade: Trade, form: TradeCancelForm, status: int = 200) -> HttpResponse:
        title = _("Cancel trade %(id)s") % {"id": trade.trade_id}
        ctx = self.base_context(object=trade, form=form, title=title)
        ctx["breadcrumbs"].append({"label": str(trade), "url": trade.get_absolute_url()})
        ctx["breadcrumbs"].append({"label": _("Cancel"), "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def closed(self, trade: Trade) -> HttpResponse | None:
        if trade.is_current and trade.status == Trade.Status.ACTIVE:
            return None
        messages.warning(
            self.request, _("Only the current version of an active trade can be cancelled.")
        )
        return HttpResponseRedirect(trade.get_absolute_url())

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        trade = self.get_object()
        return self.closed(trade) or self.page(trade, TradeCancelForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        trade = self.get_object()
        refused = self.closed(trade)
        if refused is not None:
            return refused
        form = TradeCancelForm(request.POST)
        if not form.is_valid():
            return self.page(trade, form, status=400)
        try:
            cancelled = services.trade_cancel(
                company=request.company,  # type: ignore[attr-defined]
                trade_id=trade.trade_id,
                reason=form.cleaned_data["reason"],
                user=request.user,
                source=WEB_SOURCE,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
            return self.page(trade, form, status=400)
        messages.success(request, _("Trade %(id)s cancelled.") % {"id": cancelled.trade_id})
        return HttpResponseRedirect(cancelled.get_absolute_url())


class FileImportView(CompanyView):
    """GET: the upload form. POST: the file through ``importer`` (a service, all or
    nothing); a refused file shows its errors by line, nothing written (400)."""

    template_name: str
    form_class: type[Form]
    title: Any = ""
    perm: str = ""

    def get_required_perm(self) -> str:
        return self.perm

    def importer(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def done(self) -> dict[str, Any]:
        """What the page shows beside the result of a success."""
        return {}

    def page(self, form: Form, *, status: int = 200, **extra: Any) -> HttpResponse:
        ctx = self.base_context(form=form, title=self.title, **extra)
        ctx["breadcrumbs"].append({"label": self.title, "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(self.form_class())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(form, status=400)
        upload = form.cleaned_data["file"]
        try:
            result = self.importer(
                company=request.company,  # type: ignore[attr-defined]
                content=upload.read(),
                filename=upload.name,
                user=request.user,
            )
        except ValidationError as exc:
            return self.page(form, status=400, errors=import_errors(exc))
        return self.page(self.form_class(), result=result, **self.done())


class TradeImportView(FileImportView):
    template_name = "trading/trade_import.html"
    form_class = TradeImportForm
    title = gettext_lazy("Import trades")
    perm = model_perm(Trade, "add")

    def importer(self, **kwargs: Any) -> Any:
        return services.trades_import(**kwargs)

    def done(self) -> dict[str, Any]:
        return {"trades_url": company_url(self.request, "trading:trade_list")}


class TradeViews(BookedViews):
    model = Trade
    table = TradeTable
    filterset = TradeFilterSet
    select_related = (
        "company",
        "account",
        "trader",
        "trader__desk",
        "instrument",
        "broker",
        "created_by",
    )
    list_view = TradeListView
    detail_view = TradeDetailView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
    detail_template = "trading/trade_detail_extra.html"
    detail_fields = (
        "trade_id",
        "version",
        "status",
        "executed_at",
        "trade_date",
        "settlement_date",
        "account",
        "trader",
        "instrument",
        "broker",
        "side",
        "quantity",
        "price",
        "currency",
        "gross_amount",
        "fees",
        "commission",
        "late",
        "source",
        "comment",
        "created_by",
        "created_at",
    )

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        shown = []
        for name, (label, value) in zip(cls.detail_fields, super().detail_values(obj), strict=True):
            special = trade_field_display(obj, name)
            shown.append((label, value if special is None else special))
        return shown

    @classmethod
    def urls(cls) -> list[Any]:
        bind = {"views": cls}
        return [
            path("", cls.list_view.as_view(**bind), name="trade_list"),
            path("add/", TradeCreateView.as_view(**bind), name="trade_add"),
            path("import/", TradeImportView.as_view(**bind), name="trade_import"),
            path("bulk-delete/", cls.bulk_delete_view.as_view(**bind), name="trade_bulk_delete"),
            path("<int:pk>/", cls.detail_view.as_view(**bind), name="trade_detail"),
            path("<int:pk>/edit/", TradeAmendView.as_view(**bind), name="trade_edit"),
            path("<int:pk>/cancel/", TradeCancelView.as_view(**bind), name="trade_cancel"),
            path("<int:pk>/delete/", cls.delete_view.as_view(**bind), name="trade_delete"),
        ]


# --- confirmations and reconciliation ---------------------------------------------------------


class ReadOnlyListView(ObjectListView):
    """A generic list without "Add" nor bulk delete: its rows come from a service; an optional
    button (``action_name``, ``action_perm``) leads to the page that makes them."""

    action_name: str = ""
    action_verb: str = "add"

    def apply_columns(self, table: Any, columns: list[str]) -> None:
        super().apply_columns(table, columns)
        table.columns.hide("pk")

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx.update(can_add=False, can_delete=False)
        if self.action_name:
            ctx.update(
                can_act=has_perm(self.request, model_perm(self.views.model, self.action_verb)),
                act_url=company_url(self.request, self.action_name),
            )
        return ctx


class ReadOnlyDetailView(ObjectDetailView):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx.update(can_change=False, can_delete=False)
        return ctx


class ConfirmationListView(ReadOnlyListView):
    template_name = "trading/confirmation_list.html"
    action_name = "trading:confirmation_import"


class ConfirmationImportView(CompanyView):
    """GET: the broker and the file. POST: import it, all or nothing; errors by line."""

    template_name = "trading/confirmation_import.html"

    def get_required_perm(self) -> str:
        return model_perm(Confirmation, "add")

    def page(
        self, form: ConfirmationImportForm, *, status: int = 200, **extra: Any
    ) -> HttpResponse:
        title = _("Import confirmations")
        ctx = self.base_context(form=form, title=title, **extra)
        ctx["breadcrumbs"].append({"label": title, "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(ConfirmationImportForm(company=request.company))  # type: ignore[attr-defined]

    def post(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        form = ConfirmationImportForm(request.POST, request.FILES, company=company)
        if not form.is_valid():
            return self.page(form, status=400)
        upload = form.cleaned_data["file"]
        try:
            result = reconciliation.confirmations_import(
                company=company,
                content=upload.read(),
                filename=upload.name,
                broker=form.cleaned_data["broker"],
                user=request.user,
            )
        except ValidationError as exc:
            return self.page(form, status=400, errors=import_errors(exc))
        return self.page(
            ConfirmationImportForm(company=company),
            result=result,
            confirmations_url=company_url(request, "trading:confirmation_list"),
            reconcile_url=company_url(request, "trading:reconcile"),
        )


class ConfirmationViews(BookedViews):
    model = Confirmation
    table = ConfirmationTable
    filterset = ConfirmationFilterSet
    select_related = ("company", "broker", "instrument", "account")
    list_view = ConfirmationListView
    detail_view = ReadOnlyDetailView
    edit_view = RefusedEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
    detail_fields = (
        "broker",
        "broker_ref",
        "trade_ref",
        "state",
        "trade_date",
        "trade_time",
        "settlement_date",
        "instrument",
        "account",
        "side",
        "quantity",
        "price",
        "currency",
        "fees",
        "source",
        "file_hash",
        "imported_at",
    )

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        shown = []
        for name, (label, value) in zip(cls.detail_fields, super().detail_values(obj), strict=True):
            special = trade_field_display(obj, name)
            shown.append((label, value if special is None else special))
        return shown

    @classmethod
    def urls(cls) -> list[Any]:
        bind = {"views": cls}
        return [
            *super().urls(),
            path("import/", ConfirmationImportView.as_view(**bind), name="confirmation_import"),
        ]


class ReconciliationRunListView(ReadOnlyListView):
    template_name = "trading/reconciliationrun_list.html"
    action_name = "trading:reconcile"


class ReconciliationRunDetailView(ReadOnlyDetailView):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        run = extra.get("object")
        if run is not None:
            ctx["run_breaks"] = list(
                Break.objects.filter(company=run.company, last_run=run)
                .select_related("company", "broker", "owner")
                .order_by("kind", "id")
            )
            ctx["breaks_url"] = company_url(self.request, "trading:break_list")
        return ctx


class FormActionView(CompanyView):
    """A page with one small form (a date, mostly) whose POST runs a service. GET shows the
    form; a refused POST shows it again with the service's errors on their fields (400,
    nothing written); ``act`` returns the response of a success."""

    template_name: str
    form_class: type[Form]
    title: Any = ""
    perm: str = ""

    def get_required_perm(self) -> str:
        return self.perm

    def page(self, form: Form, status: int = 200, **extra: Any) -> HttpResponse:
        title = self.title
        ctx = self.base_context(form=form, title=title, **extra)
        ctx["breadcrumbs"].append({"label": title, "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def initial(self) -> dict[str, Any]:
        return {}

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(self.form_class(initial=self.initial()))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            return self.act(form)
        except ValidationError as exc:
            apply_errors(form, exc)
            return self.page(form, status=400)

    def act(self, form: Form) -> HttpResponse:
        raise NotImplementedError


class ReconcileView(FormActionView):
    """GET: a trade date. POST: reconcile it and show the run."""

    template_name = "trading/reconcile.html"
    form_class = ReconcileForm
    title = gettext_lazy("Reconcile a trade date")
    perm = model_perm(ReconciliationRun, "add")

    def act(self, form: Form) -> HttpResponse:
        request = self.request
        run = reconciliation.trades_reconcile(
            company=request.company,  # type: ignore[attr-defined]
            trade_date=form.cleaned_data["trade_date"],
            user=request.user,
        )
        messages.success(
            request,
            _("Reconciled %(date)s: %(matched)d matched, %(breaks)d breaks.")
            % {"date": run.trade_date, "matched": run.matched, "breaks": run.breaks},
        )
        return HttpResponseRedirect(run.get_absolute_url())


class ReconciliationRunViews(ObjectViews):
    model = ReconciliationRun
    table = ReconciliationRunTable
    filterset = ReconciliationRunFilterSet
    select_related = ("company", "created_by")
    list_view = ReconciliationRunListView
    detail_view = ReconciliationRunDetailView
    edit_view = RefusedEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
    detail_template = "trading/reconciliationrun_detail_extra.html"
    detail_fields = (
        "trade_date",
        "trades",
        "confirmations",
        "matched",
        "breaks",
        "created_by",
        "created_at",
    )

    @classmethod
    def urls(cls) -> list[Any]:
        bind = {"views": cls}
        return [
            *super().urls(),
            path("reconcile/", ReconcileView.as_view(**bind), name="reconcile"),
        ]


class BreakListView(ReadOnlyListView):
    """The generic list of breaks with the open ones by broker and kind on top."""

    template_name = "trading/break_list.html"
    action_name = "trading:reconcile"

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        kinds = dict(Break.Kind.choices)
        rows = [
            (broker, kind, kinds.get(kind, kind), count)
            for broker, kind, count in reconciliation.open_breaks_by(
                self.request.company  # type: ignore[attr-defined]
            )
        ]
        ctx.update(
            open_by=rows,
            open_total=sum(row[3] for row in rows),
            can_act=has_perm(self.request, model_perm(ReconciliationRun, "add")),
        )
        return ctx


class BreakDetailView(ReadOnlyDetailView):
    """The break, the trades and confirmations it names, and Assign and Resolve."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        item = extra.get("object")
        if item is None:
            return ctx
        request = self.request
        company = request.company  # type: ignore[attr-defined]
        ctx.update(
            break_trades=list(
                Trade.objects.for_company(company).filter(pk__in=item.trades).order_by("pk")
            ),
            break_confirmations=list(
                Confirmation.objects.for_company(company)
                .filter(pk__in=item.confirmations)
                .select_related("company", "broker")
                .order_by("pk")
            ),
            break_instructions=list(
                SettlementInstruction.objects.for_company(company)
                .filter(pk__in=item.instructions)
                .select_related("company")
                .order_by("pk")
            ),
            can_work=item.state == Break.State.OPEN
            and has_perm(request, model_perm(Break, "change")),
            assign_form=extra.get("assign_form")
            or BreakAssignForm(
                company=company,
                initial={"owner": item.owner_id},
            ),
            resolve_form=extra.get("resolve_form") or BreakResolveForm(),
            assign_url=company_url(request, "trading:break_assign", pk=item.pk),
            resolve_url=company_url(request, "trading:break_resolve", pk=item.pk),
        )
        return ctx


class BreakActionView(CompanyView):
    """A POST on a break (Assign, Resolve); a refused form shows the break's page again."""

    def get_required_perm(self) -> str:
        return model_perm(Break, "change")

    def refused(self, item: Break, **forms_: Any) -> HttpResponse:
        detail = BreakDetailView(views=self.views)
        detail.setup(self.request, pk=item.pk)
        ctx = detail.base_context(
            object=item,
            fields=self.views.detail_values(item),
            extra_template=self.views.detail_template,
            **forms_,
        )
        ctx["breadcrumbs"].append({"label": str(item), "url": None})
        return render(self.request, detail.template_name, ctx, status=400)

    def open_break(self) -> Break:
        item: Break = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        return item


class BreakAssignView(BreakActionView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = self.open_break()
        form = BreakAssignForm(request.POST, company=request.company)  # type: ignore[attr-defined]
        if not form.is_valid():
            return self.refused(item, assign_form=form)
        owner = form.cleaned_data["owner"]
        reconciliation.break_assign(
            instance=item, owner=owner, comment=form.cleaned_data["comment"]
        )
        if owner is not None:
            messages.success(request, _("Break assigned to %(user)s.") % {"user": owner})
        else:
            messages.success(request, _("Break updated."))
        return HttpResponseRedirect(item.get_absolute_url())


class BreakResolveView(BreakActionView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = self.open_break()
        form = BreakResolveForm(request.POST)
        if not form.is_valid():
            return self.refused(item, resolve_form=form)
        try:
            reconciliation.break_resolve(
                instance=item, reason=form.cleaned_data["reason"], user=request.user
            )
        except ValidationError as exc:
            apply_errors(form, exc)
            return self.refused(item, resolve_form=form)
        messages.success(request, _("Break resolved."))
        return HttpResponseRedirect(item.get_absolute_url())


class BreakViews(ObjectViews):
    model = Break
    table = BreakTable
    filterset = BreakFilterSet
    select_related = ("company", "broker", "owner", "first_run", "last_run")
    list_view = BreakListView
    detail_view = BreakDetailView
    edit_view = RefusedEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
    detail_template = "trading/break_detail_extra.html"
    detail_fields = (
        "kind",
        "state",
        "trade_date",
        "broker",
        "instrument",
        "account",
        "side",
        "our_value",
        "broker_value",
        "difference",
        "owner",
        "comment",
        "first_run",
        "last_run",
        "opened_at",
        "resolved_at",
        "resolution",
    )

    @classmethod
    def urls(cls) -> list[Any]:
        bind = {"views": cls}
        return [
            *super().urls(),
            path("<int:pk>/assign/", BreakAssignView.as_view(**bind), name="break_assign"),
            path("<int:pk>/resolve/", BreakResolveView.as_view(**bind), name="break_resolve"),
        ]


urlpatterns: list[Any] = [
    path("trades/", include(TradeViews.urls())),
    path("instruments/", include(InstrumentViews.urls())),
    path("accounts/", include(TradingAccountViews.urls())),
    path("brokers/", include(BrokerViews.urls())),
    path("traders/", include(TraderViews.urls())),
    path("desks/", include(DeskViews.urls())),
    path("confirmations/", include(ConfirmationViews.urls())),
    path("reconciliation-runs/", include(ReconciliationRunViews.urls())),
    path("breaks/", include(BreakViews.urls())),
]

__all__ = [
    "BreakViews",
    "BrokerViews",
    "ConfirmationViews",
    "DeskViews",
    "InstrumentViews",
    "ReconciliationRunViews",
    "TradeAmendView",
    "TradeCancelView",
    "TradeCreateView",
    "TradeImportView",
    "TradeViews",
    "TraderViews",
    "TradingAccountViews",
    "import_errors",
    "version_rows",
]
