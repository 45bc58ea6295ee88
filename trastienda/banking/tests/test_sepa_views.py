"""Pages and API of SEPA payment batches and mandates: the list, the new batch page with its
preview of what is due, the detail with approve (a second person with the permission),
download and cancel, mandates, and the same through ``/api/v1/banking/``."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.test import Client

from trastienda.banking import sepa
from trastienda.banking.models import Mandate, PaymentBatch
from trastienda.banking.tests.test_sepa import (  # noqa: F401  (fixtures)
    IBAN_A,
    IBAN_C,
    NS_TRF,
    bill,
    due_bills,
    make_partner,
    mandate,
    sale,
    sepa_setup,
    setup,
    soon,
    transfer,
)

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    """The page's visible text, for readable assertions."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def base(s: Any) -> str:
    return f"/c/{s.company.code}/banking"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


API = "/api/v1/banking"


def api(user: Any, s: Any) -> tuple[Client, dict[str, str]]:
    return client_for(user), {"HTTP_X_COMPANY": s.company.code}


# --- pages ----------------------------------------------------------------------------------


def test_new_transfer_batch_page_previews_and_creates(sepa_setup: Any) -> None:  # noqa: F811
    s = sepa_setup
    bills = due_bills(s)
    bill(s, s.supplier_c, "40.00", "C-77", dt.date(2026, 4, 20))
    client = client_for(s.maker)
    url = f"{base(s)}/payment-batches/new/transfer/"
    page = client.get(url)
    assert page.status_code == 200
    assert "Show the bills due" in text(page) and "batch-preview" not in page.content.decode()
    query = {"bank_account": s.bank.pk, "date": soon().isoformat(), "due_until": "2026-06-30"}
    preview = client.get(url, query)
    assert preview.status_code == 200
    html = preview.content.decode()
    for ref in ("A-1", "A-2", "B-1", "C-77"):
        assert ref in html
    assert "B-2" not in html  # due in September
    assert "has no default bank account" in text(preview)
    assert f'value="{bills["A1"].pk}" id="invoice-{bills["A1"].pk}" checked' in html
    assert re.search(r'name="invoice" value="\d+" id="invoice-\d+" disabled', html)
    assert "1,350.49 EUR" in text(preview)  # the rows ticked; C-77 cannot be
    # Untick B-1: the batch takes the two others.
    created = client.post(url, {**query, "invoice": [bills["A1"].pk, bills["A2"].pk]}, follow=False)
    assert created.status_code == 302, text(created)[-1500:]
    batch = PaymentBatch.objects.get()
    assert created["Location"] == batch.get_absolute_url()
    assert batch.total == 125050 and batch.created_by == s.maker
    # Nothing ticked: refused, nothing written.
    again = client.post(url, query)
    assert again.status_code == 400 and "Tick at least one row." in text(again)
    assert PaymentBatch.objects.count() == 1


def test_new_direct_debit_batch_page(sepa_setup: Any) -> None:  # noqa: F811
    s = sepa_setup
    mandate(s, s.customer_a, "MND-1")
    invoice = sale(s, s.customer_a, "75.00", dt.date(2026, 4, 1))
    client = client_for(s.maker)
    url = f"{base(s)}/payment-batches/new/debit/"
    query = {
        "bank_account": s.bank.pk,
        "date": soon().isoformat(),
        "due_until": "2026-06-30",
        "scheme": "CORE",
    }
    preview = client.post(url, {**query, "preview": "1"})
    assert preview.status_code == 200
    assert "Collection date" in text(preview)
    assert "MND-1" in text(preview) and "FRST" in text(preview)
    created = client.post(url, {**query, "invoice": [invoice.pk]})
    assert created.status_code == 302
    batch = PaymentBatch.objects.get()
    assert batch.kind == "debit" and batch.total == 7500
    detail = client.get(batch.get_absolute_url())
    assert "MND-1" in text(detail) and "CORE" in text(detail)


