"""Posted lines carry their entry's date and chain position; monthly balances count lines.

The general ledger and the edge days of the reports read them (``queries.posted_lines``);
migration 0006 fills them for books posted before they existed.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import connection

from trastienda.ledger import queries, services
from trastienda.ledger.models import Account, AccountBalance, JournalEntry, JournalEntryLine
from trastienda.ledger.tests.conftest import BANK, CAPITAL, SALES
from trastienda.ledger.triggers import installed, lifted

migration = importlib.import_module("trastienda.ledger.migrations.0006_line_date_chain")


def _copies(entry: JournalEntry) -> set[tuple[Any, Any]]:
    return set(JournalEntryLine.objects.filter(entry=entry).values_list("date", "chain_seq"))


def test_posting_copies_date_and_position(
    draft: Callable[..., JournalEntry], posted: Callable[..., JournalEntry]
) -> None:
    entry = draft(date=dt.date(2026, 4, 30))
    assert _copies(entry) == {(None, None)}  # a draft is in no report
    services.entry_update_draft(instance=entry, date=dt.date(2026, 5, 2))
    entry = services.entry_post(instance=JournalEntry.objects.get(pk=entry.pk))
    assert _copies(entry) == {(dt.date(2026, 5, 2), entry.chain_seq)}
    reversal = services.entry_reverse(instance=entry, date=dt.date(2026, 5, 3))
    assert _copies(reversal) == {(dt.date(2026, 5, 3), reversal.chain_seq)}


def test_bulk_posting_copies_date_and_position(books: Any, journal: Any) -> None:
    from trastienda.ledger.bulk import entries_post_bulk

    entries_post_bulk(
        company=books,
        entries=[
            {
                "journal": journal,
                "date": dt.date(2026, 2, day),
                "external_id": f"b-{day}",
                "lines": [{"account": BANK, "debit": "5"}, {"account": SALES, "credit": "5"}],
            }
            for day in (3, 1, 2)
        ],
    )
    for entry in JournalEntry.objects.filter(company=books):
        assert _copies(entry) == {(entry.date, entry.chain_seq)}
    assert services.ledger_verify(company=books).ok
    assert services.ledger_balances_verify(company=books) == []
    bank = AccountBalance.objects.get(company=books, account__code=BANK, month=2)
    assert bank.lines == 3


def test_line_counts_and_ledger_pages(books: Any, posted: Callable[..., JournalEntry]) -> None:
    days = [dt.date(2026, 1, 31), dt.date(2026, 2, 1), dt.date(2026, 2, 15), dt.date(2026, 3, 1)]
    for day in days:
        posted(date=day)
        posted(date=day, amount="1.00", debit=CAPITAL, credit=BANK)
    bank = Account.objects.get(company=books, code=BANK)
    counts = dict(
        AccountBalance.objects.filter(account=bank).values_list("month", "lines").order_by()
    )
    assert counts == {1: 2, 2: 4, 3: 2}
    for first, last, expected in (
        (dt.date(2026, 1, 1), dt.date(2026, 12, 31), 8),
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28), 6),
        (dt.date(2026, 2, 2), dt.date(2026, 2, 28), 2),
        (dt.date(2026, 2, 1), dt.date(2026, 3, 1), 6),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 30), 0),
    ):
        assert queries.account_line_count(books, bank, first, last) == expected, (first, last)
    opening, page = queries.general_ledger(
        books, bank, dt.date(2026, 2, 1), dt.date(2026, 12, 31), offset=2, limit=2
    )
    assert opening == 10000 - 100 + 10000 - 100  # January, then the first two lines of February
    assert [item.line.date for item in page] == [dt.date(2026, 2, 15)] * 2
    capital = Account.objects.get(company=books, code=CAPITAL)
    assert queries.pick_account(books, "", dt.date(2026, 3, 1), dt.date(2026, 3, 1)) == capital


def test_migration_fills_books_posted_before(
    books: Any, posted: Callable[..., JournalEntry], draft: Callable[..., JournalEntry]
) -> None:
    entries = [posted(date=dt.date(2026, 3, d)) for d in (1, 2)]
    free = draft()
    triggers = installed(connection)
    with lifted(connection), connection.cursor() as cursor:  # the books as 0005 left them
        cursor.execute("UPDATE ledger_journalentryline SET date = NULL, chain_seq = NULL")
    AccountBalance.objects.update(lines=0)
    assert not services.ledger_verify(company=books).ok

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection  # type: ignore[attr-defined]
    migration.fill_lines(apps, editor)
    migration.count_lines(apps, editor)
    for entry in entries:
        assert _copies(entry) == {(entry.date, entry.chain_seq)}
    assert _copies(free) == {(None, None)}
    assert services.ledger_verify(company=books).ok
    assert services.ledger_balances_verify(company=books) == []
    assert installed(connection) == triggers  # put back as they were
