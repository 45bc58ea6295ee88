"""The reconciliation screen driven by the keyboard: "1" accepts the best proposal (the invoice
named in the transfer) and the screen moves to the next line; "e" opens the entry form for a
bank fee; "u" undoes it; then the cash position page with its charts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import expect

from trastienda.banking.models import (
    BankAccount,
    ReconciledItem,
    Reconciliation,
    Statement,
    StatementLine,
)
from trastienda.banking.services import bank_account_create
from trastienda.billing import services
from trastienda.billing.models import Installment, Invoice, Partner, Payment, PaymentAllocation
from trastienda.conftest import PASSWORD
from trastienda.ledger import services as ledger
from trastienda.ledger.models import JournalEntry, JournalEntryLine
from trastienda.ledger.triggers import lifted
from trastienda.matching.models import MatchException

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _line(bank: BankAccount, n: int, amount: int, text: str, day: dt.date) -> StatementLine:
    statement = Statement.objects.create(
        company=bank.company, bank_account=bank, format="camt.053", file_hash=f"{n:064d}",
        start_date=day, end_date=day,
    )  # fmt: skip
    return StatementLine.objects.create(
        company=bank.company, statement=statement, bank_account=bank, sequence=1,
        booking_date=day, amount=amount, open_amount=amount, currency="EUR",
        description=text, fingerprint=f"{n:064x}",
    )  # fmt: skip


@pytest.fixture
def books(acme: Any) -> Iterator[tuple[Invoice, StatementLine, StatementLine]]:
    ledger.fiscal_year_create(
        company=acme, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    customer = Partner.objects.create(
        company=acme, code="LUNA", legal_name="Librería Luna S.L.", tax_id="B12345674",
    )  # fmt: skip
    draft = services.invoice_create_draft(
        company=acme, direction="sale", partner=customer, date=dt.date(2026, 3, 10),
        lines=[{"description": "Libros", "unit_price": Decimal("250")}],
    )  # fmt: skip
    invoice = services.invoice_issue(instance=draft)
    bank = bank_account_create(company=acme, name="Main", iban="ES9121000418450200051332")
    paid = _line(bank, 1, invoice.open_amount, f"PAGO {invoice.number}", dt.date(2026, 3, 20))
    fee = _line(bank, 2, -350, "COMISION MANTENIMIENTO", dt.date(2026, 3, 21))
    yield invoice, paid, fee
    with lifted(connection):
        MatchException.objects.all().delete()
        ReconciledItem.objects.all().delete()
        Reconciliation.objects.all().delete()
        StatementLine.objects.all().delete()
        Statement.objects.all().delete()
        BankAccount.objects.all().delete()
        PaymentAllocation.objects.all().delete()
        Payment.objects.all().delete()
        Installment.objects.filter(company=acme).delete()
        Invoice.objects.filter(company=acme).delete()
        JournalEntryLine.objects.filter(company=acme).delete()
        JournalEntry.objects.filter(company=acme, reversal_of__isnull=False).delete()
        JournalEntry.objects.filter(company=acme).delete()


def test_reconcile_with_the_keyboard(
    page: Any, marta: Any, acme: Any, books: Any, sign_in: Any, shoot: Any
) -> None:
    invoice, paid, fee = books
    sign_in("marta", PASSWORD)
    page.goto("/c/ACME/banking/reconcile/")
    expect(page.locator("#current-line")).to_have_attribute("data-line", str(paid.pk))
    expect(page.locator("#proposals")).to_contain_text(str(invoice.number))
    shoot(page, "banking-reconcile")
    page.keyboard.press("1")  # accept the best proposal
    expect(page.locator("#current-line")).to_have_attribute("data-line", str(fee.pk))
    expect(page.locator(".alert-success")).to_be_visible()
    invoice.refresh_from_db()
    assert invoice.open_amount == 0

    page.keyboard.press("e")
    expect(page.locator("#entry-account")).to_be_focused()
    page.keyboard.type("6260")
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    fee.refresh_from_db()
    assert fee.open_amount == 0

    page.goto(f"/c/ACME/banking/reconcile/?line={fee.pk}")
    expect(page.locator("#history")).to_contain_text("New entry")
    page.keyboard.press("u")
    expect(page.locator("#history .text-decoration-line-through")).to_have_count(1)
    fee.refresh_from_db()
    assert fee.open_amount == -350

    page.goto("/c/ACME/banking/cash/")
    expect(page.locator("h1")).to_have_text(re.compile("Cash position"))
    expect(page.locator("#forecast tbody tr")).to_have_count(13)
    shoot(page, "banking-cash")
