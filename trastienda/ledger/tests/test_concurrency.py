"""Eight posters in one journal at once: consecutive numbers, no gaps, no duplicates."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from trastienda.core import services as core_services
from trastienda.ledger import services
from trastienda.ledger.models import Currency, Journal, JournalEntry, JournalSequence

WORKERS, PER_WORKER = 8, 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's row locks")
def test_parallel_posting_numbers_without_gaps() -> None:
    company = core_services.company_create(
        code="CONC", legal_name="Concurrente S.L.", country="ES", tax_id="B12345674"
    )
    services.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    journal = Journal.objects.get(company=company, code="GEN")
    drafts = [
        services.entry_create_draft(
            company=company,
            journal=journal,
            date=dt.date(2026, 1 + i % 12, 10),
            lines=[
                {"account": "5720", "debit": f"{i + 1}.00"},
                {"account": "1000", "credit": f"{i + 1}.00"},
            ],
        )
        for i in range(WORKERS * PER_WORKER)
    ]
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def work(chunk: list[JournalEntry]) -> None:
        try:
            barrier.wait()
            for entry in chunk:
                services.entry_post(instance=entry)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(drafts[i::WORKERS],)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    posted = JournalEntry.objects.for_company(company).filter(state="posted")
    numbers = sorted(posted.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, WORKERS * PER_WORKER + 1))
    assert sorted(posted.values_list("chain_seq", flat=True)) == numbers
    assert JournalSequence.objects.get(journal=journal).last_number == WORKERS * PER_WORKER
    assert services.ledger_verify(company=company).ok
    assert services.ledger_balances_verify(company=company) == []
    assert Currency.objects.filter(code="EUR").exists()
