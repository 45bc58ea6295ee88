"""Eight OS processes issuing invoices in one series at once: consecutive numbers, no gap,
no duplicate, dates never going backwards, balanced books (issue 4, section 4).

The processes are started by :func:`trastienda.core.testing.run_in_processes` (its docstring
says how they share the test database on SQLite and PostgreSQL). Issuing locks the series'
sequence row first, then the ledger's chain head and journal sequence, so they queue.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

WORKERS, PER_WORKER = 8, 5


def issue_drafts(ids: list[int]) -> list[int]:
    """Run in each process: issue the drafts ``ids``; their sequence numbers."""
    from trastienda.billing import services
    from trastienda.billing.models import Invoice

    drafts = list(Invoice.objects.filter(pk__in=ids).select_related("company", "partner"))
    return [services.invoice_issue(instance=draft).sequence_number or 0 for draft in drafts]


@pytest.mark.django_db(transaction=True)
def test_processes_issue_in_one_series_without_gaps(tmp_path: Path) -> None:
    from django.db import connection

    from trastienda.billing import services
    from trastienda.billing.models import Installment, Invoice, InvoiceSeries, Partner, Tax
    from trastienda.core import services as core_services
    from trastienda.core.testing import run_in_processes
    from trastienda.ledger import queries
    from trastienda.ledger import services as ledger
    from trastienda.ledger.models import Account, JournalEntry, JournalEntryLine
    from trastienda.ledger.triggers import lifted

    company = core_services.company_create(
        code="CONCB", legal_name="Facturas Concurrentes S.L.", country="ES", tax_id="B12345674"
    )
    ledger.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    accounts = {a.code: a for a in Account.objects.filter(company=company)}
    vat = Tax.objects.create(
        company=company,
        code="C21",
        name_en="VAT 21%",
        kind="vat",
        scope="sale",
        rate=Decimal(21),
        sale_account=accounts["4770"],
    )
    settings = services.billing_settings(company)
    settings.customer_account = accounts["4300"]
    settings.income_account = accounts["7000"]
    settings.save()
    customer = Partner.objects.create(
        company=company, code="C1", legal_name="Cliente S.L.", tax_id="B12345674"
    )
    from trastienda.ledger.models import Journal

    series = InvoiceSeries.objects.create(
        company=company,
        code="CC",
        name="Concurrent",
        kind="invoice",
        journal=Journal.objects.get(company=company, code="SAL"),
    )
    total = WORKERS * PER_WORKER
    drafts = [
        services.invoice_create_draft(
            company=company,
            direction="sale",
            partner=customer,
            date=dt.date(2026, 6, 1),
            series=series,
            lines=[
                {
                    "description": f"Item {i}",
                    "quantity": Decimal(1),
                    "unit_price": Decimal(i + 1),
                    "taxes": [vat],
                },
            ],
        )
        for i in range(total)
    ]
    try:
        reports = run_in_processes(
            f"{__name__}:issue_drafts",
            [[d.pk for d in drafts[n::WORKERS]] for n in range(WORKERS)],
            tmp_path,
        )
        assert sorted(len(numbers) for numbers in reports) == [PER_WORKER] * WORKERS
        issued = Invoice.objects.filter(company=company, state="issued")
        numbers = sorted(issued.values_list("sequence_number", flat=True))
        assert numbers == list(range(1, total + 1))  # consecutive: no gap, no duplicate
        assert sorted(n for ns in reports for n in ns) == numbers
        assert len(set(issued.values_list("number", flat=True))) == total
        assert issued.filter(entry__state="posted").count() == total
        assert Installment.objects.filter(invoice__company=company).count() == total
        assert ledger.ledger_verify(company=company).ok
        assert ledger.ledger_balances_verify(company=company) == []
        report = queries.trial_balance(company, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
        gross = sum(round(Decimal(i + 1) * Decimal("121")) for i in range(total))
        assert report.debit == report.credit == gross
    finally:
        if connection.vendor == "sqlite":
            with lifted(connection):
                Installment.objects.filter(company=company).delete()
                Invoice.objects.filter(company=company).delete()
                JournalEntryLine.objects.filter(company=company).delete()
                JournalEntry.objects.filter(company=company).delete()
