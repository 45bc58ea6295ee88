"""Report pages of the ledger: trial balance, general ledger of an account, journal book.

Each page works without parameters (the current fiscal year), reads posted entries only
(:mod:`trastienda.ledger.queries`), shows amounts formatted for the active locale and exports
to CSV, XLSX and PDF (``?export=csv|xlsx|pdf``, needs ``core.export_data``, audited as
``export``). The PDF is rendered by :mod:`trastienda.core.pdf`. :meth:`ReportView.offline`
gives a view without a request, for the ``ledger report`` command.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar, Self
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.core import pdf
from trastienda.core.exports import CONTENT_TYPES, export_bytes
from trastienda.core.generic import CompanyView, audit, company_url, deny
from trastienda.core.models import Company
from trastienda.core.money import Money, currency_exponent
from trastienda.core.permissions import has_perm
from trastienda.ledger import queries
from trastienda.ledger.models import Account

REPORT_PERM = "ledger.view_journalentry"
EXPORT_FORMATS = ("csv", "xlsx", "pdf")
PER_PAGE = 100
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(9998, 12, 31)


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    account = forms.CharField(label=gettext_lazy("Account"), required=False, max_length=20)
    show_all = forms.BooleanField(label=gettext_lazy("Accounts without movement"), required=False)
    groups = forms.BooleanField(label=gettext_lazy("Group subtotals"), required=False)


def report_params(company: Company, data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Cleaned filters with defaults (the current fiscal year), and the errors if any."""
    form = ReportFilterForm(data)
    form.is_valid()
    cleaned = dict(getattr(form, "cleaned_data", {}))
    default_from, default_to = queries.default_range(company)
    for name in ("date_from", "date_to"):
        value = cleaned.get(name)
        if value is not None and not EARLIEST <= value <= LATEST:
            form.add_error(name, _("Enter a date between 1900 and 9998."))
            cleaned.pop(name)
    params: dict[str, Any] = {
        "date_from": cleaned.get("date_from") or default_from,
        "date_to": cleaned.get("date_to") or default_to,
        "account": (cleaned.get("account") or "").strip(),
        "show_all": bool(cleaned.get("show_all")),
        "groups": bool(cleaned.get("groups")),
    }
    errors = {k: [str(m) for m in v] for k, v in form.errors.items()}
    if params["date_from"] > params["date_to"]:
        errors.setdefault("date_to", []).append(_("The end date is before the start date."))
    return params, errors


def to_decimal(minor: int, currency: str) -> Decimal:
    return Money(minor, currency).to_decimal()


