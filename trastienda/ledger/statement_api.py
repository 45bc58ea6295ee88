"""REST API of the financial statements (registered by :mod:`trastienda.ledger.api`):

- ``GET /api/v1/ledger/profit-and-loss/?from=&to=&layout=&compare=1&dimension=``
- ``GET /api/v1/ledger/balance-sheet/?as_of=&layout=&compare=1&dimension=``

(``date_from``/``date_to`` are accepted too; defaults: the current fiscal year and the
company's layout). Amounts are decimal strings in the company currency, keyed by column;
``format=csv|xlsx|pdf`` answers the file instead (needs ``core.export_data``, audited).
Needs ``ledger.view_journalentry`` like the other reports.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.core.api import CompanyGenericViewSet
from trastienda.core.generic import audit
from trastienda.core.permissions import has_perm
from trastienda.ledger import statements
from trastienda.ledger.models import JournalEntry
from trastienda.ledger.reports import EXPORT_FORMATS, REPORT_CONTENT_TYPES, to_decimal
from trastienda.ledger.statement_views import (
    BalanceSheetView,
    ProfitAndLossView,
    StatementView,
    statement_params,
)


class JSONWhateverTheFormat(BaseContentNegotiation):
    """Always JSON: ``?format=`` names an export here, not a renderer."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


COMMON = [
    OpenApiParameter("layout", OpenApiTypes.STR, enum=["es_pgc_pymes", "it_civil_code", "ifrs"]),
    OpenApiParameter(
        "compare", OpenApiTypes.BOOL, description="Add the same range a year earlier."
    ),
    OpenApiParameter(
        "dimension",
        OpenApiTypes.STR,
        enum=["cost_centre", "project"],
        description="One column per cost centre or project, plus 'none' and the total.",
    ),
    OpenApiParameter(
        "format",
        OpenApiTypes.STR,
        enum=["csv", "xlsx", "pdf"],
        description="Answer the file instead of JSON (needs core.export_data).",
    ),
]


class StatementViewSet(CompanyGenericViewSet):
    permission_model = JournalEntry
    action_perms = {"list": "view"}
    pagination_class = None
    content_negotiation_class = JSONWhateverTheFormat
    page: ClassVar[type[StatementView]]

    def amount(self, value: Any, kind: str) -> str | None:
        if value is None:
            return None
        if kind == "percent":
            return str(value)
        return str(to_decimal(int(value), self.request.company.base_currency))  # type: ignore[attr-defined]

    def values(self, report: statements.Report, values: list[Any]) -> dict[str, Any]:
        return {c.key: self.amount(v, c.kind) for c, v in zip(report.columns, values, strict=True)}

    def respond(self, request: Request) -> Any:
        company = request.company  # type: ignore[attr-defined]
        page = self.page.offline(company)
        params, errors = statement_params(company, request.query_params, page.kind)
        if errors:
            raise exceptions.ValidationError(errors)
        fmt = request.query_params.get("format")
        if fmt:
            return self.export(page, fmt, params)
        report = page.build(params)
        lines = []
        for item in report.lines:
            if not item.visible:
                continue
            lines.append(
                {
                    "code": item.code,
                    "label": item.label,
                    "depth": item.depth,
                    "heading": item.is_heading,
                    "total": item.is_total,
                    "values": self.values(report, item.values),
                    "accounts": [
                        {
                            "account": row.account.code,
                            "name": row.account.name,
                            "values": self.values(report, row.values),
                        }
                        for row in item.accounts
                    ],
                    "results": [
                        {"label": row.label, "values": self.values(report, row.values)}
                        for row in item.results
                    ],
                }
            )
        body: dict[str, Any] = {
            "statement": report.kind,
            "layout": report.layout.code,
            "currency": company.base_currency,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in report.columns],
            "lines": lines,
        }
        if report.kind == statements.BALANCE_SHEET:
            body["as_of"] = params["date_to"]
            body["balanced"] = report.balanced
        else:
            body["date_from"] = params["date_from"]
            body["date_to"] = params["date_to"]
            body["result"] = self.amount(report.result, "amount")
        return Response(body)

    def export(self, page: StatementView, fmt: str, params: dict[str, Any]) -> HttpResponse:
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


class ProfitAndLossViewSet(StatementViewSet):
    """Profit and loss account of a date range in a layout."""

    page = ProfitAndLossView

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="Default: fiscal year start."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Default: fiscal year end."),
            *COMMON,
        ],
    )
    def list(self, request: Request) -> Any:
        return self.respond(request)


class BalanceSheetViewSet(StatementViewSet):
    """Balance sheet at a date in a layout (assets = equity + liabilities)."""

    page = BalanceSheetView

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("as_of", OpenApiTypes.DATE, description="Default: fiscal year end."),
            *COMMON,
        ],
    )
    def list(self, request: Request) -> Any:
        return self.respond(request)