def test_list_and_detail_pages(sepa_setup: Any) -> None:  # noqa: F811
    s = sepa_setup
    due_bills(s)
    batch = transfer(s)
    client = client_for(s.maker)
    listing = client.get(f"{base(s)}/payment-batches/")
    assert listing.status_code == 200
    assert f"#{batch.pk}" in text(listing) and "New transfer batch" in text(listing)
    assert client.get(f"{base(s)}/payment-batches/?state=draft&kind=transfer").status_code == 200
    export = client.get(f"{base(s)}/payment-batches/?export=csv")
    assert export.status_code == 200 and "1350.49" in export.content.decode()
    detail = client.get(batch.get_absolute_url())
    assert detail.status_code == 200
    page = text(detail)
    assert "Suministros Álava S.A." in page and IBAN_A in page and "1,350.49 EUR" in page
    # The creator sees why there is no Approve button.
    assert 'id="approve-batch"' not in detail.content.decode()
    assert "another person must approve it" in page
    assert client.get(f"{base(s)}/payment-batches/{batch.pk}/edit/").status_code == 403
    assert client.get(f"{base(s)}/payment-batches/{batch.pk}/delete/").status_code == 403


def test_approve_download_and_cancel_from_the_page(sepa_setup: Any) -> None:  # noqa: F811
    s = sepa_setup
    due_bills(s)
    batch = transfer(s)
    approve = f"{base(s)}/payment-batches/{batch.pk}/approve/"
    # A clerk has no permission to approve: 403, nothing changes.
    assert client_for(s.clerk).post(approve).status_code == 403
    # The creator has the permission but is refused by the rule of two people.
    maker = client_for(s.maker)
    refused = maker.post(approve, follow=True)
    assert "The person who created the batch cannot approve it." in text(refused)
    batch.refresh_from_db()
    assert batch.state == "draft"
    approver = client_for(s.approver)
    detail = approver.get(batch.get_absolute_url())
    assert 'id="approve-batch"' in detail.content.decode()
    assert approver.post(approve).status_code == 302
    batch.refresh_from_db()
    assert batch.state == "approved" and batch.approved_by == s.approver
    assert approver.get(f"{base(s)}/payment-batches/{batch.pk}/export/").status_code == 405
    download = maker.post(f"{base(s)}/payment-batches/{batch.pk}/export/")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/xml")
    assert f"pain.001.001.03-ACME-{batch.pk}-" in download["Content-Disposition"]
    root = ET.fromstring(download.content)  # noqa: S314  (our own file)
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS_TRF) == "1350.49"
    batch.refresh_from_db()
    assert batch.state == "exported"
    assert maker.post(f"{base(s)}/payment-batches/{batch.pk}/export/").content == (download.content)
    assert client_for(s.clerk).post(
        f"{base(s)}/payment-batches/{batch.pk}/cancel/"
    ).status_code == (403)
    assert maker.post(f"{base(s)}/payment-batches/{batch.pk}/cancel/").status_code == 302
    batch.refresh_from_db()
    assert batch.state == "cancelled"


def test_mandate_pages(sepa_setup: Any) -> None:  # noqa: F811
    s = sepa_setup
    client = client_for(s.maker)
    url = f"{base(s)}/mandates/"
    assert client.get(f"{url}add/").status_code == 200
    form = {
        "partner": s.customer_a.pk,
        "reference": "MND-77",
        "scheme": "B2B",
        "iban": "ES95 2080 0001 1500 0000 0001",
        "bic": "",
        "signed_on": (soon(10)).isoformat(),
    }
    refused = client.post(f"{url}add/", form)
    assert refused.status_code == 400
    assert "The signature date cannot be in the future." in text(refused)
    assert not Mandate.objects.exists()
    form["signed_on"] = "2026-02-01"
    created = client.post(f"{url}add/", form)
    assert created.status_code == 302, text(created)[-1500:]
    made = Mandate.objects.get()
    assert (made.iban, made.scheme, made.bic) == (IBAN_C, "B2B", "CAGLESMM")
    listing = client.get(url)
    assert listing.status_code == 200 and "MND-77" in text(listing)
    detail = client.get(made.get_absolute_url())
    assert detail.status_code == 200 and "the next one is FRST" in text(detail)
    form["reference"] = "MND-78"
    assert client.post(f"{url}{made.pk}/edit/", form).status_code == 302
    made.refresh_from_db()
    assert made.reference == "MND-78"
    assert client.post(f"{url}{made.pk}/revoke/").status_code == 302
    made.refresh_from_db()
    assert made.state == "revoked"
    assert 'id="revoke-mandate"' not in client.get(made.get_absolute_url()).content.decode()
    assert client_for(s.clerk).post(f"{url}{made.pk}/revoke/").status_code == 403


