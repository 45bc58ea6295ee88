"""Budgets: services (validation, all or nothing, audit), import, copy from actuals, the
budget-versus-actual figures against posted entries, the pages (grid, report, exports) and the
API (CRUD with nested lines, report, permissions)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook, load_workbook

from trastienda.audit.models import AuditEntry
from trastienda.ledger import budgets, services
from trastienda.ledger.budgets import budget_create, budget_lines_set, budget_vs_actual
from trastienda.ledger.models import (
    Budget,
    BudgetLine,
    CostCentre,
    FiscalYear,
    Journal,
    JournalEntry,
)

pytestmark = pytest.mark.django_db

SALES, PURCHASES, FEES, OTHER, CUSTOMERS, SUPPLIERS, BANK, RESULT = (
    "7000",
    "6000",
    "6260",
    "6290",
    "4300",
    "4000",
    "5720",
    "1290",
)


def counts() -> tuple[int, int, int]:
    """Budgets, budget lines and audit entries: what a refused write must leave unchanged."""
    return Budget.objects.count(), BudgetLine.objects.count(), AuditEntry.objects.count()


def line(account: str, month: str, amount: Any, cost_centre: str | None = None) -> dict[str, Any]:
    data = {"account": account, "month": month, "amount": amount}
    if cost_centre is not None:
        data["cost_centre"] = cost_centre
    return data


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


@pytest.fixture
def centres(books: Any) -> dict[str, CostCentre]:
    return {
        code: CostCentre.objects.create(company=books, code=code, name=code.title())
        for code in ("STORE", "ADMIN")
    }


@pytest.fixture
def post(books: Any, journal: Journal) -> Callable[..., JournalEntry]:
    """Post ``(account, "debit"|"credit", amount[, cost centre])`` lines on ``date``."""

    def make(date: dt.date, *rows: tuple[str, ...], reference: str = "") -> JournalEntry:
        lines = []
        for account, side, amount, *rest in rows:
            row: dict[str, Any] = {"account": account, side: amount}
            if account in (CUSTOMERS, SUPPLIERS):
                row["partner"] = "Partner S.L."
            if rest:
                row["cost_centre"] = rest[0]
            lines.append(row)
        return services.entry_create_posted(
            company=books, journal=journal, date=date, reference=reference, lines=lines
        )

    return make


@pytest.fixture
def trade(books: Any, centres: Any, post: Callable[..., JournalEntry]) -> Any:
    """Posted: January sales 1,000; February purchases 600 (STORE) and 200 (no cost centre);
    March bank fees 15 (ADMIN); April other services 50 (not budgeted); and a year-end
    regularisation entry on 31 December that the report must leave out."""
    post(dt.date(2026, 1, 20), (CUSTOMERS, "debit", "1000.00"), (SALES, "credit", "1000.00"))
    post(
        dt.date(2026, 2, 5),
        (PURCHASES, "debit", "600.00", "STORE"),
        (PURCHASES, "debit", "200.00"),
        (SUPPLIERS, "credit", "800.00"),
    )
    post(dt.date(2026, 3, 28), (FEES, "debit", "15.00", "ADMIN"), (BANK, "credit", "15.00"))
    post(dt.date(2026, 4, 2), (OTHER, "debit", "50.00"), (BANK, "credit", "50.00"))
    post(
        dt.date(2026, 12, 31),
        (SALES, "debit", "1000.00"),
        (RESULT, "credit", "1000.00"),
        reference="CLOSE-REG 2026",
    )
    return books


@pytest.fixture
def budget(trade: Any, year: FiscalYear) -> Budget:
    return budget_create(
        company=trade,
        code="B26",
        name="Budget 2026",
        fiscal_year=year,
        lines=[
            line(SALES, "2026-01", "900.00"),
            line(SALES, "2026-02", "1000"),
            line(PURCHASES, "2026-02", "500.00", "STORE"),
            line(PURCHASES, "2026-02", "100.00"),
            line(FEES, "2026-03", "20.00", "ADMIN"),
        ],
    )


# --- months ----------------------------------------------------------------------------------


def test_budget_months_are_the_calendar_months_of_the_fiscal_year(company: Any) -> None:
    year = services.fiscal_year_create(
        company=company,
        name="2026/27",
        start_date=dt.date(2026, 4, 1),
        end_date=dt.date(2027, 3, 31),
    )
    months = budgets.budget_months(year)
    assert [m.label for m in months] == [
        "2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09",
        "2026-10", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03",
    ]  # fmt: skip
    assert all(m.whole for m in months)
    assert budgets.parse_month("2026-03") == (2026, 3)
    assert budgets.parse_month(dt.date(2026, 3, 9)) == (2026, 3)
    assert budgets.parse_month("2026-13") is None
    assert budgets.parse_month("03/2026") is None


# --- services --------------------------------------------------------------------------------


def test_budget_create_with_lines_stores_minor_units_and_audits(
    books: Any, year: FiscalYear, centres: Any
) -> None:
    before = AuditEntry.objects.count()
    budget = budget_create(
        company=books,
        code="B26",
        name="Budget 2026",
        fiscal_year=year,
        notes="First draft",
        lines=[
            line(SALES, "2026-01", "1234.56"),
            line(PURCHASES, "2026-01", Decimal("10.5"), "STORE"),
            line(PURCHASES, "2026-02", 7),
            line(FEES, "2026-03", "0"),
        ],
    )
    stored = {
        (x.account.code, x.cost_centre.code if x.cost_centre else "", x.year, x.month): x.amount
        for x in BudgetLine.objects.filter(budget=budget).select_related("account", "cost_centre")
    }
    assert stored == {
        (SALES, "", 2026, 1): 123456,
        (PURCHASES, "STORE", 2026, 1): 1050,
        (PURCHASES, "", 2026, 2): 700,
        (FEES, "", 2026, 3): 0,
    }
    assert all(x.company_id == books.pk for x in BudgetLine.objects.all())
    entries = AuditEntry.objects.filter(pk__gt=0).order_by("pk")[before:]
    created = [e for e in entries if e.object_type == "ledger.budget" and e.action == "create"]
    updated = [e for e in entries if e.object_type == "ledger.budget" and e.action == "update"]
    assert len(created) == 1 and len(updated) == 1
    assert updated[0].changes["7000 · 2026-01"] == [None, "1234.56"]
    assert updated[0].extra["created"] == 4
    assert not [e for e in entries if e.object_type == "ledger.budgetline"]  # one event, not 4


def test_budget_create_errors_name_the_fields_and_lines_and_write_nothing(
    books: Any, year: FiscalYear, centres: Any, other_company: Any
) -> None:
    budget_create(company=books, code="B26", name="Budget", fiscal_year=year)
    other_year = services.fiscal_year_create(
        company=other_company,
        name="2026",
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 12, 31),
    )
    before = counts()
    with pytest.raises(ValidationError) as exc:
        budget_create(company=books, code=" ", name="", fiscal_year=other_year, colour="red")
    assert errors_of(exc) == {
        "code": ["Enter a code."],
        "name": ["Enter a name."],
        "fiscal_year": ["Choose a fiscal year of the company."],
        "colour": ["Unknown field."],
    }
    with pytest.raises(ValidationError) as exc:
        budget_create(company=books, code="B26", name="Again", fiscal_year=year)
    assert errors_of(exc) == {"code": ["A budget with this code already exists."]}
    with pytest.raises(ValidationError) as exc:
        budget_create(
            company=books,
            code="B27",
            name="Budget",
            fiscal_year=year,
            lines=[
                line(SALES, "2026-01", "100.00"),
                line("9999", "2026-01", "1"),
                line("60", "2026-01", "1"),
                line(SALES, "2027-01", "1"),
                line(SALES, "enero", "1"),
                line(SALES, "2026-02", 1.5),
                line(SALES, "2026-03", "1.234"),
                line(SALES, "2026-04", "abc"),
                line(SALES, "2026-05", "1", "NOPE"),
                line(SALES, "2026-01", "5"),
                {"account": SALES, "month": "2026-06", "amount": "1", "colour": "red"},
                line(SALES, "2026-07", ""),
            ],
        )
    assert errors_of(exc) == {
        "lines.2.account": ["Unknown account 9999."],
        "lines.3.account": ["Account 60 is a group; choose a postable account."],
        "lines.4.month": [
            "2027-01 is not a month of the budget's fiscal year (2026-01 to 2026-12)."
        ],
        "lines.5.month": ["'enero' is not a month (YYYY-MM)."],
        "lines.6.amount": [
            'Send the amount as a decimal string such as "1234.56", not as a floating-point number.'
        ],
        "lines.7.amount": ["1.234 has more than 2 decimal places (EUR)."],
        "lines.8.amount": ["abc is not an amount: enter a number such as 1234.56."],
        "lines.9.cost_centre": ["Unknown cost centre NOPE."],
        "lines.10.month": ["Line 1 has the same account, cost centre and month."],
        "lines.11.colour": ["Unknown field."],
        "lines.12.amount": ["Enter an amount."],
    }
    assert counts() == before


def test_budget_lines_set_replaces_or_merges_in_one_audit_event(budget: Budget) -> None:
    result = budget_lines_set(
        budget=budget,
        lines=[
            line(SALES, "2026-01", "950.00"),  # changed
            line(SALES, "2026-02", "1000.00"),  # unchanged
            line(SALES, "2026-03", "1100.00"),  # added
        ],
    )
    assert (result.created, result.updated, result.deleted, result.lines) == (1, 1, 3, 3)
    event = (
        AuditEntry.objects.filter(object_type="ledger.budget", action="update")
        .order_by("pk")
        .last()
    )
    assert event is not None
    assert event.changes == {
        "6000 · 2026-02": ["100.00", None],
        "6000 · STORE · 2026-02": ["500.00", None],
        "6260 · ADMIN · 2026-03": ["20.00", None],
        "7000 · 2026-01": ["900.00", "950.00"],
        "7000 · 2026-03": [None, "1100.00"],
    }
    merged = budget_lines_set(
        budget=budget, lines=[line(PURCHASES, "2026-05", "10", "STORE")], replace=False
    )
    assert (merged.created, merged.deleted, merged.lines) == (1, 0, 4)
    before = counts()
    nothing = budget_lines_set(
        budget=budget, lines=[line(PURCHASES, "2026-05", "10.00", "STORE")], replace=False
    )
    assert (nothing.created, nothing.updated, nothing.deleted) == (0, 0, 0)
    assert counts() == before  # no change, no audit event
    with pytest.raises(ValidationError) as exc:
        budget_lines_set(budget=budget, lines=[line(SALES, "2026-01", "1"), line("?", "x", "")])
    assert set(errors_of(exc)) == {"lines.2.account", "lines.2.month", "lines.2.amount"}
    assert counts() == before


def test_budget_update_and_delete(budget: Budget, books: Any) -> None:
    next_year = services.fiscal_year_create(
        company=books, name="2027", start_date=dt.date(2027, 1, 1), end_date=dt.date(2027, 12, 31)
    )
    before = counts()
    with pytest.raises(ValidationError) as exc:
        budgets.budget_update(instance=budget, fiscal_year=next_year)
    assert list(errors_of(exc)) == ["fiscal_year"]
    assert "2026-01, 2026-02, 2026-03" in errors_of(exc)["fiscal_year"][0]
    assert counts() == before
    moved = budgets.budget_update(
        instance=budget, fiscal_year=next_year, lines=[line(SALES, "2027-01", "5")]
    )
    assert moved.fiscal_year == next_year
    assert list(BudgetLine.objects.values_list("year", "month", "amount")) == [(2027, 1, 500)]
    renamed = budgets.budget_update(instance=moved, name="Renamed", active=False)
    assert (renamed.name, renamed.active, BudgetLine.objects.count()) == ("Renamed", False, 1)
    budgets.budget_delete(instance=renamed)
    assert (Budget.objects.count(), BudgetLine.objects.count()) == (0, 0)
    assert AuditEntry.objects.filter(object_type="ledger.budget", action="delete").count() == 1


# --- import ----------------------------------------------------------------------------------


def test_import_csv_and_xlsx(budget: Budget) -> None:
    content = (
        b"account,cost_centre,month,amount\n"
        b'7000,,2026-01,"1,250.50"\n'
        b"6000,STORE,2026-02,520\n"
        b"6290,,2026-04,40.00\n"
    )
    result = budgets.budget_lines_import(budget=budget, content=content, filename="b.csv")
    assert (result.rows, result.created, result.updated, result.deleted) == (3, 1, 2, 0)
    amounts = {
        (x.account.code, x.month): x.amount
        for x in BudgetLine.objects.filter(budget=budget).select_related("account")
    }
    assert amounts[(SALES, 1)] == 125050 and amounts[(OTHER, 4)] == 4000
    event = (
        AuditEntry.objects.filter(object_type="ledger.budget", action="update")
        .order_by("pk")
        .last()
    )
    assert event is not None and event.extra["file"] == "b.csv"
    assert event.extra["sha256"] == result.sha256

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Cuenta", "Centro de coste", "Mes", "Importe"])
    sheet.append([7000, None, dt.datetime(2026, 5, 1), 300.25])  # noqa: DTZ001 - an Excel date
    sheet.append(["6260", "ADMIN", "2026-06", 12])
    buffer = io.BytesIO()
    book.save(buffer)
    result = budgets.budget_lines_import(
        budget=budget, content=buffer.getvalue(), filename="b.xlsx", replace=True
    )
    assert (result.created, result.deleted, result.lines) == (2, 6, 2)
    assert sorted(BudgetLine.objects.values_list("month", "amount")) == [(5, 30025), (6, 1200)]


def test_import_refuses_malformed_files_by_line_and_writes_nothing(budget: Budget) -> None:
    before = counts()
    bad = (
        b"account,cost_centre,month,amount\n"
        b"7000,,2026-01,100\n"
        b"9999,,2026-01,100\n"
        b"7000,,2026/02,100\n"
        b"7000,,2026-03,12abc\n"
        b"7000,NOPE,2026-04,1\n"
        b"7000,,2026-01,5\n"
    )
    with pytest.raises(ValidationError) as exc:
        budgets.budget_lines_import(budget=budget, content=bad, filename="bad.csv")
    assert errors_of(exc) == {
        "line 3": ["account: Unknown account 9999."],
        "line 4": ["month: '2026/02' is not a month (YYYY-MM)."],
        "line 5": ["amount: '12abc' is not an amount (such as 1234.56)."],
        "line 6": ["cost_centre: Unknown cost centre NOPE."],
        "line 7": ["month: Line 2 has the same account, cost centre and month."],
    }
    for content, filename, message in (
        (b"cuenta;importe\n7000;1\n", "x.csv", "Missing columns: month."),
        (b"account,month,amount,colour\n", "x.csv", "Unknown columns: colour."),
        (b"", "x.csv", "The file is empty."),
        (b"account,month,amount\n", "x.csv", "The file has no budget lines."),
        (b"\xff\xfe\x00", "x.csv", "The file is not UTF-8 text."),
        (b"not a workbook", "x.xlsx", "The file is not a valid XLSX workbook."),
    ):
        with pytest.raises(ValidationError) as exc:
            budgets.budget_lines_import(budget=budget, content=content, filename=filename)
        assert message in errors_of(exc)["file"][0], (content, errors_of(exc))
    assert counts() == before


# --- figures ---------------------------------------------------------------------------------


def figures(row: budgets.Figures) -> tuple[int, int, int, Decimal | None, bool | None]:
    return (row.budget_total, row.actual_total, row.variance_total, row.percent, row.favourable)


def by_key(report: budgets.BudgetReport) -> dict[tuple[str, str], budgets.VarianceRow]:
    return {
        (row.account.code if row.account else "", row.cost_centre_code): row for row in report.rows
    }


def test_budget_vs_actual_against_posted_entries(budget: Budget) -> None:
    report = budget_vs_actual(budget)
    assert [m.label for m in report.months][:3] == ["2026-01", "2026-02", "2026-03"]
    assert len(report.months) == 12
    rows = by_key(report)
    assert set(rows) == {(SALES, ""), (PURCHASES, ""), (FEES, "")}  # 6290 is not budgeted
    # income: credit minus debit; the regularisation entry of 31 December is left out
    assert figures(rows[(SALES, "")]) == (190000, 100000, -90000, Decimal("-47.4"), False)
    assert rows[(SALES, "")].actual[:2] == [100000, 0] and rows[(SALES, "")].actual[11] == 0
    # expense: debit minus credit
    assert figures(rows[(PURCHASES, "")]) == (60000, 80000, 20000, Decimal("33.3"), False)
    assert figures(rows[(FEES, "")]) == (2000, 1500, -500, Decimal("-25.0"), True)
    income, expense = report.sections
    assert (income.type, expense.type) == ("income", "expense")
    assert figures(income)[:3] == (190000, 100000, -90000)
    assert figures(expense)[:3] == (62000, 81500, 19500)
    assert report.result is not None
    assert figures(report.result)[:3] == (128000, 18500, -109500)
    assert report.chart is report.result
    assert report.chart.budget[:3] == [90000, 40000, -2000]
    assert report.chart.actual[:3] == [100000, -80000, -1500]

    store = CostCentre.objects.get(code="STORE")
    by_store = budget_vs_actual(budget, cost_centre=store)
    assert {k: figures(v)[:2] for k, v in by_key(by_store).items()} == {
        (PURCHASES, "STORE"): (50000, 60000)
    }
    without = budget_vs_actual(budget, cost_centre=budgets.WITHOUT_CENTRE)
    assert {k: figures(v)[:2] for k, v in by_key(without).items()} == {
        (SALES, ""): (190000, 100000),
        (PURCHASES, ""): (10000, 20000),
    }
    split = budget_vs_actual(budget, by_cost_centre=True)
    assert {k: figures(v)[:2] for k, v in by_key(split).items()} == {
        (SALES, ""): (190000, 100000),
        (PURCHASES, "STORE"): (50000, 60000),
        (PURCHASES, ""): (10000, 20000),
        (FEES, "ADMIN"): (2000, 1500),
    }
    february = budget_vs_actual(budget, month_from=(2026, 2), month_to=(2026, 2))
    assert [m.label for m in february.months] == ["2026-02"]
    assert figures(by_key(february)[(SALES, "")])[:2] == (100000, 0)
    wider = budget_vs_actual(budget, unbudgeted=True, account="62")
    assert {k: (v.budgeted, figures(v)[:2]) for k, v in by_key(wider).items()} == {
        (FEES, ""): (True, (2000, 1500)),
        (OTHER, ""): (False, (0, 5000)),
    }


def test_actuals_of_a_partial_first_month(make_company: Any) -> None:
    """A fiscal year that starts on 16 June: its June is 16-30 June, read from the lines."""
    company = make_company("HALF")
    for name, start, end in (
        ("A", dt.date(2026, 1, 1), dt.date(2026, 6, 15)),
        ("B", dt.date(2026, 6, 16), dt.date(2027, 6, 15)),
    ):
        services.fiscal_year_create(company=company, name=name, start_date=start, end_date=end)
    journal = Journal.objects.get(company=company, code="GEN")
    for day, amount in ((10, "300.00"), (20, "70.00")):
        services.entry_create_posted(
            company=company,
            journal=journal,
            date=dt.date(2026, 6, day),
            lines=[{"account": FEES, "debit": amount}, {"account": BANK, "credit": amount}],
        )
    year_b = FiscalYear.objects.get(company=company, name="B")
    months = budgets.budget_months(year_b)
    assert (months[0].label, months[0].first, months[0].whole) == (
        "2026-06",
        dt.date(2026, 6, 16),
        False,
    )
    budget = budget_create(
        company=company,
        code="B",
        name="B",
        fiscal_year=year_b,
        lines=[line(FEES, "2026-06", "100")],
    )
    row = budget_vs_actual(budget).rows[0]
    assert (row.budget[0], row.actual[0]) == (10000, 7000)


def test_copy_from_actuals_with_uplift(budget: Budget, books: Any) -> None:
    next_year = services.fiscal_year_create(
        company=books, name="2027", start_date=dt.date(2027, 1, 1), end_date=dt.date(2027, 12, 31)
    )
    target = budget_create(company=books, code="B27", name="2027", fiscal_year=next_year)
    year = FiscalYear.objects.get(company=books, name="2026")
    result = budgets.budget_copy_actuals(budget=target, source=year, uplift="10")
    cells = {
        (x.account.code, x.cost_centre.code if x.cost_centre else "", x.year, x.month): x.amount
        for x in BudgetLine.objects.filter(budget=target).select_related("account", "cost_centre")
    }
    assert cells == {
        (SALES, "", 2027, 1): 110000,
        (PURCHASES, "", 2027, 2): 88000,
        (FEES, "", 2027, 3): 1650,
        (OTHER, "", 2027, 4): 5500,
    }
    assert result.created == 4
    budgets.budget_copy_actuals(budget=target, source=year, uplift="-2.5", by_cost_centre=True)
    cells = {
        (x.account.code, x.cost_centre.code if x.cost_centre else "", x.month): x.amount
        for x in BudgetLine.objects.filter(budget=target).select_related("account", "cost_centre")
    }
    assert cells == {
        (SALES, "", 1): 97500,
        (PURCHASES, "STORE", 2): 58500,
        (PURCHASES, "", 2): 19500,
        (FEES, "ADMIN", 3): 1463,  # 14.625 rounded half up
        (OTHER, "", 4): 4875,
    }
    before = counts()
    with pytest.raises(ValidationError) as exc:
        budgets.budget_copy_actuals(budget=target, source=year, uplift="lots")
    assert list(errors_of(exc)) == ["uplift"]
    assert counts() == before


# --- pages -----------------------------------------------------------------------------------


def test_budget_pages(budget: Budget, accountant: Any, login: Any, year: FiscalYear) -> None:
    client = login(accountant)
    base = f"/c/{budget.company.code}/ledger/budgets/"
    listing = client.get(base)
    assert listing.status_code == 200 and b"B26" in listing.content
    detail = client.get(base + f"{budget.pk}/")
    assert detail.status_code == 200
    assert b'id="budget-summary"' in detail.content and b"1,900.00" in detail.content
    created = client.post(
        base + "add/",
        {"code": "B26B", "name": "Alternative", "fiscal_year": year.pk, "active": "on"},
    )
    assert created.status_code == 302
    other = Budget.objects.get(code="B26B")
    duplicate = client.post(base + "add/", {"code": "B26", "name": "x", "fiscal_year": year.pk})
    assert duplicate.status_code == 400 and Budget.objects.count() == 2
    assert client.get(base + f"{other.pk}/edit/").status_code == 200
    assert client.post(base + f"{other.pk}/delete/").status_code == 302
    assert not Budget.objects.filter(code="B26B").exists()
    export = client.get(base + "?export=csv")
    assert export.status_code == 200 and "B26" in export.content.decode("utf-8-sig")
    lines_csv = client.get(base + f"{budget.pk}/export/")
    rows = list(csv.reader(io.StringIO(lines_csv.content.decode("utf-8-sig"))))
    assert rows[0] == ["account", "cost_centre", "month", "amount"]
    assert ["6000", "STORE", "2026-02", "500.00"] in rows
    xlsx = client.get(base + f"{budget.pk}/export/?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == 6
    # what the download wrote imports back
    again = io.BytesIO(lines_csv.content)
    again.name = "lines.csv"
    imported = client.post(base + f"{budget.pk}/import/", {"file": again, "replace": "1"})
    assert imported.status_code == 302 and BudgetLine.objects.filter(budget=budget).count() == 5
    bad = io.BytesIO(b"account,month,amount\n9999,2026-01,1\n")
    bad.name = "bad.csv"
    refused = client.post(base + f"{budget.pk}/import/", {"file": bad})
    assert refused.status_code == 400 and b"Unknown account 9999." in refused.content
    copy_page = client.get(base + f"{budget.pk}/copy-actuals/")
    assert copy_page.status_code == 200


def grid_data(response: Any) -> dict[str, str]:
    """The grid form's fields as the browser would send them (inputs and chosen options)."""
    from html.parser import HTMLParser

    data: dict[str, str] = {}

    class Parser(HTMLParser):
        select: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "input" and a.get("name") and a.get("type") != "submit":
                data[str(a["name"])] = a.get("value") or ""
            elif tag == "select":
                self.select = a.get("name")
                data.setdefault(str(self.select), "")
            elif tag == "option" and self.select and "selected" in a:
                data[self.select] = a.get("value") or ""

        def handle_endtag(self, tag: str) -> None:
            if tag == "select":
                self.select = None

    Parser().feed(response.content.decode())
    return data


