"""REST API of receivables and payables (registered on :data:`trastienda.core.api.router`):

- ``GET /api/v1/billing/aged-receivables/?as_of=&partner=&overdue=1&min_amount=&days=``
- ``GET /api/v1/billing/aged-payables/`` (the same filters)
- ``GET /api/v1/billing/partner-statement/?partner=&direction=&date_from=&date_to=``

Amounts are decimal strings, the aged report's in the company currency, a statement's in each
section's currency. With ``partner``, the aged report adds that partner's open instalments
(``items``); without one, it adds the days outstanding (``days_outstanding``). Without
``partner`` the statement answers every partner's opening, movements and closing.
``format=csv|xlsx|pdf`` answers the page's file instead (needs ``core.export_data``,
audited). Bad filters answer 400 naming the field. Needs ``billing.view_invoice``.
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

from trastienda.billing import receivables
from trastienda.billing.models import Direction, Invoice
from trastienda.billing.receivable_views import (
    EXPORT_FORMATS,
    EXPORT_PERM,
    REPORT_CONTENT_TYPES,
    AgedPartnerView,
    AgedView,
    BillingReportView,
    StatementView,
    aged_params,
    statement_params,
    to_decimal,
)
from trastienda.core.api import CompanyGenericViewSet, router
from trastienda.core.generic import audit
from trastienda.core.permissions import has_perm


class JSONWhateverTheFormat(BaseContentNegotiation):
    """Always JSON: ``?format=`` names an export here, not a renderer."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


FORMAT = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=list(EXPORT_FORMATS),
    description="Answer the file instead of JSON (needs core.export_data).",
)
AGED_PARAMETERS = [
    OpenApiParameter("as_of", OpenApiTypes.DATE, description="Default: today."),
    OpenApiParameter(
        "partner", OpenApiTypes.STR, description="Partner code: adds its open instalments."
    ),
    OpenApiParameter(
        "overdue", OpenApiTypes.BOOL, description="Only partners with something overdue."
    ),
    OpenApiParameter(
        "min_amount",
        OpenApiTypes.STR,
        description="Only partners with at least this open (company currency, e.g. 100.00).",
    ),
    OpenApiParameter(
        "days", OpenApiTypes.INT, description="Period of the days outstanding (default 90)."
    ),
    FORMAT,
]


class ReceivableReportViewSet(CompanyGenericViewSet):
    permission_model = Invoice
    action_perms = {"list": "view"}
    pagination_class = None
    content_negotiation_class = JSONWhateverTheFormat

    def money(self, minor: int, currency: str) -> str:
        return str(to_decimal(minor, currency))

    def export(
        self, page: BillingReportView, fmt: str, params: dict[str, Any], request: Request
    ) -> HttpResponse:
        if fmt not in EXPORT_FORMATS:
            raise exceptions.ValidationError({"format": [_("Unknown export format.")]})
        if not has_perm(request, EXPORT_PERM):
            raise exceptions.PermissionDenied()
        data, filename, count = page.render_export(fmt, params)
        audit(
            action="export",
            company=page.company,
            object_type=f"billing.{page.slug}",
            object_repr=filename,
            extra={"format": fmt, "rows": count, "query": request.GET.urlencode()},
        )
        response = HttpResponse(data, content_type=REPORT_CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class AgedViewSet(ReceivableReportViewSet):
    direction: ClassVar[str] = Direction.SALE

    def respond(self, request: Request) -> Any:
        company = request.company  # type: ignore[attr-defined]
        params, errors = aged_params(company, request.query_params, localize=False)
        if errors:
            raise exceptions.ValidationError(errors)
        fmt = request.query_params.get("format")
        if fmt:
            page_class = AgedPartnerView if params["partner"] is not None else AgedView
            return self.export(page_class.offline(company, self.direction), fmt, params, request)
        report = AgedView.offline(company, self.direction).build(params)
        cur = report.currency

        def buckets(values: list[int]) -> dict[str, str]:
            return {
                key: self.money(v, cur) for key, v in zip(receivables.BUCKETS, values, strict=True)
            }

        body: dict[str, Any] = {
            "direction": self.direction,
            "as_of": report.as_of,
            "currency": cur,
            "buckets": [
                {"key": key, "label": str(receivables.BUCKET_LABELS[key])}
                for key in receivables.BUCKETS
            ],
            "partners": [
                {
                    "id": row.partner_id,
                    "code": row.code,
                    "name": row.name,
                    **buckets(row.buckets),
                    "total": self.money(row.total, cur),
                    "overdue": self.money(row.overdue, cur),
                    "unapplied_credit": self.money(row.credit, cur),
                    "balance": self.money(row.balance, cur),
                }
                for row in report.rows
            ],
            "totals": {
                **buckets(report.totals),
                "total": self.money(report.total, cur),
                "overdue": self.money(report.overdue, cur),
                "unapplied_credit": self.money(report.credit, cur),
                "balance": self.money(report.balance, cur),
            },
        }
        if report.dso is not None:
            body["days_outstanding"] = {
                "days": report.dso.days,
                "value": str(report.dso.value) if report.dso.value is not None else None,
                "open": self.money(report.dso.receivables, cur),
                "invoiced": self.money(report.dso.sales, cur),
            }
        partner = params["partner"]
        if partner is not None:
            body["items"] = [
                {
                    "invoice": item.invoice_id,
                    "document": item.document,
                    "kind": item.kind,
                    "date": item.invoice_date,
                    "due_date": item.due_date,
                    "days_overdue": item.days_overdue,
                    "bucket": item.bucket_key,
                    "currency": item.currency,
                    "amount": self.money(item.amount, item.currency),
                    "open_amount": self.money(item.open_amount, item.currency),
                    "open_base": self.money(item.open_base, cur),
                }
                for item in receivables.open_items(
                    company, direction=self.direction, partner=partner, as_of=params["as_of"]
                )
            ]
        return Response(body)

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, parameters=AGED_PARAMETERS)
    def list(self, request: Request) -> Any:
        return self.respond(request)


