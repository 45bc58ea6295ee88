"""Financial statements: the balance sheet and the profit and loss account in a layout
(:mod:`trastienda.ledger.layouts`: Spanish PGC PYMES, Italian civil code, generic IFRS).

Figures come from the monthly balances through :func:`queries.movement_sums` (whole months
from ``AccountBalance``, the days of partial months from ``DayBalance``) and, for a breakdown by
cost centre or project, from ``DimensionBalance`` with the same split
(:func:`queries.range_parts`). Every amount is an integer in the company currency's minor
units, computed debit minus credit and shown multiplied by the line's sign.

- The profit and loss account of a range takes the income and expense accounts (by account
  type) and leaves out the year-end regularisation entries dated in the range (they only move
  the year's income and expense to the result account).
- The balance sheet at a date takes every asset, liability and equity account from the
  beginning of the books and leaves out a year-end closing entry until the next year's opening
  entry is dated on or before that date (the closing entry zeroes every account; the opening
  entry puts them back). Income and expense not yet closed are the result: the current fiscal
  year's on the layout's ``result="year"`` line, earlier years' on its ``result="prior"`` line.
  So assets always equal equity plus liabilities.
- Each account with an amount lands in exactly one line: the line of the longest matching
  prefix whose side rule accepts its balance, else the statement's "Unmapped accounts" line.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from trastienda.core.models import Company
from trastienda.ledger import closing, queries
from trastienda.ledger.layouts import Layout, Line, Source, Statement, get_layout, layouts
from trastienda.ledger.models import (
    Account,
    AccountType,
    CostCentre,
    DimensionBalance,
    FiscalYear,
    JournalEntry,
    JournalEntryLine,
    Project,
)

BALANCE_SHEET = "balance_sheet"
PROFIT_AND_LOSS = "profit_and_loss"
KINDS = (BALANCE_SHEET, PROFIT_AND_LOSS)
PNL_TYPES = (AccountType.INCOME.value, AccountType.EXPENSE.value)
BS_TYPES = (AccountType.ASSET.value, AccountType.LIABILITY.value, AccountType.EQUITY.value)
DIMENSIONS = {
    DimensionBalance.Dimension.COST_CENTRE.value: ("cost_centre_id", CostCentre),
    DimensionBalance.Dimension.PROJECT.value: ("project_id", Project),
}
CHART_LAYOUTS = {"ES": "es_pgc_pymes", "IT": "it_civil_code"}
DEFAULT_LAYOUT = "ifrs"
NONE_KEY = "none"
CURRENT, PREVIOUS, VARIATION, PERCENT = "current", "previous", "variation", "percent"

Naturals = dict[int, int]
"""account id → debit minus credit, in minor units."""


def default_layout(company: Company) -> str:
    """The layout of the company's chart: ES → PGC PYMES, IT → civil code, else IFRS."""
    return CHART_LAYOUTS.get(company.country, DEFAULT_LAYOUT)


def layout_choices() -> list[tuple[str, str]]:
    return [(code, layout.label) for code, layout in layouts().items()]


def year_earlier(day: dt.date) -> dt.date:
    """The same day a year earlier; a month end stays a month end (29 February → 28)."""
    if day == queries.month_end(day):
        return queries.month_end(day.replace(day=1, year=day.year - 1))
    return day.replace(year=day.year - 1)


def fiscal_year_start(company: Company, day: dt.date) -> dt.date:
    """The first day of the fiscal year containing ``day`` (else of its calendar year)."""
    year = (
        FiscalYear.objects.for_company(company)
        .filter(start_date__lte=day, end_date__gte=day)
        .first()
    )
    return year.start_date if year is not None else dt.date(day.year, 1, 1)


# --- mapping ---------------------------------------------------------------------------------


@dataclass
class Mapper:
    """Finds the line of an account: the longest matching prefix whose side accepts the
    balance (a sided prefix before an unsided one of the same length)."""

    statement: Statement
    sources: list[tuple[Source, Line]] = field(default_factory=list)
    unmapped: dict[str, Line] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for item in self.statement.leaves:
            self.sources += [(source, item) for source in item.sources]
        self.sources.sort(key=lambda s: (len(s[0].prefix), bool(s[0].side)), reverse=True)
        for item, _depth in self.statement.walk():
            if item.unmapped:
                if self.statement.kind == PROFIT_AND_LOSS:
                    for kind in PNL_TYPES:
                        self.unmapped[kind] = item
                elif item.sign > 0:
                    self.unmapped[AccountType.ASSET.value] = item
                else:
                    self.unmapped[AccountType.LIABILITY.value] = item
                    self.unmapped[AccountType.EQUITY.value] = item

    def mapped(self, code: str, natural: int) -> Line | None:
        for source, item in self.sources:
            if source.accepts(code, natural):
                return item
        return None

    def line_for(self, account: Account, natural: int) -> Line:
        found = self.mapped(account.code, natural)
        if found is not None:
            return found
        return self.unmapped[account.type]


