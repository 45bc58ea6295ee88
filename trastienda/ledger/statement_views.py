"""Pages of the financial statements: profit and loss, balance sheet.

Filters: a date range (profit and loss) or an "as of" date (balance sheet), the layout
(default: the company's), the comparison with the same range a year earlier and the breakdown
by cost centre or project. Every line expands to its accounts; every account figure links to
the account's general ledger for the column's range. Exports CSV, XLSX (typed numbers) and PDF
(``?export=``), as the other reports (:class:`trastienda.ledger.reports.ReportView`). The
profit and loss page draws income and expense per month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

from django import forms
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from trastienda.core import pdf
from trastienda.core.models import Company
from trastienda.ledger import queries, statements
from trastienda.ledger.layouts import layouts
from trastienda.ledger.reports import EARLIEST, LATEST, ReportView, to_decimal

DIMENSION_CHOICES = [
    ("", gettext_lazy("No breakdown")),
    ("cost_centre", gettext_lazy("By cost centre")),
    ("project", gettext_lazy("By project")),
]


class StatementFilterForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("From"), required=False)
    date_to = forms.DateField(label=gettext_lazy("To"), required=False)
    as_of = forms.DateField(label=gettext_lazy("As of"), required=False)
    layout = forms.ChoiceField(label=gettext_lazy("Layout"), required=False)
    compare = forms.BooleanField(
        label=gettext_lazy("Compare with the previous year"), required=False
    )
    dimension = forms.ChoiceField(
        label=gettext_lazy("Breakdown"), required=False, choices=DIMENSION_CHOICES
    )
    accounts = forms.BooleanField(label=gettext_lazy("Accounts in the PDF"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        layout = self.fields["layout"]
        assert isinstance(layout, forms.ChoiceField)  # noqa: S101 - declared above
        layout.choices = [("", ""), *statements.layout_choices()]


ALIASES = {"from": "date_from", "to": "date_to"}


def statement_params(
    company: Company, data: Any, kind: str
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Cleaned filters with defaults and the errors, for ``kind`` (balance sheet: ``as_of``,
    else ``date_to``; ``from``/``to`` are accepted for ``date_from``/``date_to``)."""
    values = {k: v for k, v in data.items()}
    for alias, name in ALIASES.items():
        if alias in values and name not in values:
            values[name] = values[alias]
    form = StatementFilterForm(values)
    form.is_valid()
    cleaned = dict(getattr(form, "cleaned_data", {}))
    errors = {k: [str(m) for m in v] for k, v in form.errors.items()}
    for name in ("date_from", "date_to", "as_of"):
        value = cleaned.get(name)
        if value is not None and not EARLIEST <= value <= LATEST:
            errors.setdefault(name, []).append(_("Enter a date between 1900 and 9998."))
            cleaned.pop(name)
    default_from, default_to = queries.default_range(company)
    date_to = cleaned.get("date_to") or default_to
    if kind == statements.BALANCE_SHEET:
        date_to = cleaned.get("as_of") or date_to
    params: dict[str, Any] = {
        "date_from": cleaned.get("date_from") or default_from,
        "date_to": date_to,
        "layout": cleaned.get("layout") or statements.default_layout(company),
        "compare": bool(cleaned.get("compare")),
        "dimension": cleaned.get("dimension") or "",
        "accounts": bool(cleaned.get("accounts")),
    }
    if kind == statements.PROFIT_AND_LOSS and params["date_from"] > params["date_to"]:
        errors.setdefault("date_to", []).append(_("The end date is before the start date."))
    return params, errors