class ReportView(CompanyView):
    """A report page: filters, the report, exports."""

    required_perm = REPORT_PERM
    template_name: ClassVar[str] = ""
    slug: ClassVar[str] = ""
    title: ClassVar[Any] = ""
    _company: Company | None = None

    @classmethod
    def offline(cls, company: Company) -> Self:
        """The view of ``company`` without a request (exports from the command line)."""
        view = cls()
        view._company = company
        return view

    @property
    def company(self) -> Company:
        return getattr(self, "_company", None) or self.request.company  # type: ignore[attr-defined]

    @property
    def currency(self) -> str:
        return self.company.base_currency

    def fmt(self, minor: int) -> str:
        """An amount in the company currency, formatted for the active locale."""
        value = to_decimal(minor, self.currency)
        return number_format(
            value, decimal_pos=currency_exponent(self.currency), force_grouping=True
        )

    def url(self, name: str, **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)})
        return company_url(self.request, f"ledger:{name}") + (f"?{query}" if query else "")

    def entry_url(self, pk: int) -> str:
        return company_url(self.request, "ledger:journalentry_detail", pk=pk)

    def get_params(self, data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
        return report_params(self.company, data)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        params, errors = self.get_params(request.GET)
        fmt = request.GET.get("export")
        if fmt:
            if fmt not in EXPORT_FORMATS:
                return HttpResponse(_("Unknown export format."), status=400)
            if not has_perm(request, "core.export_data"):
                raise deny(request, "core.export_data")
            return self.export(fmt, params)
        ctx = {
            "title": self.title,
            "form": ReportFilterForm(),  # labels; the values come from ``params``
            "errors": errors,
            "params": params,
            "currency": self.currency,
            "can_export": has_perm(request, "core.export_data"),
            "export_query": urlencode(
                [(k, v) for k, v in request.GET.items() if k not in ("export", "page")]
            ),
            "breadcrumbs": [
                {"label": _("Ledger"), "url": None},
                {"label": self.title, "url": None},
            ],
        }
        ctx.update(self.report_context(params))
        return render(request, self.template_name, ctx)

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        raise NotImplementedError

    def filename(self, params: dict[str, Any], fmt: str) -> str:
        return (
            f"{self.slug}-{self.company.code}-{params['date_from'].isoformat()}"
            f"-{params['date_to'].isoformat()}.{fmt}"
        )

    def render_export(self, fmt: str, params: dict[str, Any]) -> tuple[bytes, str, int]:
        """(file content, file name, rows) of the report in ``fmt``: csv, xlsx or pdf."""
        if fmt == "pdf":
            data, count = self.pdf(params)
        else:
            header, rows = self.export_table(params)
            data, count = export_bytes(fmt, header, rows, title=str(self.title)), len(rows)
        return data, self.filename(params, fmt), count

    def export(self, fmt: str, params: dict[str, Any]) -> HttpResponse:
        data, filename, count = self.render_export(fmt, params)
        audit(
            action="export",
            company=self.company,
            object_type=f"ledger.{self.slug}",
            object_repr=filename,
            extra={"format": fmt, "rows": count, "query": self.request.GET.urlencode()},
        )
        response = HttpResponse(data, content_type=REPORT_CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    # --- PDF -------------------------------------------------------------------------------

    landscape: ClassVar[bool] = False

    def subtitle(self, params: dict[str, Any]) -> str:
        dates = _("%(start)s to %(end)s") % {
            "start": date_format(params["date_from"], "SHORT_DATE_FORMAT"),
            "end": date_format(params["date_to"], "SHORT_DATE_FORMAT"),
        }
        return f"{dates} · {self.currency}"

    def pdf_table(self, params: dict[str, Any]) -> dict[str, Any]:
        """The context of ``core/pdf/table.html``: columns, rows, footer (see core.pdf)."""
        raise NotImplementedError

    def pdf(self, params: dict[str, Any]) -> tuple[bytes, int]:
        context = {"empty": _("No posted movements in this period."), **self.pdf_table(params)}
        data = pdf.render_pdf(
            "core/pdf/table.html",
            context,
            company=self.company,
            title=str(self.title),
            subtitle=self.subtitle(params),
            landscape=self.pdf_landscape(context),
        )
        return data, len(context["rows"])

    def pdf_landscape(self, context: dict[str, Any]) -> bool:
        return self.landscape

    def money_cell(self, minor: int, blank_zero: bool = False) -> dict[str, Any]:
        return pdf.cell("" if blank_zero and not minor else self.fmt(minor), "num")


REPORT_CONTENT_TYPES = {**CONTENT_TYPES, "pdf": pdf.CONTENT_TYPE}


class TrialBalanceView(ReportView):
    template_name = "ledger/reports/trial_balance.html"
    slug = "trial-balance"
    title = gettext_lazy("Trial balance")

    def build(self, params: dict[str, Any]) -> queries.TrialBalance:
        return queries.trial_balance(
            self.company,
            params["date_from"],
            params["date_to"],
            prefix=params["account"],
            show_all=params["show_all"],
            groups=params["groups"],
        )

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        report = self.build(params)
        dates = {"date_from": params["date_from"], "date_to": params["date_to"]}
        books_start = queries.books_start(self.company)
        rows = []
        for row in report.rows:
            link = (
                None
                if row.is_group
                else self.url("report_general_ledger", account=row.account.code, **dates)
            )
            opening_link = (
                None
                if row.is_group or not row.opening
                else self.url(
                    "report_general_ledger",
                    account=row.account.code,
                    date_to=params["date_from"] - dt.timedelta(1),
                    date_from=books_start,
                )
            )
            rows.append(
                {
                    "code": row.account.code,
                    "name": row.account.name,
                    "indent": min(row.account.level, 5) if params["groups"] else 0,
                    "is_group": row.is_group,
                    "link": link,
                    "opening_link": opening_link,
                    "opening": self.fmt(row.opening),
                    "debit": self.fmt(row.debit),
                    "credit": self.fmt(row.credit),
                    "closing": self.fmt(row.closing),
                }
            )
        totals = {
            "opening": self.fmt(report.opening),
            "debit": self.fmt(report.debit),
            "credit": self.fmt(report.credit),
            "closing": self.fmt(report.closing),
        }
        return {"rows": rows, "totals": totals}

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        report = self.build(params)
        cur = self.currency
        header = [_("Account"), _("Name"), _("Opening"), _("Debit"), _("Credit"), _("Closing")]
        rows: list[Sequence[Any]] = [
            [
                r.account.code,
                r.account.name,
                to_decimal(r.opening, cur),
                to_decimal(r.debit, cur),
                to_decimal(r.credit, cur),
                to_decimal(r.closing, cur),
            ]
            for r in report.rows
        ]
        rows.append(
            [
                _("Total"),
                "",
                to_decimal(report.opening, cur),
                to_decimal(report.debit, cur),
                to_decimal(report.credit, cur),
                to_decimal(report.closing, cur),
            ]
        )
        return header, rows

    def pdf_table(self, params: dict[str, Any]) -> dict[str, Any]:
        report = self.build(params)
        rows = [
            pdf.row(
                [
                    pdf.cell(r.account.code, "code"),
                    pdf.cell(
                        r.account.name,
                        f"indent-{min(r.account.level, 5)}" if params["groups"] else "",
                    ),
                    self.money_cell(r.opening),
                    self.money_cell(r.debit),
                    self.money_cell(r.credit),
                    self.money_cell(r.closing),
                ],
                "group" if r.is_group else "",
            )
            for r in report.rows
        ]
        return {
            "columns": [
                pdf.column(_("Account")),
                pdf.column(_("Name")),
                pdf.column(_("Opening"), numeric=True),
                pdf.column(_("Debit"), numeric=True),
                pdf.column(_("Credit"), numeric=True),
                pdf.column(_("Closing"), numeric=True),
            ],
            "rows": rows,
            "footer": [
                pdf.cell(_("Total"), span=2),
                self.money_cell(report.opening),
                self.money_cell(report.debit),
                self.money_cell(report.credit),
                self.money_cell(report.closing),
            ],
        }


class GeneralLedgerView(ReportView):
    template_name = "ledger/reports/general_ledger.html"
    slug = "general-ledger"
    title = gettext_lazy("General ledger")

    def pick_account(self, params: dict[str, Any]) -> Account | None:
        return queries.pick_account(
            self.company, params["account"], params["date_from"], params["date_to"]
        )

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        account = self.pick_account(params)
        if account is None:
            return {"account": None}
        date_from, date_to = params["date_from"], params["date_to"]
        count = queries.account_line_count(self.company, account, date_from, date_to)
        paginator = Paginator(range(count), PER_PAGE)  # the page's lines are read below
        page = paginator.get_page(self.request.GET.get("page"))
        carried, items = queries.general_ledger(
            self.company,
            account,
            date_from,
            date_to,
            offset=page.start_index() - 1 if page.object_list else 0,
            limit=PER_PAGE,
        )
        rows = [
            {
                "date": item.entry.date,
                "number": item.entry.number,
                "entry_url": self.entry_url(item.entry.pk),
                "description": item.line.description or item.entry.description,
                "partner": item.line.partner,
                "debit": self.fmt(item.line.debit) if item.line.debit else "",
                "credit": self.fmt(item.line.credit) if item.line.credit else "",
                "balance": self.fmt(item.balance),
            }
            for item in items
        ]
        chart = queries.monthly_balances(self.company, account, date_from, date_to)
        query = urlencode(
            {
                "account": account.code,
                "date_from": date_from.isoformat(),
                "date_to": date_to.isoformat(),
            }
        )
        return {
            "account": account,
            "carried": self.fmt(carried),
            "first_page": page.number == 1,
            "rows": rows,
            "page_obj": page,
            "page_query": query,
            "closing": self.fmt(items[-1].balance if items else carried),
            "chart_id": "ledger-balance-chart",
            "chart": {
                "type": "bar",
                "label": str(_("Balance")),
                "labels": [d.strftime("%Y-%m") for d, _b in chart],
                "values": [str(to_decimal(b, self.currency)) for _d, b in chart],
            },
        }

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        header = [
            _("Date"),
            _("Number"),
            _("Description"),
            _("Partner"),
            _("Debit"),
            _("Credit"),
            _("Balance"),
        ]
        account = self.pick_account(params)
        if account is None:
            return header, []
        cur = self.currency
        carried, items = queries.general_ledger(
            self.company, account, params["date_from"], params["date_to"]
        )
        rows: list[Sequence[Any]] = [
            [
                params["date_from"],
                "",
                _("Opening balance"),
                "",
                None,
                None,
                to_decimal(carried, cur),
            ]
        ]
        rows += [
            [
                i.entry.date,
                i.entry.number,
                i.line.description or i.entry.description,
                i.line.partner,
                to_decimal(i.line.debit, cur),
                to_decimal(i.line.credit, cur),
                to_decimal(i.balance, cur),
            ]
            for i in items
        ]
        return header, rows

    def subtitle(self, params: dict[str, Any]) -> str:
        account = self.pick_account(params)
        prefix = f"{account.code} {account.name} · " if account is not None else ""
        return prefix + super().subtitle(params)

    def pdf_table(self, params: dict[str, Any]) -> dict[str, Any]:
        columns = [
            pdf.column(_("Date")),
            pdf.column(_("Number")),
            pdf.column(_("Description")),
            pdf.column(_("Partner")),
            pdf.column(_("Debit"), numeric=True),
            pdf.column(_("Credit"), numeric=True),
            pdf.column(_("Balance"), numeric=True),
        ]
        account = self.pick_account(params)
        if account is None:
            return {"columns": columns, "rows": [], "empty": _("No such account.")}
        carried, items = queries.general_ledger(
            self.company, account, params["date_from"], params["date_to"]
        )
        rows = [
            pdf.row(
                [
                    pdf.cell(_("Opening balance"), span=6),
                    self.money_cell(carried),
                ],
                "group",
            )
        ]
        rows += [
            pdf.row(
                [
                    pdf.cell(date_format(i.entry.date, "SHORT_DATE_FORMAT"), "code"),
                    pdf.cell(i.entry.number, "code"),
                    pdf.cell(i.line.description or i.entry.description),
                    pdf.cell(i.line.partner),
                    self.money_cell(i.line.debit, blank_zero=True),
                    self.money_cell(i.line.credit, blank_zero=True),
                    self.money_cell(i.balance),
                ]
            )
            for i in items
        ]
        closing = items[-1].balance if items else carried
        return {
            "columns": columns,
            "rows": rows,
            "footer": [pdf.cell(_("Balance"), span=6), self.money_cell(closing)],
        }


class JournalBookView(ReportView):
    template_name = "ledger/reports/journal_book.html"
    slug = "journal-book"
    title = gettext_lazy("Journal book")
    per_page = 50

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = queries.journal_entries(self.company, params["date_from"], params["date_to"])
        paginator = Paginator(entries, self.per_page)
        page = paginator.get_page(self.request.GET.get("page"))
        rows = []
        for entry in page.object_list:
            lines = [
                {
                    "code": line.account.code,
                    "name": line.account.name,
                    "description": line.description,
                    "partner": line.partner,
                    "debit": self.fmt(line.debit) if line.debit else "",
                    "credit": self.fmt(line.credit) if line.credit else "",
                }
                for line in entry.lines.all()
            ]
            rows.append(
                {
                    "entry": entry,
                    "url": self.entry_url(entry.pk),
                    "lines": lines,
                    "debit": self.fmt(sum(x.debit for x in entry.lines.all())),
                    "credit": self.fmt(sum(x.credit for x in entry.lines.all())),
                }
            )
        query = urlencode(
            {
                "date_from": params["date_from"].isoformat(),
                "date_to": params["date_to"].isoformat(),
            }
        )
        return {"entries": rows, "page_obj": page, "page_query": query}

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        cur = self.currency
        header = [
            _("Date"),
            _("Number"),
            _("Journal"),
            _("Entry description"),
            _("Line"),
            _("Account"),
            _("Account name"),
            _("Description"),
            _("Partner"),
            _("Debit"),
            _("Credit"),
        ]
        rows: list[Sequence[Any]] = []
        for entry in queries.journal_entries(self.company, params["date_from"], params["date_to"]):
            for line in entry.lines.all():
                rows.append(
                    [
                        entry.date,
                        entry.number,
                        entry.journal.code,
                        entry.description,
                        line.line_no,
                        line.account.code,
                        line.account.name,
                        line.description,
                        line.partner,
                        to_decimal(line.debit, cur),
                        to_decimal(line.credit, cur),
                    ]
                )
        return header, rows

    landscape = True

    def pdf_table(self, params: dict[str, Any]) -> dict[str, Any]:
        rows = []
        debit = credit = 0
        for entry in queries.journal_entries(self.company, params["date_from"], params["date_to"]):
            lines = list(entry.lines.all())
            head = " · ".join(
                x
                for x in (
                    date_format(entry.date, "SHORT_DATE_FORMAT"),
                    entry.number or "",
                    entry.journal.code,
                    entry.description,
                )
                if x
            )
            rows.append(pdf.row([pdf.cell(head, span=6)], "entry-head"))
            for line in lines:
                rows.append(
                    pdf.row(
                        [
                            pdf.cell(line.account.code, "code"),
                            pdf.cell(line.account.name),
                            pdf.cell(line.description),
                            pdf.cell(line.partner),
                            self.money_cell(line.debit, blank_zero=True),
                            self.money_cell(line.credit, blank_zero=True),
                        ]
                    )
                )
                debit += line.debit
                credit += line.credit
        return {
            "columns": [
                pdf.column(_("Account")),
                pdf.column(_("Name")),
                pdf.column(_("Description")),
                pdf.column(_("Partner")),
                pdf.column(_("Debit"), numeric=True),
                pdf.column(_("Credit"), numeric=True),
            ],
            "rows": rows,
            "footer": [
                pdf.cell(_("Total"), span=4),
                self.money_cell(debit),
                self.money_cell(credit),
            ],
        }