def statement_types(kind: str) -> tuple[str, ...]:
    return PNL_TYPES if kind == PROFIT_AND_LOSS else BS_TYPES


# --- figures ---------------------------------------------------------------------------------


def _naturals(sums: queries.Sums) -> Naturals:
    return {pk: d - c for pk, (d, c) in sums.items() if d - c}


def _excluded_entries(company: Company, kind: str, start: dt.date | None, end: dt.date) -> Any:
    """Year-end entries the statement leaves out (see the module docstring): found by their
    exact references, one per fiscal year, through the index on ``(company, reference)``
    (the dates are compared here: given a date range, SQLite would rather scan by date)."""
    names = list(FiscalYear.objects.for_company(company).values_list("name", flat=True))
    refs = {  # reference -> (kind, fiscal year name)
        template.format(name=name): (key, name)
        for name in names
        for key, template in (
            ("regularisation", closing.REGULARISATION_REF),
            ("closing", closing.CLOSING_REF),
            ("opening", closing.OPENING_REF),
        )
    }
    live = [
        (pk, *refs[ref], date)
        for pk, ref, date in JournalEntry.objects.for_company(company)
        .filter(
            state=JournalEntry.State.POSTED,
            reversal_of__isnull=True,
            reversals__isnull=True,
            reference__in=list(refs),
        )
        .order_by()  # the default order by date would lead SQLite to the date index
        .values_list("pk", "reference", "date")
        if date <= end
    ]
    if kind == PROFIT_AND_LOSS:
        return [
            pk
            for pk, key, _name, date in live
            if key == "regularisation" and (start is None or date >= start)
        ]
    opened = {name for _pk, key, name, _date in live if key == "opening"}
    return [pk for pk, key, name, _date in live if key == "closing" and name not in opened]


def _excluded_lines(company: Company, entries: list[int], group: str | None) -> list[dict]:
    if not entries:
        return []
    fields = ["account_id"] + ([group] if group else [])
    return list(
        JournalEntryLine.objects.filter(entry_id__in=entries)  # the company's entries
        .values(*fields)
        .annotate(d=Sum("debit"), c=Sum("credit"))
        .order_by()
    )


def account_naturals(
    company: Company, kind: str, start: dt.date | None, end: dt.date, *, types: Iterable[str]
) -> Naturals:
    """Debit minus credit per account of ``types`` for the range, year-end entries left out
    as the statement ``kind`` requires."""
    accounts = Q(account__type__in=list(types))
    sums = queries.movement_sums(company, start, end, accounts=accounts)
    naturals = _naturals(sums)
    types = set(types)
    excluded = _excluded_lines(company, _excluded_entries(company, kind, start, end), None)
    kinds = (
        dict(
            Account.objects.for_company(company)
            .filter(pk__in=[r["account_id"] for r in excluded])
            .values_list("pk", "type")
        )
        if excluded
        else {}
    )
    for row in excluded:
        if kinds.get(row["account_id"]) in types:
            pk = row["account_id"]
            naturals[pk] = naturals.get(pk, 0) - ((row["d"] or 0) - (row["c"] or 0))
    return {pk: value for pk, value in naturals.items() if value}


