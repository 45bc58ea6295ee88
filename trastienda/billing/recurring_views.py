"""Recurring invoices: schedules that copy a template draft every N months (the daily job
``billing.jobs.recurring_invoices_daily`` runs them; "Run now" does it at once)."""

from __future__ import annotations

from typing import Any

import django_filters
import django_tables2 as tables
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import include, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.utils.translation import ngettext

from trastienda.billing import services
from trastienda.billing.models import Direction, Invoice, RecurringInvoice
from trastienda.core.filters import CompanyFilterSet
from trastienda.core.forms import CompanyModelForm
from trastienda.core.generic import CompanyView, ObjectViews, company_url
from trastienda.core.models import Company
from trastienda.core.tables import BaseTable


def template_choices(company: Company) -> Any:
    return Invoice.objects.for_company(company).filter(
        direction=Direction.SALE, state=Invoice.State.DRAFT
    )


class RecurringInvoiceForm(CompanyModelForm):
    class Meta:
        model = RecurringInvoice
        fields = (
            "name",
            "template",
            "interval_months",
            "next_date",
            "end_date",
            "auto_issue",
            "active",
        )

    def set_company(self, company: Company) -> None:
        self.fields["template"].queryset = template_choices(company)  # type: ignore[attr-defined]


class RecurringInvoiceTable(BaseTable):
    name = tables.Column(linkify=lambda record: record.get_absolute_url())

    class Meta(BaseTable.Meta):
        model = RecurringInvoice
        fields = (
            "pk",
            "name",
            "template",
            "interval_months",
            "next_date",
            "end_date",
            "auto_issue",
            "active",
        )


class RecurringInvoiceFilterSet(CompanyFilterSet):
    search_fields = ("name", "template__partner__legal_name")
    active = django_filters.BooleanFilter(label=_l("Active"))

    class Meta:
        model = RecurringInvoice
        fields = ("active", "auto_issue")


def _validate(company: Company, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    template = data.get("template")
    if template is not None and not template_choices(company).filter(pk=template.pk).exists():
        errors["template"] = [_("Choose a draft sales invoice of this company.")]
    interval = data.get("interval_months")
    if interval is not None and not 1 <= int(interval) <= 36:
        errors["interval_months"] = [_("Every 1 to 36 months.")]
    end, start = data.get("end_date"), data.get("next_date")
    if end is not None and start is not None and end < start:
        errors["end_date"] = [_("The end date cannot be before the next date.")]
    if errors:
        raise ValidationError(errors)


def recurring_create(*, company: Company, **data: Any) -> RecurringInvoice:
    from trastienda.core.services import object_create

    _validate(company, data)
    return object_create(model=RecurringInvoice, company=company, data=data)


def recurring_update(*, instance: RecurringInvoice, **data: Any) -> RecurringInvoice:
    from trastienda.core.services import object_update

    merged = {
        name: getattr(instance, name)
        for name in ("template", "interval_months", "next_date", "end_date")
    } | data
    _validate(instance.company, merged)
    return object_update(instance=instance, data=data)


class RecurringInvoiceViews(ObjectViews):
    model = RecurringInvoice
    table = RecurringInvoiceTable
    filterset = RecurringInvoiceFilterSet
    form = RecurringInvoiceForm
    select_related = ("company", "template", "template__partner")
    detail_template = "billing/recurring_extra.html"
    create_service = recurring_create
    update_service = recurring_update


class RecurringRunView(CompanyView):
    """POST: make the invoices of every schedule due today (what the daily job does)."""

    views = RecurringInvoiceViews
    required_perm = "billing.add_invoice"

    def post(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        try:
            made = services.recurring_run(company=company)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                ngettext("%(count)d invoice made.", "%(count)d invoices made.", len(made))
                % {"count": len(made)},
            )
        return HttpResponseRedirect(company_url(request, "billing:recurringinvoice_list"))


urlpatterns: list[Any] = [
    path("recurring/run/", RecurringRunView.as_view(), name="recurringinvoice_run"),
    path("recurring/", include(RecurringInvoiceViews.urls())),
]