def test_budget_grid_saves_all_or_nothing(budget: Budget, accountant: Any, login: Any) -> None:
    client = login(accountant)
    url = f"/c/{budget.company.code}/ledger/budgets/{budget.pk}/lines/"
    page = client.get(url)
    assert page.status_code == 200
    data = grid_data(page)
    assert data["rows"] == "7"  # 4 account rows + 3 blank rows
    assert data["row-0-account"] == PURCHASES and data["row-0-2026-02"] == "100.00"
    assert data["row-1-cost_centre"] == "STORE"
    # change a cell, empty a row, add an account in a blank row
    data["row-3-2026-01"] = "1000.50"
    data["row-0-2026-02"] = ""
    data["row-4-account"] = OTHER
    data["row-4-2026-04"] = "45"
    data["row-4-2026-05"] = "45"
    saved = client.post(url, {**data, "save": "1"})
    assert saved.status_code == 302
    cells = {
        (x.account.code, x.cost_centre.code if x.cost_centre else "", x.month): x.amount
        for x in BudgetLine.objects.filter(budget=budget).select_related("account", "cost_centre")
    }
    assert cells == {
        (PURCHASES, "STORE", 2): 50000,
        (FEES, "ADMIN", 3): 2000,
        (SALES, "", 1): 100050,
        (SALES, "", 2): 100000,
        (OTHER, "", 4): 4500,
        (OTHER, "", 5): 4500,
    }
    before = counts()
    data = grid_data(client.get(url))
    data["row-0-2026-03"] = "12x"
    data["row-5-2026-01"] = "3"  # a blank row with an amount and no account
    refused = client.post(url, {**data, "save": "1"})
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "Row 1 (6000 · STORE), 2026-03: &#x27;12x&#x27; is not a number." in text
    assert "Row 6: choose an account for its amounts." in text
    assert counts() == before
    data = grid_data(client.get(url))
    data["row-0-2026-03"] = "1.001"  # more decimals than EUR has: the service refuses it
    refused = client.post(url, {**data, "save": "1"})
    assert refused.status_code == 400
    assert (
        "Row 1 (6000 · STORE), 2026-03: amount: 1.001 has more than 2" in refused.content.decode()
    )
    assert counts() == before
    more = client.post(url, {**data, "add_rows": "1"})
    assert more.status_code == 200 and grid_data(more)["rows"] == str(int(data["rows"]) + 5)
    assert counts() == before


