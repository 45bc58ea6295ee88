"""REST API of the budgets (registered by :mod:`trastienda.ledger.api`):

- ``/api/v1/ledger/budgets/``: list, create, retrieve, update, partial update, delete, with
  the nested ``lines`` (``[{"account": "6000", "cost_centre": "STORE", "month": "2026-03",
  "amount": "1500.00"}, ...]``: amounts as decimal strings in major units of the company
  currency, on the account's natural side; never floats). Sending ``lines`` replaces every
  line of the budget, all or nothing; a PATCH without ``lines`` keeps them. Errors name the
  line from 1: ``lines.3.amount``. ``POST .../{id}/import/`` (multipart ``file``, optional
  ``replace``) imports a CSV or XLSX file of lines, errors by file line.
- ``GET /api/v1/ledger/budget-vs-actual/?budget=&cost_centre=&month_from=&month_to=&account=
  &by_cost_centre=1&unbudgeted=1``: the report (see :func:`budgets.budget_vs_actual`), amounts
  as decimal strings; ``format=csv|xlsx|pdf`` answers the file (needs ``core.export_data``,
  audited).

Permissions: the model permissions of ``ledger.Budget`` (view/add/change/delete); the report
also needs ``ledger.view_journalentry`` (its actuals are the ledger's figures).
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Prefetch, QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.core.api import CompanyGenericViewSet, CompanyModelSerializer, CompanyModelViewSet
from trastienda.core.generic import audit
from trastienda.core.money import Money
from trastienda.core.permissions import has_perm
from trastienda.ledger import budgets
from trastienda.ledger.budget_views import BudgetFilterSet, BudgetReportView, budget_report_params
from trastienda.ledger.models import Budget, BudgetLine, FiscalYear
from trastienda.ledger.reports import EXPORT_FORMATS, REPORT_CONTENT_TYPES
from trastienda.ledger.statement_api import JSONWhateverTheFormat


@extend_schema_field(OpenApiTypes.STR)
class RawField(serializers.Field):
    """Passes the value on as sent: the service checks it (and names the line from 1)."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class BudgetLineSerializer(serializers.Serializer[Any]):
    """A budget line: account and cost centre by code, month ``YYYY-MM``, amount as a decimal
    string in major units (``"1500.00"``)."""

    account = RawField(required=False, help_text=gettext_lazy("Account code (postable)."))
    cost_centre = RawField(
        required=False, allow_null=True, help_text=gettext_lazy("Cost centre code, or null.")
    )
    month = RawField(required=False, help_text=gettext_lazy("YYYY-MM, a month of the year."))
    amount = RawField(
        required=False,
        help_text=gettext_lazy("Decimal string in major units of the company currency."),
    )

    def to_representation(self, line: BudgetLine) -> dict[str, Any]:
        return {
            "account": line.account.code,
            "cost_centre": line.cost_centre.code if line.cost_centre else None,
            "month": budgets.month_label((line.year, line.month)),
            "amount": str(Money(line.amount, line.company.base_currency).to_decimal()),
        }


class BudgetSerializer(CompanyModelSerializer):
    fiscal_year = serializers.SlugRelatedField(
        slug_field="name",
        queryset=FiscalYear.objects.all(),
        help_text=gettext_lazy("Name of a fiscal year of the company."),
    )
    lines = BudgetLineSerializer(many=True, required=False)

    class Meta:
        model = Budget
        fields = [
            "id",
            "code",
            "name",
            "fiscal_year",
            "notes",
            "active",
            "lines",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class BudgetImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()
    replace = serializers.BooleanField(required=False, default=False)


class BudgetViewSet(CompanyModelViewSet):
    """Budgets of the active company with their lines; ``import`` takes a CSV or XLSX file."""

    model = Budget
    serializer_class = BudgetSerializer
    filterset_class = BudgetFilterSet
    ordering_fields = ["code", "name", "updated_at"]
    select_related = ("company", "fiscal_year")
    create_service = budgets.budget_create
    update_service = budgets.budget_update
    delete_service = budgets.budget_delete
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_perms = {"import_file": "change"}

    def get_queryset(self) -> QuerySet[Any]:
        lines = BudgetLine.objects.select_related("account", "cost_centre", "company").order_by(
            "account__code", F("cost_centre__code").asc(nulls_first=True), "year", "month"
        )
        return super().get_queryset().prefetch_related(Prefetch("lines", queryset=lines))

    def _fresh(self, budget: Budget) -> Budget:
        return self.get_queryset().get(pk=budget.pk)

    def perform_create(self, serializer: Any) -> None:
        super().perform_create(serializer)
        serializer.instance = self._fresh(serializer.instance)

    def perform_update(self, serializer: Any) -> None:
        super().perform_update(serializer)
        serializer.instance = self._fresh(serializer.instance)

    @extend_schema(request=BudgetImportSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="import")
    def import_file(self, request: Request, pk: str | None = None) -> Response:
        """Import budget lines (columns account, cost_centre, month, amount); all or nothing."""
        budget = self.get_object()
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"file": [_("Upload a file.")]})
        replace = str(request.data.get("replace", "")).lower() in ("1", "true", "yes", "on")
        result = self.call_service(
            budgets.budget_lines_import,
            budget=budget,
            content=upload.read(),
            filename=upload.name or "",
            replace=replace,
        )
        return Response(
            {
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "deleted": result.deleted,
                "lines": result.lines,
                "sha256": result.sha256,
            }
        )


