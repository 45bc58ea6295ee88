"""Payment pages and the invoice and payment API."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from trastienda.billing import services
from trastienda.billing.models import Invoice, Payment
from trastienda.billing.tests.test_invoices import acc, sale, setup  # noqa: F401

D = Decimal


def test_payment_page_records_and_reverses(setup: Any, accountant: Any, client: Any) -> None:  # noqa: F811
    invoice = services.invoice_issue(instance=sale(setup))
    client.force_login(accountant)
    base = f"/c/{setup.company.code}/billing/payments/"
    page = client.get(f"{base}add/?partner=C1&invoice={invoice.pk}&direction=sale")
    assert page.status_code == 200
    assert str(invoice) in page.content.decode()
    form = {
        "direction": "sale",
        "partner": setup.customer.pk,
        "date": "2026-03-20",
        "amount": "10.00",
        "currency": "EUR",
        "bank_account": acc(setup.company, "5720").pk,
        "journal": setup.company_journal_bank.pk,
        "reference": "TRF 1",
        "keep_credit": "on",
        f"alloc-{invoice.pk}": "on",
        f"alloc-{invoice.pk}-amount": "99999.00",
    }
    refused = client.post(f"{base}add/", form)
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "Only" in text, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))[-3000:]
    assert not Payment.objects.exists()
    form[f"alloc-{invoice.pk}-amount"] = "10.00"
    done = client.post(f"{base}add/", form)
    assert done.status_code == 302, done.content.decode()[:2000]
    payment = Payment.objects.get()
    invoice.refresh_from_db()
    assert invoice.open_amount == invoice.total_amount - 1000
    detail = client.get(f"{base}{payment.pk}/")
    assert detail.status_code == 200 and "TRF 1" in detail.content.decode()
    assert client.get(f"{base}").status_code == 200
    assert client.get(f"{base}?export=xlsx").status_code == 200
    assert client.get(f"{base}{payment.pk}/edit/").status_code == 403
    assert client.post(f"{base}{payment.pk}/reverse/").status_code == 302
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.state == "reversed" and invoice.open_amount == invoice.total_amount


def test_invoice_and_payment_api(setup: Any, accountant: Any, client: Any) -> None:  # noqa: F811
    client.force_login(accountant)
    headers = {"HTTP_X_COMPANY": setup.company.code}
    url = "/api/v1/billing/invoices/"
    payload = {
        "direction": "sale",
        "partner": "C1",
        "date": "2026-04-01",
        "lines": [
            {
                "description": "Consultoría",
                "quantity": "2",
                "unit_price": "150.00",
                "taxes": ["T21"],
            },
        ],
    }
    bad = dict(payload, lines=[{"description": "x", "quantity": "-1", "unit_price": "1"}])
    refused = client.post(url, bad, content_type="application/json", **headers)
    assert refused.status_code == 400
    assert "lines[1].quantity" in refused.json()["error"]["fields"]
    assert not Invoice.objects.exists()
    created = client.post(
        url, dict(payload, issue=True), content_type="application/json", **headers
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"] == "FX2026-00001" and body["state"] == "issued"
    assert body["amounts"]["total_amount"] == "363.00"
    assert body["taxes"] == [{"tax": "T21", "rate": "21.0000", "base": "300.00", "amount": "63.00"}]
    note = client.post(
        f"{url}{body['id']}/credit-note/",
        {"reason": "Error de precio"},
        content_type="application/json",
        **headers,
    )
    assert note.status_code == 201 and note.json()["kind"] == "credit_note"
    listing = client.get(f"{url}?direction=sale&state=issued", **headers)
    assert listing.status_code == 200 and listing.json()["count"] == 1

    pay_url = "/api/v1/billing/payments/"
    payment = {
        "direction": "sale",
        "partner": "C1",
        "date": "2026-04-10",
        "amount": "400.00",
        "bank_account": "5720",
        "allocations": [{"invoice": body["id"]}],
    }
    made = client.post(pay_url, payment, content_type="application/json", **headers)
    assert made.status_code == 201, made.content
    assert made.json()["unallocated_amount"] == "37.00"
    again = client.post(pay_url, payment, content_type="application/json", **headers)
    assert again.status_code == 400
    assert "allocations[1].amount" in again.json()["error"]["fields"]
    pid = made.json()["id"]
    reversed_ = client.post(f"{pay_url}{pid}/reverse/", content_type="application/json", **headers)
    assert reversed_.status_code == 200 and reversed_.json()["state"] == "reversed"


def test_recurring_invoices_job_pages_and_api(setup: Any, accountant: Any, client: Any) -> None:  # noqa: F811
    from trastienda.billing.jobs import recurring_invoices_all
    from trastienda.billing.models import RecurringInvoice

    template = sale(setup)
    schedule = RecurringInvoice.objects.create(
        company=setup.company,
        name="Cuota mensual",
        template=template,
        interval_months=1,
        next_date=dt.date(2026, 1, 31),
        end_date=dt.date(2026, 3, 31),
        auto_issue=True,
    )
    made = services.recurring_run(company=setup.company, today=dt.date(2026, 3, 15))
    assert [i.date for i in made] == [dt.date(2026, 1, 31), dt.date(2026, 2, 28)]
    assert [i.number for i in made] == ["FX2026-00001", "FX2026-00002"]
    schedule.refresh_from_db()
    assert schedule.next_date == dt.date(2026, 3, 31)
    assert recurring_invoices_all() == 1  # March 31 (today is later); then the end date
    assert recurring_invoices_all() == 0
    client.force_login(accountant)
    base = f"/c/{setup.company.code}/billing/recurring/"
    assert client.get(base).status_code == 200
    assert client.get(f"{base}{schedule.pk}/").status_code == 200
    assert client.get(f"{base}add/").status_code == 200
    headers = {"HTTP_X_COMPANY": setup.company.code}
    bad = client.post(
        "/api/v1/billing/recurring-invoices/",
        {"name": "x", "template": made[0].pk, "interval_months": 1, "next_date": "2026-05-01"},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 400 and "template" in bad.json()["error"]["fields"]
