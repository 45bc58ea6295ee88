"""Daily balances: kept by every posting path, read for the edge days of a range, verified."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any

from django.db import connection

from trastienda.ledger import bulk, queries, services
from trastienda.ledger.models import Account, DayBalance, JournalEntry
from trastienda.ledger.tests.conftest import BANK, CAPITAL, FEES, SALES

Posted = Callable[..., JournalEntry]


def days(company: Any) -> dict[tuple[str, dt.date], tuple[int, int, int]]:
    return {
        (b.account.code, b.date): (b.debit, b.credit, b.lines)
        for b in DayBalance.objects.for_company(company).select_related("account")
    }


def test_posting_reversal_and_bulk_add_to_the_day(
    books: Any, posted: Posted, draft: Callable[..., JournalEntry], journal: Any
) -> None:
    posted("100.00", BANK, CAPITAL, date=dt.date(2026, 3, 10))
    entry = posted("25.50", FEES, BANK, date=dt.date(2026, 3, 10))
    draft("999.00", BANK, SALES, date=dt.date(2026, 3, 10))  # a draft adds nothing
    services.entry_reverse(instance=entry, date=dt.date(2026, 3, 11))
    bulk.entries_post_bulk(
        company=books,
        entries=[
            {
                "journal": journal,
                "date": dt.date(2026, 3, 11),
                "lines": [
                    {"account": BANK, "debit": "7.00"},
                    {"account": SALES, "credit": "7.00"},
                ],
            }
        ],
    )
    assert days(books) == {
        (BANK, dt.date(2026, 3, 10)): (10000, 2550, 2),
        (CAPITAL, dt.date(2026, 3, 10)): (0, 10000, 1),
        (FEES, dt.date(2026, 3, 10)): (2550, 0, 1),
        (BANK, dt.date(2026, 3, 11)): (2550 + 700, 0, 2),
        (FEES, dt.date(2026, 3, 11)): (0, 2550, 1),
        (SALES, dt.date(2026, 3, 11)): (0, 700, 1),
    }
    assert services.ledger_balances_verify(company=books) == []


def test_edge_days_come_from_the_daily_balances(books: Any, posted: Posted) -> None:
    """A range from the 10th to the 20th of another month reads the whole months from the
    monthly balances and the edge days from the daily ones, not from the lines."""
    posted("100.00", BANK, CAPITAL, date=dt.date(2026, 1, 9))
    posted("30.00", BANK, SALES, date=dt.date(2026, 1, 10))
    posted("20.00", BANK, SALES, date=dt.date(2026, 2, 14))
    posted("5.00", FEES, BANK, date=dt.date(2026, 3, 20))
    posted("1.00", FEES, BANK, date=dt.date(2026, 3, 21))
    bank = Account.objects.get(company=books, code=BANK)
    start, end = dt.date(2026, 1, 10), dt.date(2026, 3, 20)
    assert queries.movement_sums(books, start, end)[bank.pk] == (5000, 500)
    assert queries.account_line_count(books, bank, start, end) == 3
    # the reports read the daily rows: changing one shows (ledger_balances_verify names it)
    DayBalance.objects.filter(account=bank, date=dt.date(2026, 3, 20)).update(credit=501)
    assert queries.movement_sums(books, start, end)[bank.pk] == (5000, 501)
    ((key, stored, computed),) = services.ledger_balances_verify(company=books)
    assert key == (bank.pk, "day", dt.date(2026, 3, 20))
    assert (stored, computed) == ((0, 501, 1), (0, 500, 1))


def test_migration_fills_the_days_of_books_posted_before(books: Any, posted: Posted) -> None:
    posted("100.00", BANK, CAPITAL, date=dt.date(2026, 1, 9))
    posted("30.00", BANK, SALES, date=dt.date(2026, 1, 9))
    posted("5.00", FEES, BANK, date=dt.date(2026, 6, 30))
    before = days(books)
    DayBalance.objects.all().delete()
    migration = importlib.import_module("trastienda.ledger.migrations.0009_day_balances")
    with connection.cursor() as cursor:
        cursor.execute(migration.FILL)
    assert days(books) == before
    assert services.ledger_balances_verify(company=books) == []