class BudgetVsActualViewSet(CompanyGenericViewSet):
    """Budget versus actual per account (and cost centre) and month, with variance and %."""

    permission_model = Budget
    action_perms = {"list": ("view", "ledger.view_journalentry")}
    pagination_class = None
    content_negotiation_class = JSONWhateverTheFormat

    def amount(self, minor: int) -> str:
        return str(Money(minor, self.request.company.base_currency).to_decimal())  # type: ignore[attr-defined]

    def figures(self, item: budgets.Figures, months: list[budgets.BudgetMonth]) -> dict[str, Any]:
        percent = item.percent
        return {
            "budget": self.amount(item.budget_total),
            "actual": self.amount(item.actual_total),
            "variance": self.amount(item.variance_total),
            "variance_percent": None if percent is None else str(percent),
            "favourable": item.favourable,
            "months": [
                {
                    "month": month.label,
                    "budget": self.amount(item.budget[i]),
                    "actual": self.amount(item.actual[i]),
                    "variance": self.amount(item.actual[i] - item.budget[i]),
                    "variance_percent": (
                        None if item.month_percent(i) is None else str(item.month_percent(i))
                    ),
                }
                for i, month in enumerate(months)
            ],
        }

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "budget",
                OpenApiTypes.STR,
                description="Code or id; default: the active budget of the current fiscal year.",
            ),
            OpenApiParameter(
                "cost_centre", OpenApiTypes.STR, description="Code; 'none': lines without one."
            ),
            OpenApiParameter("month_from", OpenApiTypes.STR, description="YYYY-MM"),
            OpenApiParameter("month_to", OpenApiTypes.STR, description="YYYY-MM"),
            OpenApiParameter("account", OpenApiTypes.STR, description="Account code prefix."),
            OpenApiParameter("by_cost_centre", OpenApiTypes.BOOL),
            OpenApiParameter("unbudgeted", OpenApiTypes.BOOL),
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=["csv", "xlsx", "pdf"],
                description="Answer the file instead of JSON (needs core.export_data).",
            ),
        ],
    )
    def list(self, request: Request) -> Any:
        company = request.company  # type: ignore[attr-defined]
        params, errors = budget_report_params(company, request.query_params)
        if errors:
            raise exceptions.ValidationError(errors)
        page = BudgetReportView.offline(company)
        fmt = request.query_params.get("format")
        if fmt:
            return self.export(page, fmt, params)
        report = page.report(params)
        if report is None:
            return Response(
                {
                    "budget": None,
                    "currency": company.base_currency,
                    "months": [],
                    "sections": [],
                    "result": None,
                    "sign_convention": str(budgets.SIGN_CONVENTION),
                }
            )
        months = report.months
        budget = report.budget
        return Response(
            {
                "budget": {
                    "id": budget.pk,
                    "code": budget.code,
                    "name": budget.name,
                    "fiscal_year": budget.fiscal_year.name,
                },
                "currency": report.currency,
                "months": [m.label for m in months],
                "cost_centre": report.cost_centre,
                "by_cost_centre": report.by_cost_centre,
                "sign_convention": str(budgets.SIGN_CONVENTION),
                "sections": [
                    {
                        "type": section.type,
                        "label": section.label,
                        **self.figures(section, months),
                        "rows": [
                            {
                                "account": row.account.code if row.account else None,
                                "name": row.account.name if row.account else "",
                                "cost_centre": row.cost_centre_code or None,
                                "budgeted": row.budgeted,
                                **self.figures(row, months),
                            }
                            for row in section.rows
                        ],
                    }
                    for section in report.sections
                ],
                "result": (
                    self.figures(report.result, months) if report.result is not None else None
                ),
                "chart": {"label": report.chart_label, **self.figures(report.chart, months)},
            }
        )

    def export(self, page: BudgetReportView, fmt: str, params: dict[str, Any]) -> HttpResponse:
        if fmt not in EXPORT_FORMATS:
            raise exceptions.ValidationError({"format": [_("Unknown export format.")]})
        if not has_perm(self.request, "core.export_data"):
            raise exceptions.PermissionDenied()
        data, filename, count = page.render_export(fmt, params)
        audit(
            action="export",
            company=page.company,
            object_type=f"ledger.{page.slug}",
            object_repr=filename,
            extra={"format": fmt, "rows": count, "query": self.request.GET.urlencode()},
        )
        response = HttpResponse(data, content_type=REPORT_CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
