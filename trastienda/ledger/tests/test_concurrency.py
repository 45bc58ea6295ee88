"""Several OS processes posting to one journal at once: gap-free numbers, one valid chain.

The processes are started by :func:`trastienda.core.testing.run_in_processes` (its docstring
says how they share the test database on SQLite and PostgreSQL). Posting locks the company's
chain head row, then the journal's sequence row, so they queue.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

WORKERS, PER_WORKER = 4, 10


def post_drafts(ids: list[int]) -> list[int]:
    """Run in each process: post the drafts ``ids``; their sequence numbers."""
    from trastienda.ledger import services
    from trastienda.ledger.models import JournalEntry

    drafts = list(JournalEntry.objects.filter(pk__in=ids).select_related("company", "journal"))
    return [services.entry_post(instance=entry).sequence_number or 0 for entry in drafts]


@pytest.mark.django_db(transaction=True)
def test_processes_post_to_one_journal_without_gaps(tmp_path: Path) -> None:
    from django.db import connection

    from trastienda.core import services as core_services
    from trastienda.core.testing import run_in_processes
    from trastienda.ledger import queries, services
    from trastienda.ledger.models import (
        Journal,
        JournalEntry,
        JournalEntryLine,
        JournalSequence,
    )
    from trastienda.ledger.triggers import lifted

    company = core_services.company_create(
        code="CONC", legal_name="Concurrente S.L.", country="ES", tax_id="B12345674"
    )
    services.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    journal = Journal.objects.get(company=company, code="GEN")
    total = WORKERS * PER_WORKER
    drafts = [
        services.entry_create_draft(
            company=company,
            journal=journal,
            date=dt.date(2026, 1 + i % 12, 10),
            lines=[
                {"account": "5720" if i % 2 else "5700", "debit": f"{i + 1}.00"},
                {"account": "1000", "credit": f"{i + 1}.00"},
            ],
        )
        for i in range(total)
    ]
    try:
        reports = run_in_processes(
            f"{__name__}:post_drafts",
            [[d.pk for d in drafts[n::WORKERS]] for n in range(WORKERS)],
            tmp_path,
        )
        assert sorted(len(numbers) for numbers in reports) == [PER_WORKER] * WORKERS
        posted = JournalEntry.objects.for_company(company).filter(state="posted")
        numbers = sorted(posted.values_list("sequence_number", flat=True))
        assert numbers == list(range(1, total + 1))  # consecutive: no gap, no duplicate
        assert sorted(n for ns in reports for n in ns) == numbers
        assert sorted(posted.values_list("chain_seq", flat=True)) == numbers
        assert len(set(posted.values_list("number", flat=True))) == total
        assert JournalSequence.objects.get(journal=journal).last_number == total
        result = services.ledger_verify(company=company)
        assert (result.ok, result.checked) == (True, total)
        assert services.ledger_balances_verify(company=company) == []
        report = queries.trial_balance(company, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
        expected = sum(range(1, total + 1)) * 100
        assert (report.debit, report.credit, report.closing) == (expected, expected, 0)
    finally:
        if connection.vendor == "sqlite":
            # flush (after a transaction=True test) deletes row by row on SQLite, which the
            # immutability triggers refuse for posted entries: remove them with the triggers off.
            with lifted(connection):
                JournalEntryLine.objects.filter(company=company).delete()
                JournalEntry.objects.filter(company=company).delete()
