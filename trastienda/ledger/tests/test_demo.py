from __future__ import annotations

from typing import Any

from trastienda.core.demo import demo_run
from trastienda.ledger import services
from trastienda.ledger.models import JournalEntry


def test_demo_books_are_posted_verified_and_idempotent(db: Any) -> None:
    ctx = demo_run(log=lambda _line: None)
    counts = {}
    for code, company in ctx.companies.items():
        entries = JournalEntry.objects.for_company(company)
        counts[code] = (
            entries.filter(state="posted").count(),
            entries.filter(state="draft").count(),
        )
        assert services.ledger_verify(company=company).ok
        assert services.ledger_balances_verify(company=company) == []
    # the ledger's demo entries, billing's (invoices, bills, payments) and banking's
    assert counts == {"ES01": (50, 1), "IT01": (48, 1)}
    demo_run(log=lambda _line: None)
    assert JournalEntry.objects.count() == 100
    es = ctx.companies["ES01"]
    numbers = set(JournalEntry.objects.for_company(es).values_list("number", flat=True))
    assert {"GEN/2026/000001", "PAY/2026/000006", "BNK/2026/000018"} <= numbers
