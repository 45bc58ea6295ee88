"""Balance sheet and profit and loss: layouts, figures, comparison, breakdown, year-end entries,
pages, exports (CSV, XLSX, PDF), API and the ``ledger report`` command."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from trastienda.audit.models import AuditEntry
from trastienda.ledger import charts, services, statements
from trastienda.ledger.closing import fiscal_year_close, fiscal_year_open_next
from trastienda.ledger.layouts import get_layout, layouts
from trastienda.ledger.models import Account, CostCentre, FiscalYear, JournalEntry, Project
from trastienda.ledger.statements import BALANCE_SHEET, PROFIT_AND_LOSS, Mapper, build

pytestmark = pytest.mark.django_db
Posted = Callable[..., JournalEntry]
YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def entry(posted: Posted, date: dt.date, *lines: tuple[str, str, str], **extra: Any) -> None:
    """Post ``(account, "debit"|"credit", amount)`` lines, with extra keys per line by index."""
    rows: list[dict[str, Any]] = []
    for i, (account, side, amount) in enumerate(lines):
        row: dict[str, Any] = {"account": account, side: amount}
        row.update(extra.get(f"line{i}", {}))
        rows.append(row)
    posted(lines=rows, date=date)


@pytest.fixture
def trade(books: Any, posted: Posted) -> Any:
    """A year of trade for ACME (PGC PYMES): capital, a purchase (STORE), a sale (WEB) and its
    partial return, bank fees and wages (ADMIN), bank interest and the income tax."""
    store = CostCentre.objects.create(company=books, code="STORE", name="Store")
    CostCentre.objects.create(company=books, code="ADMIN", name="Administration")
    Project.objects.create(company=books, code="WEB", name="Online shop")
    del store
    supplier = {"partner": "Aceros SA"}
    customer = {"partner": "Pérez SL"}
    entry(
        posted, dt.date(2026, 1, 2), ("5720", "debit", "60000.00"), ("1000", "credit", "60000.00")
    )
    entry(
        posted,
        dt.date(2026, 2, 5),
        ("6000", "debit", "8000.00"),
        ("4000", "credit", "8000.00"),
        line0={"cost_centre": "STORE"},
        line1=supplier,
    )
    entry(
        posted,
        dt.date(2026, 3, 12),
        ("4300", "debit", "20000.00"),
        ("7000", "credit", "20000.00"),
        line0=customer,
        line1={"project": "WEB"},
    )
    entry(
        posted,
        dt.date(2026, 3, 15),
        ("708", "debit", "500.00"),
        ("4300", "credit", "500.00"),
        line1=customer,
    )
    entry(
        posted,
        dt.date(2026, 3, 28),
        ("6260", "debit", "15.00"),
        ("5720", "credit", "15.00"),
        line0={"cost_centre": "ADMIN"},
    )
    entry(
        posted,
        dt.date(2026, 4, 28),
        ("6400", "debit", "4200.00"),
        ("4650", "credit", "4200.00"),
        line0={"cost_centre": "ADMIN"},
    )
    entry(posted, dt.date(2026, 6, 30), ("6623", "debit", "100.00"), ("5720", "credit", "100.00"))
    entry(posted, dt.date(2026, 12, 31), ("6300", "debit", "500.00"), ("4752", "credit", "500.00"))
    return books


def figures(report: statements.Report, column: str = statements.CURRENT) -> dict[str, Any]:
    """Line code → amount of the visible, non-zero lines."""
    out = {}
    for item in report.lines:
        value = report.value(item.code, column)
        if item.visible and value and not item.is_heading:
            out[item.code] = value
    return out


# --- layouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["es_pgc_pymes", "it_civil_code", "ifrs"])
def test_layouts_map_every_postable_account_of_their_chart(code: str) -> None:
    """Every postable account of the layout's chart has a line of its statement whether its
    balance is a debit or a credit (none would fall in "Unmapped accounts")."""
    layout = get_layout(code)
    bs, pnl = Mapper(layout.balance_sheet), Mapper(layout.profit_and_loss)
    missing = []
    for account in charts.load_chart(layout.chart):
        if not account.postable:
            continue
        mapper = pnl if account.type in statements.PNL_TYPES else bs
        for natural in (1, -1):
            if mapper.mapped(account.code, natural) is None:
                missing.append((account.code, natural))
    assert missing == []


def test_layout_structure() -> None:
    assert list(layouts()) == ["es_pgc_pymes", "it_civil_code", "ifrs"]
    for layout in layouts().values():
        for statement in (layout.balance_sheet, layout.profit_and_loss):
            unmapped = [x for x, _d in statement.walk() if x.unmapped]
            assert unmapped, (layout.code, statement.kind)
            assert all(x.sign in (1, -1) for x, _d in statement.walk())
        assert layout.balance_sheet.check is not None
        results = {x.result for x, _d in layout.balance_sheet.walk() if x.result}
        assert results == {"year", "prior"}
    pgc = get_layout("es_pgc_pymes")
    assert [str(s) for s in pgc.profit_and_loss.by_code["1"].sources] == [
        "700",
        "701",
        "702",
        "703",
        "704",
        "705",
        "(706)",
        "(708)",
        "(709)",
    ]
    codes = [x.code for x, _d in pgc.profit_and_loss.walk()]
    numbered = [c for c in codes if c.isdigit()]
    assert numbered == [str(n) for n in range(1, 19)]
    assert {"A", "B", "C", "D"} <= set(codes)
    roman = [c for c in pgc.balance_sheet.by_code if c.count(".") == 1 and c[:2] in ("A.", "B.")]
    assert roman == [f"A.{r}" for r in ["I", "II", "III", "IV", "V", "VI", "VII"]] + [
        f"B.{r}" for r in ["I", "II", "III", "IV", "V", "VI", "VII"]
    ]
    fondos = [c for c in pgc.balance_sheet.by_code if c.startswith("PN.A1.") and c.count(".") == 2]
    assert len(fondos) == 8


def test_mapper_longest_prefix_and_sides() -> None:
    pgc = get_layout("es_pgc_pymes")
    bs, pnl = Mapper(pgc.balance_sheet), Mapper(pgc.profit_and_loss)
    assert pnl.mapped("7954", -1).code == "7"  # type: ignore[union-attr]
    assert pnl.mapped("795", -1).code == "10"  # type: ignore[union-attr]
    assert bs.mapped("5720", 100).code == "B.VII"  # type: ignore[union-attr]
    assert bs.mapped("5720", -100).code == "PC.III.1"  # type: ignore[union-attr]  # overdraft
    assert bs.mapped("5700", -100).code == "B.VII"  # type: ignore[union-attr]  # cash: no rule
    assert bs.mapped("4300", 100).code == "B.III.1"  # type: ignore[union-attr]
    assert bs.mapped("4300", -100).code == "PC.V.2"  # type: ignore[union-attr]
    assert bs.mapped("4000", -100).code == "PC.V.1"  # type: ignore[union-attr]
    assert bs.mapped("4000", 100).code == "B.III.3"  # type: ignore[union-attr]
    assert bs.mapped("9999", 1) is None


# --- figures ---------------------------------------------------------------------------------


def test_profit_and_loss_pgc_exact(trade: Any) -> None:
    report = build(trade, PROFIT_AND_LOSS, *YEAR)
    assert report.layout.code == "es_pgc_pymes"
    assert figures(report) == {
        "1": 1950000,
        "4": -800000,
        "6": -420000,
        "7": -1500,
        "A": 728500,
        "14": -10000,
        "B": -10000,
        "C": 718500,
        "18": -50000,
        "D": 668500,
    }
    assert report.result == 668500
    line1 = report.line("1")
    assert [(a.account.code, a.values) for a in line1.accounts] == [
        ("7000", [2000000]),
        ("708", [-50000]),
    ]


def test_profit_and_loss_partial_months_and_cost_centres(trade: Any) -> None:
    """13 March to 29 June: partial months at both ends (lines) and whole months (balances)."""
    report = build(
        trade, PROFIT_AND_LOSS, dt.date(2026, 3, 13), dt.date(2026, 6, 29), dimension="cost_centre"
    )
    assert [c.label for c in report.columns] == ["ADMIN", "None", "Total"]
    assert figures(report) == {
        "1": -50000,
        "6": -420000,
        "7": -1500,
        "A": -471500,
        "C": -471500,
        "D": -471500,
    }
    assert report.line("6").values == [-420000, 0, -420000]
    assert report.line("7").values == [-1500, 0, -1500]
    assert report.line("1").values == [0, -50000, -50000]
    assert report.line("D").values == [-421500, -50000, -471500]
    whole = build(trade, PROFIT_AND_LOSS, *YEAR, dimension="cost_centre")
    assert [c.label for c in whole.columns] == ["ADMIN", "STORE", "None", "Total"]
    assert whole.line("4").values == [0, -800000, 0, -800000]
    assert whole.line("D").values == [-421500, -800000, 1890000, 668500]
    projects = build(trade, PROFIT_AND_LOSS, *YEAR, dimension="project")
    assert [c.label for c in projects.columns] == ["WEB", "None", "Total"]
    assert projects.line("1").values == [2000000, -50000, 1950000]


def test_balance_sheet_balances_and_carries_the_result(trade: Any) -> None:
    report = build(trade, BALANCE_SHEET, None, dt.date(2026, 12, 31))
    assert report.balanced
    assert figures(report) == {
        "B": 7938500,
        "B.III": 1950000,
        "B.III.1": 1950000,
        "B.VII": 5988500,
        "TOTAL.ASSETS": 7938500,
        "PN": 6668500,
        "PN.A1": 6668500,
        "PN.A1.I": 6000000,
        "PN.A1.I.1": 6000000,
        "PN.A1.VII": 668500,
        "PC": 1270000,
        "PC.V": 1270000,
        "PC.V.1": 800000,
        "PC.V.2": 470000,
        "TOTAL.LIABILITIES": 7938500,
    }
    result = report.line("PN.A1.VII")
    assert result.accounts == []
    assert [(r.result, r.values) for r in result.results] == [("year", [668500])]
    # the result equals the profit and loss account of the fiscal year
    assert build(trade, PROFIT_AND_LOSS, *YEAR).result == 668500
    mid = build(trade, BALANCE_SHEET, None, dt.date(2026, 3, 14))
    assert mid.balanced and mid.value("PN.A1.VII") == 2000000 - 800000


def test_bank_overdraft_is_a_debt(books: Any, posted: Posted) -> None:
    entry(posted, dt.date(2026, 5, 4), ("6260", "debit", "80.00"), ("5720", "credit", "80.00"))
    report = build(books, BALANCE_SHEET, None, dt.date(2026, 5, 31))
    assert figures(report) == {
        "PN": -8000,
        "PN.A1": -8000,
        "PN.A1.VII": -8000,
        "PC": 8000,
        "PC.III": 8000,
        "PC.III.1": 8000,
    }
    assert report.value("PC.III.1") == 8000
    assert report.value("B.VII") == 0
    assert report.value("TOTAL.ASSETS") == report.value("TOTAL.LIABILITIES") == 0
    assert [a.account.code for a in report.line("PC.III.1").accounts] == ["5720"]


def test_every_account_lands_in_exactly_one_line(trade: Any, posted: Posted) -> None:
    # an account no line maps (a user-made code) goes to "Unmapped accounts", shown then only
    odd = Account.objects.create(
        company=trade, code="9990", name_en="Odd", type="expense", postable=True
    )
    clean = build(trade, PROFIT_AND_LOSS, *YEAR)
    assert not clean.line("PL.UNMAPPED").visible
    entry(posted, dt.date(2026, 7, 1), (odd.code, "debit", "10.00"), ("5720", "credit", "10.00"))
    for kind in (PROFIT_AND_LOSS, BALANCE_SHEET):
        report = build(trade, kind, *YEAR)
        seen: dict[int, list[str]] = {}
        for item in report.lines:
            for row in item.accounts:
                seen.setdefault(row.account.pk, []).append(item.code)
        assert all(len(codes) == 1 for codes in seen.values()), seen
        types = statements.statement_types(kind)
        start = YEAR[0] if kind == PROFIT_AND_LOSS else None
        naturals = statements.account_naturals(trade, kind, start, YEAR[1], types=types)
        assert set(seen) == set(naturals)
    pnl = build(trade, PROFIT_AND_LOSS, *YEAR)
    assert pnl.line("PL.UNMAPPED").visible and pnl.value("PL.UNMAPPED") == -1000
    assert pnl.result == 668500 - 1000


def test_comparison_with_the_previous_year(trade: Any, posted: Posted) -> None:
    services.fiscal_year_create(
        company=trade, name="2025", start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31)
    )
    entry(
        posted, dt.date(2025, 6, 10), ("5720", "debit", "10000.00"), ("7000", "credit", "10000.00")
    )
    report = build(trade, PROFIT_AND_LOSS, *YEAR, compare=True)
    assert [(c.key, c.kind) for c in report.columns] == [
        ("current", "amount"),
        ("previous", "amount"),
        ("variation", "variation"),
        ("percent", "percent"),
    ]
    assert report.columns[1].date_from == dt.date(2025, 1, 1)
    assert report.line("1").values == [1950000, 1000000, 950000, Decimal("95.0")]
    assert report.line("4").values == [-800000, 0, -800000, None]
    assert report.line("D").values == [668500, 1000000, -331500, Decimal("-33.2")]
    sheet = build(trade, BALANCE_SHEET, None, dt.date(2026, 12, 31), compare=True)
    assert sheet.balanced
    # 2025's result, never closed, is a result of prior years at the end of 2026
    assert sheet.line("PN.A1.V").values[:2] == [1000000, 0]
    assert sheet.line("PN.A1.VII").values[:2] == [668500, 1000000]
    assert sheet.line("TOTAL.ASSETS").values[:3] == [8938500, 1000000, 7938500]
    # 29 February stays the end of February a year earlier
    assert statements.year_earlier(dt.date(2028, 2, 29)) == dt.date(2027, 2, 28)
    assert statements.year_earlier(dt.date(2027, 2, 28)) == dt.date(2026, 2, 28)
    assert statements.year_earlier(dt.date(2026, 3, 15)) == dt.date(2025, 3, 15)
    assert statements.year_earlier(dt.date(2025, 2, 28)) == dt.date(2024, 2, 29)


def test_year_end_entries_do_not_empty_the_statements(trade: Any, year: FiscalYear) -> None:
    before_pnl = figures(build(trade, PROFIT_AND_LOSS, *YEAR))
    before_bs = figures(build(trade, BALANCE_SHEET, None, YEAR[1]))
    fiscal_year_close(fiscal_year=year)
    assert figures(build(trade, PROFIT_AND_LOSS, *YEAR)) == before_pnl
    closed = build(trade, BALANCE_SHEET, None, YEAR[1])
    assert figures(closed) == before_bs and closed.balanced
    # the result now sits in 1290, regularised
    assert [a.account.code for a in closed.line("PN.A1.VII").accounts] == ["1290"]
    assert closed.line("PN.A1.VII").results == []
    # without an opening entry the closing entry stays out after the year end too
    assert figures(build(trade, BALANCE_SHEET, None, dt.date(2027, 1, 31))) == before_bs
    fiscal_year_open_next(fiscal_year=year)
    reopened = build(trade, BALANCE_SHEET, None, dt.date(2027, 1, 31))
    assert figures(reopened) == before_bs and reopened.balanced
    assert figures(build(trade, PROFIT_AND_LOSS, dt.date(2027, 1, 1), dt.date(2027, 1, 31))) == {}


def test_demo_books_balance_in_every_layout(db: Any) -> None:
    from trastienda.core.demo import demo_run

    ctx = demo_run(log=lambda _line: None)
    results = {}
    for code, company in ctx.companies.items():
        for layout in layouts():
            sheet = build(company, BALANCE_SHEET, None, dt.date(2026, 6, 30), layout=layout)
            assert sheet.balanced, (code, layout)
            pnl = build(company, PROFIT_AND_LOSS, *YEAR, layout=layout)
            results[(code, layout)] = pnl.result
            if statements.default_layout(company) == layout:
                assert [
                    x.code for x in pnl.lines + sheet.lines if x.line.unmapped and x.visible
                ] == []
            by_cc = build(company, PROFIT_AND_LOSS, *YEAR, layout=layout, dimension="cost_centre")
            assert by_cc.result == pnl.result
            assert sum(by_cc.lines[-1].values[:-1]) == pnl.result
    # every layout's result is the income minus the expense of the raw posted lines
    for (code, layout), result in results.items():
        assert result == raw_result(ctx.companies[code], *YEAR), (code, layout)
    # the ledger demo's own figures, plus what billing's and banking's demos post
    ledger_demo = sum(
        12500_00 + 900_00 * m - 8000_00 - 350_00 * m - 15_00 - 5540_00 for m in range(1, 7)
    )
    assert results[("IT01", "it_civil_code")] == ledger_demo + billing_result(
        ctx.companies["IT01"], *YEAR
    )


def billing_result(company: Any, first: dt.date, last: dt.date) -> int:
    """Credit minus debit on income and expense accounts of the entries of billing's demo
    (invoices, bills and payments), banking's (entries posted by reconciliation: bank fees) and
    trading's (settled instructions: fees and commissions) in the range."""
    from trastienda.banking.models import Reconciliation
    from trastienda.billing.models import Invoice, Payment
    from trastienda.ledger.models import JournalEntryLine
    from trastienda.trading.models import SettlementInstruction

    entries = {*Invoice.objects.filter(company=company).values_list("entry_id", flat=True)}
    entries |= {*Payment.objects.filter(company=company).values_list("entry_id", flat=True)}
    entries |= {*Reconciliation.objects.filter(company=company).values_list("entry_id", flat=True)}
    entries |= {
        *SettlementInstruction.objects.filter(company=company).values_list("entry_id", flat=True)
    }
    total = 0
    for line in JournalEntryLine.objects.filter(
        entry_id__in=[e for e in entries if e],
        entry__date__gte=first,
        entry__date__lte=last,
        account__type__in=statements.PNL_TYPES,
    ):
        total += line.credit - line.debit
    return total