def dimension_naturals(
    company: Company,
    kind: str,
    dimension: str,
    start: dt.date | None,
    end: dt.date,
    *,
    types: Iterable[str],
) -> dict[int, Naturals]:
    """Debit minus credit per dimension value (cost centre or project id) and account:
    whole months from ``DimensionBalance``, partial months from the lines."""
    field_name, _model = DIMENSIONS[dimension]
    types = list(types)
    out: dict[int, Naturals] = defaultdict(dict)

    def add(value: int, account: int, amount: int) -> None:
        out[value][account] = out[value].get(account, 0) + amount

    whole, days = queries.range_parts(start, end)
    if whole is not None:
        first, last = whole
        rows = DimensionBalance.objects.for_company(company).filter(
            dimension=dimension,
            account__type__in=types,
        )
        rows = rows.filter(Q(year__lt=last.year) | Q(year=last.year, month__lte=last.month))
        if first is not None:
            rows = rows.filter(Q(year__gt=first.year) | Q(year=first.year, month__gte=first.month))
        for row in (
            rows.values("dimension_id", "account_id")
            .annotate(d=Sum("debit"), c=Sum("credit"))
            .order_by()
        ):
            add(row["dimension_id"], row["account_id"], (row["d"] or 0) - (row["c"] or 0))
    for first, last in days:
        lines = queries.posted_lines(company).filter(
            date__lte=last,
            account__type__in=types,
            **{f"{field_name}__isnull": False},
        )
        if first is not None:
            lines = lines.filter(date__gte=first)
        for row in (
            lines.values(field_name, "account_id")
            .annotate(d=Sum("debit"), c=Sum("credit"))
            .order_by()
        ):
            add(row[field_name], row["account_id"], (row["d"] or 0) - (row["c"] or 0))
    excluded = _excluded_entries(company, kind, start, end)
    rows_out = _excluded_lines(company, excluded, field_name)
    if rows_out:
        wanted = set(
            Account.objects.for_company(company)
            .filter(type__in=types, pk__in=[r["account_id"] for r in rows_out])
            .values_list("pk", flat=True)
        )
        for row in rows_out:
            if row[field_name] is not None and row["account_id"] in wanted:
                add(row[field_name], row["account_id"], -((row["d"] or 0) - (row["c"] or 0)))
    return {
        value: {pk: v for pk, v in accounts.items() if v}
        for value, accounts in out.items()
        if any(accounts.values())
    }


# --- the report ------------------------------------------------------------------------------


@dataclass
class Column:
    key: str
    label: str
    kind: str = "amount"  # "amount", "variation" or "percent"
    date_from: dt.date | None = None  # the range of an amount column (drill-down)
    date_to: dt.date | None = None


@dataclass
class AccountRow:
    account: Account
    values: list[Any]


@dataclass
class ResultRow:
    """The result not yet closed that a balance sheet line receives (not an account)."""

    label: str
    values: list[Any]
    result: str  # "year" or "prior"


@dataclass
class ReportLine:
    line: Line
    depth: int
    values: list[Any]
    accounts: list[AccountRow] = field(default_factory=list)
    results: list[ResultRow] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.line.code

    @property
    def label(self) -> str:
        return self.line.label

    @property
    def is_total(self) -> bool:
        return self.line.is_total

    @property
    def is_group(self) -> bool:
        return bool(self.line.children)

    @property
    def is_heading(self) -> bool:
        """A heading prints no amount (a total line prints it)."""
        return self.line.heading

    @property
    def visible(self) -> bool:
        """The unmapped line shows only when it holds something."""
        return not self.line.unmapped or any(
            v for v, c in zip(self.values, self.columns_kinds, strict=False) if c == "amount"
        )

    columns_kinds: list[str] = field(default_factory=list)


@dataclass
class Report:
    company: Company
    kind: str
    layout: Layout
    date_from: dt.date | None  # None for a balance sheet (from the beginning)
    date_to: dt.date
    columns: list[Column]
    lines: list[ReportLine]
    dimension: str = ""
    compare: bool = False
    year_start: dt.date | None = None

    @property
    def title(self) -> str:
        return str(_("Balance sheet") if self.kind == BALANCE_SHEET else _("Profit and loss"))

    @property
    def current_index(self) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == CURRENT)

    def line(self, code: str) -> ReportLine:
        return next(x for x in self.lines if x.code == code)

    def value(self, code: str, column: str = CURRENT) -> Any:
        index = next(i for i, c in enumerate(self.columns) if c.key == column)
        return self.line(code).values[index]

    @property
    def check(self) -> tuple[str, str] | None:
        return self.layout.statement(self.kind).check

    @property
    def balanced(self) -> bool:
        """Assets equal equity plus liabilities in every amount column (balance sheet)."""
        if self.check is None:
            return True
        first, second = self.check
        return all(
            self.line(first).values[i] == self.line(second).values[i]
            for i, c in enumerate(self.columns)
            if c.kind == "amount"
        )

    @property
    def result(self) -> int:
        """The last line of the profit and loss account (the result), current column."""
        return int(self.lines[-1].values[self.current_index])


