"""The pages of sales invoices and supplier bills: lists (filters, overdue, export), the form
(lines, errors on the right row, save and issue), the live totals, the detail page and its
actions (issue, duplicate, credit note, approval), and who may do what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from trastienda.billing import services
from trastienda.billing.models import (
    BillingSettings,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
    Partner,
    PaymentTerm,
    Product,
    Tax,
)
from trastienda.core.context import acting
from trastienda.documents.models import Document
from trastienda.ledger import services as ledger
from trastienda.ledger.models import Account, Journal

D = Decimal
BASE = "/c/ACME/billing"


def acc(company: Any, code: str) -> Account:
    return Account.objects.get(company=company, code=code)


@pytest.fixture
def setup(company: Any) -> Any:
    """ACME (ES) with 2026 open, its own taxes, two series, a product and two partners (the
    pattern of test_invoices.py's fixture, copied: that one may change)."""
    ledger.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    Tax.objects.filter(company=company).update(active=False)
    taxes = {
        "T21": Tax.objects.create(
            company=company, code="T21", name_en="VAT 21%", kind="vat", scope="both",
            rate=D("21"), sale_account=acc(company, "4770"), purchase_account=acc(company, "4720"),
        ),
        "T10": Tax.objects.create(
            company=company, code="T10", name_en="VAT 10%", kind="vat", scope="both",
            rate=D("10"), sale_account=acc(company, "4770"), purchase_account=acc(company, "4720"),
        ),
        "IRPF15": Tax.objects.create(
            company=company, code="IRPF15", name_en="IRPF 15%", kind="withholding",
            scope="both", rate=D("15"), sale_account=acc(company, "4730"),
            purchase_account=acc(company, "4751"),
        ),
    }  # fmt: skip
    journal = Journal.objects.get(company=company, code="SAL")
    InvoiceSeries.objects.for_company(company).update(active=False)
    series = {
        "F": InvoiceSeries.objects.create(
            company=company, code="FX", name="Invoices", journal=journal, kind="invoice"
        ),
        "R": InvoiceSeries.objects.create(
            company=company, code="RX", name="Credit notes", journal=journal, kind="credit_note"
        ),
    }
    settings = services.billing_settings(company)
    settings.customer_account = acc(company, "4300")
    settings.supplier_account = acc(company, "4000")
    settings.income_account = acc(company, "7000")
    settings.expense_account = acc(company, "6000")
    settings.save()
    customer = Partner.objects.create(
        company=company, code="C1", legal_name="Cliente Uno S.L.", tax_id="B12345674",
        is_customer=True, language="en",
    )  # fmt: skip
    supplier = Partner.objects.create(
        company=company, code="S1", legal_name="Proveedor Uno S.L.", tax_id="A58818501",
        is_customer=False, is_supplier=True,
    )  # fmt: skip
    supplier.purchase_taxes.set([taxes["T21"]])
    product = Product.objects.create(
        company=company, sku="TORN", name_en="Screws", name_es="Tornillos", unit="KGM",
        sale_price=100050, purchase_price=50000,
    )  # fmt: skip
    product.sale_taxes.set([taxes["T10"]])
    return type(
        "Setup",
        (),
        {
            "company": company,
            "taxes": taxes,
            "series": series,
            "customer": customer,
            "supplier": supplier,
            "product": product,
        },
    )


@pytest.fixture
def web(client: Client, accountant: Any, setup: Any) -> Client:
    client.force_login(accountant)
    return client


def form_data(header: dict[str, Any], lines: list[dict[str, Any]], blank: int = 1) -> dict:
    """What the browser posts: the header and every row, blank ones as the page draws them."""
    data: dict[str, Any] = {"currency": "", "rate": "", **header}
    rows = [*lines, *([{}] * blank)]
    data.update(
        {
            "lines-TOTAL_FORMS": str(len(rows)),
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "500",
        }
    )
    for index, row in enumerate(rows):
        values = {
            **dict.fromkeys(("product", "description", "unit_price", "discount"), ""),
            **dict.fromkeys(("account", "cost_centre"), ""),
            "quantity": "1",
            "unit": "C62",
            **row,
        }
        for key, value in values.items():
            data[f"lines-{index}-{key}"] = value
    return data


def sale_header(setup: Any, **extra: Any) -> dict[str, Any]:
    return {"partner": setup.customer.pk, "kind": "invoice", "date": "2026-03-10", **extra}


def two_lines(setup: Any) -> list[dict[str, Any]]:
    return [
        {"description": "Tornillos", "quantity": "3", "unit_price": "10.005",
         "taxes": [setup.taxes["T21"].pk]},
        {"description": "Tuercas", "quantity": "1.5", "unit_price": "4.10", "discount": "10",
         "taxes": [setup.taxes["T10"].pk]},
    ]  # fmt: skip


def draft(setup: Any, **kw: Any) -> Invoice:
    lines = kw.pop(
        "lines",
        [
            {"description": "Tornillos", "quantity": D("3"), "unit_price": D("10.0050"),
             "taxes": [setup.taxes["T21"]]},
        ],
    )  # fmt: skip
    return services.invoice_create_draft(
        company=setup.company, direction=kw.pop("direction", "sale"),
        partner=kw.pop("partner", setup.customer), date=kw.pop("date", dt.date(2026, 3, 10)),
        lines=lines, **kw,
    )  # fmt: skip


def bill(setup: Any, reference: str = "A-1", **kw: Any) -> Invoice:
    return draft(
        setup, direction="purchase", partner=setup.supplier, supplier_reference=reference,
        lines=[{"description": "Licencias", "quantity": D("1"), "unit_price": D("200"),
                "taxes": [setup.taxes["T21"]]}], **kw,
    )  # fmt: skip


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- lists ------------------------------------------------------------------------------------


def test_lists_filter_overdue_and_export(web: Client, setup: Any) -> None:
    open_draft = draft(setup)
    overdue = services.invoice_issue(instance=draft(setup))  # due 2026-03-10: past
    term = PaymentTerm.objects.create(company=setup.company, code="Y", name="Year", days="365")
    not_due = services.invoice_issue(instance=draft(setup, payment_term=term))
    paid = services.invoice_issue(instance=draft(setup))
    services.payment_create(
        company=setup.company, direction="sale", partner=setup.customer,
        date=dt.date(2026, 3, 20), amount=decimal_of(paid.total_amount),
        bank_account=acc(setup.company, "5720"), allocations=[{"invoice": paid}],
    )  # fmt: skip
    a_bill = bill(setup)
    note = services.invoice_issue(
        instance=services.credit_note_create(
            instance=paid, reason="Devolución", date=dt.date(2026, 3, 21)
        )
    )

    response = web.get(f"{BASE}/invoices/")
    assert response.status_code == 200
    shown = {row.record.pk for row in response.context["table"].rows}
    assert shown == {open_draft.pk, overdue.pk, not_due.pk, paid.pk, note.pk}
    body = response.content.decode()
    assert "New invoice" in body and 'name="direction"' not in body
    assert f"{BASE}/invoices/add/" in body

    response = web.get(f"{BASE}/invoices/?overdue=true")
    assert {row.record.pk for row in response.context["table"].rows} == {overdue.pk}
    assert "Overdue" in response.content.decode()
    response = web.get(f"{BASE}/invoices/?overdue=false")
    assert overdue.pk not in {row.record.pk for row in response.context["table"].rows}
    response = web.get(f"{BASE}/invoices/?state=draft")
    assert {row.record.pk for row in response.context["table"].rows} == {open_draft.pk}
    response = web.get(f"{BASE}/invoices/?q={overdue.number}")
    assert {row.record.pk for row in response.context["table"].rows} == {overdue.pk}

    response = web.get(f"{BASE}/bills/")
    assert response.status_code == 200
    assert {row.record.pk for row in response.context["table"].rows} == {a_bill.pk}
    assert "Supplier bills" in response.content.decode()
    assert "New bill" in response.content.decode()

    response = web.get(f"{BASE}/invoices/?export=csv&state=issued&sort=invoice")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="invoices-')
    text = response.content.decode("utf-8-sig")
    rows = [line for line in text.splitlines() if line]
    assert rows == [
        "Invoice,Date,Partner,Status,Due,Total,Outstanding",
        "FX2026-00001,2026-03-10,Cliente Uno S.L.,Overdue,2026-03-10,36.32,36.32",
        "FX2026-00002,2026-03-10,Cliente Uno S.L.,Unpaid,2027-03-10,36.32,36.32",
        "FX2026-00003,2026-03-10,Cliente Uno S.L.,Paid,2026-03-10,36.32,0.00",
        # a credit note of a paid invoice: negative, and open (the customer's credit)
        "RX2026-00001,2026-03-21,Cliente Uno S.L.,Not applied,2026-03-21,-36.32,-36.32",
    ]
    assert "A-1" not in text
    response = web.get(f"{BASE}/bills/?export=xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="supplier-bills-')


def decimal_of(minor: int) -> Decimal:
    return Decimal(minor) / 100


def test_list_query_count_does_not_grow_with_rows(
    web: Client, setup: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        draft(setup)
    web.get(f"{BASE}/invoices/")  # warm the session and the caches
    with django_assert_max_num_queries(25) as few:
        web.get(f"{BASE}/invoices/")
    for _ in range(10):
        draft(setup)
    with django_assert_max_num_queries(len(few.captured_queries)):
        web.get(f"{BASE}/invoices/")


# --- the form ---------------------------------------------------------------------------------


def test_new_invoice_page(web: Client, setup: Any) -> None:
    response = web.get(f"{BASE}/invoices/add/?partner=C1")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="invoice-form"' in body and "Save and issue" in body
    form = response.context["form"]
    assert form.initial["partner"] == setup.customer.pk
    # customers only, the company's active series with their kind, sales taxes only
    partners = [p.pk for p in form.fields["partner"].queryset]
    assert partners == [setup.customer.pk]
    assert {s.code for s in form.fields["series"].queryset} == {"FX", "RX"}
    assert 'data-kind="credit_note"' in body
    kinds = [value for value, _label in form.fields["kind"].choices]
    assert kinds == ["invoice", "simplified", "credit_note"]
    assert "supplier_reference" not in form.fields and "attachment_file" not in form.fields
    line = response.context["formset"].forms[0]
    assert {t.code for t in line.fields["taxes"].queryset} == {"T21", "T10", "IRPF15"}
    assert len(response.context["formset"].forms) == 3


def test_create_a_draft_with_two_lines(web: Client, setup: Any) -> None:
    data = form_data(sale_header(setup, notes="Pedido 7"), two_lines(setup))
    response = web.post(f"{BASE}/invoices/add/", data)
    invoice = Invoice.objects.get(company=setup.company)
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/invoices/{invoice.pk}/"
    assert invoice.direction == "sale" and invoice.state == "draft" and invoice.number is None
    assert invoice.notes == "Pedido 7" and invoice.currency == "EUR"
    lines = list(invoice.lines.order_by("line_no"))
    assert [(x.description, x.quantity, x.unit_price, x.discount) for x in lines] == [
        ("Tornillos", D("3"), 100050, D("0")),
        ("Tuercas", D("1.5"), 41000, D("10")),
    ]
    assert [x.net_amount for x in lines] == [3002, 554]
    assert [[t.code for t in x.taxes.all()] for x in lines] == [["T21"], ["T10"]]
    assert (invoice.net_amount, invoice.tax_amount, invoice.total_amount) == (3556, 685, 4241)
    assert invoice.created_by is not None and invoice.created_by.username == "marta"
    page = web.get(response["Location"])
    assert "Cliente Uno S.L." in page.content.decode()
    assert "42.41" in page.content.decode()


def test_a_line_error_is_shown_on_its_row_and_nothing_is_written(web: Client, setup: Any) -> None:
    lines = [
        {},  # a blank first row is ignored
        {"description": "Tornillos", "quantity": "3", "unit_price": "10.005"},
        {"description": "Tuercas", "quantity": "0", "unit_price": "4.10"},
    ]
    data = form_data(sale_header(setup), lines, blank=0)
    response = web.post(f"{BASE}/invoices/add/", data)
    assert response.status_code == 400
    assert Invoice.objects.count() == 0 and InvoiceLine.objects.count() == 0
    forms = response.context["formset"].forms
    assert not forms[0].errors and not forms[1].errors
    assert forms[2].errors["quantity"] == ["The quantity cannot be zero."]
    assert "is-invalid" in str(forms[2]["quantity"])  # the page's focus goes there
    body = response.content.decode()
    assert "Line 3: Quantity: The quantity cannot be zero." in body
    # what was typed is still there
    assert 'value="Tuercas"' in body


def test_header_errors_land_on_their_fields(web: Client, setup: Any) -> None:
    data = form_data(
        sale_header(setup, kind="credit_note", currency="USD", rectifies="NOPE"),
        two_lines(setup),
    )
    response = web.post(f"{BASE}/invoices/add/", data)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["rate"] == ["Enter how many EUR one USD is worth."]
    assert form.errors["rectifies"] == ["No issued invoice NOPE."]
    assert Invoice.objects.count() == 0
    data = form_data(sale_header(setup, series=setup.series["R"].pk), two_lines(setup))
    response = web.post(f"{BASE}/invoices/add/", data)
    assert response.status_code == 400
    assert response.context["form"].errors["series"] == ["The series RX is for Credit notes."]


def test_save_and_issue(web: Client, setup: Any) -> None:
    data = form_data(sale_header(setup), two_lines(setup))
    data["issue"] = "1"
    response = web.post(f"{BASE}/invoices/add/", data, follow=True)
    invoice = Invoice.objects.get(company=setup.company)
    assert invoice.state == "issued" and invoice.number == "FX2026-00001"
    assert invoice.entry is not None and invoice.open_amount == 4241
    assert "Invoice FX2026-00001 issued." in messages_of(response)
    assert 'id="invoice-number">FX2026-00001<' in response.content.decode()


def test_save_and_issue_that_fails_writes_nothing(web: Client, setup: Any) -> None:
    setup.customer.tax_id = ""
    setup.customer.save()
    data = form_data(sale_header(setup), two_lines(setup))
    data["issue"] = "1"
    response = web.post(f"{BASE}/invoices/add/", data)
    assert response.status_code == 400
    assert Invoice.objects.count() == 0
    assert response.context["form"].errors["partner"] == [
        "A full invoice needs the customer's tax id; issue a simplified invoice instead."
    ]


def test_edit_a_draft_and_its_lines(web: Client, setup: Any) -> None:
    invoice = draft(setup)
    response = web.get(f"{BASE}/invoices/{invoice.pk}/edit/")
    assert response.status_code == 200
    forms = response.context["formset"].forms
    assert len(forms) == 2  # the line, and a blank row
    assert forms[0].initial["unit_price"] == D("10.005")
    assert 'value="10.005"' in response.content.decode()
    data = form_data(
        sale_header(setup), [{"description": "Otra cosa", "quantity": "2", "unit_price": "5"}]
    )
    response = web.post(f"{BASE}/invoices/{invoice.pk}/edit/", data)
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert [x.description for x in invoice.lines.all()] == ["Otra cosa"]
    assert invoice.total_amount == 1000


def test_an_issued_invoice_is_not_edited(web: Client, setup: Any) -> None:
    invoice = services.invoice_issue(instance=draft(setup))
    response = web.get(f"{BASE}/invoices/{invoice.pk}/edit/")
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/invoices/{invoice.pk}/"
    page = web.get(response["Location"])
    assert "FX2026-00001 is issued: it cannot be changed" in page.content.decode()
    data = form_data(sale_header(setup), [{"description": "x", "unit_price": "1"}])
    response = web.post(f"{BASE}/invoices/{invoice.pk}/edit/", data)
    assert response.status_code == 400
    invoice.refresh_from_db()
    assert invoice.total_amount == 3002 + 630 and invoice.lines.count() == 1
    response = web.get(f"{BASE}/invoices/{invoice.pk}/delete/")
    assert response.status_code == 302
    response = web.post(f"{BASE}/invoices/{invoice.pk}/delete/")
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_delete_a_draft(web: Client, setup: Any) -> None:
    invoice = draft(setup)
    assert web.get(f"{BASE}/invoices/{invoice.pk}/delete/").status_code == 200
    response = web.post(f"{BASE}/invoices/{invoice.pk}/delete/")
    assert response.status_code == 302 and not Invoice.objects.filter(pk=invoice.pk).exists()


def test_a_bill_with_its_supplier_document(web: Client, setup: Any) -> None:
    response = web.get(f"{BASE}/bills/add/")
    assert response.status_code == 200
    form = response.context["form"]
    assert [p.pk for p in form.fields["partner"].queryset] == [setup.supplier.pk]
    assert "series" not in form.fields and "attachment_file" in form.fields
    assert [v for v, _label in form.fields["kind"].choices] == ["invoice", "credit_note"]
    pdf = SimpleUploadedFile(
        "factura.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", "application/pdf"
    )
    data = form_data(
        {"partner": setup.supplier.pk, "kind": "invoice", "date": "2026-03-05",
         "supplier_reference": "P-77"},
        [{"description": "Licencias", "unit_price": "200", "taxes": [setup.taxes["T21"].pk]}],
    )  # fmt: skip
    data["attachment_file"] = pdf
    response = web.post(f"{BASE}/bills/add/", data)
    assert response.status_code == 302
    created = Invoice.objects.get(company=setup.company)
    assert created.direction == "purchase" and created.supplier_reference == "P-77"
    assert created.total_amount == 24200
    document = created.attachment
    assert document is not None and document.kind == Document.Kind.INVOICE
    assert document.original_name == "factura.pdf" and document.reference == "P-77"
    page = web.get(f"{BASE}/bills/{created.pk}/").content.decode()
    assert f"/c/ACME/documents/{document.pk}/download/" in page

    # a file that is not what it says is refused, and nothing is written
    fake = SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")
    data["attachment_file"] = fake
    data["supplier_reference"] = "P-78"
    response = web.post(f"{BASE}/bills/add/", data)
    assert response.status_code == 400
    assert "attachment_file" in response.context["form"].errors
    assert Invoice.objects.count() == 1 and Document.objects.count() == 1


def test_a_rejected_bill_leaves_no_document_behind(web: Client, setup: Any) -> None:
    bill(setup, reference="P-1")
    pdf = SimpleUploadedFile("f.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
    data = form_data(
        {"partner": setup.supplier.pk, "kind": "invoice", "date": "2026-03-05",
         "supplier_reference": "P-1"},
        [{"description": "Licencias", "unit_price": "200"}],
    )  # fmt: skip
    data["attachment_file"] = pdf
    files_before = stored_files()
    response = web.post(f"{BASE}/bills/add/", data)
    assert response.status_code == 400
    assert response.context["form"].errors["supplier_reference"] == [
        "This supplier's bill P-1 is already recorded."
    ]
    assert Document.objects.count() == 0 and Invoice.objects.count() == 1
    assert stored_files() == files_before  # the file written for the document is gone too


def stored_files() -> set[str]:
    import os

    from django.conf import settings

    return {
        os.path.join(root, name)
        for root, _dirs, names in os.walk(settings.MEDIA_ROOT)
        for name in names
    }


# --- live totals and product defaults ---------------------------------------------------------


def test_totals_partial(web: Client, setup: Any) -> None:
    lines = [
        *two_lines(setup),
        {"description": "Asesoría", "unit_price": "100",
         "taxes": [setup.taxes["T21"].pk, setup.taxes["IRPF15"].pk]},
        {"description": "roto", "quantity": "abc", "unit_price": "1"},
    ]  # fmt: skip
    data = form_data(sale_header(setup), lines)
    response = web.post(f"{BASE}/invoices/totals/?direction=sale", data)
    assert response.status_code == 200
    totals = response.context["totals"]
    # the same arithmetic as the invoice: 30.02 + 5.54 + 100 net; 21% of 130.02, 10% of 5.54
    assert totals["net"] == D("135.56")
    assert [(row["tax"].code, row["base"], row["amount"]) for row in totals["taxes"]] == [
        ("T21", D("130.02"), D("27.30")),
        ("T10", D("5.54"), D("0.55")),
        ("IRPF15", D("100.00"), D("15.00")),
    ]
    assert totals["total"] == D("163.41") and totals["withholding"] == D("15.00")
    assert totals["payable"] == D("148.41") and totals["skipped"] == 1
    body = response.content.decode()
    assert 'id="summary-payable" class="num" hx-swap-oob="true">148.41<' in body
    assert 'id="id_lines-0-net" data-line-net hx-swap-oob="true">30.02<' in body
    assert "1 line with errors is left out." in body
    # the service agrees
    issued = draft(setup, lines=[line for line in services_lines(setup)])
    assert issued.payable_amount == 14841
    assert web.get(f"{BASE}/invoices/totals/").status_code == 200


def services_lines(setup: Any) -> list[dict[str, Any]]:
    t = setup.taxes
    return [
        {"description": "a", "quantity": D("3"), "unit_price": D("10.005"), "taxes": [t["T21"]]},
        {"description": "b", "quantity": D("1.5"), "unit_price": D("4.10"), "discount": D("10"),
         "taxes": [t["T10"]]},
        {"description": "c", "unit_price": D("100"), "taxes": [t["T21"], t["IRPF15"]]},
    ]  # fmt: skip


def test_product_defaults(web: Client, setup: Any) -> None:
    url = f"{BASE}/invoices/product/"
    assert web.get(url).json() == {}
    data = web.get(f"{url}?product={setup.product.pk}&direction=sale&language=es").json()
    assert data == {
        "description": "Tornillos",
        "unit": "KGM",
        "unit_price": "10.005",
        "taxes": [setup.taxes["T10"].pk],
    }
    # a purchase: the product has no purchase taxes, so the supplier's defaults
    data = web.get(
        f"{url}?product={setup.product.pk}&direction=purchase&partner={setup.supplier.pk}"
    ).json()
    assert data["unit_price"] == "5.00" and data["taxes"] == [setup.taxes["T21"].pk]
    assert data["description"] == "Tornillos"  # the supplier writes in Spanish


def test_new_line_row(web: Client, setup: Any) -> None:
    response = web.get(f"{BASE}/invoices/line/?direction=purchase&lines-TOTAL_FORMS=4")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="lines-4-description"' in body and "data-invoice-line" in body
    assert 'data-account-search="/c/ACME/ledger/accounts/search/"' in body


# --- the detail page and its actions ----------------------------------------------------------


def test_detail_page_of_an_issued_invoice(web: Client, setup: Any) -> None:
    term = PaymentTerm.objects.create(company=setup.company, code="2P", name="Two", days="0/400")
    invoice = services.invoice_issue(instance=draft(setup, payment_term=term))
    services.payment_create(
        company=setup.company, direction="sale", partner=setup.customer,
        date=dt.date(2026, 3, 20), amount=D("10.00"), bank_account=acc(setup.company, "5720"),
        allocations=[{"invoice": invoice, "amount": D("10.00")}],
    )  # fmt: skip
    response = web.get(f"{BASE}/invoices/{invoice.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    ctx = response.context
    assert ctx["payment_label"] == "Overdue"  # the first instalment was due on the date
    assert [(i["amount"], i["open"], i["overdue"]) for i in ctx["installments"]] == [
        (D("18.16"), D("8.16"), True),
        (D("18.16"), D("18.16"), False),
    ]
    assert len(ctx["allocations"]) == 1 and ctx["allocations"][0]["amount"] == D("10.00")
    assert f"/c/ACME/ledger/entries/{invoice.entry_id}/" in body
    assert 'id="issue-invoice"' not in body and 'id="edit-object"' not in body
    assert 'id="credit-note-toggle"' in body and 'id="duplicate-invoice"' in body
    assert "/billing/payments/add/?partner=C1&amp;invoice=" in body
    assert "Tornillos" in body and "T21 · VAT 21%" in body
    assert ctx["history"]


def test_issue_duplicate_and_credit_note_actions(web: Client, setup: Any) -> None:
    invoice = draft(setup)
    page = web.get(f"{BASE}/invoices/{invoice.pk}/").content.decode()
    assert 'id="issue-invoice"' in page and 'id="edit-object"' in page
    assert web.get(f"{BASE}/invoices/{invoice.pk}/issue/").status_code == 405
    response = web.post(f"{BASE}/invoices/{invoice.pk}/issue/", follow=True)
    invoice.refresh_from_db()
    assert invoice.number == "FX2026-00001"
    assert "Invoice FX2026-00001 issued." in messages_of(response)
    # issuing twice: the service's reason, nothing else happens
    response = web.post(f"{BASE}/invoices/{invoice.pk}/issue/", follow=True)
    assert messages_of(response) == ["An issued invoice cannot change; issue a credit note."]

    response = web.post(f"{BASE}/invoices/{invoice.pk}/duplicate/")
    copy = Invoice.objects.exclude(pk=invoice.pk).get()
    assert response["Location"] == f"{BASE}/invoices/{copy.pk}/edit/"
    assert copy.state == "draft" and copy.total_amount == invoice.total_amount

    response = web.post(f"{BASE}/invoices/{invoice.pk}/credit-note/", {"reason": ""}, follow=True)
    assert Invoice.objects.filter(kind="credit_note").count() == 0
    assert any("Reason" in m for m in messages_of(response))
    response = web.post(
        f"{BASE}/invoices/{invoice.pk}/credit-note/",
        {"date": "2026-03-12", "reason": "Devolución"},
    )
    note = Invoice.objects.get(kind="credit_note")
    assert response["Location"] == f"{BASE}/invoices/{note.pk}/edit/"
    assert note.rectifies == invoice and note.rectification_reason == "Devolución"
    assert note.series == setup.series["R"]
    edit = web.get(response["Location"])
    assert edit.context["form"].initial["rectifies"] == "FX2026-00001"
    assert 'value="FX2026-00001"' in edit.content.decode()
    # saved and issued from its form, it settles the invoice
    data = form_data(
        sale_header(setup, kind="credit_note", series=setup.series["R"].pk, date="2026-03-12",
                    rectifies="FX2026-00001", rectification_reason="Devolución"),
        [{"description": "Tornillos", "quantity": "3", "unit_price": "10.005",
          "taxes": [setup.taxes["T21"].pk]}],
    )  # fmt: skip
    data["issue"] = "1"
    response = web.post(f"{BASE}/invoices/{note.pk}/edit/", data)
    assert response.status_code == 302
    note.refresh_from_db()
    invoice.refresh_from_db()
    assert note.number == "RX2026-00001" and invoice.payment_state == "paid"
    page = web.get(f"{BASE}/invoices/{invoice.pk}/").content.decode()
    assert "RX2026-00001" in page and 'id="invoice-credit-notes"' in page
    page = web.get(f"{BASE}/invoices/{note.pk}/").content.decode()
    assert 'id="invoice-rectifies"' in page and "FX2026-00001" in page


def test_bill_approval(client: Client, setup: Any, make_user: Any, accountant: Any) -> None:
    settings = BillingSettings.objects.get(company=setup.company)
    settings.approval_threshold = 10000
    settings.save()
    clerk = make_user("pedro", company=setup.company, role="clerk")
    with acting(user=accountant, company=setup.company):
        entered = bill(setup, reference="B-9")
    client.force_login(accountant)
    page = client.get(f"{BASE}/bills/{entered.pk}/").content.decode()
    assert 'id="submit-bill"' in page and 'id="issue-invoice"' not in page
    assert "above the approval threshold" in page
    client.post(f"{BASE}/bills/{entered.pk}/submit/")
    entered.refresh_from_db()
    assert entered.state == "to_approve"
    page = client.get(f"{BASE}/bills/{entered.pk}/").content.decode()
    assert "Entered by Marta Gómez; another person must approve it." in page
    assert 'id="approve-bill" disabled' in page
    response = client.post(f"{BASE}/bills/{entered.pk}/approve/", follow=True)
    assert messages_of(response) == ["The person who entered a bill cannot approve it."]
    entered.refresh_from_db()
    assert entered.state == "to_approve"

    # a clerk may not approve at all
    client.force_login(clerk)
    assert client.post(f"{BASE}/bills/{entered.pk}/approve/").status_code == 403

    boss = make_user("jefa", company=setup.company, role="chief_accountant")
    client.force_login(boss)
    response = client.post(f"{BASE}/bills/{entered.pk}/reject/", {"reason": "Falta pedido"})
    entered.refresh_from_db()
    assert entered.state == "draft" and "Falta pedido" in entered.notes
    client.force_login(accountant)
    client.post(f"{BASE}/bills/{entered.pk}/submit/")
    client.force_login(boss)
    client.post(f"{BASE}/bills/{entered.pk}/approve/")
    entered.refresh_from_db()
    assert entered.state == "approved" and entered.approved_by == boss
    page = client.get(f"{BASE}/bills/{entered.pk}/").content.decode()
    assert 'id="issue-invoice"' in page
    response = client.post(f"{BASE}/bills/{entered.pk}/issue/", follow=True)
    entered.refresh_from_db()
    assert entered.state == "issued"
    assert messages_of(response) == ["Bill B-9 posted."]


# --- permissions ------------------------------------------------------------------------------


def test_a_clerk_drafts_but_does_not_issue(client: Client, setup: Any, make_user: Any) -> None:
    clerk = make_user("pedro", company=setup.company, role="clerk")
    client.force_login(clerk)
    response = client.get(f"{BASE}/invoices/add/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="save-issue"' not in body
    assert "data-account-search" not in body  # no ledger access: a plain select of accounts
    data = form_data(sale_header(setup), two_lines(setup))
    response = client.post(f"{BASE}/invoices/add/", dict(data, issue="1"))
    assert response.status_code == 403 and Invoice.objects.count() == 0
    response = client.post(f"{BASE}/invoices/add/", data)
    assert response.status_code == 302
    invoice = Invoice.objects.get()
    page = client.get(f"{BASE}/invoices/{invoice.pk}/").content.decode()
    assert 'id="issue-invoice"' not in page and 'id="edit-object"' in page
    assert 'id="delete-object"' not in page
    assert client.post(f"{BASE}/invoices/{invoice.pk}/issue/").status_code == 403
    invoice.refresh_from_db()
    assert invoice.state == "draft"


def test_a_viewer_reads_but_does_not_add(client: Client, setup: Any, make_user: Any) -> None:
    auditor = make_user("ana", company=setup.company, role="auditor")
    invoice = draft(setup)
    client.force_login(auditor)
    assert client.get(f"{BASE}/invoices/").status_code == 200
    page = client.get(f"{BASE}/invoices/{invoice.pk}/").content.decode()
    assert 'id="edit-object"' not in page and 'id="duplicate-invoice"' not in page
    assert client.get(f"{BASE}/invoices/add/").status_code == 403
    data = form_data(sale_header(setup), two_lines(setup))
    assert client.post(f"{BASE}/invoices/add/", data).status_code == 403
    assert client.post(f"{BASE}/invoices/{invoice.pk}/duplicate/").status_code == 403
    assert Invoice.objects.count() == 1


def test_another_companys_invoice_is_not_found(web: Client, setup: Any, other_company: Any) -> None:
    partner = Partner.objects.create(company=other_company, code="X", legal_name="X")
    foreign = services.invoice_create_draft(
        company=other_company, direction="sale", partner=partner, date=dt.date(2026, 3, 1),
        lines=[{"description": "x", "unit_price": D("1")}],
    )  # fmt: skip
    assert web.get(f"{BASE}/invoices/{foreign.pk}/").status_code == 404
    assert web.post(f"{BASE}/invoices/{foreign.pk}/issue/").status_code == 404
    mine = bill(setup)
    assert web.get(f"{BASE}/invoices/{mine.pk}/").status_code == 404  # a bill, not an invoice
    assert web.get(f"{BASE}/bills/{mine.pk}/").status_code == 200