def json_script(html: str, element_id: str) -> Any:
    marker = f'id="{element_id}" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start : html.index("</script>", start)])


def test_report_page_exports_and_chart(budget: Budget, accountant: Any, login: Any) -> None:
    client = login(accountant)
    url = f"/c/{budget.company.code}/ledger/reports/budget-vs-actual/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="sign-convention"' in html and "credit minus debit" in html
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert "/static/vendor/chartjs/chart.umd.min.js" in scripts
    assert all(src.startswith("/static/") for src in scripts), scripts  # served locally
    chart = json_script(html, "budget-vs-actual-chart")
    assert chart["labels"][:2] == ["2026-01", "2026-02"]
    assert [d["label"] for d in chart["datasets"]] == ["Budget", "Actual"]
    assert chart["datasets"][0]["values"][:3] == ["900.00", "400.00", "-20.00"]
    assert chart["datasets"][1]["values"][:3] == ["1000.00", "-800.00", "-15.00"]
    assert "-47.4 %" in html and "1,900.00" in html and 'id="budget-result"' in html
    monthly = client.get(url + "?monthly=1&by_cost_centre=1&cost_centre=&budget=B26")
    assert monthly.status_code == 200 and b"STORE" in monthly.content
    bad = client.get(url + "?month_from=2027-01&budget=NOPE")
    assert bad.status_code == 200
    assert b"Unknown budget NOPE." in bad.content
    csv_response = client.get(url + "?export=csv")
    assert csv_response.status_code == 200
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert rows[0][:6] == [
        "Section",
        "Account",
        "Name",
        "Cost centre",
        "2026-01 budget",
        "2026-01 actual",
    ]
    assert rows[0][-4:] == ["Budget", "Actual", "Variance", "Variance %"]
    sales = next(r for r in rows if r[1] == SALES)
    assert sales[4:6] == ["900.00", "1000.00"] and sales[-4:] == [
        "1900.00",
        "1000.00",
        "-900.00",
        "-47.4",
    ]
    result = next(r for r in rows if r[2] == "Result (income - expense)")
    assert result[-4:-1] == ["1280.00", "185.00", "-1095.00"]
    xlsx = client.get(url + "?export=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert next(r for r in values if r[1] == SALES)[-4] == 1900  # a number, not text
    pdf = client.get(url + "?export=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf["Content-Disposition"].startswith('attachment; filename="budget-vs-actual-ACME-B26')
    assert (
        AuditEntry.objects.filter(action="export", object_type="ledger.budget-vs-actual").count()
        == 3
    )


def test_report_page_without_budget(books: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    page = client.get(f"/c/{books.code}/ledger/reports/budget-vs-actual/")
    assert page.status_code == 200 and b'id="no-budget"' in page.content


# --- API -------------------------------------------------------------------------------------


API = "/api/v1/ledger/budgets/"
REPORT = "/api/v1/ledger/budget-vs-actual/"


def test_api_crud_with_nested_lines(trade: Any, accountant: Any, client: Any) -> None:
    client.force_login(accountant)
    headers = {"HTTP_X_COMPANY": trade.code}
    body = {
        "code": "API26",
        "name": "From the API",
        "fiscal_year": "2026",
        "lines": [
            {"account": SALES, "month": "2026-01", "amount": "900.00"},
            {"account": PURCHASES, "cost_centre": "STORE", "month": "2026-02", "amount": "500"},
        ],
    }
    created = client.post(API, body, content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["fiscal_year"] == "2026" and data["code"] == "API26"
    assert data["lines"] == [
        {"account": PURCHASES, "cost_centre": "STORE", "month": "2026-02", "amount": "500.00"},
        {"account": SALES, "cost_centre": None, "month": "2026-01", "amount": "900.00"},
    ]
    pk = data["id"]
    listing = client.get(API + "?q=API", **headers).json()
    assert [x["code"] for x in listing["results"]] == ["API26"]
    patched = client.patch(
        f"{API}{pk}/", {"name": "Renamed"}, content_type="application/json", **headers
    )
    assert patched.status_code == 200 and len(patched.json()["lines"]) == 2
    replaced = client.patch(
        f"{API}{pk}/",
        {"lines": [{"account": SALES, "month": "2026-03", "amount": "1.50"}]},
        content_type="application/json",
        **headers,
    )
    assert replaced.status_code == 200
    assert replaced.json()["lines"] == [
        {"account": SALES, "cost_centre": None, "month": "2026-03", "amount": "1.50"}
    ]
    upload = io.BytesIO(b"account,month,amount\n6000,2026-04,10\n")
    upload.name = "lines.csv"
    imported = client.post(f"{API}{pk}/import/", {"file": upload}, **headers)
    assert imported.status_code == 200 and imported.json()["created"] == 1
    deleted = client.delete(f"{API}{pk}/", **headers)
    assert deleted.status_code == 204
    assert not Budget.objects.filter(pk=pk).exists() and BudgetLine.objects.count() == 0


def test_api_bad_input_is_400_and_writes_nothing(trade: Any, accountant: Any, client: Any) -> None:
    client.force_login(accountant)
    headers = {"HTTP_X_COMPANY": trade.code}
    before = counts()
    for body, fields in (
        ({}, {"code", "name", "fiscal_year"}),
        ({"code": "X", "name": "X", "fiscal_year": "1999"}, {"fiscal_year"}),
        (
            {
                "code": "X",
                "name": "X",
                "fiscal_year": "2026",
                "lines": [
                    {"account": SALES, "month": "2026-01", "amount": "1"},
                    {"account": SALES, "month": "2026-02", "amount": 12.5},
                    {"account": "9999", "month": "2026-13", "amount": "1"},
                ],
            },
            {"lines.2.amount", "lines.3.account", "lines.3.month"},
        ),
    ):
        response = client.post(API, body, content_type="application/json", **headers)
        assert response.status_code == 400, response.content
        assert set(response.json()["error"]["fields"]) == fields
    assert counts() == before
    budget = budget_create(
        company=trade, code="B", name="B", fiscal_year=FiscalYear.objects.get(name="2026")
    )
    before = counts()
    response = client.put(
        f"{API}{budget.pk}/",
        {"code": "B", "name": "B", "fiscal_year": "2026", "lines": [{"account": "60"}]},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {
        "lines.1.account",
        "lines.1.month",
        "lines.1.amount",
    }
    upload = io.BytesIO(b"account,month,amount\n7000,2026-01,x\n")
    upload.name = "lines.csv"
    response = client.post(f"{API}{budget.pk}/import/", {"file": upload}, **headers)
    assert response.status_code == 400 and "line 2" in response.json()["error"]["fields"]
    assert counts() == before


def test_api_report(budget: Budget, accountant: Any, client: Any) -> None:
    client.force_login(accountant)
    headers = {"HTTP_X_COMPANY": budget.company.code}
    body = client.get(REPORT + "?budget=B26&month_from=2026-01&month_to=2026-03", **headers).json()
    assert body["budget"]["code"] == "B26" and body["months"] == ["2026-01", "2026-02", "2026-03"]
    income = body["sections"][0]
    assert (income["type"], income["budget"], income["actual"]) == ("income", "1900.00", "1000.00")
    sales = income["rows"][0]
    assert sales["account"] == SALES and sales["variance"] == "-900.00"
    assert sales["variance_percent"] == "-47.4" and sales["favourable"] is False
    assert sales["months"][0] == {
        "month": "2026-01",
        "budget": "900.00",
        "actual": "1000.00",
        "variance": "100.00",
        "variance_percent": "11.1",
    }
    assert body["result"]["budget"] == "1280.00" and body["result"]["actual"] == "185.00"
    store = client.get(REPORT + "?cost_centre=STORE", **headers).json()
    assert [
        (r["account"], r["cost_centre"], r["actual"]) for s in store["sections"] for r in s["rows"]
    ] == [(PURCHASES, "STORE", "600.00")]
    for query in (
        "budget=NOPE",
        "month_from=2027-01",
        "month_from=march",
        "cost_centre=X",
        "month_from=2026-05&month_to=2026-02",
        "format=docx",
    ):
        response = client.get(REPORT + "?" + query, **headers)
        assert response.status_code == 400, query
    csv_response = client.get(REPORT + "?format=csv", **headers)
    assert csv_response.status_code == 200 and b"Variance %" in csv_response.content
    pdf = client.get(REPORT + "?format=pdf", **headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_api_and_pages_need_the_budget_permissions(
    budget: Budget, make_user: Any, client: Any
) -> None:
    company = budget.company
    headers = {"HTTP_X_COMPANY": company.code}
    clerk = make_user("clerk", company=company, role="clerk")
    client.force_login(clerk)
    before = counts()
    assert client.get(API, **headers).status_code == 403
    assert client.get(REPORT, **headers).status_code == 403
    body = {"code": "X", "name": "X", "fiscal_year": "2026"}
    assert client.post(API, body, content_type="application/json", **headers).status_code == 403
    assert client.delete(f"{API}{budget.pk}/", **headers).status_code == 403
    base = f"/c/{company.code}/ledger/budgets/"
    for url in ("", f"{budget.pk}/", f"{budget.pk}/lines/", "add/"):
        assert client.get(base + url).status_code == 403, url
    report_page = f"/c/{company.code}/ledger/reports/budget-vs-actual/"
    assert client.get(report_page).status_code == 403
    assert client.post(base + f"{budget.pk}/lines/", {"rows": "0"}).status_code == 403

    # a role that keeps the rest of the ledger but loses the budgets
    accountant = make_user("contable", company=company, role="accountant")
    role = accountant.memberships.get().role
    role.permissions.remove(*role.permissions.filter(codename__endswith="_budget"))
    role.customised = True
    role.save()
    client.force_login(accountant)
    assert client.get("/api/v1/ledger/entries/", **headers).status_code == 200
    assert client.get(API, **headers).status_code == 403
    assert client.get(REPORT, **headers).status_code == 403
    assert (
        client.patch(
            f"{API}{budget.pk}/", {"name": "x"}, content_type="application/json", **headers
        ).status_code
        == 403
    )
    assert client.get(base).status_code == 403
    assert client.get(report_page).status_code == 403
    assert counts()[:2] == before[:2]

    # an auditor reads but changes nothing
    auditor = make_user("auditora", company=company, role="auditor")
    client.force_login(auditor)
    assert client.get(API, **headers).status_code == 200
    assert client.get(REPORT, **headers).status_code == 200
    assert client.get(base + f"{budget.pk}/lines/").status_code == 403
    assert client.post(API, body, content_type="application/json", **headers).status_code == 403


def test_other_companies_budgets_are_not_found(
    budget: Budget, other_company: Any, make_user: Any, client: Any
) -> None:
    outsider = make_user("fuori", company=other_company, role="accountant")
    client.force_login(outsider)
    headers = {"HTTP_X_COMPANY": other_company.code}
    assert client.get(f"{API}{budget.pk}/", **headers).status_code == 404
    assert client.get(REPORT + "?budget=B26", **headers).status_code == 400
    page = f"/c/{other_company.code}/ledger/budgets/{budget.pk}/"
    assert client.get(page).status_code == 404
    assert client.get(f"/c/{budget.company.code}/ledger/budgets/").status_code == 404