def raw_result(company: Any, first: dt.date, last: dt.date) -> int:
    """Credit minus debit of the posted lines on income and expense accounts in the range."""
    from trastienda.ledger.models import JournalEntryLine

    total = 0
    for line in JournalEntryLine.objects.filter(
        company=company,
        entry__state="posted",
        entry__date__gte=first,
        entry__date__lte=last,
        account__type__in=statements.PNL_TYPES,
    ):
        total += line.credit - line.debit
    return total


def test_italian_and_ifrs_layouts(make_company: Any, journal: Any) -> None:
    del journal
    italy = make_company("ITA", country="IT")
    other = make_company("GEN", country="US")
    assert statements.default_layout(italy) == "it_civil_code"
    assert statements.default_layout(other) == "ifrs"
    for company, (bank, capital, sales, costs, tax) in (
        (italy, ("03.04.001", "05.01.001", "10.01.001", "11.02.010", "14.01.001")),
        (other, ("1251", "3101", "4101", "6210", "8101")),
    ):
        services.fiscal_year_create(
            company=company, name="2026", start_date=YEAR[0], end_date=YEAR[1]
        )
        gen = company_journal(company)
        for lines in (
            [{"account": bank, "debit": "1000.00"}, {"account": capital, "credit": "1000.00"}],
            [{"account": bank, "debit": "300.00"}, {"account": sales, "credit": "300.00"}],
            [{"account": costs, "debit": "20.00"}, {"account": bank, "credit": "20.00"}],
            [{"account": tax, "debit": "50.00"}, {"account": bank, "credit": "50.00"}],
        ):
            services.entry_post(
                instance=services.entry_create_draft(
                    company=company, journal=gen, date=dt.date(2026, 4, 1), lines=lines
                )
            )
    pnl = build(italy, PROFIT_AND_LOSS, *YEAR)
    assert figures(pnl) == {
        "CE.A": 30000,
        "CE.A.1": 30000,
        "CE.B": 2000,
        "CE.B.7": 2000,
        "CE.AB": 28000,
        "CE.PRE": 28000,
        "CE.20": 5000,
        "CE.21": 23000,
    }
    sheet = build(italy, BALANCE_SHEET, None, YEAR[1])
    assert sheet.balanced and sheet.value("ATT.C.IV.1") == 123000
    assert sheet.value("PAS.A.IX") == 23000 and sheet.value("TOT.PAS") == 123000
    ifrs = build(other, PROFIT_AND_LOSS, *YEAR)
    assert figures(ifrs) == {
        "REV": 30000,
        "GP": 30000,
        "OOE": -2000,
        "OP": 28000,
        "PBT": 28000,
        "TAX": -5000,
        "PY": 23000,
    }
    sheet = build(other, BALANCE_SHEET, None, YEAR[1])
    assert sheet.balanced and sheet.value("CA.CASH") == 123000 and sheet.value("EQ.PY") == 23000


