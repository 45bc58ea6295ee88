"""Receivables and payables: aged buckets at their boundaries, credit notes, partial payments,
foreign currency, the report as of a past date, unapplied credit, days sales outstanding, the
statement of account (its running balance ends at the open amounts), the pages, exports, PDF,
the API and permissions."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from trastienda.billing import receivables, services
from trastienda.billing.models import Installment, Invoice, InvoiceSeries, Partner, Payment, Tax
from trastienda.billing.receivables import BUCKETS, aged_report, open_items, partner_statement
from trastienda.ledger import services as ledger
from trastienda.ledger.models import Account

D = Decimal
AS_OF = dt.date(2026, 12, 31)


def acc(company: Any, code: str) -> Account:
    return Account.objects.get(company=company, code=code)


def company_journal(company: Any, code: str) -> Any:
    from trastienda.ledger.models import Journal

    return Journal.objects.get(company=company, code=code)


@pytest.fixture
def setup(company: Any) -> Any:
    """ACME (ES) with 2026 open, one VAT rate, series, settings, two customers and a supplier
    (the pattern of test_invoices.py)."""
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
    other = Partner.objects.create(
        company=company,
        code="C2",
        legal_name="Cliente Due S.r.l.",
        tax_id="B12345674",
        is_customer=True,
        language="it",
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
            "other": other,
            "supplier": supplier,
            "bank": acc(company, "5720"),
        },
    )


def issue(
    setup: Any, amount: str, *, date: dt.date = dt.date(2026, 3, 10), partner: Any = None, **kw: Any
) -> Invoice:
    """An issued sales invoice of ``amount`` (no tax) dated ``date``."""
    draft = services.invoice_create_draft(
        company=setup.company,
        direction="sale",
        partner=partner or setup.customer,
        date=date,
        lines=[{"description": "Servicio", "quantity": D("1"), "unit_price": D(amount)}],
        **kw,
    )
    return services.invoice_issue(instance=draft)


def bill(setup: Any, amount: str, reference: str, **kw: Any) -> Invoice:
    draft = services.invoice_create_draft(
        company=setup.company,
        direction="purchase",
        partner=setup.supplier,
        date=kw.pop("date", dt.date(2026, 3, 5)),
        supplier_reference=reference,
        lines=[{"description": "Material", "quantity": D("1"), "unit_price": D(amount)}],
        **kw,
    )
    return services.invoice_issue(instance=draft)


def pay(
    setup: Any,
    amount: str,
    date: dt.date,
    allocations: list[dict[str, Any]],
    partner: Any = None,
    **kw: Any,
) -> Payment:
    partner = partner or setup.customer
    return services.payment_create(
        company=setup.company,
        direction=kw.pop("direction", "sale"),
        partner=partner,
        date=date,
        amount=D(amount),
        bank_account=setup.bank,
        allocations=allocations,
        **kw,
    )


def row_of(report: receivables.AgedReport, code: str) -> receivables.AgedRow:
    return next(row for row in report.rows if row.code == code)


# --- buckets ------------------------------------------------------------------------------------


def test_bucket_of_boundaries() -> None:
    assert [receivables.bucket_of(d) for d in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 400)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
    ]


def test_buckets_at_the_boundaries(setup: Any) -> None:
    # One invoice per boundary, due N days before AS_OF, with an amount that names N.
    expected = [0] * 5
    for days in (0, 1, 30, 31, 60, 61, 90, 91):
        amount = 1000 + days  # in cents: 10.00 + N cents
        issue(setup, str(D(amount) / 100), due_date=AS_OF - dt.timedelta(days=days))
        expected[receivables.bucket_of(days)] += amount
    assert expected == [1000, 1001 + 1030, 1031 + 1060, 1061 + 1090, 1091]
    report = aged_report(setup.company, as_of=AS_OF)
    row = row_of(report, "C1")
    assert row.buckets == expected
    assert report.totals == expected and report.total == sum(expected)
    assert row.overdue == sum(expected[1:])
    items = open_items(setup.company, direction="sale", partner=setup.customer, as_of=AS_OF)
    assert [(i.days_overdue, BUCKETS[i.bucket]) for i in items] == [
        (91, "days_over_90"),
        (90, "days_61_90"),
        (61, "days_61_90"),
        (60, "days_31_60"),
        (31, "days_31_60"),
        (30, "days_1_30"),
        (1, "days_1_30"),
        (0, "current"),
    ]
    # A day later every invoice moves on by one day: 0 -> 1 leaves "current".
    later = row_of(aged_report(setup.company, as_of=AS_OF + dt.timedelta(days=1)), "C1")
    assert later.buckets[0] == 0


def test_credit_note_is_negative_in_its_bucket(setup: Any) -> None:
    invoice = issue(setup, "100.00", due_date=dt.date(2026, 4, 9))
    pay(setup, "100.00", dt.date(2026, 4, 1), [{"invoice": invoice}])
    note = services.credit_note_create(
        instance=invoice, reason="Devolución", date=dt.date(2026, 12, 1)
    )
    note = services.invoice_issue(instance=note)
    assert note.open_amount == 10000  # nothing open to offset: the customer is owed 100.00
    row = row_of(aged_report(setup.company, as_of=AS_OF), "C1")
    assert row.buckets == [0, -10000, 0, 0, 0]  # due on its date, 30 days before AS_OF
    items = open_items(setup.company, direction="sale", partner=setup.customer, as_of=AS_OF)
    assert [(i.kind, i.open_amount, i.open_base) for i in items] == [
        ("credit_note", -10000, -10000)
    ]


def test_partial_payment_settles_the_earliest_instalment(setup: Any) -> None:
    from trastienda.billing.models import PaymentTerm

    term = PaymentTerm.objects.create(
        company=setup.company, code="369", name="30/60/90", days="30/60/90"
    )
    invoice = issue(setup, "300.00", date=dt.date(2026, 9, 1), payment_term=term)
    # Dues 1 Oct, 31 Oct, 30 Nov: 91, 61 and 31 days before AS_OF.
    pay(setup, "150.00", dt.date(2026, 10, 5), [{"invoice": invoice, "amount": D("150.00")}])
    row = row_of(aged_report(setup.company, as_of=AS_OF), "C1")
    assert row.buckets == [0, 0, 10000, 5000, 0]
    items = open_items(setup.company, direction="sale", partner=setup.customer, as_of=AS_OF)
    assert [(i.due_date, i.amount, i.open_amount) for i in items] == [
        (dt.date(2026, 10, 31), 10000, 5000),
        (dt.date(2026, 11, 30), 10000, 10000),
    ]


def test_foreign_currency_is_aged_in_the_company_currency(setup: Any) -> None:
    invoice = issue(setup, "100.01", currency="USD", rate=D("0.9"), due_date=dt.date(2026, 12, 20))
    installment = Installment.objects.get(invoice=invoice)
    assert installment.open_base == 9001  # 100.01 x 0.9 = 90.009 -> 90.01
    row = row_of(aged_report(setup.company, as_of=AS_OF), "C1")
    assert row.buckets == [0, 9001, 0, 0, 0]
    (item,) = open_items(setup.company, direction="sale", partner=setup.customer, as_of=AS_OF)
    assert (item.currency, item.open_amount, item.open_base) == ("USD", 10001, 9001)


def test_payables_and_filters(setup: Any) -> None:
    bill(setup, "50.00", "P-1", due_date=dt.date(2026, 12, 1))
    issue(setup, "20.00", due_date=dt.date(2027, 1, 15))  # C1: not yet due
    issue(setup, "70.00", partner=setup.other, due_date=dt.date(2026, 11, 1))  # C2: 60 days
    payables = aged_report(setup.company, direction="purchase", as_of=AS_OF)
    assert [(r.code, r.buckets) for r in payables.rows] == [("S1", [0, 5000, 0, 0, 0])]
    report = aged_report(setup.company, as_of=AS_OF)
    assert [r.code for r in report.rows] == ["C1", "C2"]
    assert [r.code for r in aged_report(setup.company, as_of=AS_OF, overdue_only=True).rows] == [
        "C2"
    ]
    assert [r.code for r in aged_report(setup.company, as_of=AS_OF, min_amount=5000).rows] == ["C2"]
    only = aged_report(setup.company, as_of=AS_OF, partner=setup.customer)
    assert [(r.code, r.total) for r in only.rows] == [("C1", 2000)]
    assert only.dso is None


# --- as of a past date -----------------------------------------------------------------------


def snapshot(setup: Any, as_of: dt.date) -> tuple[Any, ...]:
    report = aged_report(setup.company, as_of=as_of, dso_days=None)
    items = {
        code: [
            (i.invoice_id, i.due_date, i.open_amount, i.open_base)
            for i in open_items(
                setup.company,
                direction="sale",
                partner=Partner.objects.get(code=code, company=setup.company),
                as_of=as_of,
            )
        ]
        for code in ("C1", "C2")
    }
    return ([(r.code, r.buckets, r.credit) for r in report.rows], items)


def test_as_of_a_past_date_undoes_what_came_later(setup: Any) -> None:
    from trastienda.billing.models import PaymentTerm

    term = PaymentTerm.objects.create(
        company=setup.company, code="3060", name="30/60", days="30/60"
    )
    a = issue(setup, "200.00", date=dt.date(2026, 3, 1), payment_term=term)
    b = issue(setup, "80.00", date=dt.date(2026, 3, 5))
    c = issue(setup, "55.00", date=dt.date(2026, 3, 6), partner=setup.other)
    early = pay(setup, "30.00", dt.date(2026, 3, 20), [{"invoice": a, "amount": D("30.00")}])
    pay(setup, "10.00", dt.date(2026, 3, 25), [], partner=setup.other)  # credit kept
    cutoff = dt.date(2026, 4, 15)
    before = snapshot(setup, cutoff)
    assert before[0] == [("C1", [10000, 7000, 8000, 0, 0], 0), ("C2", [0, 0, 5500, 0, 0], 1000)]
    # Everything below happens after the cut-off date.
    pay(setup, "120.00", dt.date(2026, 5, 2), [{"invoice": a, "amount": D("120.00")}])
    note = services.credit_note_create(instance=b, reason="Error", date=dt.date(2026, 5, 3))
    services.invoice_issue(instance=note)
    services.payment_reverse(instance=early, date=dt.date(2026, 5, 4))
    issue(setup, "999.00", date=dt.date(2026, 5, 5))
    pay(setup, "55.00", dt.date(2026, 5, 6), [{"invoice": c}], partner=setup.other)
    assert snapshot(setup, cutoff) == before
    # And today's figures are today's: a has 80.00 + 30.00 (reversed) open, b nothing.
    a.refresh_from_db()
    assert a.open_amount == 20000 - 12000


def test_as_of_before_a_payment_and_after_it(setup: Any) -> None:
    invoice = issue(setup, "100.00", date=dt.date(2026, 3, 1), due_date=dt.date(2026, 3, 31))
    pay(setup, "40.00", dt.date(2026, 6, 1), [{"invoice": invoice, "amount": D("40.00")}])
    assert row_of(aged_report(setup.company, as_of=dt.date(2026, 5, 31)), "C1").buckets == [
        0,
        0,
        0,
        10000,
        0,
    ]
    assert row_of(aged_report(setup.company, as_of=dt.date(2026, 6, 1)), "C1").buckets == [
        0,
        0,
        0,
        6000,
        0,
    ]
    assert aged_report(setup.company, as_of=dt.date(2026, 2, 28)).rows == []


# --- unapplied credit, DSO ---------------------------------------------------------------------


def test_unapplied_credit_and_balance(setup: Any) -> None:
    invoice = issue(setup, "100.00", due_date=dt.date(2026, 12, 1))
    payment = pay(setup, "130.00", dt.date(2026, 12, 2), [{"invoice": invoice}])
    assert payment.unallocated_amount == 3000
    report = aged_report(setup.company, as_of=AS_OF)
    row = row_of(report, "C1")
    assert (row.total, row.credit, row.balance) == (0, 3000, -3000)
    assert (report.credit, report.balance) == (3000, -3000)
    assert row_of(aged_report(setup.company, as_of=dt.date(2026, 12, 1)), "C1").credit == 0


def test_days_sales_outstanding(setup: Any) -> None:
    issue(setup, "500.00", date=dt.date(2026, 6, 1))  # outside the 90 days: open, not sales
    issue(setup, "300.00", date=dt.date(2026, 10, 10), due_date=dt.date(2026, 11, 10))
    paid = issue(setup, "600.00", date=dt.date(2026, 11, 10), due_date=dt.date(2026, 12, 10))
    pay(setup, "600.00", dt.date(2026, 12, 10), [{"invoice": paid}])
    dso = receivables.days_outstanding(setup.company, as_of=AS_OF, days=90)
    assert (dso.receivables, dso.sales) == (80000, 90000)
    assert dso.value == D("80.0")  # 800 / 900 x 90
    report = aged_report(setup.company, as_of=AS_OF, dso_days=90)
    assert report.dso == dso
    none = receivables.days_outstanding(setup.company, as_of=dt.date(2026, 1, 31), days=30)
    assert none.value is None and none.sales == 0


def test_the_aggregate_reads_the_partial_index(setup: Any) -> None:
    sql, params = receivables.aged_sql(setup.company, "sale", AS_OF)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row) for row in cursor.fetchall())
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(row[0] for row in cursor.fetchall())
    assert "billing_installment_open" in plan, plan


# --- statement of account -----------------------------------------------------------------------


def test_statement_running_balance_ends_at_the_open_amounts(setup: Any) -> None:
    a = issue(setup, "100.00", date=dt.date(2026, 2, 1))
    b = issue(setup, "250.00", date=dt.date(2026, 2, 15))
    usd = issue(setup, "40.00", date=dt.date(2026, 2, 20), currency="USD", rate=D("0.9"))
    pay(setup, "60.00", dt.date(2026, 3, 1), [{"invoice": a, "amount": D("60.00")}])
    kept = pay(setup, "300.00", dt.date(2026, 3, 5), [{"invoice": b}])  # 50.00 kept
    c = issue(setup, "20.00", date=dt.date(2026, 3, 10))
    services.credit_apply(payment=kept, invoice=c, amount=D("5.00"))
    note = services.credit_note_create(instance=a, reason="Descuento", date=dt.date(2026, 3, 12))
    services.invoice_issue(instance=note)  # 100.00 against the 40.00 open: 60.00 to the good
    short = issue(setup, "10.00", date=dt.date(2026, 3, 15))
    pay(setup, "9.99", dt.date(2026, 3, 16), [{"invoice": short}], write_off=True)
    reversed_ = pay(setup, "20.00", dt.date(2026, 3, 17), [{"invoice": c, "amount": D("15.00")}])
    services.payment_reverse(instance=reversed_, date=dt.date(2026, 3, 18))
    statement = partner_statement(
        setup.company,
        partner=setup.customer,
        direction="sale",
        date_from=dt.date(2026, 1, 1),
        date_to=AS_OF,
    )
    closing = {s.currency: s.closing for s in statement.sections}
    open_now = receivables.partner_open_balance(
        setup.company, partner=setup.customer, direction="sale"
    )
    assert closing == open_now
    eur = next(s for s in statement.sections if s.currency == "EUR")
    assert eur.opening == 0
    assert [line.balance for line in eur.lines][-1] == eur.closing
    running = 0
    for line in eur.lines:
        running += line.charge - line.credit
        assert line.balance == running
    kinds = [line.kind for line in eur.lines]
    assert kinds.count("write_off") == 1 and kinds.count("reversal") == 1
    assert kinds.count("credit_note") == 1
    # open: b 0, c 20-5 = 15, short 0, note -(100-40) = -60; credit kept 50-5 = 45 (reversed
    # payment's 5.00 left over does not count)
    assert eur.closing == 1500 - 6000 - 4500
    usd_section = next(s for s in statement.sections if s.currency == "USD")
    assert usd_section.closing == usd.payable_amount
    # A range that starts later opens with the balance the earlier range closed with.
    first = partner_statement(
        setup.company,
        partner=setup.customer,
        direction="sale",
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 3, 9),
    )
    second = partner_statement(
        setup.company,
        partner=setup.customer,
        direction="sale",
        date_from=dt.date(2026, 3, 10),
        date_to=AS_OF,
    )
    first_eur = next(s for s in first.sections if s.currency == "EUR")
    second_eur = next(s for s in second.sections if s.currency == "EUR")
    assert second_eur.opening == first_eur.closing
    assert second_eur.closing == eur.closing
    summary = receivables.statement_summary(
        setup.company, direction="sale", date_from=dt.date(2026, 3, 10), date_to=AS_OF
    )
    row = next(r for r in summary if r.code == "C1" and r.currency == "EUR")
    assert (row.opening, row.charges, row.credits, row.closing) == (
        second_eur.opening,
        second_eur.charges,
        second_eur.credits,
        second_eur.closing,
    )


def test_supplier_statement(setup: Any) -> None:
    first = bill(setup, "80.00", "P-10")
    bill(setup, "20.00", "P-11")
    pay(
        setup,
        "80.00",
        dt.date(2026, 4, 1),
        [{"invoice": first}],
        partner=setup.supplier,
        direction="purchase",
    )
    statement = partner_statement(
        setup.company,
        partner=setup.supplier,
        direction="purchase",
        date_from=dt.date(2026, 1, 1),
        date_to=AS_OF,
    )
    (section,) = statement.sections
    assert (section.charges, section.credits, section.closing) == (10000, 8000, 2000)


# --- pages --------------------------------------------------------------------------------------


@pytest.fixture
def world(setup: Any) -> Any:
    a = issue(setup, "100.00", date=dt.date(2026, 3, 1), due_date=dt.date(2026, 10, 15))
    issue(
        setup,
        "40.00",
        date=dt.date(2026, 3, 2),
        partner=setup.other,
        due_date=dt.date(2026, 12, 20),
    )
    pay(setup, "25.00", dt.date(2026, 4, 1), [{"invoice": a, "amount": D("25.00")}])
    bill(setup, "60.00", "P-20", due_date=dt.date(2026, 11, 30))
    return setup


def base(company: Any) -> str:
    return f"/c/{company.code}/billing/"


def test_aged_pages(world: Any, accountant: Any, client: Client) -> None:
    client.force_login(accountant)
    url = base(world.company) + "receivables/aged/"
    response = client.get(url, {"as_of": "2026-12-31"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "C1" in html and "C2" in html and "75.00" in html
    assert 'data-stacked-chart="aged-receivables-chart"' in html
    assert "receivable_chart.js" in html
    assert "receivables/aged/partner/?partner=C1" in html
    response = client.get(base(world.company) + "payables/aged/", {"as_of": "2026-12-31"})
    assert response.status_code == 200 and "S1" in response.content.decode()
    detail = client.get(url + "partner/", {"partner": "C1", "as_of": "2026-12-31"})
    assert detail.status_code == 200
    assert "FX2026-00001" in detail.content.decode()
    assert client.get(url + "partner/").status_code == 200  # chooses a partner first


def test_bad_filters_answer_400_naming_the_field(
    world: Any, accountant: Any, client: Client
) -> None:
    client.force_login(accountant)
    url = base(world.company) + "receivables/aged/"
    for query, field in (
        ({"as_of": "31-31-2026"}, "as_of"),
        ({"partner": "NOPE"}, "partner"),
        ({"min_amount": "1.234"}, "min_amount"),  # EUR has 2 decimals
        ({"min_amount": "-5"}, "min_amount"),
        ({"days": "0"}, "days"),
    ):
        response = client.get(url, query)
        assert response.status_code == 400, query
        assert response.context["errors"].keys() == {field}
    response = client.get(
        base(world.company) + "statements/", {"date_from": "2026-12-01", "date_to": "2026-01-01"}
    )
    assert response.status_code == 400 and "date_to" in response.context["errors"]
    assert client.get(url, {"export": "doc"}).status_code == 400


def test_exports_and_pdf(world: Any, accountant: Any, client: Client) -> None:
    from openpyxl import load_workbook

    from trastienda.audit.models import AuditEntry

    client.force_login(accountant)
    url = base(world.company) + "receivables/aged/"
    response = client.get(url, {"as_of": "2026-12-31", "export": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Partner", "Name", "Current")
    assert rows[1][0] == "C1" and rows[1][5] == 75  # 61-90 days: due 15 Oct
    assert rows[-1][0] == "Total"
    csv = client.get(url, {"as_of": "2026-12-31", "export": "csv"}).content.decode("utf-8-sig")
    assert csv.splitlines()[1].startswith("C1,")
    pdf = client.get(url, {"as_of": "2026-12-31", "export": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    detail = client.get(url + "partner/", {"partner": "C1", "as_of": "2026-12-31", "export": "csv"})
    assert "FX2026-00001" in detail.content.decode("utf-8-sig")
    assert (
        AuditEntry.objects.filter(action="export", object_type="billing.aged-receivables").count()
        == 3
    )
    statement = client.get(
        base(world.company) + "statements/",
        {"partner": "C1", "export": "xlsx", "date_to": "2026-12-31"},
    )
    assert statement.status_code == 200
    rows = list(load_workbook(io.BytesIO(statement.content)).active.iter_rows(values_only=True))
    assert rows[-1][2] == "Closing balance" and rows[-1][7] == 75


def test_statement_pdf_in_the_partners_language(
    world: Any, accountant: Any, client: Client, tmp_path: Any
) -> None:
    client.force_login(accountant)
    response = client.get(
        base(world.company) + "statements/",
        {"partner": "C2", "export": "pdf", "date_to": "2026-12-31"},
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    path = tmp_path / "statement.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "Cliente Due S.r.l." in text
    assert "Pagina" in text  # the page footer in Italian (C2 speaks Italian)
    assert "40,00" in text


def test_statement_pages(world: Any, accountant: Any, client: Client) -> None:
    client.force_login(accountant)
    url = base(world.company) + "statements/"
    summary = client.get(url, {"date_to": "2026-12-31"})
    assert summary.status_code == 200
    html = summary.content.decode()
    assert "statement-summary" in html
    assert [row["code"] for row in summary.context["summary"]] == ["C1", "C2"]  # customers
    one = client.get(url, {"partner": "C1", "date_to": "2026-12-31"})
    assert one.status_code == 200
    html = one.content.decode()
    assert "FX2026-00001" in html and "75.00" in html
    supplier = client.get(url, {"partner": "S1", "date_to": "2026-12-31"})
    assert supplier.status_code == 200 and supplier.context["params"]["direction"] == "purchase"


def test_permissions(world: Any, make_user: Any, client: Client) -> None:
    hr = make_user("hr1", company=world.company, role="hr_manager")
    clerk = make_user("clerk9", company=world.company, role="clerk")
    url = base(world.company) + "receivables/aged/"
    client.force_login(hr)
    assert client.get(url).status_code == 403
    assert client.get(base(world.company) + "statements/").status_code == 403
    client.force_login(clerk)  # reads billing, may not export
    assert client.get(url).status_code == 200
    assert client.get(url, {"export": "csv"}).status_code == 403


# --- API ----------------------------------------------------------------------------------------


def api(user: Any, company: Any) -> Client:
    from rest_framework.authtoken.models import Token

    token, _created = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_X_COMPANY=company.code)


def test_api_aged_and_statement(world: Any, accountant: Any) -> None:
    client = api(accountant, world.company)
    response = client.get("/api/v1/billing/aged-receivables/", {"as_of": "2026-12-31"})
    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "EUR" and body["as_of"] == "2026-12-31"
    c1 = next(p for p in body["partners"] if p["code"] == "C1")
    assert c1["days_61_90"] == "75.00" and c1["total"] == "75.00" and c1["current"] == "0.00"
    assert body["totals"]["total"] == "115.00"
    assert body["days_outstanding"]["days"] == 90
    one = client.get(
        "/api/v1/billing/aged-receivables/", {"as_of": "2026-12-31", "partner": "C1"}
    ).json()
    assert [i["open_amount"] for i in one["items"]] == ["75.00"]
    assert one["items"][0]["bucket"] == "days_61_90"
    payables = client.get("/api/v1/billing/aged-payables/", {"as_of": "2026-12-31"}).json()
    assert payables["partners"][0]["code"] == "S1"
    bad = client.get("/api/v1/billing/aged-receivables/", {"min_amount": "abc"})
    assert bad.status_code == 400 and "min_amount" in bad.json()["error"]["fields"]
    assert client.get("/api/v1/billing/aged-receivables/", {"min_amount": "1.5"}).status_code == 200
    statement = client.get(
        "/api/v1/billing/partner-statement/", {"partner": "C1", "date_to": "2026-12-31"}
    ).json()
    (section,) = statement["sections"]
    assert section["closing"] == "75.00" and section["lines"][-1]["balance"] == "75.00"
    summary = client.get("/api/v1/billing/partner-statement/").json()
    assert {p["code"] for p in summary["partners"]} == {"C1", "C2"}
    csv = client.get("/api/v1/billing/aged-receivables/", {"format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert client.get("/api/v1/billing/partner-statement/", {"partner": "ZZ"}).status_code == 400


def test_api_permissions(world: Any, make_user: Any) -> None:
    hr = make_user("hr2", company=world.company, role="hr_manager")
    clerk = make_user("clerk2", company=world.company, role="clerk")
    assert api(hr, world.company).get("/api/v1/billing/aged-receivables/").status_code == 403
    assert api(clerk, world.company).get("/api/v1/billing/aged-payables/").status_code == 200
    assert (
        api(clerk, world.company)
        .get("/api/v1/billing/aged-payables/", {"format": "csv"})
        .status_code
        == 403
    )