class StatementView(ReportView):
    template_name = "ledger/reports/statement.html"
    kind: ClassVar[str] = ""

    def get_params(self, data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
        return statement_params(self.company, data, self.kind)

    def build(self, params: dict[str, Any]) -> statements.Report:
        return statements.build(
            self.company,
            self.kind,
            params["date_from"] if self.kind == statements.PROFIT_AND_LOSS else None,
            params["date_to"],
            layout=params["layout"],
            compare=params["compare"],
            dimension=params["dimension"],
        )

    def filename(self, params: dict[str, Any], fmt: str) -> str:
        if self.kind == statements.BALANCE_SHEET:
            return f"{self.slug}-{self.company.code}-{params['date_to'].isoformat()}.{fmt}"
        return super().filename(params, fmt)

    def subtitle(self, params: dict[str, Any]) -> str:
        layout = layouts()[params["layout"]].label
        if self.kind == statements.BALANCE_SHEET:
            when = _("As of %(date)s") % {
                "date": date_format(params["date_to"], "SHORT_DATE_FORMAT")
            }
            return f"{when} · {self.currency} · {layout}"
        return f"{super().subtitle(params)} · {layout}"

    # --- formatting ------------------------------------------------------------------------

    def column_label(self, column: statements.Column) -> str:
        """Amount columns of a period in the active locale's short dates ("2026" for a
        calendar year); cost centres, projects, variation and % as they are."""
        if column.key not in (statements.CURRENT, statements.PREVIOUS) or column.date_to is None:
            return column.label
        last = column.date_to
        if self.kind == statements.BALANCE_SHEET or column.date_from is None:
            return date_format(last, "SHORT_DATE_FORMAT")
        if column.label.isdigit():  # a calendar year
            return column.label
        return _("%(start)s to %(end)s") % {
            "start": date_format(column.date_from, "SHORT_DATE_FORMAT"),
            "end": date_format(last, "SHORT_DATE_FORMAT"),
        }

    def cell_text(self, value: Any, kind: str) -> str:
        if value is None:
            return ""
        if kind == "percent":
            return number_format(value, decimal_pos=1, force_grouping=True) + " %"
        return self.fmt(int(value))

    def export_value(self, value: Any, kind: str) -> Any:
        if value is None or kind == "percent":
            return value
        return to_decimal(int(value), self.currency)

    def ledger_link(self, code: str, column: statements.Column) -> str | None:
        if column.kind != "amount" or column.date_to is None:
            return None
        start = column.date_from or queries.books_start(self.company)
        return self.url(
            "report_general_ledger",
            account=code,
            date_from=start.isoformat(),
            date_to=column.date_to.isoformat(),
        )

    def result_link(self, report: statements.Report, result: str, column: Any) -> str | None:
        if column.kind != "amount" or column.date_to is None:
            return None
        year_start = statements.fiscal_year_start(self.company, column.date_to)
        if result == "year":
            first, last = year_start, column.date_to
        else:
            first = queries.books_start(self.company)
            last = year_start - dt.timedelta(1)
        return self.url(
            "report_profit_and_loss",
            date_from=first.isoformat(),
            date_to=last.isoformat(),
            layout=report.layout.code,
        )

    # --- page ------------------------------------------------------------------------------

    def report_context(self, params: dict[str, Any]) -> dict[str, Any]:
        report = self.build(params)
        kinds = [c.kind for c in report.columns]
        lines = []
        for index, item in enumerate(report.lines):
            if not item.visible:
                continue
            accounts = [
                {
                    "code": row.account.code,
                    "name": row.account.name,
                    "cells": [
                        {
                            "text": self.cell_text(v, c.kind),
                            "link": self.ledger_link(row.account.code, c) if v else None,
                        }
                        for v, c in zip(row.values, report.columns, strict=True)
                    ],
                }
                for row in item.accounts
            ]
            accounts += [
                {
                    "code": "",
                    "name": row.label,
                    "cells": [
                        {
                            "text": self.cell_text(v, c.kind),
                            "link": self.result_link(report, row.result, c) if v else None,
                        }
                        for v, c in zip(row.values, report.columns, strict=True)
                    ],
                }
                for row in item.results
            ]
            lines.append(
                {
                    "id": f"line-{index}",
                    "code": item.code,
                    "label": item.label,
                    "indent": min(item.depth, 5),
                    "strong": item.line.strong or item.is_heading,
                    "group": item.is_group,
                    "unmapped": item.line.unmapped,
                    "cells": [
                        "" if item.is_heading else self.cell_text(v, k)
                        for v, k in zip(item.values, kinds, strict=True)
                    ],
                    "accounts": accounts,
                }
            )
        context: dict[str, Any] = {
            "report": report,
            "kind": self.kind,
            "columns": [self.column_label(c) for c in report.columns],
            "lines": lines,
            "layouts": statements.layout_choices(),
            "dimensions": DIMENSION_CHOICES,
            "statement_form": StatementFilterForm(),
            "unbalanced": not report.balanced,
            "subtitle": self.subtitle(params),
        }
        if self.kind == statements.PROFIT_AND_LOSS:
            months = statements.monthly_income_expense(
                self.company, params["date_from"], params["date_to"]
            )
            context["chart_id"] = "pnl-monthly-chart"
            context["chart"] = {
                "type": "bar",
                "labels": [label for label, _i, _e in months],
                "datasets": [
                    {
                        "label": str(_("Income")),
                        "values": [str(to_decimal(i, self.currency)) for _l, i, _e in months],
                    },
                    {
                        "label": str(_("Expense")),
                        "values": [str(to_decimal(e, self.currency)) for _l, _i, e in months],
                    },
                ],
            }
        return context

    # --- exports ---------------------------------------------------------------------------

    def export_table(self, params: dict[str, Any]) -> tuple[Sequence[Any], list[Sequence[Any]]]:
        """One row per line and one per account under it (account code in its own column)."""
        report = self.build(params)
        header = [pgettext("item of a financial statement", "Line"), _("Account"), _("Description")]
        header += [self.column_label(c) for c in report.columns]
        rows: list[Sequence[Any]] = []
        for item in report.lines:
            if not item.visible:
                continue
            values = [
                None if item.is_heading else self.export_value(v, c.kind)
                for v, c in zip(item.values, report.columns, strict=True)
            ]
            rows.append([item.code, "", item.label, *values])
            for row in item.accounts:
                values = [
                    self.export_value(v, c.kind)
                    for v, c in zip(row.values, report.columns, strict=True)
                ]
                rows.append([item.code, row.account.code, row.account.name, *values])
            for result in item.results:
                values = [
                    self.export_value(v, c.kind)
                    for v, c in zip(result.values, report.columns, strict=True)
                ]
                rows.append([item.code, "", result.label, *values])
        return header, rows

    def pdf_landscape(self, context: dict[str, Any]) -> bool:
        return len(context["columns"]) > 5  # a breakdown: one column per cost centre

    def pdf_table(self, params: dict[str, Any]) -> dict[str, Any]:
        report = self.build(params)
        rows = []
        for item in report.lines:
            if not item.visible:
                continue
            css = "strong" if item.line.strong else ("group" if item.is_group else "")
            rows.append(
                pdf.row(
                    [pdf.cell(item.label, f"indent-{min(item.depth, 5)}")]
                    + [
                        pdf.cell("" if item.is_heading else self.cell_text(v, c.kind), "num")
                        for v, c in zip(item.values, report.columns, strict=True)
                    ],
                    css,
                )
            )
            if not params["accounts"]:
                continue
            indent = f"indent-{min(item.depth + 1, 5)}"
            for row in item.accounts:
                rows.append(
                    pdf.row(
                        [pdf.cell(f"{row.account.code} {row.account.name}", indent)]
                        + [
                            pdf.cell(self.cell_text(v, c.kind), "num")
                            for v, c in zip(row.values, report.columns, strict=True)
                        ],
                        "account",
                    )
                )
            for result in item.results:
                rows.append(
                    pdf.row(
                        [pdf.cell(result.label, indent)]
                        + [
                            pdf.cell(self.cell_text(v, c.kind), "num")
                            for v, c in zip(result.values, report.columns, strict=True)
                        ],
                        "account",
                    )
                )
        context: dict[str, Any] = {
            "columns": [
                pdf.column("", css="label"),
                *(pdf.column(self.column_label(c), True) for c in report.columns),
            ],
            "rows": rows,
        }
        if not report.balanced:
            context["note"] = _("Assets and equity plus liabilities differ.")
            context["note_class"] = "warning"
        return context


class ProfitAndLossView(StatementView):
    kind = statements.PROFIT_AND_LOSS
    slug = "profit-and-loss"
    title = gettext_lazy("Profit and loss")


class BalanceSheetView(StatementView):
    kind = statements.BALANCE_SHEET
    slug = "balance-sheet"
    title = gettext_lazy("Balance sheet")


__all__ = ["BalanceSheetView", "ProfitAndLossView", "StatementView", "statement_params"]
