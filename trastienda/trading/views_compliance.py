"""Pages of trading's compliance part, under ``/c/<code>/trading/compliance/``.

- ``compliance/``: the dashboard — open alerts by rule kind (chart), by trader, by severity
  and by age.
- ``compliance/run/``: run compliance for a date (POST, ``trading.add_alert``,
  :func:`~trastienda.trading.compliance.compliance_run`); the page shows the counts and what
  could not be checked.
- ``compliance/rules/``, ``compliance/restricted/``: the generic list, detail, add, edit and
  delete of the rules and of the restricted list, writing through
  :mod:`trastienda.trading.compliance`. A rule's page lists the procedures that describe it
  and its latest alerts.
- ``compliance/alerts/``: alerts (filters state, rule, kind, severity, trader, instrument,
  owner, dates; search; CSV/XLSX export of the filtered list) and an alert's page with its
  trade, its review log from the audit trail and the workflow forms (Assign, Justify,
  Escalate, Close, Reopen: ``trading.change_alert``).
- ``compliance/procedures/``: the procedures manual; a procedure's page shows the text in
  force (plain text, escaped, line breaks kept), its versions, the rules it describes (link,
  unlink); ``versions/`` compares two versions, ``versions/add/`` adds one.

The forms, filters and tables of these lists live here too (the filters are shared with
:mod:`trastienda.trading.api_compliance`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import include, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.core.filters import CompanyFilterSet
from trastienda.core.forms import BootstrapMixin, CompanyModelForm
from trastienda.core.generic import (
    CompanyView,
    ObjectDetailView,
    ObjectViews,
    RefusedBulkDeleteView,
    RefusedDeleteView,
    RefusedEditView,
    company_url,
)
from trastienda.core.models import Company
from trastienda.core.permissions import has_perm, model_perm
from trastienda.core.tables import NUM, BaseTable
from trastienda.trading import compliance
from trastienda.trading.filters import company_members
from trastienda.trading.models import (
    Alert,
    ComplianceRule,
    Instrument,
    Procedure,
    ProcedureVersion,
    RestrictedInstrument,
    Trader,
)
from trastienda.trading.views import FormActionView, ReadOnlyListView, apply_errors


def _company_of(filterset: Any) -> Company | None:
    return getattr(getattr(filterset, "request", None), "company", None)


def _codes(model: Any, company: Company | None) -> QuerySet[Any]:
    if company is None:
        return model.objects.none()
    return model.objects.for_company(company).order_by("code")


# --- filters (shared with the API) ---------------------------------------------------------------


class ComplianceRuleFilterSet(CompanyFilterSet):
    search_fields = ("code", "name")
    kind = django_filters.ChoiceFilter(
        choices=ComplianceRule.Kind.choices, label=gettext_lazy("Kind")
    )
    severity = django_filters.ChoiceFilter(
        choices=ComplianceRule.Severity.choices, label=gettext_lazy("Severity")
    )
    trader = django_filters.ModelChoiceFilter(
        queryset=Trader.objects.none(), label=gettext_lazy("Trader")
    )
    instrument = django_filters.ModelChoiceFilter(
        queryset=Instrument.objects.none(), label=gettext_lazy("Instrument")
    )
    active = django_filters.BooleanFilter(label=gettext_lazy("Active"))

    class Meta:
        model = ComplianceRule
        fields = ("kind", "severity", "trader", "instrument", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        company = _company_of(self)
        self.filters["trader"].queryset = _codes(Trader, company)
        self.filters["instrument"].queryset = _codes(Instrument, company)


class RestrictedInstrumentFilterSet(CompanyFilterSet):
    search_fields = ("instrument__code", "instrument__name", "reason")
    instrument = django_filters.ModelChoiceFilter(
        queryset=Instrument.objects.none(), label=gettext_lazy("Instrument")
    )
    on = django_filters.DateFilter(method="filter_on", label=gettext_lazy("In force on"))

    class Meta:
        model = RestrictedInstrument
        fields = ("instrument",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["instrument"].queryset = _codes(Instrument, _company_of(self))

    def filter_on(self, queryset: QuerySet[Any], name: str, value: dt.date) -> QuerySet[Any]:
        from django.db.models import Q

        return queryset.filter(valid_from__lte=value).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=value)
        )


class AlertFilterSet(CompanyFilterSet):
    search_fields = ("message", "trade__trade_id", "rule__code", "justification")
    state = django_filters.ChoiceFilter(choices=Alert.State.choices, label=gettext_lazy("State"))
    rule = django_filters.ModelChoiceFilter(
        queryset=ComplianceRule.objects.none(), label=gettext_lazy("Rule")
    )
    kind = django_filters.ChoiceFilter(
        field_name="rule__kind", choices=ComplianceRule.Kind.choices, label=gettext_lazy("Kind")
    )
    severity = django_filters.ChoiceFilter(
        field_name="rule__severity",
        choices=ComplianceRule.Severity.choices,
        label=gettext_lazy("Severity"),
    )
    trader = django_filters.ModelChoiceFilter(
        queryset=Trader.objects.none(), label=gettext_lazy("Trader")
    )
    instrument = django_filters.ModelChoiceFilter(
        queryset=Instrument.objects.none(), label=gettext_lazy("Instrument")
    )
    owner = django_filters.ModelChoiceFilter(queryset=None, label=gettext_lazy("Owner"))
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label=gettext_lazy("From")
    )
    date_to = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", label=gettext_lazy("To")
    )

    class Meta:
        model = Alert
        fields = ("state", "rule", "kind", "severity", "trader", "instrument", "owner")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        company = _company_of(self)
        self.filters["rule"].queryset = _codes(ComplianceRule, company)
        self.filters["trader"].queryset = _codes(Trader, company)
        self.filters["instrument"].queryset = _codes(Instrument, company)
        self.filters["owner"].queryset = company_members(company)


class ProcedureFilterSet(CompanyFilterSet):
    search_fields = ("code", "title")
    active = django_filters.BooleanFilter(label=gettext_lazy("Active"))

    class Meta:
        model = Procedure
        fields = ("active",)


# --- tables --------------------------------------------------------------------------------------


def _link(record: Any) -> str:
    return str(record.get_absolute_url())


class RuleLimitColumn(tables.Column):
    exports_value = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("attrs", NUM)
        kwargs.setdefault("accessor", "limit")
        super().__init__(*args, **kwargs)

    def render(self, value: Any, record: Any) -> Any:
        return compliance.rule_limit_text(record)

    def value(self, value: Any, record: Any) -> Any:
        return compliance.rule_limit_text(record)


class ComplianceRuleTable(BaseTable):
    code = tables.Column(linkify=_link)
    trader = tables.Column(accessor="trader__code", verbose_name=gettext_lazy("Trader"))
    instrument = tables.Column(accessor="instrument__code", verbose_name=gettext_lazy("Instrument"))
    limit = RuleLimitColumn(verbose_name=gettext_lazy("Limit"))

    class Meta(BaseTable.Meta):
        model = ComplianceRule
        fields = (
            "pk",
            "code",
            "name",
            "kind",
            "severity",
            "trader",
            "instrument",
            "limit",
            "currency",
            "active",
        )


class RestrictedInstrumentTable(BaseTable):
    instrument = tables.Column(
        accessor="instrument__code", verbose_name=gettext_lazy("Instrument"), linkify=_link
    )
    instrument_name = tables.Column(accessor="instrument__name", verbose_name=gettext_lazy("Name"))

    class Meta(BaseTable.Meta):
        model = RestrictedInstrument
        fields = ("pk", "instrument", "instrument_name", "reason", "valid_from", "valid_to")


class AlertAgeColumn(tables.Column):
    """Days from the day the alert is about to today (or to its closing)."""

    exports_value = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("attrs", NUM)
        kwargs.setdefault("accessor", "date")
        kwargs.setdefault("orderable", False)
        super().__init__(*args, **kwargs)

    def render(self, value: Any, record: Any) -> Any:
        return alert_age(record)

    def value(self, value: Any, record: Any) -> Any:
        return alert_age(record)


def alert_age(alert: Alert) -> int:
    end = timezone.localtime(alert.closed_at).date() if alert.closed_at else timezone.localdate()
    return max((end - alert.date).days, 0)


class AlertTable(BaseTable):
    id = tables.Column(linkify=_link, verbose_name=gettext_lazy("Alert"), attrs=NUM)
    rule = tables.Column(accessor="rule__code", verbose_name=gettext_lazy("Rule"))
    kind = tables.Column(accessor="rule__kind", verbose_name=gettext_lazy("Kind"))
    severity = tables.Column(accessor="rule__severity", verbose_name=gettext_lazy("Severity"))
    trader = tables.Column(accessor="trader__code", verbose_name=gettext_lazy("Trader"))
    instrument = tables.Column(accessor="instrument__code", verbose_name=gettext_lazy("Instrument"))
    trade = tables.Column(accessor="trade__trade_id", verbose_name=gettext_lazy("Trade"))
    owner = tables.Column(accessor="owner__username", verbose_name=gettext_lazy("Owner"))
    escalated_to = tables.Column(
        accessor="escalated_to__username", verbose_name=gettext_lazy("Escalated to")
    )
    age = AlertAgeColumn(verbose_name=gettext_lazy("Age (days)"))

    class Meta(BaseTable.Meta):
        model = Alert
        fields = (
            "pk",
            "id",
            "date",
            "state",
            "rule",
            "kind",
            "severity",
            "trader",
            "instrument",
            "trade",
            "message",
            "owner",
            "escalated_to",
            "age",
            "created_at",
            "closed_at",
        )
        default_columns = (
            "id",
            "date",
            "state",
            "rule",
            "severity",
            "trader",
            "instrument",
            "trade",
            "message",
            "owner",
            "age",
        )

    def render_kind(self, value: Any) -> Any:
        return dict(ComplianceRule.Kind.choices).get(value, value)

    def render_severity(self, value: Any) -> Any:
        return dict(ComplianceRule.Severity.choices).get(value, value)


class ProcedureTable(BaseTable):
    code = tables.Column(linkify=_link)
    owner = tables.Column(accessor="owner__username", verbose_name=gettext_lazy("Owner"))
    latest = tables.Column(
        accessor="latest_version", verbose_name=gettext_lazy("Versions"), attrs=NUM, orderable=False
    )

    class Meta(BaseTable.Meta):
        model = Procedure
        fields = ("pk", "code", "title", "owner", "latest", "active")


# --- forms ---------------------------------------------------------------------------------------


class ComplianceRuleForm(CompanyModelForm):
    """The rule's fields; the limit as decimal text, the unusual-size parameters as fields."""

    limit = forms.CharField(
        label=gettext_lazy("limit"),
        required=False,
        max_length=40,
        help_text=gettext_lazy(
            "Position limit: a quantity. Exposure limit: an amount in the currency. "
            "Other kinds: empty."
        ),
    )
    multiple = forms.CharField(
        label=gettext_lazy("multiple"),
        required=False,
        max_length=20,
        help_text=gettext_lazy("Unusual size: times the median of the trader's previous trades."),
    )
    lookback = forms.CharField(
        label=gettext_lazy("lookback"),
        required=False,
        max_length=5,
        help_text=gettext_lazy("Unusual size: how many previous trades (default 20)."),
    )
    min_history = forms.CharField(
        label=gettext_lazy("minimum history"),
        required=False,
        max_length=5,
        help_text=gettext_lazy("Unusual size: how many previous trades at least (default 5)."),
    )

    class Meta:
        model = ComplianceRule
        fields = ("code", "name", "kind", "severity", "trader", "instrument", "currency", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rule = self.instance
        if rule is not None and rule.pk:
            self.initial["limit"] = compliance.rule_limit_text(rule)
            for name in compliance.UNUSUAL_PARAMS:
                if name in (rule.params or {}):
                    self.initial[name] = str(rule.params[name])

    def set_company(self, company: Company) -> None:
        self.fields["trader"].queryset = _codes(Trader, company)  # type: ignore[attr-defined]
        self.fields["instrument"].queryset = _codes(Instrument, company)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        params = {
            name: data.pop(name)
            for name in compliance.UNUSUAL_PARAMS
            if (data.get(name) or "").strip()
        }
        for name in compliance.UNUSUAL_PARAMS:
            data.pop(name, None)
        data["params"] = params
        return data


class RestrictedInstrumentForm(CompanyModelForm):
    class Meta:
        model = RestrictedInstrument
        fields = compliance.RESTRICTED_FIELDS
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_to": forms.DateInput(attrs={"type": "date"}),
        }

    def set_company(self, company: Company) -> None:
        self.fields["instrument"].queryset = _codes(Instrument, company)  # type: ignore[attr-defined]


