"""Pages of trading's settlement part, under ``/c/<code>/trading/``.

- ``instructions/``: the settlement instructions (filters: status, broker, currency, settlement
  dates, out of date; search by trade id, instrument or account; CSV/XLSX export); selected
  rows can be approved, marked matched or settled together (all or nothing).
- ``instructions/<pk>/``: an instruction with its trade, its ledger entry and its history, and
  the actions its state allows (Approve, Matched, Settle, Fail, Cancel, Re-generate), each a
  POST to its own address.
- ``instructions/generate/``: generate the instructions of a trade date.
- ``instructions/approvals/``: the instructions awaiting approval that the user did not
  generate.
- ``settlement/fails/``: the fails report by broker (CSV/XLSX); ``settlement/projections/``:
  cash by date and currency and securities by date and instrument, with charts (CSV/XLSX).
- ``settlement/settings/``: the trading settings (ledger accounts and journal, reminder days,
  cost method); ``approval-limits/``: the approval limits (generic pages).

Every write goes through :mod:`trastienda.trading.settlement`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import include, path
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, ngettext, pgettext_lazy
from django.utils.translation import gettext as _

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
from trastienda.core.money import Money, format_money
from trastienda.core.permissions import has_perm, model_perm
from trastienda.core.tables import NUM, BaseTable, MoneyColumn
from trastienda.ledger.models import Account, Journal
from trastienda.trading import settlement
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    ApprovalLimit,
    Broker,
    CostMethod,
    SettlementInstruction,
    TradingSettings,
)
from trastienda.trading.models_settings import RECONCILE_KEYS
from trastienda.trading.tables import ScaledColumn, scaled
from trastienda.trading.views import BookedViews, FormActionView

Status = SettlementInstruction.Status
APPROVE_PERM = settlement.APPROVE_PERM
VIEW_PERM = model_perm(SettlementInstruction, "view")
CHANGE_PERM = model_perm(SettlementInstruction, "change")
ADD_PERM = model_perm(SettlementInstruction, "add")
EXPORT_PERM = "core.export_data"
AMOUNT_FIELDS = ("gross_amount", "fees", "commission", "cash_amount")


def money_text(minor: int, currency: str) -> str:
    return format_money(Money(int(minor), currency), (get_language() or "en")[:2])


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{name}: {' '.join(msgs)}" for name, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


# --- forms ----------------------------------------------------------------------------------


class GenerateForm(BootstrapMixin, forms.Form):
    trade_date = forms.DateField(
        label=gettext_lazy("trade date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy(
            "Instructions are made for the current versions of that day's active trades that "
            "have none yet."
        ),
    )


class SettleForm(BootstrapMixin, forms.Form):
    settled_on = forms.DateField(
        label=gettext_lazy("settled on"), widget=forms.DateInput(attrs={"type": "date"})
    )


class ReasonForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=300)


class SettingsForm(BootstrapMixin, forms.Form):
    journal = forms.ModelChoiceField(
        label=gettext_lazy("settlement journal"), queryset=Journal.objects.none(), required=False
    )
    securities_account = forms.ModelChoiceField(
        label=gettext_lazy("securities (house positions)"),
        queryset=Account.objects.none(),
        required=False,
    )
    settlement_account = forms.ModelChoiceField(
        label=gettext_lazy("cash at brokers / settlement"),
        queryset=Account.objects.none(),
        required=False,
    )
    clients_account = forms.ModelChoiceField(
        label=gettext_lazy("client money"), queryset=Account.objects.none(), required=False
    )
    fees_account = forms.ModelChoiceField(
        label=gettext_lazy("fees (expense)"), queryset=Account.objects.none(), required=False
    )
    commission_account = forms.ModelChoiceField(
        label=gettext_lazy("commissions (income)"), queryset=Account.objects.none(), required=False
    )
    realised_pnl_account = forms.ModelChoiceField(
        label=gettext_lazy("realised gains and losses"),
        queryset=Account.objects.none(),
        required=False,
    )
    reminder_days = forms.IntegerField(
        label=gettext_lazy("reminder days"),
        min_value=0,
        max_value=365,
        help_text=gettext_lazy(
            "Days before an expiry, maturity or obligation the reminder goes out."
        ),
    )
    cost_method = forms.ChoiceField(label=gettext_lazy("cost method"), choices=CostMethod.choices)
    reconcile_keys = forms.MultipleChoiceField(
        label=gettext_lazy("reconciliation keys"),
        choices=RECONCILE_KEYS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy(
            "What a confirmation must share with a trade (the trade date always)."
        ),
    )
    price_tolerance_bp = forms.DecimalField(
        label=gettext_lazy("price tolerance (basis points)"),
        min_value=0,
        max_value=10000,
        decimal_places=2,
    )
    fees_tolerance = forms.IntegerField(
        label=gettext_lazy("fees tolerance (cents)"),
        min_value=0,
        help_text=gettext_lazy("In minor units of the trade's currency."),
    )

    def __init__(self, *args: Any, company: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        accounts = Account.objects.for_company(company).filter(postable=True, active=True)
        for name in settlement.ACCOUNT_SETTINGS:
            self.fields[name].queryset = accounts.order_by("code")  # type: ignore[attr-defined]
        self.fields["journal"].queryset = (  # type: ignore[attr-defined]
            Journal.objects.for_company(company).filter(active=True).order_by("code")
        )


class ApprovalLimitForm(CompanyModelForm):
    """Currency and whether active from the model; the limit as decimal text in the currency."""

    amount = forms.DecimalField(
        label=gettext_lazy("limit"),
        min_value=0,
        max_digits=18,
        decimal_places=4,
        help_text=gettext_lazy("Instructions whose cash amount is above it need an approval."),
    )

    class Meta:
        model = ApprovalLimit
        fields = ("currency", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = kwargs.get("instance")
        if instance is not None and instance.pk:
            self.initial["amount"] = Money(instance.amount, instance.currency).to_decimal()


# --- instructions: table, filters -----------------------------------------------------------


def _link(record: Any) -> str:
    return str(record.get_absolute_url())


class SettlementInstructionTable(BaseTable):
    trade_id = tables.Column(linkify=_link)
    account = tables.Column(accessor="account__code", verbose_name=gettext_lazy("Account"))
    instrument = tables.Column(accessor="instrument__code", verbose_name=gettext_lazy("Instrument"))
    broker = tables.Column(accessor="broker__code", verbose_name=gettext_lazy("Broker"))
    version = tables.Column(
        accessor="trade_version__version", verbose_name=gettext_lazy("Version"), attrs=NUM
    )
    out_of_date = tables.BooleanColumn(verbose_name=gettext_lazy("Out of date"))
    quantity = ScaledColumn(places=QUANTITY_PLACES, verbose_name=gettext_lazy("Quantity"))
    price = ScaledColumn(places=PRICE_PLACES, verbose_name=gettext_lazy("Price"))
    gross_amount = MoneyColumn(verbose_name=gettext_lazy("Gross amount"))
    fees = MoneyColumn(verbose_name=pgettext_lazy("trading", "Fees"))
    commission = MoneyColumn(verbose_name=gettext_lazy("Commission"))
    cash_amount = MoneyColumn(verbose_name=gettext_lazy("Cash amount"))
    created_by = tables.Column(
        accessor="created_by__username", verbose_name=gettext_lazy("Created by")
    )
    approved_by = tables.Column(
        accessor="approved_by__username", verbose_name=gettext_lazy("Approved by")
    )

    class Meta(BaseTable.Meta):
        model = SettlementInstruction
        fields = (
            "pk",
            "trade_id",
            "version",
            "status",
            "out_of_date",
            "trade_date",
            "settlement_date",
            "account",
            "instrument",
            "broker",
            "side",
            "quantity",
            "price",
            "currency",
            "gross_amount",
            "fees",
            "commission",
            "cash_amount",
            "fail_reason",
            "settled_on",
            "created_by",
            "approved_by",
        )
        default_columns = (
            "trade_id",
            "status",
            "out_of_date",
            "settlement_date",
            "account",
            "instrument",
            "broker",
            "side",
            "quantity",
            "currency",
            "cash_amount",
        )


def _currencies(company: Any) -> list[tuple[str, str]]:
    if company is None:
        return []
    codes = (
        SettlementInstruction.objects.for_company(company)
        .order_by("currency")
        .values_list("currency", flat=True)
        .distinct()
    )
    return [(code, code) for code in codes]


class SettlementInstructionFilterSet(CompanyFilterSet):
    """``q`` searches the trade id, instrument and account codes; ``out_of_date`` needs the
    queryset of :func:`~trastienda.trading.settlement.with_out_of_date`."""

    search_fields = ("trade_id", "instrument__code", "account__code")
    status = django_filters.ChoiceFilter(choices=Status.choices, label=gettext_lazy("Status"))
    broker = django_filters.ModelChoiceFilter(
        queryset=Broker.objects.none(), label=gettext_lazy("Broker")
    )
    currency = django_filters.ChoiceFilter(choices=[], label=gettext_lazy("Currency"))
    trade_date = django_filters.DateFilter(label=gettext_lazy("Trade date"))
    settlement_date_from = django_filters.DateFilter(
        field_name="settlement_date", lookup_expr="gte", label=gettext_lazy("Settlement from")
    )
    settlement_date_to = django_filters.DateFilter(
        field_name="settlement_date", lookup_expr="lte", label=gettext_lazy("Settlement to")
    )
    out_of_date = django_filters.BooleanFilter(
        method="filter_out_of_date", label=gettext_lazy("Out of date")
    )

    class Meta:
        model = SettlementInstruction
        fields = (
            "status",
            "broker",
            "currency",
            "trade_date",
            "settlement_date_from",
            "settlement_date_to",
            "out_of_date",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        company = getattr(getattr(self, "request", None), "company", None)
        self.filters["broker"].queryset = (
            Broker.objects.for_company(company).order_by("code")
            if company is not None
            else Broker.objects.none()
        )
        self.filters["currency"].extra["choices"] = _currencies(company)

    def filter_out_of_date(self, queryset: QuerySet[Any], name: str, value: Any) -> Any:
        if value is None:
            return queryset
        if "out_of_date" not in queryset.query.annotations:
            queryset = settlement.with_out_of_date(queryset)
        return queryset.filter(settlement.out_of_date_q(bool(value)))


# --- instructions: pages --------------------------------------------------------------------


def _bulk_actions(request: HttpRequest) -> list[tuple[str, str, str]]:
    """(action, label, icon) of the bulk actions the user may take."""
    found = []
    if has_perm(request, APPROVE_PERM):
        found.append(("approve", _("Approve"), "bi-check2-circle"))
    if has_perm(request, CHANGE_PERM):
        found.append(("match", _("Mark matched"), "bi-link"))
        found.append(("settle", _("Settle"), "bi-cash-coin"))
    return found


class InstructionListView(ObjectListView):
    """The generic list without "Add" nor deletion; buttons to generate, the approvals
    queue, the fails report and the projections; bulk approve, match and settle."""

    template_name = "trading/instruction_list.html"

    def apply_columns(self, table: Any, columns: list[str]) -> None:
        super().apply_columns(table, columns)
        if _bulk_actions(self.request):
            table.columns.show("pk")
        else:
            table.columns.hide("pk")

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        request = self.request
        ctx.update(
            can_add=False,
            can_delete=False,
            bulk_actions=_bulk_actions(request),
            bulk_url=company_url(request, "trading:settlementinstruction_bulk"),
            today=timezone.localdate(),
            can_generate=has_perm(request, ADD_PERM),
            generate_url=company_url(request, "trading:settlementinstruction_generate"),
            can_approve=has_perm(request, APPROVE_PERM),
            approvals_url=company_url(request, "trading:settlementinstruction_approvals"),
            fails_url=company_url(request, "trading:settlement_fails"),
            projections_url=company_url(request, "trading:settlement_projections"),
        )
        return ctx


def _instruction_actions(request: HttpRequest, item: SettlementInstruction) -> dict[str, Any]:
    """Which actions the user may take on ``item`` now."""
    allowed = settlement.TRANSITIONS[item.status]
    may_change = has_perm(request, CHANGE_PERM)
    is_creator = item.created_by_id is not None and item.created_by_id == request.user.pk
    out_of_date = settlement.is_out_of_date(item)
    current = settlement.current_trade(item)
    return {
        "out_of_date": out_of_date,
        "current_trade": current,
        "trade_cancelled": current is not None and current.status == "cancelled",
        "can_approve": item.status == Status.AWAITING_APPROVAL
        and has_perm(request, APPROVE_PERM)
        and not is_creator,
        "creator_must_wait": item.status == Status.AWAITING_APPROVAL and is_creator,
        "can_match": may_change and Status.MATCHED in allowed,
        "can_settle": may_change and Status.SETTLED in allowed,
        "can_fail": may_change and Status.FAILED in allowed,
        "can_cancel": may_change and Status.CANCELLED in allowed,
        "can_regenerate": may_change
        and out_of_date
        and item.status != Status.CANCELLED
        and current is not None
        and current.status != "cancelled",
    }


class InstructionDetailView(ObjectDetailView):
    """The instruction, its trade (and the current version when it is out of date), its
    ledger entry, its history and the actions its state allows."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx.update(can_change=False, can_delete=False)
        item = extra.get("object")
        if item is None:
            return ctx
        request = self.request
        ctx.update(_instruction_actions(request, item))
        urls = {
            f"{name}_url": company_url(request, f"trading:settlementinstruction_{name}", pk=item.pk)
            for name in ("approve", "match", "settle", "fail", "cancel", "regenerate")
        }
        ctx.update(urls)
        ctx.update(
            settle_form=extra.get("settle_form")
            or SettleForm(initial={"settled_on": min(item.settlement_date, timezone.localdate())}),
            fail_form=extra.get("fail_form") or ReasonForm(prefix="fail"),
            cancel_form=extra.get("cancel_form") or ReasonForm(prefix="cancel"),
            action_errors=extra.get("action_errors") or [],
        )
        return ctx


