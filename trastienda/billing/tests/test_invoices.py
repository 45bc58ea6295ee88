"""Invoices and bills: drafts, EN 16931 totals, issuing with gap-free numbers and the journal
entry, credit notes, approval of bills, payments with credit and write-off, reversal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from trastienda.billing import calc, services
from trastienda.billing.models import (
    BillingSettings,
    Installment,
    Invoice,
    InvoiceSeries,
    Partner,
    Payment,
    Tax,
)
from trastienda.ledger import services as ledger
from trastienda.ledger.models import Account, JournalEntry, JournalEntryLine

D = Decimal


def acc(company: Any, code: str) -> Account:
    return Account.objects.get(company=company, code=code)


@pytest.fixture
def setup(company: Any) -> Any:
    """ACME (ES) with 2026 open, its own small set of taxes, series and partners."""
    ledger.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    taxes = {
        "T21": Tax.objects.create(
            company=company,
            code="T21",
            name_en="VAT 21%",
            kind="vat",
            scope="both",
            rate=D("21"),
            sale_account=acc(company, "4770"),
            purchase_account=acc(company, "4720"),
        ),
        "T10": Tax.objects.create(
            company=company,
            code="T10",
            name_en="VAT 10%",
            kind="vat",
            scope="both",
            rate=D("10"),
            sale_account=acc(company, "4770"),
            purchase_account=acc(company, "4720"),
        ),
        "IRPF15": Tax.objects.create(
            company=company,
            code="IRPF15",
            name_en="IRPF 15%",
            kind="withholding",
            scope="both",
            rate=D("15"),
            sale_account=acc(company, "4730"),
            purchase_account=acc(company, "4751"),
        ),
        "RC21": Tax.objects.create(
            company=company,
            code="RC21",
            name_en="Reverse charge 21%",
            kind="vat",
            scope="purchase",
            rate=D("21"),
            reverse_charge=True,
            category="AE",
            purchase_account=acc(company, "4720"),
            reverse_charge_account=acc(company, "4770"),
        ),
        "T21I": Tax.objects.create(
            company=company,
            code="T21I",
            name_en="VAT 21% included",
            kind="vat",
            scope="sale",
            rate=D("21"),
            price_included=True,
            sale_account=acc(company, "4770"),
        ),
    }
    journal = company_journal(company, "SAL")
    series = {
        "F": InvoiceSeries.objects.get_or_create(
            company=company,
            code="FX",
            defaults={"name": "Invoices", "journal": journal, "kind": "invoice"},
        )[0],
        "R": InvoiceSeries.objects.get_or_create(
            company=company,
            code="RX",
            defaults={"name": "Credit notes", "journal": journal, "kind": "credit_note"},
        )[0],
    }
    InvoiceSeries.objects.for_company(company).exclude(code__in=["FX", "RX"]).update(active=False)
    settings = services.billing_settings(company)
    settings.customer_account = acc(company, "4300")
    settings.supplier_account = acc(company, "4000")
    settings.income_account = acc(company, "7000")
    settings.expense_account = acc(company, "6000")
    settings.write_off_limit = 100
    settings.write_off_expense_account = acc(company, "678")
    settings.write_off_income_account = acc(company, "778")
    settings.save()
    customer = Partner.objects.create(
        company=company,
        code="C1",
        legal_name="Cliente Uno S.L.",
        tax_id="B12345674",
        is_customer=True,
    )
    supplier = Partner.objects.create(
        company=company,
        code="S1",
        legal_name="Proveedor Uno S.L.",
        tax_id="A58818501",
        is_customer=False,
        is_supplier=True,
    )
    return type(
        "Setup",
        (),
        {
            "company": company,
            "taxes": taxes,
            "series": series,
            "customer": customer,
            "company_journal_bank": company_journal(company, "BNK"),
            "supplier": supplier,
        },
    )


def company_journal(company: Any, code: str) -> Any:
    from trastienda.ledger.models import Journal

    return Journal.objects.get(company=company, code=code)


def sale(setup: Any, lines: list[dict[str, Any]] | None = None, **kw: Any) -> Invoice:
    lines = lines or [
        {
            "description": "Tornillos",
            "quantity": D("3"),
            "unit_price": D("10.0050"),
            "taxes": [setup.taxes["T21"]],
        },
        {
            "description": "Tuercas",
            "quantity": D("1.5"),
            "unit_price": D("4.10"),
            "discount": D("10"),
            "taxes": [setup.taxes["T10"]],
        },
    ]
    return services.invoice_create_draft(
        company=setup.company,
        direction="sale",
        partner=kw.pop("partner", setup.customer),
        date=kw.pop("date", dt.date(2026, 3, 10)),
        lines=lines,
        **kw,
    )


def entry_sums(entry: JournalEntry) -> tuple[int, int]:
    lines = JournalEntryLine.objects.filter(entry=entry)
    return sum(x.debit for x in lines), sum(x.credit for x in lines)


def entry_map(entry: JournalEntry) -> dict[str, tuple[int, int]]:
    return {x.account.code: (x.debit, x.credit) for x in entry.lines.select_related("account")}


# --- arithmetic -------------------------------------------------------------------------------


def test_calc_rounds_per_tax_on_the_sum_of_line_nets() -> None:
    vat = calc.TaxSpec(1, "vat", D("21"))
    lines = [calc.LineInput(D("1"), calc.price_to_units(D("0.05"), "EUR"), taxes=(vat,))] * 3
    totals = calc.compute(lines, "EUR")
    assert totals.line_nets == [5, 5, 5]
    # 0.15 * 21% = 0.0315 -> 0.03 (not 3 x round(0.0105) = 0.03 either way; check the base)
    assert [(r.base, r.amount) for r in totals.taxes] == [(15, 3)]
    assert totals.total == 18


def test_calc_price_included_keeps_the_gross() -> None:
    vat = calc.TaxSpec(1, "vat", D("21"), price_included=True)
    lines = [calc.LineInput(D("1"), calc.price_to_units(D("9.99"), "EUR"), taxes=(vat,))] * 3
    totals = calc.compute(lines, "EUR")
    assert totals.total == 2997
    assert totals.net + totals.tax == 2997
    assert sum(totals.line_nets) == totals.net == 2477  # 29.97 / 1.21 = 24.768...


def test_calc_withholding_and_split_payment() -> None:
    vat = calc.TaxSpec(1, "vat", D("22"), split_payment=True)
    ritenuta = calc.TaxSpec(2, "withholding", D("20"))
    line = calc.LineInput(D("2"), calc.price_to_units(D("500"), "EUR"), taxes=(vat, ritenuta))
    totals = calc.compute([line], "EUR")
    assert (totals.net, totals.tax, totals.withholding) == (100000, 22000, 20000)
    assert totals.total == 122000
    assert totals.payable == 80000  # total - withholding - split-payment VAT


def test_prices_convert_exactly() -> None:
    assert calc.price_to_units(D("10.0050"), "EUR") == 100050
    assert calc.units_to_price(100050, "EUR") == D("10.0050")
    assert calc.price_to_units(D("7"), "JPY") == 700
    with pytest.raises(ValueError):
        calc.price_to_units(D("1.00001"), "EUR")


# --- drafts and issuing -------------------------------------------------------------------


def test_draft_totals_and_no_number(setup: Any) -> None:
    invoice = sale(setup)
    assert invoice.number is None and invoice.state == "draft"
    # 3 x 10.0050 = 30.015 -> 30.02; 1.5 x 4.10 x 0.9 = 5.535 -> 5.54
    assert [x.net_amount for x in invoice.lines.order_by("line_no")] == [3002, 554]
    assert invoice.net_amount == 3556
    assert invoice.tax_amount == 630 + 55  # 21% of 30.02 = 6.3042; 10% of 5.54 = 0.554
    assert invoice.total_amount == 3556 + 685


def test_bad_lines_name_the_line_and_write_nothing(setup: Any) -> None:
    before = Invoice.objects.count()
    with pytest.raises(ValidationError) as info:
        sale(
            setup,
            lines=[
                {"description": "ok", "quantity": D("1"), "unit_price": D("1")},
                {"description": "", "quantity": D("-2"), "unit_price": D("1.123456")},
            ],
        )
    errors = info.value.message_dict
    assert "lines[2].description" in errors
    assert "lines[2].quantity" in errors
    assert "lines[2].unit_price" in errors
    assert "lines[1].quantity" not in errors
    assert Invoice.objects.count() == before


def test_issue_numbers_posts_and_opens(setup: Any) -> None:
    invoice = services.invoice_issue(instance=sale(setup))
    assert invoice.number == "FX2026-00001"
    assert invoice.state == "issued" and invoice.entry is not None
    assert invoice.entry.state == "posted"
    debit, credit = entry_sums(invoice.entry)
    assert debit == credit == invoice.total_amount
    receivable = JournalEntryLine.objects.get(entry=invoice.entry, account__code="4300")
    assert receivable.partner == "C1" and receivable.debit == invoice.total_amount
    assert Installment.objects.get(invoice=invoice).open_amount == invoice.total_amount
    second = services.invoice_issue(instance=sale(setup))
    assert second.number == "FX2026-00002"


def test_issued_invoice_cannot_change_or_be_deleted(setup: Any) -> None:
    invoice = services.invoice_issue(instance=sale(setup))
    with pytest.raises(ValidationError):
        services.invoice_update_draft(instance=invoice, notes="x")
    with pytest.raises(ValidationError):
        services.invoice_delete_draft(instance=invoice)


def test_failed_issue_consumes_no_number_and_deleted_drafts_leave_no_hole(setup: Any) -> None:
    services.invoice_issue(instance=sale(setup, date=dt.date(2026, 3, 10)))
    services.invoice_delete_draft(instance=sale(setup))
    services.invoice_duplicate(instance=sale(setup))
    early = sale(setup, date=dt.date(2026, 3, 1))  # before the last date of the series
    with pytest.raises(ValidationError) as info:
        services.invoice_issue(instance=early)
    assert "date" in info.value.message_dict
    early.refresh_from_db()
    assert early.number is None
    nxt = services.invoice_issue(instance=sale(setup, date=dt.date(2026, 3, 11)))
    assert nxt.number == "FX2026-00002"


def test_partner_without_tax_id_needs_a_simplified_invoice(setup: Any) -> None:
    setup.customer.tax_id = ""
    setup.customer.save()
    with pytest.raises(ValidationError) as info:
        services.invoice_issue(instance=sale(setup))
    assert "partner" in info.value.message_dict


def test_withholding_invoice_entry(setup: Any) -> None:
    invoice = sale(
        setup,
        lines=[
            {
                "description": "Asesoría",
                "quantity": D("1"),
                "unit_price": D("1000"),
                "taxes": [setup.taxes["T21"], setup.taxes["IRPF15"]],
            }
        ],
    )
    assert (invoice.total_amount, invoice.withholding_amount, invoice.payable_amount) == (
        121000,
        15000,
        106000,
    )
    invoice = services.invoice_issue(instance=invoice)
    lines = entry_map(invoice.entry)
    assert lines["4300"] == (106000, 0)
    assert lines["4730"] == (15000, 0)
    assert lines["7000"] == (0, 100000)
    assert lines["4770"] == (0, 21000)


def test_payment_terms_make_installments(setup: Any) -> None:
    from trastienda.billing.models import PaymentTerm

    term = PaymentTerm.objects.create(
        company=setup.company, code="369", name="30/60/90", days="30/60/90"
    )
    invoice = services.invoice_issue(instance=sale(setup, payment_term=term))
    dues = list(Installment.objects.filter(invoice=invoice).values_list("due_date", "amount"))
    assert [d for d, _a in dues] == [dt.date(2026, 4, 9), dt.date(2026, 5, 9), dt.date(2026, 6, 8)]
    assert sum(a for _d, a in dues) == invoice.payable_amount
    receivables = JournalEntryLine.objects.filter(entry=invoice.entry, account__code="4300")
    assert sorted(x.due_date for x in receivables) == [d for d, _a in dues]


def test_credit_note_settles_the_original(setup: Any) -> None:
    invoice = services.invoice_issue(instance=sale(setup))
    with pytest.raises(ValidationError):
        services.credit_note_create(instance=invoice, reason="")
    note = services.credit_note_create(
        instance=invoice, reason="Devolución", date=dt.date(2026, 3, 12)
    )
    assert note.kind == "credit_note" and note.rectifies == invoice
    note = services.invoice_issue(instance=note)
    assert note.number == "RX2026-00001"
    invoice.refresh_from_db()
    assert invoice.open_amount == 0 and invoice.payment_state == "paid"
    debit, credit = entry_sums(note.entry)
    assert debit == credit == invoice.total_amount
    receivable = JournalEntryLine.objects.get(entry=note.entry, account__code="4300")
    assert receivable.credit == invoice.total_amount


def test_reverse_charge_bill_books_both_sides(setup: Any) -> None:
    bill = services.invoice_create_draft(
        company=setup.company,
        direction="purchase",
        partner=setup.supplier,
        date=dt.date(2026, 3, 5),
        supplier_reference="A-77",
        lines=[
            {
                "description": "Licencias",
                "quantity": D("1"),
                "unit_price": D("200"),
                "taxes": [setup.taxes["RC21"]],
            }
        ],
    )
    assert bill.total_amount == 20000 and bill.tax_amount == 0
    bill = services.invoice_issue(instance=bill)
    lines = entry_map(bill.entry)
    assert lines["6000"] == (20000, 0)
    assert lines["4720"] == (4200, 0)
    assert lines["4770"] == (0, 4200)
    assert lines["4000"] == (0, 20000)


def test_duplicate_supplier_reference_refused(setup: Any) -> None:
    kw = dict(
        company=setup.company,
        direction="purchase",
        partner=setup.supplier,
        date=dt.date(2026, 3, 5),
        supplier_reference="A-1",
        lines=[{"description": "x", "quantity": D("1"), "unit_price": D("5")}],
    )
    services.invoice_create_draft(**kw)
    with pytest.raises(ValidationError) as info:
        services.invoice_create_draft(**kw)
    assert "supplier_reference" in info.value.message_dict


def test_bill_approval_above_threshold(setup: Any, make_user: Any) -> None:
    from trastienda.core.context import acting

    settings = BillingSettings.objects.get(company=setup.company)
    settings.approval_threshold = 10000
    settings.save()
    clerk = make_user("clerk1", company=setup.company)
    boss = make_user("boss1", company=setup.company)
    with acting(user=clerk, company=setup.company):
        bill = services.invoice_create_draft(
            company=setup.company,
            direction="purchase",
            partner=setup.supplier,
            date=dt.date(2026, 3, 5),
            supplier_reference="B-1",
            lines=[{"description": "x", "quantity": D("1"), "unit_price": D("500")}],
        )
        with pytest.raises(ValidationError) as info:
            services.invoice_issue(instance=bill)
        assert "state" in info.value.message_dict
        bill = services.bill_submit(instance=bill)
        with pytest.raises(ValidationError):
            services.bill_approve(instance=bill, user=clerk)
    bill = services.bill_approve(instance=bill, user=boss)
    bill = services.invoice_issue(instance=bill)
    assert bill.state == "issued" and bill.approved_by == boss


# --- payments -------------------------------------------------------------------------------


def test_partial_then_full_payment(setup: Any) -> None:
    invoice = services.invoice_issue(instance=sale(setup))
    bank = acc(setup.company, "5720")
    services.payment_create(
        company=setup.company,
        direction="sale",
        partner=setup.customer,
        date=dt.date(2026, 3, 20),
        amount=D("10.00"),
        bank_account=bank,
        allocations=[{"invoice": invoice, "amount": D("10.00")}],
    )
    invoice.refresh_from_db()
    assert invoice.payment_state == "partly_paid"
    assert invoice.open_amount == invoice.total_amount - 1000
    services.payment_create(
        company=setup.company,
        direction="sale",
        partner=setup.customer,
        date=dt.date(2026, 3, 21),
        amount=Decimal(invoice.open_amount) / 100,
        bank_account=bank,
        allocations=[{"invoice": invoice}],
    )
    invoice.refresh_from_db()
    assert invoice.payment_state == "paid" and invoice.open_amount == 0


def test_one_payment_many_invoices_with_credit_kept_and_reversal(setup: Any) -> None:
    a = services.invoice_issue(instance=sale(setup))
    b = services.invoice_issue(instance=sale(setup))
    bank = acc(setup.company, "5720")
    total = a.total_amount + b.total_amount
    payment = services.payment_create(
        company=setup.company,
        direction="sale",
        partner=setup.customer,
        date=dt.date(2026, 3, 20),
        amount=Decimal(total + 500) / 100,
        bank_account=bank,
        allocations=[{"invoice": a}, {"invoice": b}],
    )
    assert payment.unallocated_amount == 500
    debit, credit = entry_sums(payment.entry)
    assert debit == credit == total + 500
    c = services.invoice_issue(instance=sale(setup))
    services.credit_apply(payment=payment, invoice=c)
    c.refresh_from_db()
    assert c.open_amount == c.total_amount - 500
    payment.refresh_from_db()
    assert payment.unallocated_amount == 0
    with pytest.raises(ValidationError):
        services.payment_create(
            company=setup.company,
            direction="sale",
            partner=setup.customer,
            date=dt.date(2026, 3, 20),
            amount=D("1.00"),
            bank_account=bank,
            allocations=[{"invoice": a, "amount": D("1.00")}],
        )
    services.payment_reverse(instance=payment)
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.open_amount == a.total_amount and a.payment_state == "unpaid"
    assert b.payment_state == "unpaid"
    payment.refresh_from_db()
    assert payment.state == Payment.State.REVERSED
    assert payment.reversal_entry.reversal_of == payment.entry


def test_write_off_small_difference(setup: Any) -> None:
    invoice = services.invoice_issue(instance=sale(setup))
    bank = acc(setup.company, "5720")
    short = Decimal(invoice.total_amount - 3) / 100
    payment = services.payment_create(
        company=setup.company,
        direction="sale",
        partner=setup.customer,
        date=dt.date(2026, 3, 20),
        amount=short,
        bank_account=bank,
        allocations=[{"invoice": invoice}],
        write_off=True,
    )
    assert payment.write_off_amount == 3
    invoice.refresh_from_db()
    assert invoice.open_amount == 0
    lines = entry_map(payment.entry)
    assert lines["678"] == (3, 0)
    with pytest.raises(ValidationError) as info:
        other = services.invoice_issue(instance=sale(setup))
        services.payment_create(
            company=setup.company,
            direction="sale",
            partner=setup.customer,
            date=dt.date(2026, 3, 20),
            amount=D("1.00"),
            bank_account=bank,
            allocations=[{"invoice": other}],
            write_off=True,
        )
    assert "write_off" in info.value.message_dict


def test_overpayment_without_credit_refused(setup: Any) -> None:
    invoice = services.invoice_issue(instance=sale(setup))
    with pytest.raises(ValidationError) as info:
        services.payment_create(
            company=setup.company,
            direction="sale",
            partner=setup.customer,
            date=dt.date(2026, 3, 20),
            amount=D("1000.00"),
            bank_account=acc(setup.company, "5720"),
            allocations=[{"invoice": invoice}],
            keep_credit=False,
        )
    assert "amount" in info.value.message_dict
    assert not Payment.objects.exists()


def test_foreign_currency_invoice(setup: Any) -> None:
    invoice = sale(
        setup,
        currency="USD",
        rate=D("0.9"),
        lines=[
            {
                "description": "Export",
                "quantity": D("1"),
                "unit_price": D("100.01"),
                "taxes": [setup.taxes["T21"]],
            }
        ],
    )
    invoice = services.invoice_issue(instance=invoice)
    debit, credit = entry_sums(invoice.entry)
    assert debit == credit
    receivable = JournalEntryLine.objects.get(entry=invoice.entry, account__code="4300")
    assert receivable.currency_id == "USD" and receivable.amount_currency == invoice.total_amount
    installment = Installment.objects.get(invoice=invoice)
    assert installment.open_base == round(invoice.total_amount * D("0.9"))


@hypothesis_settings(deadline=None, max_examples=200)
@given(
    quantity=st.decimals(min_value=D("-9999"), max_value=D("99999"), places=4),
    price=st.integers(min_value=0, max_value=10**10),
    discount=st.decimals(min_value=D(0), max_value=D(100), places=2),
    rate=st.sampled_from([D(0), D(4), D(10), D("5.2"), D(21), D(22)]),
)
def test_calc_rounding_matches_money(
    quantity: Decimal, price: int, discount: Decimal, rate: Decimal
) -> None:
    """The fast integer arithmetic of calc equals Money's half-up rounding of the exact value."""
    from trastienda.core.money import Money

    line = calc.LineInput(quantity, price, discount, (calc.TaxSpec(1, "vat", rate),))
    exact = quantity * calc.units_to_price(price, "EUR") * (100 - discount) / 100
    totals = calc.compute([line], "EUR")
    net = Money.from_decimal_rounded(exact, "EUR").minor
    assert totals.line_nets == [net]
    tax = Money.from_decimal_rounded(Money(net, "EUR").to_decimal() * rate / 100, "EUR").minor
    assert totals.taxes[0].amount == tax