class ProcedureForm(CompanyModelForm):
    """New procedure: its fields, the first version's text and the rules it describes.
    Editing changes the fields only (the text changes by adding a version)."""

    body = forms.CharField(
        label=gettext_lazy("text"),
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=gettext_lazy("Plain text; line breaks are kept."),
    )
    effective_from = forms.DateField(
        label=gettext_lazy("effective from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Default: today."),
    )
    change_note = forms.CharField(
        label=gettext_lazy("what changed"), required=False, max_length=300
    )
    controls = forms.ModelMultipleChoiceField(
        label=gettext_lazy("controls"),
        queryset=ComplianceRule.objects.none(),
        required=False,
        help_text=gettext_lazy("The rules this procedure describes."),
    )

    class Meta:
        model = Procedure
        fields = compliance.PROCEDURE_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None and self.instance.pk:
            for name in ("body", "effective_from", "change_note", "controls"):
                del self.fields[name]

    def set_company(self, company: Company) -> None:
        self.fields["owner"].queryset = company_members(company)  # type: ignore[attr-defined]
        if "controls" in self.fields:
            self.fields["controls"].queryset = _codes(ComplianceRule, company)  # type: ignore[attr-defined]


class AlertAssignForm(BootstrapMixin, forms.Form):
    owner = forms.ModelChoiceField(
        label=gettext_lazy("owner"), queryset=Trader.objects.none(), required=False
    )
    comment = forms.CharField(
        label=gettext_lazy("comment"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, company: Company | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = company_members(company)  # type: ignore[attr-defined]


class AlertJustifyForm(BootstrapMixin, forms.Form):
    text = forms.CharField(
        label=gettext_lazy("justification"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AlertEscalateForm(BootstrapMixin, forms.Form):
    to = forms.ModelChoiceField(label=gettext_lazy("escalate to"), queryset=Trader.objects.none())
    comment = forms.CharField(
        label=gettext_lazy("why"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, company: Company | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = company_members(company)  # type: ignore[attr-defined]


class AlertCloseForm(BootstrapMixin, forms.Form):
    justification = forms.CharField(
        label=gettext_lazy("justification"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AlertReopenForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=1000)


class ComplianceRunForm(BootstrapMixin, forms.Form):
    date = forms.DateField(
        label=gettext_lazy("date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy(
            "Every active rule is evaluated over the trades and positions of this day."
        ),
    )


class ProcedureVersionForm(BootstrapMixin, forms.Form):
    body = forms.CharField(
        label=gettext_lazy("text"),
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=gettext_lazy("Plain text; line breaks are kept."),
    )
    effective_from = forms.DateField(
        label=gettext_lazy("effective from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    change_note = forms.CharField(label=gettext_lazy("what changed"), max_length=300)


class ProcedureLinkForm(BootstrapMixin, forms.Form):
    rule = forms.ModelChoiceField(
        label=gettext_lazy("rule"), queryset=ComplianceRule.objects.none()
    )

    def __init__(self, *args: Any, company: Company | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = _codes(ComplianceRule, company)  # type: ignore[attr-defined]


# --- rules and restricted list -------------------------------------------------------------------


class ComplianceRuleDetailView(ObjectDetailView):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        rule = extra.get("object")
        if rule is not None:
            ctx.update(
                rule_procedures=list(rule.procedures.order_by("code")),
                rule_alerts=list(
                    Alert.objects.filter(rule=rule)
                    .select_related("company", "trader", "instrument")
                    .order_by("-date", "-id")[:10]
                ),
                rule_alerts_url=company_url(self.request, "trading:alert_list")
                + f"?rule={rule.pk}",
            )
        return ctx


class ComplianceRuleViews(ObjectViews):
    model = ComplianceRule
    table = ComplianceRuleTable
    filterset = ComplianceRuleFilterSet
    form = ComplianceRuleForm
    select_related = ("company", "trader", "instrument")
    detail_view = ComplianceRuleDetailView
    detail_template = "trading/compliancerule_detail_extra.html"
    detail_fields = (
        "code",
        "name",
        "kind",
        "severity",
        "trader",
        "instrument",
        "limit",
        "currency",
        "params",
        "active",
    )
    create_service = compliance.compliance_rule_create
    update_service = compliance.compliance_rule_update
    delete_service = compliance.compliance_rule_delete

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        shown = []
        for name, (label, value) in zip(cls.detail_fields, super().detail_values(obj), strict=True):
            if name == "limit":
                value = compliance.rule_limit_text(obj)
            elif name == "params":
                value = ", ".join(f"{k}: {v}" for k, v in sorted((obj.params or {}).items()))
            shown.append((label, value))
        return shown


class RestrictedInstrumentViews(ObjectViews):
    model = RestrictedInstrument
    table = RestrictedInstrumentTable
    filterset = RestrictedInstrumentFilterSet
    form = RestrictedInstrumentForm
    select_related = ("company", "instrument")
    detail_fields = compliance.RESTRICTED_FIELDS
    create_service = compliance.restricted_instrument_create
    update_service = compliance.restricted_instrument_update
    delete_service = compliance.restricted_instrument_delete


# --- alerts --------------------------------------------------------------------------------------


class AlertListView(ReadOnlyListView):
    template_name = "trading/alert_list.html"
    action_name = "trading:compliance_run"

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["dashboard_url"] = company_url(self.request, "trading:compliance_dashboard")
        return ctx


def review_log(alert: Alert) -> list[dict[str, Any]]:
    """The alert's workflow steps from the audit trail, oldest first."""
    from trastienda.audit.queries import history_for

    steps = []
    labels = {
        "assign": _("Assigned"),
        "justify": _("Justified"),
        "escalate": _("Escalated"),
        "close": _("Closed"),
        "reopen": _("Reopened"),
    }
    for entry in reversed(list(history_for(alert)[:200])):
        extra = entry.extra or {}
        step = extra.get("step")
        if not step:
            continue
        steps.append(
            {
                "entry": entry,
                "step": step,
                "label": labels.get(step, step),
                "comment": extra.get("comment", ""),
                "to": extra.get("to") or extra.get("owner") or "",
            }
        )
    return steps


class AlertDetailView(ObjectDetailView):
    """The alert, its trade and rule, its review log and the workflow forms."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx.update(can_change=False, can_delete=False)
        alert = extra.get("object")
        if alert is None:
            return ctx
        request = self.request
        company = request.company  # type: ignore[attr-defined]
        can_work = has_perm(request, model_perm(Alert, "change"))
        actions = compliance.alert_actions(alert) if can_work else []
        ctx.update(
            actions=actions,
            review=review_log(alert),
            detail_items=sorted((alert.detail or {}).items()),
            assign_form=extra.get("assign_form")
            or AlertAssignForm(company=company, initial={"owner": alert.owner_id}),
            justify_form=extra.get("justify_form") or AlertJustifyForm(),
            escalate_form=extra.get("escalate_form") or AlertEscalateForm(company=company),
            close_form=extra.get("close_form") or AlertCloseForm(),
            reopen_form=extra.get("reopen_form") or AlertReopenForm(),
            action_urls={
                step: company_url(request, f"trading:alert_{step}", pk=alert.pk)
                for step in compliance.ALLOWED_FROM
            },
        )
        return ctx


class AlertActionView(CompanyView):
    """A POST of one workflow step; a refused step shows the alert's page again (400)."""

    step = ""

    def get_required_perm(self) -> str:
        return model_perm(Alert, "change")

    def make_form(self, data: Any) -> forms.Form:
        raise NotImplementedError

    def run(self, alert: Alert, form: forms.Form) -> Alert:
        raise NotImplementedError

    def success(self, alert: Alert) -> str:
        return _("Alert updated.")

    def refused(self, alert: Alert, form: forms.Form) -> HttpResponse:
        detail = AlertDetailView(views=self.views)
        detail.setup(self.request, pk=alert.pk)
        ctx = detail.base_context(
            object=alert,
            fields=self.views.detail_values(alert),
            extra_template=self.views.detail_template,
            **{f"{self.step}_form": form},
        )
        ctx["breadcrumbs"].append({"label": str(alert), "url": None})
        return render(self.request, detail.template_name, ctx, status=400)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        alert: Alert = get_object_or_404(self.get_queryset(), pk=pk)
        form = self.make_form(request.POST)
        if not form.is_valid():
            return self.refused(alert, form)
        try:
            updated = self.run(alert, form)
        except ValidationError as exc:
            apply_errors(form, exc)
            return self.refused(alert, form)
        messages.success(request, self.success(updated))
        return HttpResponseRedirect(updated.get_absolute_url())


class AlertAssignView(AlertActionView):
    step = "assign"

    def make_form(self, data: Any) -> forms.Form:
        return AlertAssignForm(data, company=self.request.company)  # type: ignore[attr-defined]

    def run(self, alert: Alert, form: forms.Form) -> Alert:
        return compliance.alert_assign(
            instance=alert,
            owner=form.cleaned_data["owner"],
            comment=form.cleaned_data["comment"],
            user=self.request.user,
        )


class AlertJustifyView(AlertActionView):
    step = "justify"

    def make_form(self, data: Any) -> forms.Form:
        return AlertJustifyForm(data)

    def run(self, alert: Alert, form: forms.Form) -> Alert:
        return compliance.alert_justify(
            instance=alert, text=form.cleaned_data["text"], user=self.request.user
        )


class AlertEscalateView(AlertActionView):
    step = "escalate"

    def make_form(self, data: Any) -> forms.Form:
        return AlertEscalateForm(data, company=self.request.company)  # type: ignore[attr-defined]

    def run(self, alert: Alert, form: forms.Form) -> Alert:
        return compliance.alert_escalate(
            instance=alert,
            to=form.cleaned_data["to"],
            comment=form.cleaned_data["comment"],
            user=self.request.user,
        )

    def success(self, alert: Alert) -> str:
        return _("Alert escalated to %(user)s.") % {"user": alert.escalated_to}


class AlertCloseView(AlertActionView):
    step = "close"

    def make_form(self, data: Any) -> forms.Form:
        return AlertCloseForm(data)

    def run(self, alert: Alert, form: forms.Form) -> Alert:
        return compliance.alert_close(
            instance=alert,
            justification=form.cleaned_data["justification"],
            user=self.request.user,
        )

    def success(self, alert: Alert) -> str:
        return _("Alert closed.")


class AlertReopenView(AlertActionView):
    step = "reopen"

    def make_form(self, data: Any) -> forms.Form:
        return AlertReopenForm(data)

    def run(self, alert: Alert, form: forms.Form) -> Alert:
        return compliance.alert_reopen(
            instance=alert, reason=form.cleaned_data["reason"], user=self.request.user
        )

    def success(self, alert: Alert) -> str:
        return _("Alert reopened.")


class ComplianceRunView(FormActionView):
    """GET: a date. POST: run compliance for it and show what the run did."""

    template_name = "trading/compliance_run.html"
    form_class = ComplianceRunForm
    title = gettext_lazy("Run compliance for a date")
    perm = model_perm(Alert, "add")

    def initial(self) -> dict[str, Any]:
        return {"date": timezone.localdate()}

    def act(self, form: forms.Form) -> HttpResponse:
        request = self.request
        result = compliance.compliance_run(
            company=request.company,  # type: ignore[attr-defined]
            date=form.cleaned_data["date"],
            user=request.user,
        )
        return self.page(
            form,
            result=result,
            alerts_url=company_url(request, "trading:alert_list")
            + f"?date_from={result.date.isoformat()}&date_to={result.date.isoformat()}",
        )


class ComplianceDashboardView(CompanyView):
    """Open alerts by rule kind, trader, severity and age, with a chart."""

    template_name = "trading/compliance_dashboard.html"

    def get_required_perm(self) -> str:
        return model_perm(Alert, "view")

    def get(self, request: HttpRequest) -> HttpResponse:
        board = compliance.alerts_dashboard(request.company)  # type: ignore[attr-defined]
        title = _("Compliance")
        ctx = self.base_context(
            title=title,
            board=board,
            kind_chart={
                "type": "bar",
                "label": _("Open alerts"),
                "labels": [label for _kind, label, _n in board.by_kind],
                "values": [n for *_rest, n in board.by_kind],
            },
            age_chart={
                "type": "bar",
                "label": _("Open alerts"),
                "labels": [str(label) for label, _n in board.ageing],
                "values": [n for _label, n in board.ageing],
            },
            alerts_url=company_url(request, "trading:alert_list"),
            rules_url=company_url(request, "trading:compliancerule_list"),
            restricted_url=company_url(request, "trading:restrictedinstrument_list"),
            procedures_url=company_url(request, "trading:procedure_list"),
            run_url=company_url(request, "trading:compliance_run"),
            can_run=has_perm(request, model_perm(Alert, "add")),
        )
        ctx["breadcrumbs"] = [*ctx["breadcrumbs"][:1], {"label": title, "url": None}]
        return render(request, self.template_name, ctx)


class AlertViews(ObjectViews):
    model = Alert
    table = AlertTable
    filterset = AlertFilterSet
    select_related = ("company", "rule", "trader", "instrument", "trade", "owner", "escalated_to")
    list_view = AlertListView
    detail_view = AlertDetailView
    edit_view = RefusedEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
    detail_template = "trading/alert_detail_extra.html"
    detail_fields = (
        "rule",
        "state",
        "date",
        "trader",
        "instrument",
        "trade",
        "message",
        "owner",
        "escalated_to",
        "created_at",
        "closed_at",
    )

    @classmethod
    def urls(cls) -> list[Any]:
        bind = {"views": cls}
        steps = {
            "assign": AlertAssignView,
            "justify": AlertJustifyView,
            "escalate": AlertEscalateView,
            "close": AlertCloseView,
            "reopen": AlertReopenView,
        }
        return [
            *super().urls(),
            *[
                path(f"<int:pk>/{step}/", view.as_view(**bind), name=f"alert_{step}")
                for step, view in steps.items()
            ],
        ]


# --- procedures ----------------------------------------------------------------------------------


class ProcedureListView(ReadOnlyListView):
    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().annotate(latest_version=Max("versions__version"))

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_add"] = has_perm(self.request, model_perm(Procedure, "add"))
        return ctx


def _versions(procedure: Procedure) -> list[ProcedureVersion]:
    return list(
        ProcedureVersion.objects.filter(procedure=procedure)
        .select_related("created_by")
        .order_by("-version")
    )


class ProcedureDetailView(ObjectDetailView):
    """The text in force, the versions, the controls (link and unlink)."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_delete"] = False
        procedure = extra.get("object")
        if procedure is None:
            return ctx
        request = self.request
        company = request.company  # type: ignore[attr-defined]
        versions = _versions(procedure)
        in_force = compliance.procedure_in_force(procedure)
        can_link = has_perm(request, model_perm(Procedure, "change"))
        ctx.update(
            versions=versions,
            in_force=in_force,
            upcoming=[v for v in versions if in_force is None or v.version > in_force.version],
            controls=list(procedure.controls.order_by("code")),
            can_link=can_link,
            link_form=extra.get("link_form") or ProcedureLinkForm(company=company),
            link_url=company_url(request, "trading:procedure_link", pk=procedure.pk),
            unlink_url=company_url(request, "trading:procedure_unlink", pk=procedure.pk),
            versions_url=company_url(request, "trading:procedure_versions", pk=procedure.pk),
            can_add_version=has_perm(request, model_perm(ProcedureVersion, "add")),
            add_version_url=company_url(request, "trading:procedure_version_add", pk=procedure.pk),
        )
        return ctx


class ProcedureVersionsView(CompanyView):
    """Every version of a procedure, and what changed between two of them (``a``, ``b``:
    version numbers; default the two latest)."""

    template_name = "trading/procedure_versions.html"

    def get_required_perm(self) -> str:
        return model_perm(Procedure, "view")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        procedure: Procedure = self.get_object()
        versions = _versions(procedure)
        by_number = {v.version: v for v in versions}

        def pick(name: str, default: int | None) -> int | None:
            raw = request.GET.get(name, "")
            return int(raw) if raw.isdigit() and int(raw) in by_number else default

        newest = versions[0].version if versions else None
        older = versions[1].version if len(versions) > 1 else newest
        a, b = pick("a", older), pick("b", newest)
        diff = []
        if a is not None and b is not None:
            diff = compliance.procedure_diff(by_number[a], by_number[b])
        title = _("Versions of %(procedure)s") % {"procedure": procedure}
        ctx = self.base_context(
            title=title,
            object=procedure,
            versions=versions,
            a=a,
            b=b,
            version_a=by_number.get(a) if a is not None else None,
            version_b=by_number.get(b) if b is not None else None,
            diff=diff,
        )
        ctx["breadcrumbs"].append({"label": str(procedure), "url": procedure.get_absolute_url()})
        ctx["breadcrumbs"].append({"label": _("Versions"), "url": None})
        return render(request, self.template_name, ctx)


class ProcedureVersionAddView(CompanyView):
    """GET: the latest text to change. POST: add it as the next version."""

    template_name = "trading/procedure_version_add.html"

    def get_required_perm(self) -> str:
        return model_perm(ProcedureVersion, "add")

    def page(self, procedure: Procedure, form: forms.Form, status: int = 200) -> HttpResponse:
        title = _("New version of %(procedure)s") % {"procedure": procedure}
        ctx = self.base_context(title=title, object=procedure, form=form)
        ctx["breadcrumbs"].append({"label": str(procedure), "url": procedure.get_absolute_url()})
        ctx["breadcrumbs"].append({"label": _("New version"), "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        procedure: Procedure = self.get_object()
        latest = _versions(procedure)[:1]
        initial: dict[str, Any] = {"effective_from": timezone.localdate()}
        if latest:
            initial["body"] = latest[0].body
        return self.page(procedure, ProcedureVersionForm(initial=initial))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        procedure: Procedure = self.get_object()
        form = ProcedureVersionForm(request.POST)
        if not form.is_valid():
            return self.page(procedure, form, status=400)
        try:
            version = compliance.procedure_version_add(
                procedure=procedure,
                body=form.cleaned_data["body"],
                effective_from=form.cleaned_data["effective_from"],
                change_note=form.cleaned_data["change_note"],
                user=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
            return self.page(procedure, form, status=400)
        messages.success(request, _("Version %(n)d added.") % {"n": version.version})
        return HttpResponseRedirect(procedure.get_absolute_url())


class ProcedureLinkView(CompanyView):
    """POST ``rule``: link (or, on the unlink URL, unlink) a control."""

    unlink = False

    def get_required_perm(self) -> str:
        return model_perm(Procedure, "change")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        procedure: Procedure = self.get_object()
        company = request.company  # type: ignore[attr-defined]
        form = ProcedureLinkForm(request.POST, company=company)
        if form.is_valid():
            service = compliance.procedure_unlink if self.unlink else compliance.procedure_link
            try:
                service(procedure=procedure, rule=form.cleaned_data["rule"])
            except ValidationError as exc:
                apply_errors(form, exc)
        if form.errors:
            detail = ProcedureDetailView(views=self.views)
            detail.setup(request, pk=procedure.pk)
            ctx = detail.base_context(
                object=procedure,
                fields=self.views.detail_values(procedure),
                extra_template=self.views.detail_template,
                link_form=form,
            )
            ctx["breadcrumbs"].append({"label": str(procedure), "url": None})
            return render(request, detail.template_name, ctx, status=400)
        rule = form.cleaned_data["rule"]
        if self.unlink:
            messages.success(request, _("%(rule)s unlinked.") % {"rule": rule.code})
        else:
            messages.success(request, _("%(rule)s linked.") % {"rule": rule.code})
        return HttpResponseRedirect(procedure.get_absolute_url())


class ProcedureViews(ObjectViews):
    model = Procedure
    table = ProcedureTable
    filterset = ProcedureFilterSet
    form = ProcedureForm
    select_related = ("company", "owner")
    list_view = ProcedureListView
    detail_view = ProcedureDetailView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
    detail_template = "trading/procedure_detail_extra.html"
    detail_fields = compliance.PROCEDURE_FIELDS
    create_service = compliance.procedure_create
    update_service = compliance.procedure_update
    delete_service = compliance.procedure_delete

    @classmethod
    def urls(cls) -> list[Any]:
        bind = {"views": cls}
        return [
            *super().urls(),
            path(
                "<int:pk>/versions/",
                ProcedureVersionsView.as_view(**bind),
                name="procedure_versions",
            ),
            path(
                "<int:pk>/versions/add/",
                ProcedureVersionAddView.as_view(**bind),
                name="procedure_version_add",
            ),
            path(
                "<int:pk>/controls/link/", ProcedureLinkView.as_view(**bind), name="procedure_link"
            ),
            path(
                "<int:pk>/controls/unlink/",
                ProcedureLinkView.as_view(unlink=True, **bind),
                name="procedure_unlink",
            ),
        ]


urlpatterns: list[Any] = [
    path(
        "compliance/",
        ComplianceDashboardView.as_view(views=AlertViews),
        name="compliance_dashboard",
    ),
    path("compliance/run/", ComplianceRunView.as_view(views=AlertViews), name="compliance_run"),
    path("compliance/rules/", include(ComplianceRuleViews.urls())),
    path("compliance/restricted/", include(RestrictedInstrumentViews.urls())),
    path("compliance/alerts/", include(AlertViews.urls())),
    path("compliance/procedures/", include(ProcedureViews.urls())),
]

__all__ = [
    "AlertFilterSet",
    "AlertViews",
    "ComplianceRuleFilterSet",
    "ComplianceRuleViews",
    "ProcedureFilterSet",
    "ProcedureViews",
    "RestrictedInstrumentFilterSet",
    "RestrictedInstrumentViews",
]
