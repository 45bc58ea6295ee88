"""Reconciliation: proposals, accepting them (invoices paid, entries posted, ledger lines
matched), splits, write-offs, rules, automatic reconciliation, undo by reversal, the screen,
the API and the exception queue."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from trastienda.banking import reconciliation as rec
from trastienda.banking.models import (
    BankAccount,
    ReconciledItem,
    Reconciliation,
    ReconciliationRule,
    Statement,
    StatementLine,
)
from trastienda.banking.services import bank_account_create
from trastienda.billing import services as billing
from trastienda.billing.models import Invoice, Payment
from trastienda.billing.tests.test_invoices import acc, sale, setup  # noqa: F401
from trastienda.ledger.models import JournalEntry, JournalEntryLine
from trastienda.matching.models import MatchException

D = Decimal
_seq = itertools.count(1)


@pytest.fixture
def bank(setup: Any) -> BankAccount:  # noqa: F811
    return bank_account_create(company=setup.company, name="Main", iban="ES9121000418450200051332")


def add_line(
    bank: BankAccount,
    amount: str,
    description: str = "",
    *,
    date: dt.date = dt.date(2026, 3, 20),
    iban: str = "",
    reference: str = "",
    name: str = "",
) -> StatementLine:
    n = next(_seq)
    statement = Statement.objects.create(
        company=bank.company,
        bank_account=bank,
        format="csv",
        file_hash=f"{n:064d}",
        start_date=date,
        end_date=date,
    )
    minor = int(D(amount) * 100)
    return StatementLine.objects.create(
        company=bank.company,
        statement=statement,
        bank_account=bank,
        sequence=1,
        booking_date=date,
        amount=minor,
        open_amount=minor,
        currency="EUR",
        description=description,
        reference=reference,
        counterparty_iban=iban,
        counterparty_name=name,
        fingerprint=f"{n:064x}",
    )


def issued(setup: Any, amount: str = "100.00", **kw: Any) -> Invoice:  # noqa: F811
    lines = [{"description": "Servicio", "quantity": D("1"), "unit_price": D(amount)}]
    return billing.invoice_issue(instance=sale(setup, lines=lines, **kw))


def bill(setup: Any, amount: str, ref: str) -> Invoice:  # noqa: F811
    draft = billing.invoice_create_draft(
        company=setup.company,
        direction="purchase",
        partner=setup.supplier,
        date=dt.date(2026, 3, 1),
        supplier_reference=ref,
        lines=[{"description": "Compra", "quantity": D("1"), "unit_price": D(amount)}],
    )
    return billing.invoice_issue(instance=draft)


def balanced() -> bool:
    for entry in JournalEntry.objects.filter(state="posted"):
        lines = JournalEntryLine.objects.filter(entry=entry)
        if sum(x.debit for x in lines) != sum(x.credit for x in lines):
            return False
    return True


def test_reference_in_text_is_the_best_proposal_and_pays_the_invoice(
    setup: Any,  # noqa: F811
    bank: BankAccount,
) -> None:
    invoice = issued(setup)
    other = issued(setup)  # same amount: a distractor
    line = add_line(bank, "100.00", f"TRANSFER CLIENTE UNO FRA {invoice.number}")
    found = rec.suggestions(line)
    assert found[0].targets[0].pk == invoice.pk and found[0].score >= 90
    assert any("Reference" in reason or invoice.number in reason for reason in found[0].reasons)
    made = rec.reconcile_invoices(line=line, allocations=[{"invoice": invoice.pk}])
    line.refresh_from_db()
    invoice.refresh_from_db()
    other.refresh_from_db()
    assert line.open_amount == 0 and line.state == "reconciled"
    assert invoice.open_amount == 0 and invoice.payment_state == "paid"
    assert other.open_amount == 10000
    payment = made[0].payment
    assert payment is not None and payment.date == line.booking_date
    assert payment.bank_account_id == bank.account_id
    # The payment's bank line is recorded as reconciled: it is not an open ledger item.
    assert ReconciledItem.objects.filter(reconciliation=made[0], active=True).count() == 1
    _items, targets = rec.open_targets(bank)
    assert not [t for t in targets.values() if t.kind == "ledger"]
    assert balanced()


def test_partial_payment_then_the_rest(setup: Any, bank: BankAccount) -> None:  # noqa: F811
    invoice = issued(setup, "100.00")
    first = add_line(bank, "40.00", f"{invoice.number} 1/2")
    second = add_line(bank, "60.00", f"{invoice.number} 2/2", date=dt.date(2026, 4, 20))
    rec.reconcile_invoices(line=first, allocations=[{"invoice": invoice.pk, "amount": "40.00"}])
    invoice.refresh_from_db()
    assert invoice.open_amount == 6000 and invoice.payment_state == "partly_paid"
    rec.reconcile_invoices(line=second, allocations=[{"invoice": invoice.pk}])
    invoice.refresh_from_db()
    assert invoice.open_amount == 0


def test_split_line_over_two_invoices_and_an_entry(
    setup: Any,  # noqa: F811
    bank: BankAccount,
) -> None:
    one, two = issued(setup, "100.00"), issued(setup, "50.00")
    line = add_line(bank, "147.00", "BATCH PAYMENT")
    with pytest.raises(ValidationError):  # the invoices (150.00) exceed the line (147.00)
        rec.reconcile_invoices(line=line, allocations=[{"invoice": one.pk}, {"invoice": two.pk}])
    line.refresh_from_db()
    assert line.open_amount == 14700 and not Payment.objects.exists()
    rec.reconcile_invoices(
        line=line,
        allocations=[{"invoice": one.pk}, {"invoice": two.pk, "amount": "47.00"}],
    )
    line.refresh_from_db()
    two.refresh_from_db()
    assert line.open_amount == 0 and two.open_amount == 300
    assert Payment.objects.count() == 1


def test_write_off_small_difference(setup: Any, bank: BankAccount) -> None:  # noqa: F811
    invoice = issued(setup, "100.00")
    line = add_line(bank, "99.50", invoice.number or "")
    rec.reconcile_invoices(line=line, allocations=[{"invoice": invoice.pk}], write_off=True)
    invoice.refresh_from_db()
    line.refresh_from_db()
    assert invoice.open_amount == 0 and line.open_amount == 0
    payment = Payment.objects.get()
    assert payment.write_off_amount == 50
    assert balanced()


def test_supplier_bill_paid_by_a_debit(setup: Any, bank: BankAccount) -> None:  # noqa: F811
    bill_ = bill(setup, "250.00", "PRV-778")
    line = add_line(bank, "-250.00", "PAGO FACTURA PRV-778")
    found = rec.suggestions(line)
    assert found and found[0].targets[0].pk == bill_.pk
    rec.reconcile_invoices(line=line, allocations=[{"invoice": bill_.pk}])
    bill_.refresh_from_db()
    assert bill_.open_amount == 0


def test_entry_for_bank_fees_and_undo_reverses_it(setup: Any, bank: BankAccount) -> None:  # noqa: F811
    line = add_line(bank, "-3.50", "COMISION MANTENIMIENTO")
    made = rec.reconcile_entry(line=line, account="6260", description="Bank fees")
    entry = made.entry
    assert entry is not None and entry.state == "posted"
    lines = {x.account.code: (x.debit, x.credit) for x in entry.lines.select_related("account")}
    assert lines == {"6260": (350, 0), bank.account.code: (0, 350)}
    rec.reconciliation_undo(instance=made)
    line.refresh_from_db()
    made.refresh_from_db()
    assert line.open_amount == -350 and line.state == "open" and made.state == "undone"
    assert JournalEntry.objects.filter(reversal_of=entry).exists()
    # Neither the entry nor its reversal is offered as an open ledger item.
    _items, targets = rec.open_targets(bank)
    assert not [t for t in targets.values() if t.kind == "ledger"]
    assert MatchException.objects.filter(object_id=line.pk, state="open").exists()
    with pytest.raises(ValidationError):
        rec.reconciliation_undo(instance=made)


def test_undo_invoices_reverses_the_payment_and_reopens(
    setup: Any,  # noqa: F811
    bank: BankAccount,
) -> None:
    invoice = issued(setup)
    line = add_line(bank, "100.00", invoice.number or "")
    made = rec.reconcile_invoices(line=line, allocations=[{"invoice": invoice.pk}])
    rec.reconciliation_undo(instance=made[0])
    invoice.refresh_from_db()
    line.refresh_from_db()
    assert invoice.open_amount == 10000 and line.open_amount == 10000
    assert Payment.objects.get().state == "reversed"
    assert balanced()


def test_ledger_item_recorded_by_hand_is_matched(setup: Any, bank: BankAccount) -> None:  # noqa: F811
    invoice = issued(setup)
    billing.payment_create(
        company=setup.company,
        direction="sale",
        partner=setup.customer,
        date=dt.date(2026, 3, 18),
        amount=D("100.00"),
        bank_account=bank.account,
        allocations=[{"invoice": invoice}],
        reference="REMESA-55",
    )
    line = add_line(bank, "100.00", "ABONO REMESA-55")
    found = rec.suggestions(line)
    ledger = [s for s in found if s.targets and s.targets[0].kind == "ledger"]
    assert ledger and ledger[0].score >= 60
    made = rec.reconcile_ledger(line=line, entry_lines=[ledger[0].targets[0].pk])
    line.refresh_from_db()
    assert line.open_amount == 0 and made.kind == "ledger"
    with pytest.raises(ValidationError):  # the same ledger line twice
        rec.reconcile_ledger(line=add_line(bank, "100.00"), entry_lines=[ledger[0].targets[0].pk])
    rec.reconciliation_undo(instance=made)
    assert not ReconciledItem.objects.filter(active=True).exists()


def test_auto_reconcile_rules_references_and_queue(
    setup: Any,  # noqa: F811
    bank: BankAccount,
) -> None:
    ReconciliationRule.objects.create(
        company=setup.company,
        name="Bank fees",
        text_contains="comision",
        direction="out",
        account=acc(setup.company, "6260"),
        auto_post=True,
    )
    invoice = issued(setup, "121.00")
    one, two = issued(setup, "30.00"), issued(setup, "20.00")
    fee = add_line(bank, "-2.00", "COMISION TRANSFERENCIA")
    paid = add_line(bank, "121.00", f"PAGO {invoice.number}")
    both = add_line(bank, "50.00", f"PAGO {one.number} {two.number}")
    unknown = add_line(bank, "777.77", "SOMETHING ELSE")
    result = rec.auto_reconcile(company=setup.company)
    assert result.lines == 4 and result.by_rule == 1 and result.applied == 2
    for line in (fee, paid, both):
        line.refresh_from_db()
        assert line.state == "reconciled", line.description
    for inv in (invoice, one, two):
        inv.refresh_from_db()
        assert inv.open_amount == 0
    queue = MatchException.objects.filter(state="open")
    assert [e.object_id for e in queue] == [unknown.pk]
    assert balanced()
    # Running again changes nothing and keeps the queue entry (owner and age kept).
    again = rec.auto_reconcile(company=setup.company)
    assert again.applied == 0 and MatchException.objects.filter(state="open").count() == 1


def test_instalments_paid_by_two_lines(setup: Any, bank: BankAccount) -> None:  # noqa: F811
    invoice = issued(setup, "100.00")
    add_line(bank, "60.00", f"{invoice.number} PLAZO 1", date=dt.date(2026, 3, 20))
    add_line(bank, "40.00", f"{invoice.number} PLAZO 2", date=dt.date(2026, 3, 25))
    result = rec.auto_reconcile(company=setup.company)
    invoice.refresh_from_db()
    assert result.applied == 1, result.failed
    assert invoice.open_amount == 0
    assert Reconciliation.objects.filter(state="active").count() == 2


def test_screen_accept_entry_undo_and_permissions(
    setup: Any,  # noqa: F811
    bank: BankAccount,
    accountant: Any,
    make_user: Any,
    client: Any,
) -> None:
    invoice = issued(setup)
    line = add_line(bank, "100.00", f"TRF {invoice.number}")
    fee = add_line(bank, "-1.20", "FEE", date=dt.date(2026, 3, 21))
    base = f"/c/{setup.company.code}/banking/reconcile/"
    client.force_login(accountant)
    page = client.get(f"{base}?line={line.pk}")
    text = page.content.decode()
    assert page.status_code == 200 and str(invoice.number) in text
    assert 'data-proposal="1"' in text
    searched = client.get(f"{base}?line={line.pk}&q={invoice.number}")
    assert f"invoice:{invoice.pk}" in searched.content.decode()
    accepted = client.post(
        f"{base}{line.pk}/accept/", {"targets": f"invoice:{invoice.pk}", "score": "95"}
    )
    assert accepted.status_code == 302 and f"line={fee.pk}" in accepted["Location"]
    line.refresh_from_db()
    assert line.open_amount == 0
    bad = client.post(f"{base}{fee.pk}/entry/", {"account": "NOPE"})
    assert bad.status_code == 302 and not Reconciliation.objects.filter(line=fee).exists()
    client.post(f"{base}{fee.pk}/entry/", {"account": "6260", "description": "Fee"})
    fee.refresh_from_db()
    assert fee.open_amount == 0
    made = Reconciliation.objects.get(line=fee)
    undo = client.post(f"{base}{fee.pk}/undo/", {"reconciliation": made.pk})
    assert undo.status_code == 302
    fee.refresh_from_db()
    assert fee.open_amount == -120
    clerk = make_user("clerk1", company=setup.company, role="clerk")
    client.force_login(clerk)
    assert client.get(f"{base}?line={fee.pk}").status_code == 200  # clerks read banking
    denied = client.post(f"{base}{fee.pk}/entry/", {"account": "6260"})
    assert denied.status_code == 403
    assert client.get(f"/c/{setup.company.code}/banking/cash/").status_code == 200


def test_api_suggestions_reconcile_undo_and_cash(
    setup: Any,  # noqa: F811
    bank: BankAccount,
    accountant: Any,
    client: Any,
) -> None:
    invoice = issued(setup)
    line = add_line(bank, "100.00", f"TRF {invoice.number}")
    client.force_login(accountant)
    headers = {"HTTP_X_COMPANY": setup.company.code}
    url = "/api/v1/banking/reconciliations/"
    found = client.get(f"{url}suggestions/?line={line.pk}", **headers).json()
    assert found["proposals"][0]["targets"][0]["id"] == invoice.pk
    refused = client.post(
        url,
        {
            "line": line.pk,
            "kind": "invoices",
            "allocations": [{"invoice": invoice.pk, "amount": "500"}],
        },
        content_type="application/json",
        **headers,
    )
    assert refused.status_code == 400 and not Payment.objects.exists()
    made = client.post(
        url,
        {"line": line.pk, "kind": "invoices", "allocations": [{"invoice": invoice.pk}]},
        content_type="application/json",
        **headers,
    )
    assert made.status_code == 201, made.content
    pk = made.json()[0]["id"]
    assert client.post(f"{url}{pk}/undo/", **headers).json()["state"] == "undone"
    cash = client.get("/api/v1/banking/cash/", **headers).json()
    assert len(cash["forecast"]) == 13 and cash["accounts"][0]["iban"] == bank.iban


def test_cash_forecast_weeks(setup: Any, bank: BankAccount) -> None:  # noqa: F811
    from trastienda.banking.cash import cash_forecast

    today = dt.date(2026, 3, 11)  # a Wednesday
    overdue = issued(setup, "10.00", date=dt.date(2026, 1, 5))
    later = issued(setup, "20.00", date=dt.date(2026, 3, 1))
    bill(setup, "5.00", "B-1")
    forecast = cash_forecast(setup.company, today)
    assert forecast.weeks[0].start == dt.date(2026, 3, 9)
    due = {inv.pk: inv.due_date for inv in Invoice.objects.filter(pk__in=[overdue.pk, later.pk])}
    assert due[overdue.pk] < today
    total_in = sum(w.receivables for w in forecast.weeks)
    assert total_in == overdue.payable_amount + later.payable_amount
    assert forecast.weeks[0].receivables >= overdue.payable_amount  # overdue: first week
    assert sum(w.payables for w in forecast.weeks) > 0
    assert forecast.weeks[-1].closing == forecast.opening + sum(
        w.money_in - w.money_out for w in forecast.weeks
    )