def company_journal(company: Any) -> Any:
    from trastienda.ledger.models import Journal

    return Journal.objects.get(company=company, code="GEN")


def test_monthly_income_and_expense(trade: Any) -> None:
    months = statements.monthly_income_expense(trade, dt.date(2026, 2, 10), dt.date(2026, 4, 30))
    assert months == [
        ("2026-02", 0, 0),
        ("2026-03", 1950000, 1500),
        ("2026-04", 0, 420000),
    ]
    whole = statements.monthly_income_expense(trade, *YEAR)
    assert len(whole) == 12 and whole[1] == ("2026-02", 0, 800000)


def test_unknown_kind_layout_or_dimension(trade: Any) -> None:
    with pytest.raises(ValueError):
        build(trade, "cash_flow", *YEAR)
    with pytest.raises(KeyError):
        build(trade, PROFIT_AND_LOSS, *YEAR, layout="nope")
    with pytest.raises(ValueError):
        build(trade, PROFIT_AND_LOSS, *YEAR, dimension="region")


# --- helpers shared with the page, export, API and command tests ------------------------------


def pdf_text(data: bytes) -> str | None:
    """The text of a PDF through ``pdftotext`` (poppler), or None when it is not installed."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    done = subprocess.run(
        [tool, "-layout", "-", "-"], input=data, capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode()


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def json_script(html: str, element_id: str) -> Any:
    marker = f'id="{element_id}" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start : html.index("</script>", start)])


def read_xlsx(data: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [[c.value for c in row] for row in sheet.iter_rows()]


def audit_exports() -> int:
    return AuditEntry.objects.filter(action="export").count()


def write_to(tmp_path: Path, name: str) -> Path:
    return tmp_path / name


# --- pages and exports -------------------------------------------------------------------------

BASE = "/c/ACME/ledger/reports/"


def test_profit_and_loss_page_drill_down_and_chart(trade: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    page = client.get(BASE + "profit-and-loss/")  # no parameters: the current fiscal year
    assert page.status_code == 200
    html = page.content.decode()
    assert "1. Revenue" in html and ">19,500.00<" in html and ">6,685.00<" in html
    assert "Unmapped accounts" not in html
    link = f"{BASE}general-ledger/?account=7000&amp;date_from=2026-01-01&amp;date_to=2026-12-31"
    assert f'<a href="{link}">20,000.00</a>' in html
    chart = json_script(html, "pnl-monthly-chart")
    assert chart["labels"][:4] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert chart["datasets"][0]["label"] == "Income"
    assert chart["datasets"][0]["values"][2] == "19500.00"
    assert chart["datasets"][1]["values"][:4] == ["0.00", "8000.00", "15.00", "4200.00"]
    assert "<script>" not in html and 'style="' not in html  # strict CSP
    spanish = client.get(BASE + "profit-and-loss/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "1. Importe neto de la cifra de negocios" in spanish and ">6.685,00<" in spanish
    italian = client.get(
        BASE + "profit-and-loss/?layout=it_civil_code&dimension=cost_centre&compare=1"
    ).content.decode()
    assert "Unmapped accounts" in italian  # a Spanish chart in the Italian layout
    assert ">ADMIN<" in italian and ">STORE<" in italian and ">Variation<" in italian


def test_balance_sheet_page(trade: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    page = client.get(BASE + "balance-sheet/?as_of=2026-12-31")
    html = page.content.decode()
    assert page.status_code == 200
    assert "VII. Profit (loss) for the year" in html and ">6,685.00<" in html
    assert (
        html.count(">79,385.00<") == 3
    )  # B), total assets, total liabilities and 'id="statement-unbalanced"' not in html
    link = f"{BASE}general-ledger/?account=5720&amp;date_from=2026-01-01&amp;date_to=2026-12-31"
    assert f'<a href="{link}">59,885.00</a>' in html
    result = (
        f"{BASE}profit-and-loss/?date_from=2026-01-01&amp;date_to=2026-12-31"
        "&amp;layout=es_pgc_pymes"
    )
    assert f'<a href="{result}">6,685.00</a>' in html
    assert "pnl-monthly-chart" not in html
    bad = client.get(BASE + "balance-sheet/?as_of=0001-01-01&layout=nope&dimension=x")
    assert bad.status_code == 200 and 'id="report-errors"' in bad.content.decode()


def test_statement_exports(trade: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    before = audit_exports()
    response = client.get(
        BASE + "profit-and-loss/?date_from=2026-01-01&date_to=2026-12-31&export=csv"
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "profit-and-loss-ACME-2026-01-01-2026-12-31.csv" in response["Content-Disposition"]
    rows = csv_rows(response.content)
    assert rows[0] == ["Line", "Account", "Description", "Total"] or rows[0][:3] == [
        "Line",
        "Account",
        "Description",
    ]
    assert ["1", "", "1. Revenue", "19500.00"] in rows
    assert ["1", "7000", "Sales of goods for resale", "20000.00"] in rows
    assert ["1", "708", "Sales returns and similar transactions", "-500.00"] in rows
    assert rows[-1][0] == "D" and rows[-1][-1] == "6685.00"
    xlsx = client.get(BASE + "balance-sheet/?as_of=2026-12-31&compare=1&export=xlsx")
    values = read_xlsx(xlsx.content)
    assert values[0][3:] == ["31/12/2026", "31/12/2025", "Variation", "%"]
    total = next(r for r in values if r[0] == "TOTAL.ASSETS")
    assert total[3:] == [79385, 0, 79385, None]
    bank = next(r for r in values if r[1] == "5720")
    assert isinstance(bank[3], float | int) and bank[3] == 59885
    response = client.get(BASE + "balance-sheet/?as_of=2026-12-31&accounts=1&export=pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert 'filename="balance-sheet-ACME-2026-12-31.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    if text is not None:
        assert "Acme Ibérica S.L." in text and "B12345674" in text
        assert "Balance sheet" in text and "Page 1 of" in text
        assert "TOTAL ASSETS (A + B)" in text and text.count("79,385.00") >= 2
        assert "5720 Bank current account" in text and "59,885.00" in text
    assert audit_exports() == before + 3
    entry = AuditEntry.objects.filter(action="export").latest("pk")
    assert entry.object_type == "ledger.balance-sheet" and entry.extra["format"] == "pdf"
    assert client.get(BASE + "balance-sheet/?export=docx").status_code == 400


def test_report_pdfs(trade: Any, accountant: Any, login: Any) -> None:
    """The trial balance, general ledger and journal book export to PDF too."""
    client = login(accountant)
    dates = "date_from=2026-01-01&date_to=2026-12-31"
    for url, expected in (
        (
            f"{BASE}trial-balance/?{dates}&export=pdf",
            ["Trial balance", "Share capital", "-60,000.00", "Total"],
        ),
        (
            f"{BASE}general-ledger/?{dates}&account=5720&export=pdf",
            ["General ledger", "5720 Bank current account", "Opening balance", "59,885.00"],
        ),
        (
            f"{BASE}journal-book/?{dates}&export=pdf",
            ["Journal book", "Sales of goods for resale", "20,000.00", "Pérez SL"],
        ),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-"), url
        text = pdf_text(response.content)
        if text is not None:
            for fragment in expected:
                assert fragment in text, (url, fragment)


def test_statements_need_the_report_permission(trade: Any, make_user: Any, login: Any) -> None:
    client = login(make_user("almacen", company=trade, role="warehouse"))
    before = audit_exports()
    for name in ("profit-and-loss", "balance-sheet"):
        assert client.get(f"{BASE}{name}/").status_code == 403
        assert client.get(f"{BASE}{name}/?export=pdf").status_code == 403
        api = client.get(f"/api/v1/ledger/{name}/", HTTP_X_COMPANY=trade.code)
        assert api.status_code == 403
    assert audit_exports() == before


# --- API -----------------------------------------------------------------------------------------


def test_statement_api(trade: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    headers = {"HTTP_X_COMPANY": trade.code}
    body = client.get(
        "/api/v1/ledger/profit-and-loss/?from=2026-01-01&to=2026-12-31", **headers
    ).json()
    assert body["statement"] == "profit_and_loss" and body["layout"] == "es_pgc_pymes"
    assert body["result"] == "6685.00" and body["currency"] == "EUR"
    assert body["columns"] == [{"key": "current", "label": "2026", "kind": "amount"}]
    line1 = next(x for x in body["lines"] if x["code"] == "1")
    assert line1["values"] == {"current": "19500.00"}
    assert line1["accounts"] == [
        {"account": "7000", "name": "Sales of goods for resale", "values": {"current": "20000.00"}},
        {
            "account": "708",
            "name": "Sales returns and similar transactions",
            "values": {"current": "-500.00"},
        },
    ]
    sheet = client.get(
        "/api/v1/ledger/balance-sheet/?as_of=2026-12-31&compare=1&layout=es_pgc_pymes", **headers
    ).json()
    assert sheet["balanced"] is True and sheet["as_of"] == "2026-12-31"
    total = next(x for x in sheet["lines"] if x["code"] == "TOTAL.ASSETS")
    assert total["values"] == {
        "current": "79385.00",
        "previous": "0.00",
        "variation": "79385.00",
        "percent": None,
    }
    result = next(x for x in sheet["lines"] if x["code"] == "PN.A1.VII")
    assert result["results"][0]["values"]["current"] == "6685.00"
    by_cc = client.get(
        "/api/v1/ledger/profit-and-loss/?dimension=cost_centre&layout=ifrs", **headers
    ).json()
    assert [c["label"] for c in by_cc["columns"]] == ["ADMIN", "STORE", "None", "Total"]
    before = audit_exports()
    csv_response = client.get("/api/v1/ledger/profit-and-loss/?format=csv", **headers)
    assert csv_response.status_code == 200
    assert ["D", "", "D) PROFIT (LOSS) FOR THE YEAR (C + 18)", "6685.00"] in csv_rows(
        csv_response.content
    )
    pdf_response = client.get("/api/v1/ledger/balance-sheet/?format=pdf", **headers)
    assert pdf_response.status_code == 200 and pdf_response.content.startswith(b"%PDF-")
    xlsx = client.get("/api/v1/ledger/balance-sheet/?format=xlsx", **headers)
    assert read_xlsx(xlsx.content)[0][:3] == ["Line", "Account", "Description"]
    assert audit_exports() == before + 3
    for query in (
        "from=2026-13-01",
        "from=2026-03-01&to=2026-02-01",
        "layout=nope",
        "dimension=region",
        "format=docx",
        "from=0001-01-01",
    ):
        response = client.get(f"/api/v1/ledger/profit-and-loss/?{query}", **headers)
        assert response.status_code == 400, query
        assert "error" in response.json()
    assert client.get("/api/v1/ledger/balance-sheet/?as_of=nope", **headers).status_code == 400


def test_statement_api_exports_need_the_export_permission(
    trade: Any, make_user: Any, login: Any
) -> None:
    user = make_user("auditora", company=trade, role="auditor")
    role = user.memberships.get().role
    role.permissions.remove(*role.permissions.filter(codename="export_data"))
    client = login(user)
    headers = {"HTTP_X_COMPANY": trade.code}
    assert client.get("/api/v1/ledger/balance-sheet/", **headers).status_code == 200
    before = audit_exports()
    assert client.get("/api/v1/ledger/balance-sheet/?format=pdf", **headers).status_code == 403
    assert client.get(f"{BASE}balance-sheet/?export=pdf").status_code == 403
    assert audit_exports() == before


# --- the ledger report command ------------------------------------------------------------------


def test_report_command(trade: Any, tmp_path: Path, capsys: Any) -> None:
    before = audit_exports()
    call_command(
        "ledger", "report", "pnl", "--company", "acme", "--from", "2026-01-01",
        "--to", "2026-12-31", "--format", "csv",
    )  # fmt: skip
    rows = csv_rows(capsys.readouterr().out.encode())
    assert rows[0] == ["Line", "Account", "Description", "2026"]
    assert ["D", "", "D) PROFIT (LOSS) FOR THE YEAR (C + 18)", "6685.00"] in rows
    call_command(
        "ledger", "report", "pnl", "--company", "ACME", "--format", "csv", "--language", "es",
        "--layout", "ifrs",
    )  # fmt: skip
    rows = csv_rows(capsys.readouterr().out.encode())
    assert ["PY", "", "Resultado del ejercicio", "6685.00"] in rows  # in Spanish

    target = tmp_path / "sheet.xlsx"
    call_command(
        "ledger", "report", "balance-sheet", "--company", "ACME", "--to", "2026-12-31",
        "--compare", "--format", "xlsx", "--output", str(target),
    )  # fmt: skip
    values = read_xlsx(target.read_bytes())
    assert next(r for r in values if r[0] == "TOTAL.ASSETS")[3:5] == [79385, 0]
    assert "rows written to" in capsys.readouterr().err

    target = tmp_path / "tb.pdf"
    call_command(
        "ledger", "report", "trial-balance", "--company", "ACME", "--format", "pdf",
        "--output", str(target),
    )  # fmt: skip
    data = target.read_bytes()
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    if text is not None:
        assert "Trial balance" in text and "Acme Ibérica S.L." in text and "59,885.00" in text
    target = tmp_path / "pnl.pdf"
    call_command(
        "ledger", "report", "pnl", "--company", "ACME", "--dimension", "cost_centre",
        "--format", "pdf", "--output", str(target),
    )  # fmt: skip
    assert target.read_bytes().startswith(b"%PDF-")
    assert audit_exports() == before + 5
    entry = AuditEntry.objects.filter(action="export").latest("pk")
    assert entry.object_type == "ledger.profit-and-loss" and entry.extra["query"] == "cli"


def test_report_command_errors(trade: Any, tmp_path: Path) -> None:
    before = audit_exports()
    with pytest.raises(CommandError, match="Unknown company"):
        call_command("ledger", "report", "pnl", "--company", "NOPE", "--format", "csv")
    with pytest.raises(CommandError, match="--output"):
        call_command("ledger", "report", "pnl", "--company", "ACME", "--format", "pdf")
    with pytest.raises(CommandError, match="date_from"):
        call_command(
            "ledger", "report", "pnl", "--company", "ACME", "--from", "2026-02-30",
            "--format", "csv",
        )  # fmt: skip
    with pytest.raises(CommandError, match="end date"):
        call_command(
            "ledger", "report", "pnl", "--company", "ACME", "--from", "2026-03-01",
            "--to", "2026-02-01", "--format", "csv",
        )  # fmt: skip
    with pytest.raises(CommandError):
        call_command("ledger", "report", "cash-flow", "--company", "ACME", "--format", "csv")
    assert not (tmp_path / "x.pdf").exists()
    assert audit_exports() == before
