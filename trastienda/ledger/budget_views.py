"""Pages of the budgets: the generic pages of :class:`~trastienda.ledger.models.Budget`, the
grid of a budget's lines (accounts by months, a plain HTML form that works without JavaScript;
``static/ledger/budget_grid.js`` adds keyboard moves and running totals), the import and the
download of its lines, "copy from actuals", and the budget-versus-actual report (filters,
totals, a Chart.js chart served locally, CSV/XLSX/PDF exports).

Writes go through :mod:`trastienda.ledger.budgets`; the report reads
:func:`~trastienda.ledger.budgets.budget_vs_actual`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, F, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.utils.formats import get_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.core import pdf
from trastienda.core.exports import CONTENT_TYPES, export_bytes
from trastienda.core.filters import CompanyFilterSet
from trastienda.core.forms import CompanyModelForm
from trastienda.core.generic import (
    CompanyView,
    ObjectDetailView,
    ObjectViews,
    audit,
    company_url,
    deny,
)
from trastienda.core.models import Company
from trastienda.core.money import Money, currency_exponent
from trastienda.core.permissions import has_perm, model_perm
from trastienda.core.tables import BaseTable
from trastienda.ledger import budgets
from trastienda.ledger.forms import format_amount, parse_amount
from trastienda.ledger.models import Account, Budget, BudgetLine, CostCentre, FiscalYear
from trastienda.ledger.reports import ReportView, to_decimal

REPORT_PERM = "ledger.view_budget"
LEDGER_PERM = "ledger.view_journalentry"  # the actuals are the ledger's figures
BLANK_ROWS = 3
MORE_ROWS = 5
MAX_ROWS = 2000
TRUE = ("1", "true", "yes", "on")


# --- the generic pages ------------------------------------------------------------------------


class BudgetFilterSet(CompanyFilterSet):
    """The budgets list's filters, shared with the API (``?q=``, ``fiscal_year``, ``active``)."""

    search_fields = ("code", "name", "notes")
    fiscal_year = django_filters.ModelChoiceFilter(
        queryset=FiscalYear.objects.none(), label=gettext_lazy("Fiscal year")
    )

    class Meta:
        model = Budget
        fields = ("fiscal_year", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        company = getattr(getattr(self, "request", None), "company", None)
        if company is not None:
            self.filters["fiscal_year"].queryset = FiscalYear.objects.for_company(company)


class BudgetTable(BaseTable):
    code = tables.Column(linkify=lambda record: record.get_absolute_url())
    line_count = tables.Column(
        verbose_name=gettext_lazy("Lines"), attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )

    class Meta(BaseTable.Meta):
        model = Budget
        fields = ("pk", "code", "name", "fiscal_year", "active", "line_count", "updated_at")
        default_columns = ("code", "name", "fiscal_year", "active", "line_count")


class BudgetForm(CompanyModelForm):
    class Meta:
        model = Budget
        fields = ("code", "name", "fiscal_year", "notes", "active")
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def set_company(self, company: Company) -> None:
        field = self.fields["fiscal_year"]
        field.queryset = FiscalYear.objects.for_company(company)  # type: ignore[attr-defined]


class BudgetDetailView(ObjectDetailView):
    """The generic detail page, with the budget's totals per account and its actions."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        budget = extra.get("object")
        if budget is None:
            return ctx
        currency = budget.company.base_currency
        totals = (
            BudgetLine.objects.filter(budget=budget)
            .values("account__code", "cost_centre__code")
            .annotate(total=Sum("amount"), months=Count("id"))
            .order_by("account__code", F("cost_centre__code").asc(nulls_first=True))
        )
        names = {
            a.code: a.name
            for a in Account.objects.for_company(budget.company).filter(
                code__in={row["account__code"] for row in totals}
            )
        }
        ctx["budget_rows"] = [
            {
                "code": row["account__code"],
                "name": names.get(row["account__code"], ""),
                "cost_centre": row["cost_centre__code"] or "",
                "months": row["months"],
                "total": _fmt(row["total"] or 0, currency),
            }
            for row in totals
        ]
        request = self.request
        pk = budget.pk
        ctx["budget_links"] = {
            "lines": company_url(request, "ledger:budget_lines", pk=pk),
            "import": company_url(request, "ledger:budget_import", pk=pk),
            "copy": company_url(request, "ledger:budget_copy", pk=pk),
            "export": company_url(request, "ledger:budget_export", pk=pk),
            "report": company_url(request, "ledger:budget_report")
            + "?"
            + urlencode({"budget": budget.code}),
        }
        ctx["can_report"] = has_perm(request, REPORT_PERM) and has_perm(request, LEDGER_PERM)
        return ctx


class BudgetViews(ObjectViews):
    model = Budget
    table = BudgetTable
    filterset = BudgetFilterSet
    form = BudgetForm
    select_related = ("company", "fiscal_year")
    detail_fields = ("code", "name", "fiscal_year", "notes", "active", "created_at", "updated_at")
    detail_template = "ledger/budget_extra.html"
    detail_view = BudgetDetailView
    create_service = budgets.budget_create
    update_service = budgets.budget_update
    delete_service = budgets.budget_delete

    @classmethod
    def get_queryset(cls, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(line_count=Count("lines"))


def _fmt(minor: int, currency: str) -> str:
    """An amount in the active locale (grouped, the currency's decimals)."""
    return number_format(
        to_decimal(minor, currency), decimal_pos=currency_exponent(currency), force_grouping=True
    )


def _percent(value: Decimal | None) -> str:
    if value is None:
        return ""
    return number_format(value, decimal_pos=1, force_grouping=True) + " %"


# --- the grid of lines ------------------------------------------------------------------------


class BudgetLinesView(CompanyView):
    """GET: the budget's lines as a grid, one row per account (and cost centre), one column
    per month of the fiscal year, plus blank rows to add accounts. POST: saves the whole grid
    through :func:`budgets.budget_lines_set` (all or nothing): a row without amounts is
    removed; errors name the row, the month and the field. "Add rows" (``add_rows``) returns
    the grid as typed with more blank rows, saving nothing."""

    views = BudgetViews
    template_name = "ledger/budget_lines.html"

    def get_required_perm(self) -> str:
        return model_perm(Budget, "change")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        budget = self.get_object()
        months = budgets.budget_months(budget.fiscal_year)
        currency = budget.company.base_currency
        grid: dict[tuple[str, str], dict[str, str]] = {}
        for line in (
            BudgetLine.objects.filter(budget=budget)
            .select_related("account", "cost_centre")
            .order_by("year", "month")
        ):
            key = (line.account.code, line.cost_centre.code if line.cost_centre else "")
            amount = Money(line.amount, currency).to_decimal()
            grid.setdefault(key, {})[budgets.month_label((line.year, line.month))] = format_amount(
                amount
            )
        rows = [
            {"account": code, "cost_centre": centre, "fixed": True, "cells": cells}
            for (code, centre), cells in sorted(grid.items())
        ]
        rows += [
            {"account": "", "cost_centre": "", "fixed": False, "cells": {}}
            for _i in range(BLANK_ROWS)
        ]
        return self.page(budget, months, rows)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        budget = self.get_object()
        months = budgets.budget_months(budget.fiscal_year)
        try:
            count = max(0, min(int(request.POST.get("rows", "0")), MAX_ROWS))
        except ValueError:
            count = 0
        rows: list[dict[str, Any]] = []
        for i in range(count):
            prefix = f"row-{i}-"
            rows.append(
                {
                    "account": request.POST.get(prefix + "account", "").strip(),
                    "cost_centre": request.POST.get(prefix + "cost_centre", "").strip(),
                    "fixed": request.POST.get(prefix + "fixed") == "1",
                    "cells": {
                        m.label: request.POST.get(prefix + m.label, "").strip() for m in months
                    },
                }
            )
        if "add_rows" in request.POST:
            rows += [
                {"account": "", "cost_centre": "", "fixed": False, "cells": {}}
                for _i in range(MORE_ROWS)
            ]
            return self.page(budget, months, rows)
        errors: list[str] = []
        bad_cells: set[tuple[int, str]] = set()
        lines: list[dict[str, Any]] = []
        where: list[tuple[int, str, str]] = []  # per service line: (row, its label, month)
        seen: dict[tuple[str, str], int] = {}
        for number, row in enumerate(rows, start=1):
            label = " · ".join(x for x in (row["account"], row["cost_centre"]) if x)
            filled = {k: v for k, v in row["cells"].items() if v}
            if not row["account"]:
                if filled:
                    errors.append(
                        _("Row %(n)d: choose an account for its amounts.") % {"n": number}
                    )
                continue
            key = (row["account"], row["cost_centre"])
            if key in seen and filled:
                errors.append(
                    _("Row %(n)d (%(row)s) repeats row %(first)d.")
                    % {"n": number, "row": label, "first": seen[key]}
                )
                continue
            if filled:
                seen.setdefault(key, number)
            for month in months:
                text = row["cells"].get(month.label, "")
                if not text:
                    continue
                try:
                    amount = parse_amount(text)
                except forms.ValidationError:
                    bad_cells.add((number, month.label))
                    errors.append(
                        _("Row %(n)d (%(row)s), %(month)s: %(value)r is not a number.")
                        % {"n": number, "row": label, "month": month.label, "value": text}
                    )
                    continue
                lines.append(
                    {
                        "account": row["account"],
                        "cost_centre": row["cost_centre"] or None,
                        "month": month.label,
                        "amount": amount,
                    }
                )
                where.append((number, label, month.label))
        if errors:
            return self.page(budget, months, rows, errors, bad_cells, status=400)
        try:
            result = budgets.budget_lines_set(budget=budget, lines=lines, replace=True)
        except ValidationError as exc:
            for error_key, problems in _error_items(exc):
                parts = error_key.split(".")
                if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
                    index = int(parts[1]) - 1
                    if 0 <= index < len(where):
                        number, label, month_label = where[index]
                        bad_cells.add((number, month_label))
                        for problem in problems:
                            errors.append(
                                _("Row %(n)d (%(row)s), %(month)s: %(field)s: %(error)s")
                                % {
                                    "n": number,
                                    "row": label,
                                    "month": month_label,
                                    "field": _field_label(parts[2]),
                                    "error": problem,
                                }
                            )
                        continue
                errors += problems
            return self.page(budget, months, rows, errors, bad_cells, status=400)
        messages.success(
            request,
            _("Budget lines saved: %(created)d added, %(updated)d changed, %(deleted)d removed.")
            % {"created": result.created, "updated": result.updated, "deleted": result.deleted},
        )
        return HttpResponseRedirect(company_url(request, "ledger:budget_lines", pk=budget.pk))

    def page(
        self,
        budget: Budget,
        months: list[budgets.BudgetMonth],
        rows: list[dict[str, Any]],
        errors: Sequence[str] = (),
        bad_cells: set[tuple[int, str]] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        company = budget.company
        accounts = list(
            Account.objects.for_company(company)
            .filter(postable=True, active=True)
            .only("code", "name_es", "name_it", "name_en")
            .order_by("code")
        )
        names = {a.code: a.name for a in accounts}
        centres = list(CostCentre.objects.for_company(company).filter(active=True))
        exponent = currency_exponent(company.base_currency)
        bad_cells = bad_cells or set()
        grid = []
        for index, row in enumerate(rows):
            number = index + 1
            cells = [
                {
                    "name": f"row-{index}-{m.label}",
                    "value": row["cells"].get(m.label, ""),
                    "month": m.label,
                    "invalid": (number, m.label) in bad_cells,
                }
                for m in months
            ]
            total = 0
            for cell in cells:
                try:
                    value = parse_amount(cell["value"])
                except forms.ValidationError:
                    value = None
                if value is not None:
                    with contextlib.suppress(ValueError, ArithmeticError):
                        total += Money.from_decimal_rounded(value, company.base_currency).minor
            grid.append(
                {
                    "index": index,
                    "number": number,
                    "account": row["account"],
                    "account_name": names.get(row["account"], ""),
                    "cost_centre": row["cost_centre"],
                    "fixed": row["fixed"] and bool(row["account"]),
                    "cells": cells,
                    "total": _fmt(total, company.base_currency),
                }
            )
        ctx = self.base_context(
            object=budget,
            budget=budget,
            months=months,
            rows=grid,
            row_count=len(grid),
            accounts=accounts,
            centres=centres,
            errors=list(errors),
            currency=company.base_currency,
            exponent=exponent,
            decimal_separator=get_format("DECIMAL_SEPARATOR"),
            thousand_separator=get_format("THOUSAND_SEPARATOR"),
            detail_url=company_url(self.request, "ledger:budget_detail", pk=budget.pk),
            import_url=company_url(self.request, "ledger:budget_import", pk=budget.pk),
        )
        ctx["breadcrumbs"].append({"label": str(budget), "url": ctx["detail_url"]})
        ctx["breadcrumbs"].append({"label": _("Budget lines"), "url": None})
        return render(self.request, self.template_name, ctx, status=status)


def _error_items(exc: ValidationError) -> list[tuple[str, list[str]]]:
    if hasattr(exc, "error_dict"):
        return list(exc.message_dict.items())
    return [("", list(exc.messages))]


def _field_label(name: str) -> str:
    labels = {
        "account": _("account"),
        "cost_centre": _("cost centre"),
        "month": _("month"),
        "amount": _("amount"),
    }
    return str(labels.get(name, name))


# --- import, download, copy -------------------------------------------------------------------


class BudgetImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (CSV or XLSX)"))
    replace = forms.BooleanField(
        label=gettext_lazy("Replace the budget's lines (lines not in the file are deleted)"),
        required=False,
    )


class BudgetImportView(CompanyView):
    """Upload a CSV or XLSX file of lines (``account, cost_centre, month, amount``)."""

    views = BudgetViews
    template_name = "ledger/budget_import.html"

    def get_required_perm(self) -> str:
        return model_perm(Budget, "change")

    def page(
        self, budget: Budget, form: forms.Form, errors: Any = None, status: int = 200
    ) -> HttpResponse:
        ctx = self.base_context(
            object=budget,
            budget=budget,
            form=form,
            errors=errors,
            detail_url=company_url(self.request, "ledger:budget_detail", pk=budget.pk),
            example_decimal=get_format("DECIMAL_SEPARATOR"),
        )
        ctx["breadcrumbs"].append({"label": str(budget), "url": ctx["detail_url"]})
        ctx["breadcrumbs"].append({"label": _("Import lines"), "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.page(self.get_object(), BudgetImportForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        budget = self.get_object()
        form = BudgetImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(budget, form, status=400)
        upload = form.cleaned_data["file"]
        try:
            result = budgets.budget_lines_import(
                budget=budget,
                content=upload.read(),
                filename=upload.name,
                replace=form.cleaned_data["replace"],
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            return self.page(budget, form, errors=errors, status=400)
        messages.success(
            request,
            _(
                "%(rows)d rows imported: %(created)d lines added, %(updated)d changed, "
                "%(deleted)d removed."
            )
            % {
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "deleted": result.deleted,
            },
        )
        return HttpResponseRedirect(company_url(request, "ledger:budget_detail", pk=budget.pk))


class BudgetExportView(CompanyView):
    """GET ``?format=csv|xlsx`` (default CSV): the budget's lines in the import's columns."""

    views = BudgetViews

    def get_required_perm(self) -> str:
        return model_perm(Budget, "view")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        budget = self.get_object()
        fmt = request.GET.get("format", "csv")
        if fmt not in ("csv", "xlsx"):
            return HttpResponse(_("Unknown export format."), status=400)
        if not has_perm(request, "core.export_data"):
            raise deny(request, "core.export_data")
        header, rows = budgets.budget_lines_table(budget)
        data = export_bytes(fmt, header, rows, title=budget.code)
        filename = f"budget-{budget.company.code}-{budget.code}.{fmt}"
        audit(
            action="export",
            company=budget.company,
            object_type="ledger.budget",
            object_id=str(budget.pk),
            object_repr=filename,
            extra={"format": fmt, "rows": len(rows)},
        )
        response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class BudgetCopyForm(forms.Form):
    source = forms.ModelChoiceField(
        queryset=FiscalYear.objects.none(), label=gettext_lazy("Actuals of the fiscal year")
    )
    uplift = forms.DecimalField(
        label=gettext_lazy("Change (%)"),
        initial=Decimal(0),
        max_digits=7,
        decimal_places=2,
        help_text=gettext_lazy("3 raises every amount by 3 %; -5 lowers it by 5 %."),
    )
    by_cost_centre = forms.BooleanField(
        label=gettext_lazy("One line per cost centre"), required=False
    )


class BudgetCopyView(CompanyView):
    """Fill the budget from a fiscal year's actuals (income and expense), replacing its lines."""

    views = BudgetViews
    template_name = "ledger/budget_copy.html"

    def get_required_perm(self) -> str:
        return model_perm(Budget, "change")

    def form(self, budget: Budget, data: Any = None) -> BudgetCopyForm:
        form = BudgetCopyForm(data)
        field = form.fields["source"]
        years = FiscalYear.objects.for_company(budget.company).order_by("-start_date")
        field.queryset = years  # type: ignore[attr-defined]
        earlier = years.filter(start_date__lt=budget.fiscal_year.start_date).first()
        field.initial = earlier.pk if earlier is not None else budget.fiscal_year_id
        for item in form.fields.values():
            css = "form-select" if isinstance(item.widget, forms.Select) else "form-control"
            if isinstance(item.widget, forms.CheckboxInput):
                css = "form-check-input"
            item.widget.attrs["class"] = css
        return form

    def page(self, budget: Budget, form: BudgetCopyForm, status: int = 200) -> HttpResponse:
        ctx = self.base_context(
            object=budget,
            budget=budget,
            form=form,
            detail_url=company_url(self.request, "ledger:budget_detail", pk=budget.pk),
        )
        ctx["breadcrumbs"].append({"label": str(budget), "url": ctx["detail_url"]})
        ctx["breadcrumbs"].append({"label": _("Copy from actuals"), "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        budget = self.get_object()
        return self.page(budget, self.form(budget))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        budget = self.get_object()
        form = self.form(budget, request.POST)
        if not form.is_valid():
            return self.page(budget, form, status=400)
        try:
            result = budgets.budget_copy_actuals(
                budget=budget,
                source=form.cleaned_data["source"],
                uplift=form.cleaned_data["uplift"],
                by_cost_centre=form.cleaned_data["by_cost_centre"],
            )
        except ValidationError as exc:
            for key, problems in _error_items(exc):
                form.add_error(key if key in form.fields else None, problems)
            return self.page(budget, form, status=400)
        messages.success(
            request,
            _(
                "Budget filled from actuals: %(created)d lines added, %(updated)d changed, "
                "%(deleted)d removed."
            )
            % {"created": result.created, "updated": result.updated, "deleted": result.deleted},
        )
        return HttpResponseRedirect(company_url(request, "ledger:budget_lines", pk=budget.pk))


# --- budget versus actual ---------------------------------------------------------------------


class BudgetReportForm(forms.Form):
    """Labels of the report's filters (the values are read by :func:`budget_report_params`)."""

    budget = forms.CharField(label=gettext_lazy("Budget"))
    cost_centre = forms.CharField(label=gettext_lazy("Cost centre"))
    month_from = forms.CharField(label=gettext_lazy("From month"))
    month_to = forms.CharField(label=gettext_lazy("To month"))
    account = forms.CharField(label=gettext_lazy("Account code starts with"))
    by_cost_centre = forms.BooleanField(label=gettext_lazy("By cost centre"))
    unbudgeted = forms.BooleanField(label=gettext_lazy("Accounts without budget"))
    monthly = forms.BooleanField(label=gettext_lazy("Months"))


def budget_report_params(
    company: Company, data: Any
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The report's filters from a query (page or API) with defaults, and the errors.

    ``budget`` (id or code; default: the active budget of the current fiscal year),
    ``cost_centre`` (code or id; ``none``: lines without one; empty: all), ``month_from`` /
    ``month_to`` (``YYYY-MM``, months of the budget's fiscal year), ``account`` (code prefix),
    ``by_cost_centre``, ``unbudgeted`` and ``monthly`` (1/0).
    """
    errors: dict[str, list[str]] = {}
    get = data.get
    budget: Budget | None = None
    wanted = str(get("budget") or "").strip()
    company_budgets = Budget.objects.for_company(company).select_related("fiscal_year", "company")
    if wanted:
        budget = company_budgets.filter(code=wanted).first()
        if budget is None and wanted.isdigit():
            budget = company_budgets.filter(pk=int(wanted)).first()
        if budget is None:
            errors["budget"] = [_("Unknown budget %(code)s.") % {"code": wanted}]
    if budget is None:
        budget = budgets.default_budget(company)
    centre_value = str(get("cost_centre") or "").strip()
    centre: CostCentre | str = budgets.ALL_CENTRES
    if centre_value.lower() == budgets.WITHOUT_CENTRE:
        centre, centre_value = budgets.WITHOUT_CENTRE, budgets.WITHOUT_CENTRE
    elif centre_value:
        centres = CostCentre.objects.for_company(company)
        found = centres.filter(code=centre_value).first()
        if found is None and centre_value.isdigit():
            found = centres.filter(pk=int(centre_value)).first()
        if found is None:
            errors["cost_centre"] = [_("Unknown cost centre %(code)s.") % {"code": centre_value}]
            centre_value = ""
        else:
            centre, centre_value = found, found.code
    months = budgets.budget_months(budget.fiscal_year) if budget is not None else []
    keys = [m.key for m in months]
    chosen: dict[str, tuple[int, int] | None] = {}
    for name in ("month_from", "month_to"):
        text = str(get(name) or "").strip()
        chosen[name] = None
        if not text:
            continue
        key = budgets.parse_month(text)
        if key is None:
            errors[name] = [_("%(value)r is not a month (YYYY-MM).") % {"value": text}]
        elif budget is not None and key not in keys:
            errors[name] = [
                _("%(month)s is not a month of the budget's fiscal year (%(first)s to %(last)s).")
                % {
                    "month": budgets.month_label(key),
                    "first": months[0].label if months else "",
                    "last": months[-1].label if months else "",
                }
            ]
        else:
            chosen[name] = key
    first, last = chosen["month_from"], chosen["month_to"]
    if first is not None and last is not None and last < first:
        errors["month_to"] = [_("The last month is before the first month.")]
        last = None
    account = str(get("account") or "").strip()[:20]
    params: dict[str, Any] = {
        "budget": budget,
        "cost_centre": centre,
        "cost_centre_value": centre_value,
        "month_from": first or (keys[0] if keys else None),
        "month_to": last or (keys[-1] if keys else None),
        "account": account,
        "by_cost_centre": str(get("by_cost_centre") or "").lower() in TRUE,
        "unbudgeted": str(get("unbudgeted") or "").lower() in TRUE,
        "monthly": str(get("monthly") or "").lower() in TRUE,
    }
    return params, errors


def build_report(params: dict[str, Any]) -> budgets.BudgetReport | None:
    budget = params["budget"]
    if budget is None:
        return None
    return budgets.budget_vs_actual(
        budget,
        cost_centre=params["cost_centre"],
        month_from=params["month_from"],
        month_to=params["month_to"],
        account=params["account"],
        by_cost_centre=params["by_cost_centre"],
        unbudgeted=params["unbudgeted"],
    )


def centre_label(report: budgets.BudgetReport) -> str:
    if report.cost_centre == budgets.WITHOUT_CENTRE:
        return str(_("Without cost centre"))
    if report.cost_centre:
        return str(_("Cost centre %(code)s") % {"code": report.cost_centre})
    if report.by_cost_centre:
        return str(_("By cost centre"))
    return str(_("All cost centres"))


class BudgetReportView(ReportView):
    """Budget versus actual: filters, the table with totals, the chart, exports."""

    template_name = "ledger/budget_report.html"
    slug = "budget-vs-actual"
    title = gettext_lazy("Budget vs actual")
    required_perm = REPORT_PERM

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not has_perm(request, LEDGER_PERM):
            raise deny(request, LEDGER_PERM)
        return super().get(request, *args, **kwargs)

    def get_params(self, data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
        return budget_report_params(self.company, data)

    def report(self, params: dict[str, Any]) -> budgets.BudgetReport | None:
        """The report of ``params``, built once per view (page, subtitle and exports)."""
        key = repr(sorted((k, repr(v)) for k, v in params.items()))
        cache: dict[str, Any] = self.__dict__.setdefault("_reports", {})
        if key not in cache:
            cache[key] = build_report(params)
        report: budgets.BudgetReport | None = cache[key]
        return report

    def filename(self, params: dict[str, Any], fmt: str) -> str:
        budget = params["budget"]
        code = budget.code if budget is not None else "none"
        parts = [self.slug, self.company.code, code]
        parts += [budgets.month_label(params[k]) for k in ("month_from", "month_to") if params[k]]
        return "-".join(parts) + f".{fmt}"

    def subtitle(self, params: dict[str, Any]) -> str:
        report = self.report(params)
        if report is None:
            return self.currency
        months = report.months
        span = (
            _("%(first)s to %(last)s") % {"first": months[0].label, "last": months[-1].label}
            if months
            else ""
        )
        return " · ".join(
            x for x in (str(report.budget), span, centre_label(report), self.currency) if x
        )

    def cells(self, figures: budgets.Figures) -> dict[str, Any]:
        """Formatted totals of a row, a section or the result; its monthly figures."""
        favourable = figures.favourable
        return {
            "budget": self.fmt(figures.budget_total),
            "actual": self.fmt(figures.actual_total),
            "variance": self.fmt(figures.variance_total),
            "percent": _percent(figures.percent),
            "css": "" if favourable is None else ("text-success" if favourable else "text-danger"),
            "months": [
                {
                    "budget": self.fmt(b),
                    "actual": self.fmt(a),
                    "variance": self.fmt(a - b),
                }
                for b, a in zip(figures.budget, figures.actual, strict=True)
            ],
        }

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        report = self.report(params)
        company = self.company
        choices = {
            "budgets": list(
                Budget.objects.for_company(company)
                .select_related("fiscal_year")
                .order_by("-fiscal_year__start_date", "code")
            ),
            "centres": list(CostCentre.objects.for_company(company)),
            "report_form": BudgetReportForm(),
            "sign_convention": budgets.SIGN_CONVENTION,
            "report": report,
        }
        if report is None:
            can_add = has_perm(self.request, model_perm(Budget, "add"))
            choices["add_url"] = company_url(self.request, "ledger:budget_add") if can_add else ""
            return choices
        sections = []
        for section in report.sections:
            rows = []
            for row in section.rows:
                account = row.account
                rows.append(
                    {
                        "code": account.code if account else "",
                        "name": account.name if account else "",
                        "cost_centre": row.cost_centre_code
                        or (str(budgets.NO_COST_CENTRE) if report.by_cost_centre else ""),
                        "budgeted": row.budgeted,
                        "ledger_url": self.url(
                            "report_general_ledger",
                            account=account.code if account else "",
                            date_from=report.months[0].first.isoformat(),
                            date_to=report.months[-1].last.isoformat(),
                        )
                        if report.months
                        else "",
                        **self.cells(row),
                    }
                )
            sections.append({"label": section.label, "rows": rows, **self.cells(section)})
        chart = report.chart
        can_edit = has_perm(self.request, model_perm(Budget, "change"))
        budget = report.budget
        return {
            **choices,
            "months": report.months,
            "month_choices": budgets.budget_months(budget.fiscal_year),
            "sections": sections,
            "result": self.cells(report.result) if report.result is not None else None,
            "chart_label": report.chart_label,
            "centre_label": centre_label(report),
            "subtitle": self.subtitle(params),
            "column_count": 5
            + (1 if report.by_cost_centre else 0)
            + (3 * len(report.months) if params["monthly"] else 0),
            "lines_url": company_url(self.request, "ledger:budget_lines", pk=budget.pk)
            if can_edit
            else "",
            "budget_url": company_url(self.request, "ledger:budget_detail", pk=budget.pk),
            "chart_id": "budget-vs-actual-chart",
            "chart": {
                "type": "bar",
                "labels": [m.label for m in report.months],
                "datasets": [
                    {
                        "label": str(_("Budget")),
                        "values": [str(to_decimal(v, self.currency)) for v in chart.budget],
                    },
                    {
                        "label": str(_("Actual")),
                        "values": [str(to_decimal(v, self.currency)) for v in chart.actual],
                    },
                ],
            },
        }

    # --- exports ---------------------------------------------------------------------------

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        """One row per account (and cost centre), one per section total and the result;
        every month's budget and actual, then the totals, variance and variance %."""
        report = self.report(params)
        header: list[Any] = [
            _("Section"),
            _("Account"),
            _("Name"),
            _("Cost centre"),
        ]
        if report is None:
            return header, []
        for month in report.months:
            header += [
                _("%(month)s budget") % {"month": month.label},
                _("%(month)s actual") % {"month": month.label},
            ]
        header += [_("Budget"), _("Actual"), _("Variance"), _("Variance %")]
        cur = self.currency

        def values(figures: budgets.Figures) -> list[Any]:
            out: list[Any] = []
            for b, a in zip(figures.budget, figures.actual, strict=True):
                out += [to_decimal(b, cur), to_decimal(a, cur)]
            return [
                *out,
                to_decimal(figures.budget_total, cur),
                to_decimal(figures.actual_total, cur),
                to_decimal(figures.variance_total, cur),
                figures.percent,
            ]

        rows: list[Sequence[Any]] = []
        for section in report.sections:
            for row in section.rows:
                rows.append(
                    [
                        section.label,
                        row.account.code if row.account else "",
                        row.account.name if row.account else "",
                        row.cost_centre_code,
                        *values(row),
                    ]
                )
            rows.append(
                [
                    section.label,
                    "",
                    _("Total %(section)s") % {"section": section.label},
                    "",
                    *values(section),
                ]
            )
        if report.result is not None:
            rows.append(["", "", _("Result (income - expense)"), "", *values(report.result)])
        return header, rows

    def pdf(self, params: dict[str, Any]) -> tuple[bytes, int]:
        report = self.report(params)
        columns = [
            pdf.column(_("Account")),
            pdf.column(_("Name")),
            pdf.column(_("Budget"), numeric=True),
            pdf.column(_("Actual"), numeric=True),
            pdf.column(_("Variance"), numeric=True),
            pdf.column(_("Variance %"), numeric=True),
        ]
        rows = []
        months = []
        if report is not None:
            if report.by_cost_centre:
                columns.insert(2, pdf.column(_("Cost centre")))
            span = len(columns) - 4

            def amounts(figures: budgets.Figures) -> list[dict[str, Any]]:
                return [
                    self.money_cell(figures.budget_total),
                    self.money_cell(figures.actual_total),
                    self.money_cell(figures.variance_total),
                    pdf.cell(_percent(figures.percent), "num"),
                ]

            for section in report.sections:
                rows.append(pdf.row([pdf.cell(section.label, span=len(columns))], "group"))
                for row in section.rows:
                    first = [
                        pdf.cell(row.account.code if row.account else "", "code"),
                        pdf.cell(row.account.name if row.account else ""),
                    ]
                    if report.by_cost_centre:
                        first.append(pdf.cell(row.cost_centre_code or budgets.NO_COST_CENTRE))
                    rows.append(pdf.row(first + amounts(row), "account"))
                rows.append(
                    pdf.row(
                        [
                            pdf.cell(
                                _("Total %(section)s") % {"section": section.label}, span=span
                            ),
                            *amounts(section),
                        ],
                        "strong",
                    )
                )
            if report.result is not None:
                rows.append(
                    pdf.row(
                        [
                            pdf.cell(_("Result (income - expense)"), span=span),
                            *amounts(report.result),
                        ],
                        "strong",
                    )
                )
            chart = report.chart
            for i, month in enumerate(report.months):
                months.append(
                    pdf.row(
                        [
                            pdf.cell(month.label, "code"),
                            self.money_cell(chart.budget[i]),
                            self.money_cell(chart.actual[i]),
                            self.money_cell(chart.actual[i] - chart.budget[i]),
                            pdf.cell(_percent(chart.month_percent(i)), "num"),
                        ]
                    )
                )
        context = {
            "columns": columns,
            "rows": rows,
            "month_columns": [
                pdf.column(_("Month")),
                pdf.column(_("Budget"), numeric=True),
                pdf.column(_("Actual"), numeric=True),
                pdf.column(_("Variance"), numeric=True),
                pdf.column(_("Variance %"), numeric=True),
            ],
            "month_rows": months,
            "chart_label": report.chart_label if report is not None else "",
            "sign_convention": budgets.SIGN_CONVENTION,
            "empty": _("No budget."),
        }
        data = pdf.render_pdf(
            "ledger/budget_report_pdf.html",
            context,
            company=self.company,
            title=str(self.title),
            subtitle=self.subtitle(params),
        )
        return data, len(rows)


def budget_urls() -> list[Any]:
    """``budgets/`` routes (included by ``ledger/urls.py``; the report is under ``reports/``)."""
    return [
        *BudgetViews.urls(),
        path("<int:pk>/lines/", BudgetLinesView.as_view(), name="budget_lines"),
        path("<int:pk>/import/", BudgetImportView.as_view(), name="budget_import"),
        path("<int:pk>/export/", BudgetExportView.as_view(), name="budget_export"),
        path("<int:pk>/copy-actuals/", BudgetCopyView.as_view(), name="budget_copy"),
    ]


__all__ = [
    "BudgetFilterSet",
    "BudgetReportView",
    "BudgetViews",
    "budget_report_params",
    "budget_urls",
    "build_report",
]