class AgedReceivablesViewSet(AgedViewSet):
    """Aged receivables: what customers owe, per partner, by days overdue."""

    direction = Direction.SALE


class AgedPayablesViewSet(AgedViewSet):
    """Aged payables: what is owed to suppliers, per partner, by days overdue."""

    direction = Direction.PURCHASE


class PartnerStatementViewSet(ReceivableReportViewSet):
    """Statement of account of a partner (or every partner's balances)."""

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("partner", OpenApiTypes.STR, description="Partner code."),
            OpenApiParameter("direction", OpenApiTypes.STR, enum=["sale", "purchase"]),
            OpenApiParameter(
                "date_from", OpenApiTypes.DATE, description="Default: 1 January of date_to."
            ),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="Default: today."),
            FORMAT,
        ],
    )
    def list(self, request: Request) -> Any:
        company = request.company  # type: ignore[attr-defined]
        params, errors = statement_params(company, request.query_params)
        if errors:
            raise exceptions.ValidationError(errors)
        page = StatementView.offline(company, params["direction"])
        fmt = request.query_params.get("format")
        if fmt:
            return self.export(page, fmt, params, request)
        body: dict[str, Any] = {
            "direction": params["direction"],
            "date_from": params["date_from"],
            "date_to": params["date_to"],
        }
        partner = params["partner"]
        if partner is None:
            body["partners"] = [
                {
                    "id": row.partner_id,
                    "code": row.code,
                    "name": row.name,
                    "currency": row.currency,
                    "opening": self.money(row.opening, row.currency),
                    "charges": self.money(row.charges, row.currency),
                    "credits": self.money(row.credits, row.currency),
                    "closing": self.money(row.closing, row.currency),
                }
                for row in page.summary(params)
            ]
            return Response(body)
        statement = page.build(params)
        body["partner"] = {"id": partner.pk, "code": partner.code, "name": partner.legal_name}
        body["sections"] = [
            {
                "currency": section.currency,
                "opening": self.money(section.opening, section.currency),
                "charges": self.money(section.charges, section.currency),
                "credits": self.money(section.credits, section.currency),
                "closing": self.money(section.closing, section.currency),
                "lines": [
                    {
                        "date": line.date,
                        "kind": line.kind,
                        "document": line.document,
                        "due_date": line.due_date,
                        "charge": self.money(line.charge, section.currency),
                        "credit": self.money(line.credit, section.currency),
                        "balance": self.money(line.balance, section.currency),
                        "invoice": line.invoice_id,
                        "payment": line.payment_id,
                    }
                    for line in section.lines
                ],
            }
            for section in statement.sections
        ]
        return Response(body)


router.register(
    "billing/aged-receivables", AgedReceivablesViewSet, basename="billing-aged-receivables"
)
router.register("billing/aged-payables", AgedPayablesViewSet, basename="billing-aged-payables")
router.register(
    "billing/partner-statement", PartnerStatementViewSet, basename="billing-partner-statement"
)
