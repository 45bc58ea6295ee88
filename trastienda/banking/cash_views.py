"""Cash position and the 13-week forecast, with charts and XLSX/CSV export of the weeks."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from trastienda.banking.cash import cash_forecast, cash_position
from trastienda.core.exports import CONTENT_TYPES, export_bytes
from trastienda.core.generic import CompanyView, audit, deny
from trastienda.core.money import Money
from trastienda.core.permissions import has_perm

PERM = "banking.view_bankaccount"


def forecast_rows(forecast: Any) -> list[list[Any]]:
    rows = []
    for week in forecast.weeks:
        rows.append(
            [
                week.start,
                week.end,
                Money(week.opening, forecast.currency).to_decimal(),
                Money(week.receivables, forecast.currency).to_decimal(),
                Money(week.batches_in + week.recurring_in, forecast.currency).to_decimal(),
                Money(week.payables, forecast.currency).to_decimal(),
                Money(week.batches_out + week.recurring_out, forecast.currency).to_decimal(),
                Money(week.closing, forecast.currency).to_decimal(),
            ]
        )
    return rows


def forecast_headers() -> list[str]:
    return [
        _("Week from"),
        _("to"),
        _("Opening"),
        _("Receivables due"),
        _("Other money in"),
        _("Payables due"),
        _("Other money out"),
        _("Closing"),
    ]


class CashPositionView(CompanyView):
    required_perm = PERM
    template_name = "banking/cash_position.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        today = timezone.localdate()
        position = cash_position(company, today)
        forecast = cash_forecast(company, today)
        fmt = request.GET.get("export")
        if fmt in ("xlsx", "csv"):
            if not has_perm(request, "core.export_data"):
                raise deny(request, "core.export_data")
            rows = forecast_rows(forecast)
            filename = f"cash-forecast-{company.code}-{today.isoformat()}.{fmt}"
            audit(
                action="export",
                company=company,
                object_type="banking.cashforecast",
                object_repr=filename,
                extra={"format": fmt, "rows": len(rows)},
            )
            response = HttpResponse(
                export_bytes(fmt, forecast_headers(), rows, title=_("Cash forecast")),
                content_type=CONTENT_TYPES[fmt],
            )
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        currency = forecast.currency
        labels = [week.start.strftime("%d/%m") for week in forecast.weeks]
        flows_chart = {
            "type": "bar",
            "labels": labels,
            "datasets": [
                {
                    "label": _("Money in"),
                    "values": [
                        str(Money(w.money_in, currency).to_decimal()) for w in forecast.weeks
                    ],
                },
                {
                    "label": _("Money out"),
                    "values": [
                        str(Money(-w.money_out, currency).to_decimal()) for w in forecast.weeks
                    ],
                },
            ],
        }
        balance_chart = {
            "type": "line",
            "labels": labels,
            "label": _("Closing balance"),
            "values": [str(Money(w.closing, currency).to_decimal()) for w in forecast.weeks],
        }
        ctx: dict[str, Any] = {
            "title": _("Cash position and forecast"),
            "breadcrumbs": [
                {"label": _("Banking"), "url": None},
                {"label": _("Cash position"), "url": None},
            ],
            "position": position,
            "forecast": forecast,
            "flows_chart": flows_chart,
            "balance_chart": balance_chart,
            "can_export": has_perm(request, "core.export_data"),
            "today": today,
        }
        return render(request, self.template_name, ctx)


urlpatterns = [path("cash/", CashPositionView.as_view(), name="cash_position")]