# --- API ------------------------------------------------------------------------------------


def test_payment_batch_api(sepa_setup: Any) -> None:  # noqa: F811
    s = sepa_setup
    bills = due_bills(s)
    client, headers = api(s.maker, s)
    url = f"{API}/payment-batches/"
    due = client.get(
        f"{url}due/",
        {
            "kind": "transfer",
            "bank_account": s.bank.iban,
            "execution_date": soon().isoformat(),
            "due_until": "2026-06-30",
        },
        **headers,
    )
    assert due.status_code == 200, due.content
    assert [(row["number"], row["amount"]) for row in due.json()] == [
        ("A-1", "1000.00"),
        ("B-1", "99.99"),
        ("A-2", "250.50"),
    ]
    payload = {
        "kind": "transfer",
        "bank_account": str(s.bank.pk),
        "execution_date": soon().isoformat(),
        "due_until": "2026-06-30",
    }
    past = client.post(
        url,
        {**payload, "execution_date": "2020-01-01"},
        content_type="application/json",
        **headers,
    )
    assert past.status_code == 400 and "execution_date" in past.json()["error"]["fields"]
    created = client.post(url, payload, content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["state"], body["total"], body["line_count"], body["created_by"]) == (
        "draft",
        "1350.49",
        3,
        "maker",
    )
    assert [line["amount"] for line in body["lines"]] == ["1000.00", "99.99", "250.50"]
    pk = body["id"]
    listing = client.get(f"{url}?state=draft", **headers)
    assert listing.status_code == 200 and listing.json()["count"] == 1
    assert client.get(f"{url}{pk}/", **headers).json()["lines"][0]["iban"] == IBAN_A
    # The creator cannot approve (400 naming why); a clerk has no permission (403).
    refused = client.post(f"{url}{pk}/approve/", **headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["approved_by"] == [
        "The person who created the batch cannot approve it."
    ]
    clerk, _h = api(s.clerk, s)
    assert clerk.post(f"{url}{pk}/approve/", **headers).status_code == 403
    assert clerk.get(f"{url}{pk}/", **headers).status_code == 200
    approver, _h = api(s.approver, s)
    approved = approver.post(f"{url}{pk}/approve/", **headers)
    assert approved.status_code == 200 and approved.json()["approved_by"] == "approver"
    exported = client.post(f"{url}{pk}/export/", **headers)
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("application/xml")
    sepa.sepa_validate(exported.content, sepa.SCHEMA_TRANSFER)
    assert client.get(f"{url}{pk}/", **headers).json()["state"] == "exported"
    cancelled = client.post(f"{url}{pk}/cancel/", **headers)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    # Chosen bills, one of another direction: refused naming it.
    chosen = client.post(
        url,
        {**payload, "invoices": [bills["A1"].pk, bills["SALE"].pk]},
        content_type="application/json",
        **headers,
    )
    assert chosen.status_code == 400
    assert "invoices" in chosen.json()["error"]["fields"]


def test_direct_debit_and_mandate_api(sepa_setup: Any) -> None:  # noqa: F811
    s = sepa_setup
    client, headers = api(s.maker, s)
    url = f"{API}/mandates/"
    bad = client.post(
        url,
        {"partner": "SA", "reference": "M-1", "iban": IBAN_C, "signed_on": "2026-01-01"},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 400
    assert "is not a customer" in bad.json()["error"]["fields"]["partner"][0]
    made = client.post(
        url,
        {
            "partner": "CA",
            "reference": "M-1",
            "scheme": "CORE",
            "iban": IBAN_C,
            "signed_on": "2026-01-01",
        },
        content_type="application/json",
        **headers,
    )
    assert made.status_code == 201, made.content
    mid = made.json()["id"]
    assert made.json()["state"] == "active" and made.json()["bic"] == "CAGLESMM"
    patched = client.patch(
        f"{url}{mid}/", {"bic": "CAGLESMMXXX"}, content_type="application/json", **headers
    )
    assert patched.status_code == 200 and patched.json()["bic"] == "CAGLESMMXXX"
    assert client.get(f"{url}?scheme=CORE", **headers).json()["count"] == 1
    invoice = sale(s, s.customer_a, "30.00", dt.date(2026, 4, 1))
    batches = f"{API}/payment-batches/"
    created = client.post(
        batches,
        {
            "kind": "debit",
            "bank_account": s.bank.iban,
            "execution_date": soon().isoformat(),
            "invoices": [invoice.pk],
            "scheme": "CORE",
        },
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201, created.content
    [line] = created.json()["lines"]
    assert (line["mandate"], line["sequence_type"], line["amount"]) == ("M-1", "FRST", "30.00")
    assert created.json()["scheme"] == "CORE"
    # Used now: cannot be deleted, only revoked.
    assert client.delete(f"{url}{mid}/", **headers).status_code == 400
    revoked = client.post(f"{url}{mid}/revoke/", **headers)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    spare = sepa.mandate_create(
        company=s.company,
        partner=s.customer_b,
        reference="SPARE",
        iban=IBAN_C,
        signed_on=dt.date(2026, 1, 1),
    )
    assert client.delete(f"{url}{spare.pk}/", **headers).status_code == 204
    clerk, _h = api(s.clerk, s)
    assert clerk.post(f"{url}{mid}/revoke/", **headers).status_code == 403


def test_debit_page_says_when_the_account_cannot_collect(sepa_setup: Any) -> None:  # noqa: F811
    s = sepa_setup
    type(s.bank).objects.filter(pk=s.bank.pk).update(creditor_id="")
    page = client_for(s.maker).get(
        f"{base(s)}/payment-batches/new/debit/",
        {"bank_account": s.bank.pk, "date": soon().isoformat(), "scheme": "CORE"},
    )
    assert page.status_code == 400
    assert "creditor identifier" in text(page) and "batch-preview" not in page.content.decode()


def test_lists_take_the_same_queries_for_one_batch_or_many(
    sepa_setup: Any,  # noqa: F811
) -> None:
    """No query per row: the page and the API list of 1 batch and of 4 cost the same."""
    s = sepa_setup
    due_bills(s)
    transfer(s)
    client = client_for(s.maker)
    api_client, headers = api(s.maker, s)
    page_url = f"{base(s)}/payment-batches/"
    api_url = f"{API}/payment-batches/"

    def count(call: Any) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert call().status_code == 200
        return len(queries)

    count(lambda: client.get(page_url))  # warm the caches (content types, sessions)
    count(lambda: api_client.get(api_url, **headers))
    one = (count(lambda: client.get(page_url)), count(lambda: api_client.get(api_url, **headers)))
    for n in range(3):
        bill(s, s.supplier_a, "10.00", f"Q-{n}", dt.date(2026, 4, 1))
        transfer(s, user=s.approver)
    assert PaymentBatch.objects.count() == 4
    many = (count(lambda: client.get(page_url)), count(lambda: api_client.get(api_url, **headers)))
    assert many == one
