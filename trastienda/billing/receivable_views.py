"""Pages of receivables and payables, under ``/c/<code>/billing/``:

- ``receivables/aged/`` and ``payables/aged/``: the aged report at a date (buckets by days
  overdue per partner, unapplied credit, balance, days outstanding, a stacked bar chart of the
  largest partners); filters ``as_of``, ``partner`` (code), ``overdue``, ``min_amount``,
  ``days`` (the period of the days outstanding);
- ``receivables/aged/partner/?partner=CODE`` (and ``payables/...``): one partner's open
  instalments at the date, each with its days overdue and bucket, linked to its invoice;
- ``statements/?partner=CODE&direction=sale|purchase&date_from=&date_to=``: the statement of
  account of a partner (without a partner: every partner's opening, movements and closing).

Every page needs ``billing.view_invoice``; ``?export=csv|xlsx|pdf`` needs ``core.export_data``
and is audited (``export``). The statement's PDF is printed in the partner's language. Bad
filters answer 400 with the field named. The figures come from
:mod:`trastienda.billing.receivables`; :mod:`trastienda.billing.receivable_api` serves the
same reports as JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Self
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.billing import receivables
from trastienda.billing.models import Direction, Partner
from trastienda.core import pdf
from trastienda.core.exports import CONTENT_TYPES, export_bytes
from trastienda.core.generic import CompanyView, audit, company_url, deny
from trastienda.core.models import Company
from trastienda.core.money import Money, currency_exponent
from trastienda.core.permissions import has_perm

REPORT_PERM = "billing.view_invoice"
EXPORT_PERM = "core.export_data"
EXPORT_FORMATS = ("csv", "xlsx", "pdf")
REPORT_CONTENT_TYPES = {**CONTENT_TYPES, "pdf": pdf.CONTENT_TYPE}
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(9998, 12, 31)
MAX_DSO_DAYS = 3650
CHART_PARTNERS = 10
SUMMARY_PER_PAGE = 100
PICKER_LIMIT = 2000


# --- money and links --------------------------------------------------------------------------


def to_decimal(minor: int, currency: str) -> Decimal:
    return Money(minor, currency).to_decimal()


def fmt(minor: int, currency: str) -> str:
    """An amount formatted for the active locale (grouping, the currency's decimals)."""
    return number_format(
        to_decimal(minor, currency), decimal_pos=currency_exponent(currency), force_grouping=True
    )


def object_url(obj: Any) -> str | None:
    """The page of ``obj``, or None while that page does not exist."""
    if obj is None:
        return None
    try:
        return str(obj.get_absolute_url())
    except (NoReverseMatch, AttributeError):
        return None


def invoice_url(company: Company, direction: str, pk: int) -> str | None:
    """The page of an invoice (a supplier bill's for purchases), or None while it does not
    exist."""
    name = "billing:invoice_detail" if direction == Direction.SALE else "billing:bill_detail"
    try:
        return reverse(name, kwargs={"company": company.code, "pk": pk})
    except NoReverseMatch:
        return None


def payment_url(company: Company, pk: int) -> str | None:
    try:
        return reverse("billing:payment_detail", kwargs={"company": company.code, "pk": pk})
    except NoReverseMatch:
        return None


def _short(date: dt.date | None) -> str:
    return date_format(date, "SHORT_DATE_FORMAT") if date else ""


# --- filters ------------------------------------------------------------------------------------


class AgedFilterForm(forms.Form):
    as_of = forms.DateField(label=gettext_lazy("As of"), required=False)
    partner = forms.CharField(label=gettext_lazy("Partner"), required=False, max_length=20)
    overdue = forms.BooleanField(label=gettext_lazy("Only with overdue amounts"), required=False)
    min_amount = forms.DecimalField(
        label=gettext_lazy("Minimum amount"), required=False, min_value=0, max_digits=18
    )
    days = forms.IntegerField(
        label=gettext_lazy("Days of sales for DSO"),
        required=False,
        min_value=1,
        max_value=MAX_DSO_DAYS,
    )

    def __init__(self, *args: Any, localize: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        amount = self.fields["min_amount"]
        amount.localize = localize
        amount.widget.is_localized = localize


class StatementFilterForm(forms.Form):
    partner = forms.CharField(label=gettext_lazy("Partner"), required=False, max_length=20)
    direction = forms.ChoiceField(
        label=gettext_lazy("Of"),
        required=False,
        choices=[
            ("", ""),
            (Direction.SALE, gettext_lazy("Customer (sales)")),
            (Direction.PURCHASE, gettext_lazy("Supplier (purchases)")),
        ],
    )
    date_from = forms.DateField(label=gettext_lazy("From"), required=False)
    date_to = forms.DateField(label=gettext_lazy("To"), required=False)


def _errors_of(form: forms.Form) -> dict[str, list[str]]:
    return {k: [str(m) for m in v] for k, v in form.errors.items()}


def _dates_in_range(
    cleaned: dict[str, Any], names: Sequence[str], errors: dict[str, list[str]]
) -> None:
    for name in names:
        value = cleaned.get(name)
        if value is not None and not EARLIEST <= value <= LATEST:
            errors.setdefault(name, []).append(_("Enter a date between 1900 and 9998."))
            cleaned.pop(name)


def _partner(company: Company, code: str, errors: dict[str, list[str]]) -> Partner | None:
    code = (code or "").strip()
    if not code:
        return None
    found = Partner.objects.for_company(company).filter(code=code).first()
    if found is None:
        errors.setdefault("partner", []).append(
            _("There is no partner with the code %(code)s.") % {"code": code}
        )
    return found


def aged_params(
    company: Company, data: Mapping[str, Any], *, localize: bool = True
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Cleaned filters of the aged report (defaults: today, no filter, 90 days) and the
    errors by field. ``localize``: amounts in the active language's notation (pages); the
    API sends plain decimals."""
    form = AgedFilterForm(data, localize=localize)
    form.is_valid()
    cleaned = dict(getattr(form, "cleaned_data", {}))
    errors = _errors_of(form)
    _dates_in_range(cleaned, ["as_of"], errors)
    currency = company.base_currency
    min_amount = None
    if cleaned.get("min_amount") is not None:
        try:
            min_amount = Money.from_decimal(cleaned["min_amount"], currency).minor
        except ValueError:
            errors.setdefault("min_amount", []).append(
                _("Use at most %(n)d decimals.") % {"n": currency_exponent(currency)}
            )
    params = {
        "as_of": cleaned.get("as_of") or timezone.localdate(),
        "partner": _partner(company, cleaned.get("partner") or "", errors),
        "overdue": bool(cleaned.get("overdue")),
        "min_amount": min_amount,
        "days": cleaned.get("days") or receivables.DEFAULT_DSO_DAYS,
    }
    return params, errors


def statement_params(
    company: Company, data: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Cleaned filters of the statement of account and the errors by field. Defaults: from
    1 January of the end date's year to today; the direction of the partner (sales unless it
    is only a supplier)."""
    form = StatementFilterForm(data)
    form.is_valid()
    cleaned = dict(getattr(form, "cleaned_data", {}))
    errors = _errors_of(form)
    _dates_in_range(cleaned, ["date_from", "date_to"], errors)
    partner = _partner(company, cleaned.get("partner") or "", errors)
    direction = cleaned.get("direction") or (
        Direction.PURCHASE
        if partner is not None and partner.is_supplier and not partner.is_customer
        else Direction.SALE
    )
    date_to = cleaned.get("date_to") or timezone.localdate()
    date_from = cleaned.get("date_from") or date_to.replace(month=1, day=1)
    if date_from > date_to:
        errors.setdefault("date_to", []).append(_("The end date is before the start date."))
    params = {
        "partner": partner,
        "direction": direction,
        "date_from": date_from,
        "date_to": date_to,
    }
    return params, errors


# --- the base of the report pages ---------------------------------------------------------------


class BillingReportView(CompanyView):
    """A report page of billing: filters, the report, exports (CSV, XLSX, PDF)."""

    required_perm = REPORT_PERM
    template_name: ClassVar[str] = ""
    direction: str = Direction.SALE
    _company: Company | None = None

    @classmethod
    def offline(cls, company: Company, direction: str = Direction.SALE) -> Self:
        """The view without a request (the API's exports)."""
        view = cls(direction=direction)
        view._company = company
        return view

    @property
    def company(self) -> Company:
        return self._company or self.request.company  # type: ignore[attr-defined]

    @property
    def currency(self) -> str:
        return self.company.base_currency

    @property
    def slug(self) -> str:
        raise NotImplementedError

    @property
    def title(self) -> str:
        raise NotImplementedError

    def url(self, name: str, **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)})
        base = company_url(self.request, f"billing:{name}")
        return base + (f"?{query}" if query else "")

    def get_params(self, data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
        raise NotImplementedError

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        params, errors = self.get_params(request.GET)
        can_export = has_perm(request, EXPORT_PERM)
        ctx: dict[str, Any] = {
            "title": self.title,
            "errors": errors,
            "params": params,
            "raw": request.GET,
            "currency": self.currency,
            "direction": self.direction,
            "can_export": can_export,
            "export_query": urlencode(
                [(k, v) for k, v in request.GET.items() if k not in ("export", "page")]
            ),
            "breadcrumbs": [
                {"label": _("Billing"), "url": None},
                {"label": self.title, "url": None},
            ],
        }
        if errors:
            return render(request, self.template_name, ctx, status=400)
        fmt_ = request.GET.get("export")
        if fmt_:
            if fmt_ not in EXPORT_FORMATS:
                return HttpResponse(_("Unknown export format."), status=400)
            if not can_export:
                raise deny(request, EXPORT_PERM)
            return self.export(fmt_, params, request.GET.urlencode())
        ctx.update(self.report_context(params))
        return render(request, self.template_name, ctx)

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        raise NotImplementedError

    def pdf(self, params: dict[str, Any]) -> tuple[bytes, int]:
        raise NotImplementedError

    def filename(self, params: dict[str, Any], fmt_: str) -> str:
        raise NotImplementedError

    def render_export(self, fmt_: str, params: dict[str, Any]) -> tuple[bytes, str, int]:
        """(file content, file name, rows) of the report in ``fmt_``: csv, xlsx or pdf."""
        if fmt_ == "pdf":
            data, count = self.pdf(params)
        else:
            header, rows = self.export_table(params)
            data, count = export_bytes(fmt_, header, rows, title=str(self.title)), len(rows)
        return data, self.filename(params, fmt_), count

    def export(self, fmt_: str, params: dict[str, Any], query: str) -> HttpResponse:
        data, filename, count = self.render_export(fmt_, params)
        audit(
            action="export",
            company=self.company,
            object_type=f"billing.{self.slug}",
            object_repr=filename,
            extra={"format": fmt_, "rows": count, "query": query},
        )
        response = HttpResponse(data, content_type=REPORT_CONTENT_TYPES[fmt_])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def m(self, minor: int, currency: str | None = None) -> str:
        return fmt(minor, currency or self.currency)

    def d(self, minor: int, currency: str | None = None) -> Decimal:
        return to_decimal(minor, currency or self.currency)

    def partner_choices(self, direction: str) -> list[Partner]:
        """Partners offered in the partner field (customers or suppliers, by code)."""
        flag = "is_customer" if direction == Direction.SALE else "is_supplier"
        return list(
            Partner.objects.for_company(self.company)
            .filter(**{flag: True})
            .order_by("code")
            .only("code", "legal_name")[:PICKER_LIMIT]
        )


def bucket_labels() -> list[str]:
    return [str(receivables.BUCKET_LABELS[key]) for key in receivables.BUCKETS]


# --- aged report ----------------------------------------------------------------------------------


class AgedView(BillingReportView):
    """Aged receivables (``direction="sale"``) or payables (``"purchase"``)."""

    template_name = "billing/receivable_aged.html"

    @property
    def slug(self) -> str:
        return "aged-receivables" if self.direction == Direction.SALE else "aged-payables"

    @property
    def title(self) -> str:
        return _("Aged receivables") if self.direction == Direction.SALE else _("Aged payables")

    @property
    def detail_name(self) -> str:
        return (
            "aged_receivables_partner"
            if self.direction == Direction.SALE
            else "aged_payables_partner"
        )

    def get_params(self, data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
        return aged_params(self.company, data)

    def build(self, params: dict[str, Any]) -> receivables.AgedReport:
        return receivables.aged_report(
            self.company,
            direction=self.direction,
            as_of=params["as_of"],
            partner=params["partner"],
            overdue_only=params["overdue"],
            min_amount=params["min_amount"],
            dso_days=params["days"],
        )

    def dso_label(self) -> str:
        if self.direction == Direction.SALE:
            return _("Days sales outstanding")
        return _("Days payable outstanding")

    def chart(self, report: receivables.AgedReport) -> dict[str, Any]:
        """The largest partners (by open amount), one stacked bar each, by bucket."""
        top = sorted(report.rows, key=lambda r: (-abs(r.total), r.code))[:CHART_PARTNERS]
        return {
            "labels": [row.code for row in top],
            "names": [row.name for row in top],
            "datasets": [
                {
                    "label": label,
                    "values": [str(self.d(row.buckets[index])) for row in top],
                }
                for index, label in enumerate(bucket_labels())
            ],
        }

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        report = self.build(params)
        as_of = params["as_of"].isoformat()
        rows = [
            {
                "code": row.code,
                "name": row.name,
                "detail_url": self.url(self.detail_name, partner=row.code, as_of=as_of),
                "statement_url": self.url(
                    "partner_statement",
                    partner=row.code,
                    direction=self.direction,
                    date_to=as_of,
                ),
                "buckets": [self.m(v) if v else "" for v in row.buckets],
                "total": self.m(row.total),
                "credit": self.m(row.credit) if row.credit else "",
                "balance": self.m(row.balance),
                "overdue": row.overdue > 0,
            }
            for row in report.rows
        ]
        dso = report.dso
        other = "payables" if self.direction == Direction.SALE else "receivables"
        return {
            "report": report,
            "form": AgedFilterForm(),
            "buckets": bucket_labels(),
            "rows": rows,
            "totals": [self.m(v) for v in report.totals],
            "total": self.m(report.total),
            "credit": self.m(report.credit),
            "balance": self.m(report.balance),
            "overdue_total": self.m(report.overdue),
            "dso": dso,
            "dso_label": self.dso_label(),
            "dso_receivables": self.m(dso.receivables) if dso else "",
            "dso_sales": self.m(dso.sales) if dso else "",
            "past": params["as_of"] < timezone.localdate(),
            "chart_id": f"{self.slug}-chart",
            "chart": self.chart(report) if report.rows else None,
            "partners": self.partner_choices(self.direction),
            "other_url": self.url(f"aged_{other}"),
            "other_label": _("Aged payables")
            if self.direction == Direction.SALE
            else _("Aged receivables"),
            "statements_url": self.url("partner_statement", direction=self.direction),
        }

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        report = self.build(params)
        header = [
            _("Partner"),
            _("Name"),
            *bucket_labels(),
            _("Total"),
            _("Unapplied credit"),
            _("Balance"),
        ]
        rows: list[Sequence[Any]] = [
            [
                row.code,
                row.name,
                *(self.d(v) for v in row.buckets),
                self.d(row.total),
                self.d(row.credit),
                self.d(row.balance),
            ]
            for row in report.rows
        ]
        rows.append(
            [
                _("Total"),
                "",
                *(self.d(v) for v in report.totals),
                self.d(report.total),
                self.d(report.credit),
                self.d(report.balance),
            ]
        )
        return header, rows

    def subtitle(self, params: dict[str, Any]) -> str:
        parts = [_("As of %(date)s") % {"date": _short(params["as_of"])}, self.currency]
        if params["partner"] is not None:
            parts.append(str(params["partner"]))
        if params["overdue"]:
            parts.append(_("only with overdue amounts"))
        if params["min_amount"] is not None:
            parts.append(_("from %(amount)s") % {"amount": self.m(params["min_amount"])})
        return " · ".join(parts)

    def pdf(self, params: dict[str, Any]) -> tuple[bytes, int]:
        report = self.build(params)
        money = [*bucket_labels(), _("Total"), _("Unapplied credit"), _("Balance")]
        rows = [
            pdf.row(
                [
                    pdf.cell(row.code, "code"),
                    pdf.cell(row.name),
                    *(pdf.cell(self.m(v) if v else "", "num") for v in row.buckets),
                    pdf.cell(self.m(row.total), "num"),
                    pdf.cell(self.m(row.credit) if row.credit else "", "num"),
                    pdf.cell(self.m(row.balance), "num"),
                ]
            )
            for row in report.rows
        ]
        context: dict[str, Any] = {
            "columns": [
                pdf.column(_("Partner")),
                pdf.column(_("Name")),
                *(pdf.column(label, numeric=True) for label in money),
            ],
            "rows": rows,
            "footer": [
                pdf.cell(_("Total"), span=2),
                *(pdf.cell(self.m(v), "num") for v in report.totals),
                pdf.cell(self.m(report.total), "num"),
                pdf.cell(self.m(report.credit), "num"),
                pdf.cell(self.m(report.balance), "num"),
            ],
            "empty": _("Nothing is open."),
        }
        if report.dso is not None and report.dso.value is not None:
            context["note"] = _("%(label)s: %(value)s days (last %(days)d days).") % {
                "label": self.dso_label(),
                "value": number_format(report.dso.value, decimal_pos=1),
                "days": report.dso.days,
            }
        data = pdf.render_pdf(
            "core/pdf/table.html",
            context,
            company=self.company,
            title=self.title,
            subtitle=self.subtitle(params),
            landscape=True,
        )
        return data, len(rows)

    def filename(self, params: dict[str, Any], fmt_: str) -> str:
        suffix = f"-{slugify(params['partner'].code)}" if params["partner"] is not None else ""
        return f"{self.slug}-{self.company.code}-{params['as_of'].isoformat()}{suffix}.{fmt_}"


# --- one partner's open items -----------------------------------------------------------------


class AgedPartnerView(AgedView):
    """The open instalments of one partner at a date, with their bucket (the drill-down)."""

    template_name = "billing/receivable_partner.html"

    @property
    def slug(self) -> str:
        return "open-receivables" if self.direction == Direction.SALE else "open-payables"

    @property
    def title(self) -> str:
        if self.direction == Direction.SALE:
            return _("Open receivables of a customer")
        return _("Open payables to a supplier")

    def items(self, params: dict[str, Any]) -> list[receivables.OpenItem]:
        if params["partner"] is None:
            return []
        return receivables.open_items(
            self.company,
            direction=self.direction,
            partner=params["partner"],
            as_of=params["as_of"],
        )

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        partner = params["partner"]
        aged_name = "aged_receivables" if self.direction == Direction.SALE else "aged_payables"
        ctx: dict[str, Any] = {
            "partner": partner,
            "partners": self.partner_choices(self.direction),
            "aged_url": self.url(aged_name, as_of=params["as_of"].isoformat()),
            "aged_label": _("Aged receivables")
            if self.direction == Direction.SALE
            else _("Aged payables"),
            "buckets": bucket_labels(),
        }
        if partner is None:
            return ctx
        items = self.items(params)
        totals = [0] * len(receivables.BUCKETS)
        for item in items:
            totals[item.bucket] += item.open_base
        credit = receivables.unapplied_credit(
            self.company, self.direction, params["as_of"], partner.pk
        ).get(partner.pk, 0)
        labels = bucket_labels()
        ctx.update(
            {
                "partner_url": object_url(partner),
                "statement_url": self.url(
                    "partner_statement",
                    partner=partner.code,
                    direction=self.direction,
                    date_to=params["as_of"].isoformat(),
                ),
                "items": [
                    {
                        "document": item.document,
                        "url": invoice_url(self.company, item.direction, item.invoice_id),
                        "kind": item.kind,
                        "invoice_date": item.invoice_date,
                        "due_date": item.due_date,
                        "days": item.days_overdue,
                        "bucket": labels[item.bucket],
                        "bucket_index": item.bucket,
                        "currency": item.currency,
                        "open_amount": self.m(item.open_amount, item.currency),
                        "open_base": self.m(item.open_base),
                    }
                    for item in items
                ],
                "totals": [self.m(v) for v in totals],
                "total": self.m(sum(totals)),
                "credit": self.m(credit),
                "has_credit": bool(credit),
                "balance": self.m(sum(totals) - credit),
            }
        )
        return ctx

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        header = [
            _("Partner"),
            _("Document"),
            _("Date"),
            _("Due date"),
            _("Days overdue"),
            _("Age"),
            _("Currency"),
            _("Outstanding"),
            _("Outstanding (%(currency)s)") % {"currency": self.currency},
        ]
        labels = bucket_labels()
        code = params["partner"].code if params["partner"] is not None else ""
        rows: list[Sequence[Any]] = [
            [
                code,
                item.document,
                item.invoice_date,
                item.due_date,
                item.days_overdue,
                labels[item.bucket],
                item.currency,
                self.d(item.open_amount, item.currency),
                self.d(item.open_base),
            ]
            for item in self.items(params)
        ]
        return header, rows

    def pdf(self, params: dict[str, Any]) -> tuple[bytes, int]:
        items = self.items(params)
        labels = bucket_labels()
        rows = [
            pdf.row(
                [
                    pdf.cell(item.document, "code"),
                    pdf.cell(_short(item.invoice_date), "code"),
                    pdf.cell(_short(item.due_date), "code"),
                    pdf.cell(str(item.days_overdue), "num"),
                    pdf.cell(labels[item.bucket]),
                    pdf.cell(f"{self.m(item.open_amount, item.currency)} {item.currency}", "num"),
                    pdf.cell(self.m(item.open_base), "num"),
                ]
            )
            for item in items
        ]
        context = {
            "columns": [
                pdf.column(_("Document")),
                pdf.column(_("Date")),
                pdf.column(_("Due date")),
                pdf.column(_("Days overdue"), numeric=True),
                pdf.column(_("Age")),
                pdf.column(_("Outstanding"), numeric=True),
                pdf.column(
                    _("Outstanding (%(currency)s)") % {"currency": self.currency}, numeric=True
                ),
            ],
            "rows": rows,
            "footer": [
                pdf.cell(_("Total"), span=6),
                pdf.cell(self.m(sum(item.open_base for item in items)), "num"),
            ],
            "empty": _("Nothing is open."),
        }
        data = pdf.render_pdf(
            "core/pdf/table.html",
            context,
            company=self.company,
            title=self.title,
            subtitle=self.subtitle(params),
        )
        return data, len(rows)


# --- statement of account -----------------------------------------------------------------------


class StatementView(BillingReportView):
    """The statement of account of a partner; without a partner, every partner's balances."""

    template_name = "billing/statement_account.html"

    @property
    def slug(self) -> str:
        return "partner-statement"

    @property
    def title(self) -> str:
        return _("Statement of account")

    def get_params(self, data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
        params, errors = statement_params(self.company, data)
        self.direction = params["direction"]
        return params, errors

    def build(self, params: dict[str, Any]) -> receivables.Statement:
        return receivables.partner_statement(
            self.company,
            partner=params["partner"],
            direction=params["direction"],
            date_from=params["date_from"],
            date_to=params["date_to"],
        )

    def summary(self, params: dict[str, Any]) -> list[receivables.StatementSummaryRow]:
        return receivables.statement_summary(
            self.company,
            direction=params["direction"],
            date_from=params["date_from"],
            date_to=params["date_to"],
        )

    def line_text(self, line: receivables.StatementLine) -> str:
        return str(line.label)

    def line_url(self, line: receivables.StatementLine) -> str | None:
        if line.invoice_id is not None:
            return invoice_url(self.company, self.direction, line.invoice_id)
        if line.payment_id is not None:
            return payment_url(self.company, line.payment_id)
        return None

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        partner = params["partner"]
        dates = {
            "date_from": params["date_from"].isoformat(),
            "date_to": params["date_to"].isoformat(),
        }
        ctx: dict[str, Any] = {
            "partner": partner,
            "partners": self.partner_choices(params["direction"]),
            "form": StatementFilterForm(),
            "directions": [
                (Direction.SALE, _("Customer (sales)")),
                (Direction.PURCHASE, _("Supplier (purchases)")),
            ],
        }
        if partner is None:
            summary = self.summary(params)
            page = Paginator(summary, SUMMARY_PER_PAGE).get_page(self.request.GET.get("page"))
            ctx.update(
                {
                    "summary": [
                        {
                            "code": row.code,
                            "name": row.name,
                            "currency": row.currency,
                            "url": self.url(
                                "partner_statement",
                                partner=row.code,
                                direction=params["direction"],
                                **dates,
                            ),
                            "opening": self.m(row.opening, row.currency),
                            "charges": self.m(row.charges, row.currency),
                            "credits": self.m(row.credits, row.currency),
                            "closing": self.m(row.closing, row.currency),
                        }
                        for row in page.object_list
                    ],
                    "page_obj": page,
                    "page_query": urlencode(
                        [(k, v) for k, v in self.request.GET.items() if k != "page"]
                    ),
                }
            )
            return ctx
        statement = self.build(params)
        detail = (
            "aged_receivables_partner"
            if params["direction"] == Direction.SALE
            else "aged_payables_partner"
        )
        ctx.update(
            {
                "partner_url": object_url(partner),
                "open_items_url": self.url(detail, partner=partner.code),
                "sections": [
                    {
                        "currency": section.currency,
                        "opening": self.m(section.opening, section.currency),
                        "charges": self.m(section.charges, section.currency),
                        "credits": self.m(section.credits, section.currency),
                        "closing": self.m(section.closing, section.currency),
                        "lines": [
                            {
                                "date": line.date,
                                "label": self.line_text(line),
                                "kind": line.kind,
                                "document": line.document,
                                "url": self.line_url(line),
                                "due_date": line.due_date,
                                "charge": self.m(line.charge, section.currency)
                                if line.charge
                                else "",
                                "credit": self.m(line.credit, section.currency)
                                if line.credit
                                else "",
                                "balance": self.m(line.balance, section.currency),
                            }
                            for line in section.lines
                        ],
                    }
                    for section in statement.sections
                ],
            }
        )
        return ctx

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        if params["partner"] is None:
            header = [
                _("Partner"),
                _("Name"),
                _("Currency"),
                _("Opening balance"),
                _("Charges"),
                _("Payments and credits"),
                _("Closing balance"),
            ]
            return header, [
                [
                    row.code,
                    row.name,
                    row.currency,
                    self.d(row.opening, row.currency),
                    self.d(row.charges, row.currency),
                    self.d(row.credits, row.currency),
                    self.d(row.closing, row.currency),
                ]
                for row in self.summary(params)
            ]
        statement = self.build(params)
        header = [
            _("Currency"),
            _("Date"),
            _("Type"),
            _("Document"),
            _("Due date"),
            _("Charges"),
            _("Payments and credits"),
            _("Balance"),
        ]
        rows: list[Sequence[Any]] = []
        for section in statement.sections:
            cur = section.currency
            rows.append(
                [
                    cur,
                    params["date_from"],
                    _("Opening balance"),
                    "",
                    None,
                    None,
                    None,
                    self.d(section.opening, cur),
                ]
            )
            rows += [
                [
                    cur,
                    line.date,
                    self.line_text(line),
                    line.document,
                    line.due_date,
                    self.d(line.charge, cur) if line.charge else None,
                    self.d(line.credit, cur) if line.credit else None,
                    self.d(line.balance, cur),
                ]
                for line in section.lines
            ]
            rows.append(
                [
                    cur,
                    params["date_to"],
                    _("Closing balance"),
                    "",
                    None,
                    self.d(section.charges, cur),
                    self.d(section.credits, cur),
                    self.d(section.closing, cur),
                ]
            )
        return header, rows

    def subtitle(self, params: dict[str, Any]) -> str:
        dates = _("%(start)s to %(end)s") % {
            "start": _short(params["date_from"]),
            "end": _short(params["date_to"]),
        }
        partner = params["partner"]
        if partner is None:
            kind = _("Customers") if params["direction"] == Direction.SALE else _("Suppliers")
            return f"{kind} · {dates}"
        return f"{partner.code} · {partner.legal_name} · {dates}"

    def pdf(self, params: dict[str, Any]) -> tuple[bytes, int]:
        partner = params["partner"]
        if partner is None:
            return self.summary_pdf(params)
        language = partner.language or self.company.language or "en"
        with translation.override(language):
            statement = self.build(params)
            sections = []
            count = 0
            for section in statement.sections:
                cur = section.currency
                lines = [
                    {
                        "date": _short(line.date),
                        "label": self.line_text(line),
                        "document": line.document,
                        "due_date": _short(line.due_date),
                        "charge": self.m(line.charge, cur) if line.charge else "",
                        "credit": self.m(line.credit, cur) if line.credit else "",
                        "balance": self.m(line.balance, cur),
                    }
                    for line in section.lines
                ]
                count += len(lines)
                sections.append(
                    {
                        "currency": cur,
                        "opening": self.m(section.opening, cur),
                        "charges": self.m(section.charges, cur),
                        "credits": self.m(section.credits, cur),
                        "closing": self.m(section.closing, cur),
                        "lines": lines,
                    }
                )
            context = {
                "partner": partner,
                "sections": sections,
                "date_from": _short(params["date_from"]),
                "date_to": _short(params["date_to"]),
                "purchase": params["direction"] == Direction.PURCHASE,
            }
            data = pdf.render_pdf(
                "billing/statement_pdf.html",
                context,
                company=self.company,
                title=_("Statement of account"),
                subtitle=self.subtitle(params),
            )
        return data, count

    def summary_pdf(self, params: dict[str, Any]) -> tuple[bytes, int]:
        summary = self.summary(params)
        rows = [
            pdf.row(
                [
                    pdf.cell(row.code, "code"),
                    pdf.cell(row.name),
                    pdf.cell(row.currency, "code"),
                    pdf.cell(self.m(row.opening, row.currency), "num"),
                    pdf.cell(self.m(row.charges, row.currency), "num"),
                    pdf.cell(self.m(row.credits, row.currency), "num"),
                    pdf.cell(self.m(row.closing, row.currency), "num"),
                ]
            )
            for row in summary
        ]
        context = {
            "columns": [
                pdf.column(_("Partner")),
                pdf.column(_("Name")),
                pdf.column(_("Currency")),
                pdf.column(_("Opening balance"), numeric=True),
                pdf.column(_("Charges"), numeric=True),
                pdf.column(_("Payments and credits"), numeric=True),
                pdf.column(_("Closing balance"), numeric=True),
            ],
            "rows": rows,
            "empty": _("No balances and no movements in this period."),
        }
        data = pdf.render_pdf(
            "core/pdf/table.html",
            context,
            company=self.company,
            title=self.title,
            subtitle=self.subtitle(params),
            landscape=True,
        )
        return data, len(rows)

    def filename(self, params: dict[str, Any], fmt_: str) -> str:
        who = slugify(params["partner"].code) if params["partner"] is not None else "all"
        return (
            f"statement-{self.company.code}-{who}-{params['date_from'].isoformat()}"
            f"-{params['date_to'].isoformat()}.{fmt_}"
        )


urlpatterns: list[Any] = [
    path(
        "receivables/aged/",
        AgedView.as_view(direction=Direction.SALE),
        name="aged_receivables",
    ),
    path(
        "payables/aged/",
        AgedView.as_view(direction=Direction.PURCHASE),
        name="aged_payables",
    ),
    path(
        "receivables/aged/partner/",
        AgedPartnerView.as_view(direction=Direction.SALE),
        name="aged_receivables_partner",
    ),
    path(
        "payables/aged/partner/",
        AgedPartnerView.as_view(direction=Direction.PURCHASE),
        name="aged_payables_partner",
    ),
    path("statements/", StatementView.as_view(), name="partner_statement"),
]

__all__ = [
    "AgedPartnerView",
    "AgedView",
    "StatementView",
    "aged_params",
    "statement_params",
    "urlpatterns",
]