class InstructionActionView(CompanyView):
    """A POST on one instruction; a refusal shows the instruction's page again with the
    errors and status 400 (nothing written)."""

    perm = CHANGE_PERM

    def get_required_perm(self) -> str:
        return self.perm

    def instruction(self) -> SettlementInstruction:
        item: SettlementInstruction = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        return item

    def refused(self, item: SettlementInstruction, **forms_: Any) -> HttpResponse:
        detail = InstructionDetailView(views=self.views)
        detail.setup(self.request, pk=item.pk)
        item.refresh_from_db()
        ctx = detail.base_context(
            object=item,
            fields=self.views.detail_values(item),
            extra_template=self.views.detail_template,
            history=[],
            **forms_,
        )
        ctx["breadcrumbs"].append({"label": str(item), "url": None})
        return render(self.request, detail.template_name, ctx, status=400)

    def run(
        self, item: SettlementInstruction, call: Callable[[], Any], done: str, **forms_: Any
    ) -> HttpResponse:
        try:
            result = call()
        except ValidationError as exc:
            for form in forms_.values():
                apply_errors(form, exc)
            if not forms_:
                return self.refused(item, action_errors=exc.messages)
            return self.refused(item, **forms_)
        messages.success(self.request, done)
        target = result if isinstance(result, SettlementInstruction) else item
        return HttpResponseRedirect(target.get_absolute_url())