def percent(variation: int, base: int) -> Decimal | None:
    if not base:
        return None
    return (Decimal(variation) * 100 / abs(base)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def build(
    company: Company,
    kind: str,
    date_from: dt.date | None,
    date_to: dt.date,
    *,
    layout: str = "",
    compare: bool = False,
    dimension: str = "",
) -> Report:
    """The balance sheet at ``date_to`` or the profit and loss account ``date_from``..
    ``date_to`` in ``layout`` (default: the company's), with the same range a year earlier
    (``compare``: previous, variation and % columns) and/or one column per cost centre or
    project (``dimension``: ``cost_centre`` or ``project``, plus "none" and the total)."""
    if kind not in KINDS:
        raise ValueError(f"unknown statement {kind!r}")
    if dimension and dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    chosen = get_layout(layout or default_layout(company))
    definition = chosen.statement(kind)
    mapper = Mapper(definition)
    types = statement_types(kind)
    start = date_from if kind == PROFIT_AND_LOSS else None
    periods = [(start, date_to)]
    if compare:
        periods.append((year_earlier(start) if start else None, year_earlier(date_to)))
    year_start = fiscal_year_start(company, date_to) if kind == BALANCE_SHEET else None

    # (column, naturals per account, period index, results not yet closed by "year"/"prior")
    amount_columns: list[tuple[Column, Naturals, int, dict[str, int]]] = []

    def split(total: Naturals, prior: Naturals) -> dict[str, int]:
        return {
            "year": sum(total.values()) - sum(prior.values()),
            "prior": sum(prior.values()),
        }

    def prior_end(last: dt.date) -> dt.date:
        return fiscal_year_start(company, last) - dt.timedelta(1)

    bases: list[Naturals] = []
    for index, (first, last) in enumerate(periods):
        naturals = account_naturals(company, kind, first, last, types=types)
        bases.append(naturals)
        result: dict[str, int] = {}
        if kind == BALANCE_SHEET:  # the income and expense not yet closed
            result = split(
                account_naturals(company, kind, None, last, types=PNL_TYPES),
                account_naturals(company, kind, None, prior_end(last), types=PNL_TYPES),
            )
        key = CURRENT if index == 0 else PREVIOUS
        label = _("Total") if dimension and index == 0 else _period_label(kind, first, last)
        column = Column(key, str(label), "amount", first, last)
        amount_columns.append((column, naturals, index, result))

    if dimension:
        _field, model = DIMENSIONS[dimension]
        by_value = dimension_naturals(company, kind, dimension, start, date_to, types=types)
        result_values: dict[int, dict[str, int]] = {}
        if kind == BALANCE_SHEET:
            total = dimension_naturals(company, kind, dimension, None, date_to, types=PNL_TYPES)
            prior = dimension_naturals(
                company, kind, dimension, None, prior_end(date_to), types=PNL_TYPES
            )
            result_values = {
                value: split(total.get(value, {}), prior.get(value, {}))
                for value in set(total) | set(prior)
            }
        names = {
            obj.pk: obj.code
            for obj in model.objects.for_company(company).filter(
                pk__in=list(set(by_value) | set(result_values))
            )
        }
        values = sorted(set(by_value) | set(result_values), key=lambda v: names.get(v, str(v)))
        none: Naturals = dict(bases[0])
        none_results = dict(amount_columns[0][3])
        dim_columns: list[tuple[Column, Naturals, int, dict[str, int]]] = []
        for value in values:
            naturals = by_value.get(value, {})
            for pk, amount in naturals.items():
                none[pk] = none.get(pk, 0) - amount
            for name, amount in result_values.get(value, {}).items():
                none_results[name] = none_results.get(name, 0) - amount
            column = Column(f"dim:{value}", names.get(value, str(value)), "amount", start, date_to)
            dim_columns.append((column, naturals, 0, result_values.get(value, {})))
        column = Column(NONE_KEY, str(_("None")), "amount", start, date_to)
        dim_columns.append((column, none, 0, none_results))
        amount_columns = dim_columns + amount_columns

    needed = set().union(*(set(n) for _c, n, _p, _r in amount_columns))
    accounts = {a.pk: a for a in Account.objects.for_company(company).filter(pk__in=needed)}
    # The line of each account, per period: its side by the period's total balance (an account
    # without a total but with amounts in dimension columns goes where a zero balance goes).
    placement: list[dict[int, Line]] = [
        {pk: mapper.line_for(accounts[pk], amount) for pk, amount in naturals.items()}
        for naturals in bases
    ]

    columns = [c for c, _n, _p, _r in amount_columns]
    if compare:
        columns += [
            Column(VARIATION, str(_("Variation")), "variation"),
            Column(PERCENT, "%", "percent"),
        ]
    kinds = [c.kind for c in columns]

    # natural amount per line code per amount column
    per_line: list[dict[str, int]] = []
    per_account: dict[str, dict[int, list[int]]] = defaultdict(dict)
    n_amounts = len(amount_columns)
    for col, (_column, naturals, period, result) in enumerate(amount_columns):
        sums: dict[str, int] = defaultdict(int)
        for pk, amount in naturals.items():
            target = placement[period].get(pk)
            if target is None:
                target = placement[period][pk] = mapper.line_for(accounts[pk], 0)
            sums[target.code] += amount
            per_account[target.code].setdefault(pk, [0] * n_amounts)[col] += amount
        for item, _depth in definition.walk():
            if item.result:
                sums[item.code] += result.get(item.result, 0)
        per_line.append(sums)

    def natural(code: str, col: int, memo: dict[str, int]) -> int:
        if code in memo:
            return memo[code]
        item = by_code[code]
        if item.total_of:
            value = sum(natural(c, col, memo) for c in item.total_of)
        elif item.children:
            value = sum(natural(c.code, col, memo) for c in item.children)
        else:
            value = per_line[col].get(code, 0)
        memo[code] = value
        return value

    by_code = definition.by_code
    memos: list[dict[str, int]] = [{} for _c in amount_columns]
    lines: list[ReportLine] = []
    current = next(i for i, (c, *_rest) in enumerate(amount_columns) if c.key == CURRENT)
    previous = next((i for i, (c, *_rest) in enumerate(amount_columns) if c.key == PREVIOUS), None)

    def shown(amounts: list[int]) -> list[Any]:
        out: list[Any] = list(amounts)
        if previous is not None:
            change = amounts[current] - amounts[previous]
            out += [change, percent(change, amounts[previous])]
        return out

    for item, depth in definition.walk():
        amounts = [item.sign * natural(item.code, col, memos[col]) for col in range(n_amounts)]
        report_line = ReportLine(item, depth, shown(amounts), columns_kinds=kinds)
        rows = per_account.get(item.code, {})
        for pk in sorted(rows, key=lambda pk: accounts[pk].code):
            report_line.accounts.append(
                AccountRow(accounts[pk], shown([item.sign * v for v in rows[pk]]))
            )
        if item.result:
            result_amounts = [
                item.sign * amount_columns[col][3].get(item.result, 0) for col in range(n_amounts)
            ]
            if any(result_amounts):
                label = (
                    _("Result of the year not yet closed (income - expense)")
                    if item.result == "year"
                    else _("Results of prior years not yet closed (income - expense)")
                )
                report_line.results.append(
                    ResultRow(str(label), shown(result_amounts), item.result)
                )
        lines.append(report_line)
    return Report(
        company=company,
        kind=kind,
        layout=chosen,
        date_from=start,
        date_to=date_to,
        columns=columns,
        lines=lines,
        dimension=dimension,
        compare=compare,
        year_start=year_start,
    )


def _period_label(kind: str, first: dt.date | None, last: dt.date) -> str:
    """``2026`` for a calendar year, else ``2026-01-01 / 2026-06-30``; the balance sheet's
    date alone."""
    if kind == BALANCE_SHEET or first is None:
        return last.isoformat()
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) and (
        first.year == last.year
    ):
        return str(first.year)
    return f"{first.isoformat()} / {last.isoformat()}"


# --- monthly income and expense (the chart of the profit and loss page) -----------------------


def monthly_income_expense(
    company: Company, date_from: dt.date, date_to: dt.date, *, limit: int = 36
) -> list[tuple[str, int, int]]:
    """(``YYYY-MM``, income, expense) per month of the range (the last ``limit`` months),
    income as credit minus debit of the income accounts, expense as debit minus credit of the
    expense accounts; year-end regularisation entries left out."""
    types = dict(
        Account.objects.for_company(company).filter(type__in=PNL_TYPES).values_list("pk", "type")
    )
    months: list[tuple[dt.date, dt.date]] = []
    month = date_from.replace(day=1)
    while month <= date_to:
        last = min(queries.month_end(month), date_to)
        months.append((max(month, date_from), last))
        month = queries.month_end(month) + dt.timedelta(1)
    out = []
    for first, last in months[-limit:]:
        naturals = account_naturals(company, PROFIT_AND_LOSS, first, last, types=PNL_TYPES)
        income = -sum(v for pk, v in naturals.items() if types.get(pk) == "income")
        expense = sum(v for pk, v in naturals.items() if types.get(pk) == "expense")
        out.append((first.strftime("%Y-%m"), income, expense))
    return out
