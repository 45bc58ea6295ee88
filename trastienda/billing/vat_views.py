"""Pages of the VAT report (queries in :mod:`trastienda.billing.vat_report`).

``vat-report/``: the report of a period (``?period=2026-Q1``, ``2026-03``, ``2026``, or
``?date_from=&date_to=``; default: the previous quarter), by tax and by box of the return,
every figure linking to ``vat-report/invoices/`` with the invoices behind it (``&tax=<id>&
side=output|input|withholding`` or ``&box=<code>``). Both export CSV, XLSX and PDF
(``?export=``, needs ``core.export_data``, audited as ``export``), like the ledger's reports
(:class:`trastienda.ledger.reports.ReportView`). Needs ``billing.view_invoice``. Bad
filters answer 400 with the message on the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.billing import vat_report
from trastienda.billing.models import Invoice, Tax
from trastienda.billing.vat_report import INPUT, OUTPUT, WITHHOLDING, TaxLine, VatReport
from trastienda.core import pdf
from trastienda.core.generic import audit, deny
from trastienda.core.models import Company
from trastienda.core.permissions import has_perm
from trastienda.ledger.reports import (
    EXPORT_FORMATS,
    REPORT_CONTENT_TYPES,
    ReportView,
    to_decimal,
)

REPORT_PERM = "billing.view_invoice"
SIDE_LABELS = {
    OUTPUT: gettext_lazy("Output VAT"),
    INPUT: gettext_lazy("Input VAT"),
    WITHHOLDING: gettext_lazy("Withholdings"),
}
WORKING_REPORT = gettext_lazy(
    "A working report for the accountant who prepares the VAT return: not an official "
    "filing, nothing is sent to the tax office."
)
SOURCE_NOTE = gettext_lazy(
    "From the tax breakdown of the issued invoices, credit notes and supplier bills dated in "
    "the period; credit notes count negative. Amounts in %(currency)s: an invoice in another "
    "currency is converted with its own exchange rate, tax line by tax line, rounded half up "
    "to the smallest unit of %(currency)s."
)


def vat_params(
    company: Company, data: Mapping[str, Any], today: dt.date | None = None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Cleaned filters and the errors by field: the period (``period`` or ``date_from`` and
    ``date_to``; default the previous quarter) and, for the invoices behind a figure, ``tax``
    (id or code), ``side`` and ``box``."""
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    period = vat_report.period_default(today)
    key = str(data.get("period") or "").strip()
    text_from = str(data.get("date_from") or "").strip()
    text_to = str(data.get("date_to") or "").strip()
    if text_from or text_to:
        dates: dict[str, dt.date] = {}
        for name, text in (("date_from", text_from), ("date_to", text_to)):
            try:
                value = dt.date.fromisoformat(text) if text else None
            except ValueError:
                value = None
            if value is None:
                errors[name] = [_("Enter a date as YYYY-MM-DD.")]
            elif not vat_report.EARLIEST <= value <= vat_report.LATEST:
                errors[name] = [_("Enter a date between 1900 and 9998.")]
            else:
                dates[name] = value
        if len(dates) == 2:
            if dates["date_from"] > dates["date_to"]:
                errors["date_to"] = [_("The end date is before the start date.")]
            else:
                period = vat_report.Period(dates["date_from"], dates["date_to"])
    elif key:
        try:
            period = vat_report.period_parse(key)
        except ValueError:
            errors["period"] = [
                _("Choose a year (2026), a quarter (2026-Q1) or a month (2026-03).")
            ]
    params: dict[str, Any] = {
        "date_from": period.date_from,
        "date_to": period.date_to,
        "period": period.key,
        "tax": None,
        "side": "",
        "box": "",
    }
    tax_text = str(data.get("tax") or "").strip()
    if tax_text:
        taxes = Tax.objects.for_company(company)
        tax = (taxes.filter(pk=int(tax_text)).first() if tax_text.isdigit() else None) or (
            taxes.filter(code=tax_text).first()
        )
        if tax is None:
            errors["tax"] = [_("Unknown tax %(tax)s.") % {"tax": tax_text}]
        params["tax"] = tax
    side = str(data.get("side") or "").strip()
    if side and side not in vat_report.SIDES:
        errors["side"] = [_("Choose output, input or withholding.")]
    params["side"] = side if side in vat_report.SIDES else ""
    box = str(data.get("box") or "").strip().upper()
    if len(box) > 10:
        errors["box"] = [_("A box code has at most 10 characters.")]
    params["box"] = box[:10]
    if params["box"] and (params["tax"] is not None or params["side"]):
        errors["box"] = [_("Ask for a box or for a tax, not both.")]
    return params, errors


