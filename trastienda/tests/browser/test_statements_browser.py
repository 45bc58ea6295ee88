"""The profit and loss and balance sheet pages in a real browser: the monthly chart draws
under the strict CSP, a line expands to its accounts, an account figure opens its ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import expect

from trastienda.conftest import PASSWORD
from trastienda.ledger import services
from trastienda.ledger.models import Journal, JournalEntry, JournalEntryLine
from trastienda.ledger.triggers import lifted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def books(acme: Any) -> Iterator[Any]:
    """ACME's 2026: capital, a sale, a purchase and a bank fee, posted. The posted entries are
    deleted afterwards with the immutability triggers lifted (flush cannot on SQLite)."""
    services.fiscal_year_create(
        company=acme, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    journal = Journal.objects.get(company=acme, code="GEN")
    for day, debit, credit, amount in (
        (dt.date(2026, 1, 2), "5720", "1000", "60000.00"),
        (dt.date(2026, 3, 12), "5720", "7000", "20000.00"),
        (dt.date(2026, 4, 5), "6000", "5720", "8000.00"),
        (dt.date(2026, 4, 28), "6260", "5720", "15.00"),
    ):
        entry = services.entry_create_draft(
            company=acme,
            journal=journal,
            date=day,
            lines=[{"account": debit, "debit": amount}, {"account": credit, "credit": amount}],
        )
        services.entry_post(instance=entry)
    yield acme
    with lifted(connection):
        JournalEntryLine.objects.filter(company=acme).delete()
        JournalEntry.objects.filter(company=acme).delete()


def test_statement_pages(page: Any, marta: Any, books: Any, sign_in: Any, shoot: Any) -> None:
    sign_in("marta", PASSWORD)
    page.goto("/c/ACME/ledger/reports/profit-and-loss/?date_from=2026-01-01&date_to=2026-12-31")
    expect(page.locator("h1")).to_contain_text("Profit and loss")
    expect(page.locator("canvas[data-chart='pnl-monthly-chart']")).to_have_attribute(
        "data-drawn", "1"
    )
    accounts = page.locator("tr.line-0-accounts, tr.statement-accounts", has_text="7000")
    expect(accounts).to_be_hidden()
    page.get_by_role("button", name="1. Revenue").click()
    expect(accounts).to_be_visible()
    result = page.locator("#statement tr", has_text="D) PROFIT (LOSS) FOR THE YEAR")
    expect(result).to_contain_text("11,985.00")
    shoot(page, "profit-and-loss")
    accounts.get_by_role("link", name="20,000.00").click()
    page.wait_for_url("**/ledger/reports/general-ledger/?account=7000*")
    expect(page.locator("h1")).to_contain_text("7000")

    page.goto("/c/ACME/ledger/reports/balance-sheet/?as_of=2026-12-31&compare=1")
    expect(page.locator("#statement-unbalanced")).to_have_count(0)
    total = page.locator("#statement tr", has_text="TOTAL ASSETS (A + B)")
    expect(total).to_contain_text("71,985.00")
    page.get_by_role("button", name="Show or hide every account").click()
    expect(page.locator("tr.statement-accounts", has_text="5720")).to_be_visible()
    shoot(page, "balance-sheet")
