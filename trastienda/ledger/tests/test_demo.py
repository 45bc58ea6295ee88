from __future__ import annotations

from typing import Any

from trastienda.core.demo import demo_run
from trastienda.ledger import services
from trastienda.ledger.models import JournalEntry


def test_demo_books_are_posted_verified_and_idempotent(db: Any) -> None:
    from trastienda.trading.models import SettlementInstruction

    ctx = demo_run(log=lambda _line: None)
    counts = {}
    settlement = 0
    for code, company in ctx.companies.items():
        # trading's settled instructions post one entry each; how many have settled by today
        # depends on today's date (the demo trades are of the last weeks)
        settled = SettlementInstruction.objects.for_company(company).filter(status="settled")
        assert settled.filter(entry__isnull=True).count() == 0
        settlement += settled.count()
        entries = JournalEntry.objects.for_company(company).exclude(
            pk__in=settled.values("entry_id")
        )
        counts[code] = (
            entries.filter(state="posted").count(),
            entries.filter(state="draft").count(),
        )
        assert services.ledger_verify(company=company).ok
        assert services.ledger_balances_verify(company=company) == []
    # the ledger's demo entries, billing's (invoices, bills, payments) and banking's
    assert counts == {"ES01": (50, 1), "IT01": (48, 1)}
    demo_run(log=lambda _line: None)
    assert JournalEntry.objects.count() == 100 + settlement
    es = ctx.companies["ES01"]
    numbers = set(JournalEntry.objects.for_company(es).values_list("number", flat=True))
    assert {"GEN/2026/000001", "PAY/2026/000006", "BNK/2026/000018"} <= numbers