def period_query(params: Mapping[str, Any]) -> dict[str, str]:
    """The query parameters that name the period of ``params``."""
    if params.get("period"):
        return {"period": params["period"]}
    return {
        "date_from": params["date_from"].isoformat(),
        "date_to": params["date_to"].isoformat(),
    }


def rate_text(tax: Tax) -> str:
    """The rate without trailing zeros, in the active locale: "21%", "5,2%"."""
    text = format(tax.rate, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return number_format(Decimal(text), force_grouping=False) + "%"


class VatView(ReportView):
    """Shared by the report and its drill-down: parameters, exports, audit, period header."""

    required_perm = REPORT_PERM

    def get_params(self, data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
        return vat_params(self.company, data)

    def url(self, name: str, **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)})
        url = reverse(f"billing:{name}", kwargs={"company": self.company.code})
        return url + (f"?{query}" if query else "")

    def period_label(self, params: Mapping[str, Any]) -> str:
        if params.get("period"):
            return vat_report.period_label(params["period"])
        return vat_report.date_range_label(params["date_from"], params["date_to"])

    def subtitle(self, params: dict[str, Any]) -> str:
        return f"{self.period_label(params)} · {self.currency}"

    def filename(self, params: dict[str, Any], fmt: str) -> str:
        return (
            f"{self.slug}-{self.company.code}-{params['date_from'].isoformat()}"
            f"-{params['date_to'].isoformat()}.{fmt}"
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        params, errors = self.get_params(request.GET)
        fmt = request.GET.get("export")
        if fmt and not errors:
            if fmt not in EXPORT_FORMATS:
                return HttpResponse(_("Unknown export format."), status=400)
            if not has_perm(request, "core.export_data"):
                raise deny(request, "core.export_data")
            return self.export(fmt, params)
        today = timezone.localdate()
        ctx: dict[str, Any] = {
            "title": self.title,
            "subtitle": self.subtitle(params),
            "params": params,
            "errors": errors,
            "currency": self.currency,
            "periods": vat_report.period_choices(today, params["period"]),
            "working_report": WORKING_REPORT,
            "source_note": SOURCE_NOTE % {"currency": self.currency},
            "hidden": self.hidden_fields(request.GET),
            "can_export": has_perm(request, "core.export_data"),
            "export_query": urlencode(
                [(k, v) for k, v in request.GET.items() if k not in ("export", "page")]
            ),
            "breadcrumbs": [
                {"label": _("Billing"), "url": None},
                {"label": VatReportView.title, "url": self.url("vat_report")},
            ],
        }
        if not errors:
            ctx.update(self.report_context(params))
        return render(request, self.template_name, ctx, status=400 if errors else 200)

    def hidden_fields(self, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Filters the period form carries along (the figure of the drill-down)."""
        return []

    def export(self, fmt: str, params: dict[str, Any]) -> HttpResponse:
        data, filename, count = self.render_export(fmt, params)
        audit(
            action="export",
            company=self.company,
            object_type=f"billing.{self.slug}",
            object_repr=filename,
            extra={"format": fmt, "rows": count, "query": self.request.GET.urlencode()},
        )
        response = HttpResponse(data, content_type=REPORT_CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class VatReportView(VatView):
    template_name = "billing/vat_report.html"
    slug = "vat-report"
    title = gettext_lazy("VAT report")

    def build(self, params: dict[str, Any]) -> VatReport:
        return vat_report.vat_report(self.company, params["date_from"], params["date_to"])

    # --- page ------------------------------------------------------------------------------

    def figure_link(self, params: dict[str, Any], **figure: Any) -> str:
        return self.url("vat_report_invoices", **period_query(params), **figure)

    def tax_rows(self, params: dict[str, Any], lines: list[TaxLine]) -> list[dict[str, Any]]:
        rows = []
        for line in lines:
            link = self.figure_link(params, tax=line.tax.pk, side=line.side)
            notes = []
            if line.self_assessed:
                notes.append(_("reverse charge: self-assessed"))
            if line.not_due:
                notes.append(_("split payment: paid by the customer"))
            if line.non_deductible:
                notes.append(_("not deductible: no purchase account"))
            rows.append(
                {
                    "code": line.tax.code,
                    "name": line.tax.name,
                    "rate": rate_text(line.tax),
                    "invoices": line.invoices,
                    "base": self.fmt(line.base),
                    "amount": self.fmt(line.amount),
                    "notes": notes,
                    "muted": not line.counts,
                    "link": link,
                }
            )
        return rows

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        report = self.build(params)

        def cell(figure: Any) -> dict[str, Any] | None:
            if figure is None:
                return None
            return {
                "code": figure.code,
                "text": self.fmt(figure.value),
                "zero": not figure.value,
                "link": self.figure_link(params, box=figure.code),
            }

        lines = [
            {
                "label": line.label,
                "section": line.section,
                "base": cell(line.base),
                "tax": cell(line.tax),
                "known": line.known,
            }
            for line in report.lines
        ]
        sections = [
            (section, label, [line for line in lines if line["section"] == section])
            for section, label in (
                (OUTPUT, _("Output tax")),
                (INPUT, _("Deductible tax")),
                ("info", _("Additional information")),
            )
        ]
        totals = [
            {"code": code, "label": label, "text": self.fmt(value), "value": value}
            for code, label, value in report.box_totals()
        ]
        box_result = report.box_result
        return {
            "report": report,
            "form_name": report.form.name if report.form is not None else "",
            "output_rows": self.tax_rows(params, report.output),
            "input_rows": self.tax_rows(params, report.input),
            "withholding_rows": self.tax_rows(params, report.withholdings),
            "output_totals": {
                "base": self.fmt(report.output_base),
                "amount": self.fmt(report.output_tax),
            },
            "input_totals": {
                "base": self.fmt(report.input_base),
                "amount": self.fmt(report.input_tax),
            },
            "output_due": self.fmt(report.output_due),
            "input_deductible": self.fmt(report.input_deductible),
            "result": self.fmt(report.result),
            "result_value": report.result,
            "verdict": vat_report.verdict(report.result),
            "box_sections": [s for s in sections if s[2]],
            "box_totals": totals,
            "box_result_verdict": (
                vat_report.verdict(box_result) if box_result is not None else ""
            ),
            "all_invoices_link": self.figure_link(params),
        }

    # --- exports ---------------------------------------------------------------------------

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        """One row per tax and side, the totals, then one row per box."""
        report = self.build(params)
        cur = self.currency
        header = [
            _("Section"),
            _("Code"),
            _("Description"),
            _("Rate (%)"),
            _("Invoices"),
            _("Base"),
            _("Tax"),
        ]
        rows: list[Sequence[Any]] = []
        for side, lines in ((OUTPUT, report.output), (INPUT, report.input)):
            for line in lines:
                rows.append(
                    [
                        str(SIDE_LABELS[side]),
                        line.tax.code,
                        line.tax.name,
                        line.tax.rate,
                        line.invoices,
                        to_decimal(line.base, cur),
                        to_decimal(line.amount, cur),
                    ]
                )
        for line in report.withholdings:
            rows.append(
                [
                    str(SIDE_LABELS[WITHHOLDING]),
                    line.tax.code,
                    line.tax.name,
                    line.tax.rate,
                    line.invoices,
                    to_decimal(line.base, cur),
                    to_decimal(line.amount, cur),
                ]
            )
        summary = _("Summary")
        rows.append(
            [summary, "", _("Output VAT due"), None, None, None, to_decimal(report.output_due, cur)]
        )
        rows.append(
            [
                summary,
                "",
                _("Deductible input VAT"),
                None,
                None,
                None,
                to_decimal(report.input_deductible, cur),
            ]
        )
        rows.append(
            [
                summary,
                "",
                f"{_('Result')}: {vat_report.verdict(report.result)}",
                None,
                None,
                None,
                to_decimal(report.result, cur),
            ]
        )
        form = str(report.form.name) if report.form is not None else _("Boxes")
        for box_line in report.lines:
            for figure in (box_line.base, box_line.tax):
                if figure is not None:
                    rows.append(
                        [
                            form,
                            figure.code,
                            str(box_line.label),
                            None,
                            None,
                            None,
                            to_decimal(figure.value, cur),
                        ]
                    )
        for code, label, value in report.box_totals():
            rows.append([form, code, str(label), None, None, None, to_decimal(value, cur)])
        return header, rows

    def pdf(self, params: dict[str, Any]) -> tuple[bytes, int]:
        context = self.report_context(params)
        context.update(
            {
                "working_report": WORKING_REPORT,
                "source_note": SOURCE_NOTE % {"currency": self.currency},
                "side_labels": SIDE_LABELS,
            }
        )
        data = pdf.render_pdf(
            "billing/vat_report_pdf.html",
            context,
            company=self.company,
            title=str(self.title),
            subtitle=self.subtitle(params),
        )
        rows = len(context["output_rows"]) + len(context["input_rows"])
        return data, rows + len(context["withholding_rows"]) + len(context["report"].lines)


def invoice_link(invoice: Invoice) -> str | None:
    """The invoice's page, while the invoice pages may not exist yet."""
    try:
        return invoice.get_absolute_url()
    except NoReverseMatch:
        return None


class VatInvoicesView(VatView):
    """The invoices behind a figure of the VAT report, with their part of it."""

    template_name = "billing/vat_invoices.html"
    slug = "vat-report-invoices"
    title = gettext_lazy("Invoices behind a VAT figure")

    def hidden_fields(self, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [(name, str(data[name])) for name in ("tax", "side", "box") if data.get(name)]

    def figures(self, params: dict[str, Any]) -> list[vat_report.InvoiceFigure]:
        return vat_report.invoice_figures(
            self.company,
            params["date_from"],
            params["date_to"],
            tax=params["tax"],
            side=params["side"],
            box=params["box"],
        )

    def describe(self, params: dict[str, Any]) -> str:
        if params["box"]:
            return _("Box %(box)s") % {"box": params["box"]}
        tax = params["tax"]
        if tax is not None:
            text = f"{tax.code} · {tax.name}"
            if params["side"]:
                text += f" · {SIDE_LABELS[params['side']]}"
            return text
        if params["side"]:
            return str(SIDE_LABELS[params["side"]])
        return _("Every invoice with taxes")

    def subtitle(self, params: dict[str, Any]) -> str:
        return f"{self.describe(params)} · {super().subtitle(params)}"

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        figures = self.figures(params)
        box = bool(params["box"])
        rows = []
        for figure in figures:
            invoice = figure.invoice
            rows.append(
                {
                    "invoice": invoice,
                    "number": str(invoice),
                    "link": invoice_link(invoice),
                    "direction": invoice.get_direction_display(),
                    "kind": invoice.get_kind_display(),
                    "partner": invoice.partner,
                    "currency": invoice.currency,
                    "base": self.fmt(figure.base),
                    "amount": "" if box else self.fmt(figure.amount),
                }
            )
        return {
            "figure": self.describe(params),
            "rows": rows,
            "is_box": box,
            "total_base": self.fmt(sum(f.base for f in figures)),
            "total_amount": "" if box else self.fmt(sum(f.amount for f in figures)),
            "back_link": self.url("vat_report", **period_query(params)),
        }

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        cur = self.currency
        box = bool(params["box"])
        header = [
            _("Date"),
            _("Number"),
            _("Kind"),
            _("Partner"),
            _("Tax id"),
            _("Currency"),
            _("Amount") if box else _("Base"),
        ]
        if not box:
            header.append(_("Tax"))
        rows: list[Sequence[Any]] = []
        for figure in self.figures(params):
            invoice = figure.invoice
            row = [
                invoice.date,
                str(invoice),
                invoice.get_kind_display(),
                invoice.partner.legal_name,
                invoice.partner.tax_id,
                invoice.currency,
                to_decimal(figure.base, cur),
            ]
            if not box:
                row.append(to_decimal(figure.amount, cur))
            rows.append(row)
        return header, rows

    landscape = True

    def pdf_table(self, params: dict[str, Any]) -> dict[str, Any]:
        box = bool(params["box"])
        figures = self.figures(params)
        columns = [
            pdf.column(_("Date")),
            pdf.column(_("Number")),
            pdf.column(_("Kind")),
            pdf.column(_("Partner")),
            pdf.column(_("Currency")),
            pdf.column(_("Amount") if box else _("Base"), numeric=True),
        ]
        if not box:
            columns.append(pdf.column(_("Tax"), numeric=True))
        rows = []
        for figure in figures:
            invoice = figure.invoice
            cells = [
                pdf.cell(date_format(invoice.date, "SHORT_DATE_FORMAT"), "code"),
                pdf.cell(str(invoice), "code"),
                pdf.cell(invoice.get_kind_display()),
                pdf.cell(invoice.partner.legal_name),
                pdf.cell(invoice.currency, "code"),
                self.money_cell(figure.base),
            ]
            if not box:
                cells.append(self.money_cell(figure.amount))
            rows.append(pdf.row(cells))
        footer = [pdf.cell(_("Total"), span=5), self.money_cell(sum(f.base for f in figures))]
        if not box:
            footer.append(self.money_cell(sum(f.amount for f in figures)))
        return {
            "columns": columns,
            "rows": rows,
            "footer": footer,
            "note": str(WORKING_REPORT),
            "empty": _("No issued invoice in this period."),
        }


urlpatterns: list[Any] = [
    path("vat-report/", VatReportView.as_view(), name="vat_report"),
    path("vat-report/invoices/", VatInvoicesView.as_view(), name="vat_report_invoices"),
]
