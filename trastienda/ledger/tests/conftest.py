"""Fixtures of the ledger tests: a Spanish company with its 2026 fiscal year."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from trastienda.ledger import services
from trastienda.ledger.models import FiscalYear, Journal, JournalEntry

CASH, BANK, CAPITAL, SALES, CUSTOMERS, FEES = "5700", "5720", "1000", "7000", "4300", "6260"


@pytest.fixture
def books(company: Any) -> Any:
    """ACME (ES, PGC PYMES chart, default journals) with the open fiscal year 2026."""
    services.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    return company


@pytest.fixture
def year(books: Any) -> FiscalYear:
    return FiscalYear.objects.get(company=books, name="2026")


@pytest.fixture
def journal(books: Any) -> Journal:
    return Journal.objects.get(company=books, code="GEN")


@pytest.fixture
def draft(books: Any, journal: Journal) -> Callable[..., JournalEntry]:
    def make(
        amount: str = "100.00",
        debit: str = BANK,
        credit: str = CAPITAL,
        date: dt.date = dt.date(2026, 3, 10),
        **kw: Any,
    ) -> JournalEntry:
        lines = kw.pop(
            "lines",
            [{"account": debit, "debit": amount}, {"account": credit, "credit": amount}],
        )
        return services.entry_create_draft(
            company=books, journal=kw.pop("journal", journal), date=date, lines=lines, **kw
        )

    return make


@pytest.fixture
def posted(draft: Callable[..., JournalEntry]) -> Callable[..., JournalEntry]:
    def make(*args: Any, **kw: Any) -> JournalEntry:
        return services.entry_post(instance=draft(*args, **kw))

    return make
