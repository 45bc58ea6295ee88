"""REST API of the VAT report (registered on the shared router, see
:mod:`trastienda.billing.api`):

- ``GET /api/v1/billing/vat-report/?period=2026-Q1`` (or ``date_from`` and ``date_to``;
  default: the previous quarter): the report by tax (output, input, withholdings), the
  result, and the boxes of the company's return (modelo 303, LIPE) with its totals. Amounts
  are decimal strings in the company currency. ``format=csv|xlsx|pdf`` answers the file
  instead (needs ``core.export_data``, audited as ``export``).
- ``GET /api/v1/billing/vat-report/invoices/?period=...&tax=<id or code>&side=output|input|
  withholding`` or ``&box=<code>``: the invoices behind a figure with their part of it.

A working report for the accountant, not an official filing. Needs ``billing.view_invoice``;
bad filters answer 400 naming the field.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.billing import vat_report
from trastienda.billing.models import Invoice
from trastienda.billing.vat_report import TaxLine
from trastienda.billing.vat_views import (
    WORKING_REPORT,
    VatInvoicesView,
    VatReportView,
    VatView,
    invoice_link,
    vat_params,
)
from trastienda.core.api import CompanyGenericViewSet, router
from trastienda.core.generic import audit
from trastienda.core.permissions import has_perm
from trastienda.ledger.reports import EXPORT_FORMATS, REPORT_CONTENT_TYPES, to_decimal
from trastienda.ledger.statement_api import JSONWhateverTheFormat

PERIOD_PARAMETERS = [
    OpenApiParameter(
        "period",
        OpenApiTypes.STR,
        description="A year (2026), a quarter (2026-Q1) or a month (2026-03). "
        "Default: the previous quarter.",
    ),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="With date_to: a custom range."),
    OpenApiParameter("date_to", OpenApiTypes.DATE),
    OpenApiParameter(
        "format",
        OpenApiTypes.STR,
        enum=["csv", "xlsx", "pdf"],
        description="Answer the file instead of JSON (needs core.export_data).",
    ),
]


class VatReportViewSet(CompanyGenericViewSet):
    """The VAT report of a period: by tax, the result and the boxes of the return."""

    permission_model = Invoice
    action_perms = {"list": "view", "invoices": "view"}
    pagination_class = None
    content_negotiation_class = JSONWhateverTheFormat

    def money(self, minor: int) -> str:
        return str(to_decimal(minor, self.request.company.base_currency))  # type: ignore[attr-defined]

    def params(self, request: Request) -> dict[str, Any]:
        params, errors = vat_params(request.company, request.query_params)  # type: ignore[attr-defined]
        if errors:
            raise exceptions.ValidationError(errors)
        return params

    def export(self, page: VatView, fmt: str, params: dict[str, Any]) -> HttpResponse:
        if fmt not in EXPORT_FORMATS:
            raise exceptions.ValidationError({"format": [_("Unknown export format.")]})
        if not has_perm(self.request, "core.export_data"):
            raise exceptions.PermissionDenied()
        data, filename, count = page.render_export(fmt, params)
        audit(
            action="export",
            company=page.company,
            object_type=f"billing.{page.slug}",
            object_repr=filename,
            extra={"format": fmt, "rows": count, "query": self.request.GET.urlencode()},
        )
        response = HttpResponse(data, content_type=REPORT_CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def tax_lines(self, lines: list[TaxLine]) -> list[dict[str, Any]]:
        return [
            {
                "tax": line.tax.code,
                "tax_id": line.tax.pk,
                "name": line.tax.name,
                "kind": line.tax.kind,
                "rate": str(line.tax.rate),
                "side": line.side,
                "invoices": line.invoices,
                "base": self.money(line.base),
                "amount": self.money(line.amount),
                "self_assessed": line.self_assessed,
                "split_payment": line.not_due,
                "non_deductible": line.non_deductible,
                "in_result": line.counts,
            }
            for line in lines
        ]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, parameters=PERIOD_PARAMETERS)
    def list(self, request: Request) -> Any:
        company = request.company  # type: ignore[attr-defined]
        params = self.params(request)
        fmt = request.query_params.get("format")
        if fmt:
            return self.export(VatReportView.offline(company), fmt, params)
        report = vat_report.vat_report(company, params["date_from"], params["date_to"])
        boxes = []
        for line in report.lines:
            for what, figure in (("base", line.base), ("tax", line.tax)):
                if figure is not None:
                    boxes.append(
                        {
                            "box": figure.code,
                            "label": str(line.label),
                            "section": line.section,
                            "of": what,
                            "value": self.money(figure.value),
                            "in_form": line.known,
                        }
                    )
        return Response(
            {
                "notice": str(WORKING_REPORT),
                "date_from": params["date_from"],
                "date_to": params["date_to"],
                "period": params["period"] or None,
                "currency": report.currency,
                "invoices": report.invoices,
                "output": self.tax_lines(report.output),
                "input": self.tax_lines(report.input),
                "withholdings": self.tax_lines(report.withholdings),
                "output_due": self.money(report.output_due),
                "input_deductible": self.money(report.input_deductible),
                "result": self.money(report.result),
                "verdict": vat_report.verdict(report.result),
                "form": report.form.code if report.form is not None else None,
                "boxes": boxes,
                "box_totals": [
                    {"box": code, "label": str(label), "value": self.money(value)}
                    for code, label, value in report.box_totals()
                ],
            }
        )

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            *PERIOD_PARAMETERS,
            OpenApiParameter("tax", OpenApiTypes.STR, description="Tax id or code."),
            OpenApiParameter("side", OpenApiTypes.STR, enum=[*vat_report.SIDES]),
            OpenApiParameter("box", OpenApiTypes.STR, description="A box of the return."),
        ],
    )
    @action(detail=False, methods=["get"], url_path="invoices")
    def invoices(self, request: Request) -> Any:
        """The invoices behind a figure of the report, with their part of it."""
        company = request.company  # type: ignore[attr-defined]
        params = self.params(request)
        fmt = request.query_params.get("format")
        if fmt:
            return self.export(VatInvoicesView.offline(company), fmt, params)
        figures = vat_report.invoice_figures(
            company,
            params["date_from"],
            params["date_to"],
            tax=params["tax"],
            side=params["side"],
            box=params["box"],
        )
        box = bool(params["box"])
        return Response(
            {
                "date_from": params["date_from"],
                "date_to": params["date_to"],
                "currency": company.base_currency,
                "tax": params["tax"].code if params["tax"] is not None else None,
                "side": params["side"] or None,
                "box": params["box"] or None,
                "total": self.money(sum(f.base for f in figures)) if box else None,
                "total_base": None if box else self.money(sum(f.base for f in figures)),
                "total_amount": None if box else self.money(sum(f.amount for f in figures)),
                "invoices": [
                    {
                        "id": f.invoice.pk,
                        "number": str(f.invoice),
                        "date": f.invoice.date,
                        "direction": f.invoice.direction,
                        "kind": f.invoice.kind,
                        "partner": f.invoice.partner.code,
                        "currency": f.invoice.currency,
                        "rate": str(f.invoice.rate),
                        "value" if box else "base": self.money(f.base),
                        **({} if box else {"amount": self.money(f.amount)}),
                        "url": invoice_link(f.invoice),
                    }
                    for f in figures
                ],
            }
        )


router.register("billing/vat-report", VatReportViewSet, basename="billing-vat-report")