class InstructionApproveView(InstructionActionView):
    perm = APPROVE_PERM

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = self.instruction()
        return self.run(
            item,
            lambda: settlement.instruction_approve(instruction=item, user=request.user),
            _("Instruction %(id)s approved.") % {"id": item.trade_id},
        )


class InstructionMatchView(InstructionActionView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = self.instruction()
        return self.run(
            item,
            lambda: settlement.instruction_mark_matched(instruction=item, user=request.user),
            _("Instruction %(id)s matched.") % {"id": item.trade_id},
        )


class InstructionSettleView(InstructionActionView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = self.instruction()
        form = SettleForm(request.POST)
        if not form.is_valid():
            return self.refused(item, settle_form=form)
        return self.run(
            item,
            lambda: settlement.instruction_settle(
                instruction=item, settled_on=form.cleaned_data["settled_on"], user=request.user
            ),
            _("Instruction %(id)s settled and posted to the ledger.") % {"id": item.trade_id},
            settle_form=form,
        )


class InstructionFailView(InstructionActionView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = self.instruction()
        form = ReasonForm(request.POST, prefix="fail")
        if not form.is_valid():
            return self.refused(item, fail_form=form)
        return self.run(
            item,
            lambda: settlement.instruction_fail(
                instruction=item, reason=form.cleaned_data["reason"], user=request.user
            ),
            _("Instruction %(id)s failed.") % {"id": item.trade_id},
            fail_form=form,
        )


class InstructionCancelView(InstructionActionView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = self.instruction()
        form = ReasonForm(request.POST, prefix="cancel")
        if not form.is_valid():
            return self.refused(item, cancel_form=form)
        return self.run(
            item,
            lambda: settlement.instruction_cancel(
                instruction=item, reason=form.cleaned_data["reason"], user=request.user
            ),
            _("Instruction %(id)s cancelled.") % {"id": item.trade_id},
            cancel_form=form,
        )


class InstructionRegenerateView(InstructionActionView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = self.instruction()
        return self.run(
            item,
            lambda: settlement.instruction_regenerate(instruction=item, user=request.user),
            _("Instruction %(id)s re-generated from the trade's current version.")
            % {"id": item.trade_id},
        )


class InstructionBulkView(CompanyView):
    """POST ``pk`` values and ``action`` (approve, match, settle with ``settled_on``): all or
    nothing; a refusal names the instruction."""

    def get_required_perm(self) -> str:
        return CHANGE_PERM

    def post(self, request: HttpRequest) -> HttpResponse:
        list_url = company_url(request, "trading:settlementinstruction_list")
        action = request.POST.get("action", "")
        if action == "approve" and not has_perm(request, APPROVE_PERM):
            raise deny(request, APPROVE_PERM)
        if action not in {"approve", "match", "settle"}:
            messages.error(request, _("Choose an action."))
            return HttpResponseRedirect(list_url)
        pks = [p for p in request.POST.getlist("pk") if p.isdigit()]
        items = list(self.get_queryset().filter(pk__in=pks).order_by("pk"))
        if not items:
            messages.warning(request, _("Select at least one row."))
            return HttpResponseRedirect(list_url)
        settled_on: dt.date | None = None
        if action == "settle":
            form = SettleForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Enter the settlement date."))
                return HttpResponseRedirect(list_url)
            settled_on = form.cleaned_data["settled_on"]
        current: SettlementInstruction | None = None
        try:
            with transaction.atomic():
                for item in items:
                    current = item
                    if action == "approve":
                        settlement.instruction_approve(instruction=item, user=request.user)
                    elif action == "match":
                        settlement.instruction_mark_matched(instruction=item, user=request.user)
                    else:
                        settlement.instruction_settle(
                            instruction=item,
                            settled_on=settled_on,  # type: ignore[arg-type]
                            user=request.user,
                        )
        except ValidationError as exc:
            messages.error(
                request,
                _("Nothing was changed: %(id)s: %(error)s")
                % {"id": getattr(current, "trade_id", ""), "error": error_text(exc)},
            )
            return HttpResponseRedirect(list_url)
        messages.success(
            request,
            ngettext("%(count)d instruction done.", "%(count)d instructions done.", len(items))
            % {"count": len(items)},
        )
        return HttpResponseRedirect(list_url)


class InstructionGenerateView(FormActionView):
    """GET: a trade date. POST: generate its instructions."""

    template_name = "trading/instruction_generate.html"
    form_class = GenerateForm
    title = gettext_lazy("Generate settlement instructions")
    perm = ADD_PERM

    def act(self, form: Form) -> HttpResponse:
        request = self.request
        result = settlement.instructions_generate(
            company=request.company,  # type: ignore[attr-defined]
            trade_date=form.cleaned_data["trade_date"],
            user=request.user,
        )
        messages.success(
            request,
            _(
                "%(created)d instructions generated (%(waiting)d awaiting approval); "
                "%(skipped)d trades already had one."
            )
            % {
                "created": len(result.created),
                "waiting": result.awaiting_approval,
                "skipped": result.skipped,
            },
        )
        url = company_url(request, "trading:settlementinstruction_list")
        day = form.cleaned_data["trade_date"].isoformat()
        return HttpResponseRedirect(f"{url}?trade_date={day}")


class ApprovalsView(CompanyView):
    """The instructions awaiting approval that the user did not generate."""

    template_name = "trading/instruction_approvals.html"

    def get_required_perm(self) -> str:
        return APPROVE_PERM

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        queue = (
            SettlementInstruction.objects.for_company(company)
            .filter(status=Status.AWAITING_APPROVAL)
            .exclude(created_by=request.user)
            .select_related("company", "account", "instrument", "broker", "created_by")
            .order_by("settlement_date", "id")
        )
        rows = [
            {
                "item": item,
                "cash": money_text(item.cash_amount, item.currency),
                "quantity": scaled(item.quantity, QUANTITY_PLACES),
                "approve_url": company_url(
                    request, "trading:settlementinstruction_approve", pk=item.pk
                ),
            }
            for item in queue
        ]
        title = _("Instructions awaiting approval")
        ctx = self.base_context(title=title, rows=rows)
        ctx["breadcrumbs"].append({"label": title, "url": None})
        return render(request, self.template_name, ctx)


def _detail_display(obj: SettlementInstruction, name: str) -> Any:
    if name == "quantity":
        return scaled(obj.quantity, QUANTITY_PLACES)
    if name == "price":
        return scaled(obj.price, PRICE_PLACES)
    if name in AMOUNT_FIELDS:
        return money_text(getattr(obj, name), obj.currency)
    return None


class SettlementInstructionViews(BookedViews):
    model = SettlementInstruction
    table = SettlementInstructionTable
    filterset = SettlementInstructionFilterSet
    select_related = (
        "company",
        "account",
        "instrument",
        "broker",
        "trade_version",
        "created_by",
        "approved_by",
        "entry",
    )
    list_view = InstructionListView
    detail_view = InstructionDetailView
    edit_view = RefusedEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
    detail_template = "trading/instruction_detail_extra.html"
    detail_fields = (
        "trade_id",
        "trade_version",
        "status",
        "account",
        "instrument",
        "broker",
        "side",
        "trade_date",
        "settlement_date",
        "quantity",
        "price",
        "currency",
        "gross_amount",
        "fees",
        "commission",
        "cash_amount",
        "fail_reason",
        "settled_on",
        "entry",
        "created_by",
        "created_at",
        "approved_by",
        "approved_at",
    )

    @classmethod
    def get_queryset(cls, request: HttpRequest) -> QuerySet[Any]:
        return settlement.with_out_of_date(super().get_queryset(request))

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        shown = []
        for name, (label, value) in zip(cls.detail_fields, super().detail_values(obj), strict=True):
            special = _detail_display(obj, name)
            shown.append((label, value if special is None else special))
        return shown

    @classmethod
    def urls(cls) -> list[Any]:
        bind = {"views": cls}
        name = "settlementinstruction"
        actions = (
            ("approve", InstructionApproveView),
            ("match", InstructionMatchView),
            ("settle", InstructionSettleView),
            ("fail", InstructionFailView),
            ("cancel", InstructionCancelView),
            ("regenerate", InstructionRegenerateView),
        )
        return [
            path("", cls.list_view.as_view(**bind), name=f"{name}_list"),
            path("generate/", InstructionGenerateView.as_view(**bind), name=f"{name}_generate"),
            path("approvals/", ApprovalsView.as_view(**bind), name=f"{name}_approvals"),
            path("bulk/", InstructionBulkView.as_view(**bind), name=f"{name}_bulk"),
            path("<int:pk>/", cls.detail_view.as_view(**bind), name=f"{name}_detail"),
            # never edited nor deleted (the generic pages answer 403 to everyone)
            path("<int:pk>/edit/", cls.edit_view.as_view(**bind), name=f"{name}_edit"),
            path("<int:pk>/delete/", cls.delete_view.as_view(**bind), name=f"{name}_delete"),
            *(
                path(f"<int:pk>/{verb}/", view.as_view(**bind), name=f"{name}_{verb}")
                for verb, view in actions
            ),
        ]


# --- reports --------------------------------------------------------------------------------


def _date_param(request: HttpRequest, name: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get(name, "") or default.isoformat())
    except ValueError:
        return default


def _export(
    request: HttpRequest, fmt: str, kind: str, header: list[str], rows: list[list[Any]], title: str
) -> HttpResponse:
    if fmt not in CONTENT_TYPES:
        return HttpResponse(_("Unknown export format."), status=400)
    if not has_perm(request, EXPORT_PERM):
        raise deny(request, EXPORT_PERM)
    company = request.company  # type: ignore[attr-defined]
    filename = f"{kind}-{company.code}-{timezone.localdate().isoformat()}.{fmt}"
    audit(
        action="export",
        company=company,
        object_type=f"trading.{kind}",
        object_repr=filename,
        extra={"format": fmt, "rows": len(rows), "query": request.GET.urlencode()},
    )
    response = HttpResponse(
        export_bytes(fmt, header, rows, title=title), content_type=CONTENT_TYPES[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class FailsView(CompanyView):
    """Failed instructions and those past their settlement date, by broker, with their age
    in business days (``?as_of=``; ``?export=xlsx|csv``)."""

    template_name = "trading/settlement_fails.html"

    def get_required_perm(self) -> str:
        return VIEW_PERM

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        as_of = _date_param(request, "as_of", timezone.localdate())
        report = settlement.fails_report(company, as_of)
        fmt = request.GET.get("export")
        if fmt:
            header = [
                _("Broker"),
                _("Trade id"),
                _("Status"),
                _("Settlement date"),
                _("Age (business days)"),
                _("Instrument"),
                _("Account"),
                _("Side"),
                _("Quantity"),
                _("Currency"),
                _("Cash amount"),
                _("Fail reason"),
            ]
            rows = [
                [
                    row.instruction.broker.code,
                    row.instruction.trade_id,
                    row.instruction.get_status_display(),
                    row.instruction.settlement_date,
                    row.age,
                    row.instruction.instrument.code,
                    row.instruction.account.code,
                    row.instruction.get_side_display(),
                    scaled(row.instruction.quantity, QUANTITY_PLACES),
                    row.instruction.currency,
                    Money(row.instruction.cash_amount, row.instruction.currency).to_decimal(),
                    row.instruction.fail_reason,
                ]
                for row in report.rows
            ]
            return _export(request, fmt, "settlement-fails", header, rows, _("Fails"))
        groups = [
            {
                "broker": group.broker,
                "count": group.count,
                "oldest": group.oldest,
                "cash": [money_text(v, c) for c, v in sorted(group.cash.items())],
                "rows": [
                    {
                        "row": row,
                        "cash": money_text(row.instruction.cash_amount, row.instruction.currency),
                        "quantity": scaled(row.instruction.quantity, QUANTITY_PLACES),
                    }
                    for row in group.rows
                ],
            }
            for group in report.brokers
        ]
        title = _("Settlement fails")
        ctx = self.base_context(
            title=title,
            report=report,
            groups=groups,
            total=len(report.rows),
            can_export=has_perm(request, EXPORT_PERM),
            query=f"as_of={as_of.isoformat()}",
        )
        ctx["breadcrumbs"].append({"label": title, "url": None})
        return render(request, self.template_name, ctx)


PROJECTION_DAYS = 10


class ProjectionsView(CompanyView):
    """Cash by date and currency and securities by date and instrument of the live
    instructions not settled yet, with charts (``?start=``, ``?days=``; ``?export=``)."""

    template_name = "trading/settlement_projections.html"

    def get_required_perm(self) -> str:
        return VIEW_PERM

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        start = _date_param(request, "start", timezone.localdate())
        try:
            days = int(request.GET.get("days", PROJECTION_DAYS))
        except ValueError:
            days = PROJECTION_DAYS
        try:
            result = settlement.projections(company, start, days)
        except ValidationError as exc:
            return HttpResponse(error_text(exc), status=400)
        fmt = request.GET.get("export")
        if fmt:
            header = [_("Kind"), _("Currency or instrument"), _("Date"), _("Amount or quantity")]
            rows: list[list[Any]] = []
            for currency in result.cash:
                for day, value in zip(result.dates, result.cash_row(currency), strict=True):
                    if value:
                        rows.append([_("Cash"), currency, day, Money(value, currency).to_decimal()])
            for instrument in result.securities:
                for day, value in zip(result.dates, result.securities_row(instrument), strict=True):
                    if value:
                        rows.append(
                            [_("Securities"), instrument.code, day, scaled(value, QUANTITY_PLACES)]
                        )
            return _export(request, fmt, "settlement-projections", header, rows, _("Projections"))
        labels = [day.strftime("%d/%m") for day in result.dates]
        cash_chart = {
            "type": "bar",
            "labels": labels,
            "datasets": [
                {
                    "label": currency,
                    "values": [
                        str(Money(v, currency).to_decimal()) for v in result.cash_row(currency)
                    ],
                }
                for currency in result.cash
            ],
        }
        securities_chart = {
            "type": "bar",
            "labels": labels,
            "datasets": [
                {
                    "label": instrument.code,
                    "values": [
                        str(scaled(v, QUANTITY_PLACES)) for v in result.securities_row(instrument)
                    ],
                }
                for instrument in result.securities
            ],
        }
        cash_rows = [
            {
                "currency": currency,
                "values": [money_text(v, currency) if v else "" for v in result.cash_row(currency)],
                "total": money_text(sum(result.cash_row(currency)), currency),
            }
            for currency in result.cash
        ]
        securities_rows = [
            {
                "instrument": instrument,
                "values": [
                    scaled(v, QUANTITY_PLACES) if v else ""
                    for v in result.securities_row(instrument)
                ],
                "total": scaled(sum(result.securities_row(instrument)), QUANTITY_PLACES),
            }
            for instrument in result.securities
        ]
        title = _("Settlement projections")
        ctx = self.base_context(
            title=title,
            result=result,
            days=days,
            cash_chart=cash_chart,
            securities_chart=securities_chart,
            cash_rows=cash_rows,
            securities_rows=securities_rows,
            can_export=has_perm(request, EXPORT_PERM),
            query=f"start={start.isoformat()}&days={days}",
        )
        ctx["breadcrumbs"].append({"label": title, "url": None})
        return render(request, self.template_name, ctx)


class SettingsView(CompanyView):
    """GET: the trading settings (who may view). POST: change them (who may change)."""

    template_name = "trading/tradingsettings_form.html"

    def get_required_perm(self) -> str:
        return model_perm(TradingSettings, "view")

    def page(self, form: SettingsForm, status: int = 200) -> HttpResponse:
        title = _("Trading settings")
        ctx = self.base_context(
            form=form,
            title=title,
            can_edit=has_perm(self.request, model_perm(TradingSettings, "change")),
            limits_url=company_url(self.request, "trading:approvallimit_list"),
        )
        ctx["breadcrumbs"] = [{"label": _("Trading"), "url": None}, {"label": title, "url": None}]
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        found = settlement.trading_settings(company)
        initial = {name: getattr(found, f"{name}_id") for name in settlement.ACCOUNT_SETTINGS}
        initial.update(
            journal=found.journal_id,
            reminder_days=found.reminder_days,
            cost_method=found.cost_method,
            reconcile_keys=found.reconcile_keys,
            price_tolerance_bp=found.price_tolerance_bp,
            fees_tolerance=found.fees_tolerance,
        )
        return self.page(SettingsForm(initial=initial, company=company))

    def post(self, request: HttpRequest) -> HttpResponse:
        perm = model_perm(TradingSettings, "change")
        if not has_perm(request, perm):
            raise deny(request, perm)
        company = request.company  # type: ignore[attr-defined]
        form = SettingsForm(request.POST, company=company)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            settlement.settings_update(company=company, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
            return self.page(form, status=400)
        messages.success(request, _("Trading settings saved."))
        return HttpResponseRedirect(company_url(request, "trading:tradingsettings_edit"))


# --- approval limits ------------------------------------------------------------------------


class ApprovalLimitTable(BaseTable):
    currency = tables.Column(linkify=_link)
    amount = MoneyColumn(verbose_name=gettext_lazy("Limit"))

    class Meta(BaseTable.Meta):
        model = ApprovalLimit
        fields = ("pk", "currency", "amount", "active")


class ApprovalLimitFilterSet(CompanyFilterSet):
    search_fields = ("currency",)
    active = django_filters.BooleanFilter(label=gettext_lazy("Active"))

    class Meta:
        model = ApprovalLimit
        fields = ("active",)


class ApprovalLimitViews(ObjectViews):
    model = ApprovalLimit
    table = ApprovalLimitTable
    filterset = ApprovalLimitFilterSet
    form = ApprovalLimitForm
    select_related = ("company",)
    detail_fields = ("currency", "amount", "active")
    create_service = settlement.approval_limit_create
    update_service = settlement.approval_limit_update
    delete_service = settlement.approval_limit_delete

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        shown = super().detail_values(obj)
        return [
            (label, money_text(obj.amount, obj.currency) if name == "amount" else value)
            for name, (label, value) in zip(cls.detail_fields, shown, strict=True)
        ]


urlpatterns: list[Any] = [
    path("instructions/", include(SettlementInstructionViews.urls())),
    path("approval-limits/", include(ApprovalLimitViews.urls())),
    path(
        "settlement/fails/",
        FailsView.as_view(views=SettlementInstructionViews),
        name="settlement_fails",
    ),
    path(
        "settlement/projections/",
        ProjectionsView.as_view(views=SettlementInstructionViews),
        name="settlement_projections",
    ),
    path(
        "settlement/settings/",
        SettingsView.as_view(views=SettlementInstructionViews),
        name="tradingsettings_edit",
    ),
]
