"""A sales invoice typed in the browser: the partner fills its defaults, a product fills its
line, the keyboard walks the cells and adds and removes lines, the totals follow, and
"Save and issue" gives the invoice its number. Then the same form without JavaScript."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import expect

from trastienda.billing import services
from trastienda.billing.models import Installment, Invoice, Partner, PaymentTerm, Product, Tax
from trastienda.conftest import PASSWORD
from trastienda.ledger import services as ledger
from trastienda.ledger.models import JournalEntry, JournalEntryLine
from trastienda.ledger.triggers import lifted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def books(acme: Any) -> Iterator[tuple[Partner, Product, Tax]]:
    """2026 open; a customer with a 30-day term; a product with VAT 21%; one issued invoice.
    Afterwards the posted entries go with the immutability triggers lifted (flush cannot on
    SQLite)."""
    ledger.fiscal_year_create(
        company=acme, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    vat = Tax.objects.get(company=acme, code="IVA21-V")
    term = PaymentTerm.objects.get(company=acme, code="30")
    customer = Partner.objects.create(
        company=acme, code="LUNA", legal_name="Librería Luna S.L.", tax_id="B12345674",
        city="Sevilla", postal_code="41001", address="Calle Feria 7", language="es",
        payment_term=term,
    )  # fmt: skip
    customer.sale_taxes.set([vat])
    product = Product.objects.create(
        company=acme, sku="CONS", name_es="Consultoría", name_en="Consulting", unit="HUR",
        sale_price=500000,
    )  # fmt: skip
    product.sale_taxes.set([vat])
    first = services.invoice_create_draft(
        company=acme, direction="sale", partner=customer, date=dt.date(2026, 3, 10),
        lines=[{"description": "Primer pedido", "unit_price": Decimal("80"), "taxes": [vat]}],
    )  # fmt: skip
    services.invoice_issue(instance=first)
    yield customer, product, vat
    with lifted(connection):
        Installment.objects.filter(company=acme).delete()
        Invoice.objects.filter(company=acme).delete()
        JournalEntryLine.objects.filter(company=acme).delete()
        JournalEntry.objects.filter(company=acme).delete()


def test_invoice_typed_and_issued(
    page: Any, marta: Any, acme: Any, books: Any, sign_in: Any, shoot: Any
) -> None:
    customer, product, vat = books
    sign_in("marta", PASSWORD)
    page.goto("/c/ACME/billing/invoices/")
    expect(page.locator("h1")).to_have_text("Invoices")
    expect(page.locator("#object-table")).to_contain_text("F2026-00001")
    shoot(page, "billing-invoice-list")
    page.locator("#add-object").click()
    expect(page).to_have_url(re.compile(r"/c/ACME/billing/invoices/add/$"))

    # --- the header: the partner brings its payment term and language -----------------------
    expect(page.locator("#id_partner")).to_be_focused()
    expect(page.locator("[data-field-box=rate]")).to_be_hidden()  # euros: no rate asked
    expect(page.locator("#rectifies-fields")).to_be_hidden()  # not a credit note
    page.locator("#id_partner").select_option(str(customer.pk))
    expect(page.locator("#id_payment_term")).to_have_value(str(customer.payment_term_id))
    expect(page.locator("#id_language")).to_have_value("es")
    expect(page.locator("#id_currency")).to_have_value("EUR")
    page.keyboard.press("Enter")
    expect(page.locator("#id_kind")).to_be_focused()
    # a credit note shows the rectified invoice and the series of its kind only
    page.locator("#id_kind").select_option("credit_note")
    expect(page.locator("#rectifies-fields")).to_be_visible()
    page.locator("#id_kind").select_option("invoice")
    expect(page.locator("#rectifies-fields")).to_be_hidden()
    page.locator("#id_date").fill("2026-06-15")

    # --- line 1: a product fills its description, unit, price and taxes -----------------------
    page.locator("#id_lines-0-product").select_option(str(product.pk))
    expect(page.locator("#id_lines-0-description")).to_have_value("Consultoría")
    expect(page.locator("#id_lines-0-unit")).to_have_value("HUR")
    expect(page.locator("#id_lines-0-unit_price")).to_have_value("50.00")
    expect(page.locator("#id_lines-0-taxes")).to_have_values([str(vat.pk)])
    expect(page.locator("#id_lines-0-net")).to_have_text("50.00")
    expect(page.locator("#totals-payable")).to_have_text("60.50")
    page.locator("#id_lines-0-quantity").click()
    page.keyboard.press("Control+a")
    page.keyboard.type("3")
    page.keyboard.press("Enter")  # on to the unit, then the price
    expect(page.locator("#id_lines-0-unit")).to_be_focused()

    # --- line 2 by the keyboard: Enter from cell to cell; the partner's taxes come along ------
    page.locator("#id_lines-1-description").click()
    page.keyboard.type("Desplazamiento")
    page.keyboard.press("Enter")
    expect(page.locator("#id_lines-1-quantity")).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # the unit stays
    expect(page.locator("#id_lines-1-unit_price")).to_be_focused()
    page.keyboard.type("12.5")
    page.keyboard.press("Enter")
    expect(page.locator("#id_lines-1-discount")).to_be_focused()
    page.keyboard.type("10")
    page.keyboard.press("Enter")
    expect(page.locator("#id_lines-1-taxes")).to_be_focused()
    expect(page.locator("#id_lines-1-taxes")).to_have_values([str(vat.pk)])
    # 3 x 50 + 2 x 12.50 x 90% = 172.50; VAT 21% = 36.23 (on the sum, not per line)
    expect(page.locator("#id_lines-1-net")).to_have_text("22.50")
    expect(page.locator("#totals-net")).to_have_text("172.50")
    expect(page.locator("#totals-payable")).to_have_text("208.73")
    expect(page.locator("#summary-payable")).to_have_text("208.73")

    # --- Alt+N adds a line (HTMX), Alt+Backspace removes it --------------------------------
    rows = page.locator("#invoice-lines-body tr[data-invoice-line]")
    expect(rows).to_have_count(3)
    page.keyboard.press("Alt+n")
    expect(rows).to_have_count(4)
    expect(page.locator("#id_lines-TOTAL_FORMS")).to_have_value("4")
    expect(page.locator("#id_lines-3-product")).to_be_focused()
    page.keyboard.press("Alt+Backspace")
    expect(rows).to_have_count(3)
    expect(page.locator("#id_lines-TOTAL_FORMS")).to_have_value("3")
    page.locator("#id_notes").click()
    shoot(page, "billing-invoice-form")

    # --- save and issue: the number is shown ------------------------------------------------
    with page.expect_navigation():
        page.locator("#save-issue").click()
    expect(page).to_have_url(re.compile(r"/c/ACME/billing/invoices/\d+/$"))
    expect(page.locator("#invoice-number")).to_have_text("F2026-00002")
    expect(page.locator("#invoice-state")).to_have_text("Issued")
    expect(page.locator("#invoice-payable")).to_have_text("208.73")
    expect(page.locator(".alert-success")).to_contain_text("Invoice F2026-00002 issued.")
    shoot(page, "billing-invoice-detail")
    invoice = Invoice.objects.get(company=acme, number="F2026-00002")
    assert (
        invoice.date == dt.date(2026, 6, 15) and invoice.payment_term_id == customer.payment_term_id
    )
    assert list(invoice.lines.order_by("line_no").values_list("description", "net_amount")) == [
        ("Consultoría", 15000),
        ("Desplazamiento", 2250),
    ]
    assert (invoice.tax_amount, invoice.payable_amount) == (3623, 20873)
    assert invoice.due_date == dt.date(2026, 7, 15)

    # --- an issued invoice's edit link goes back to its page -----------------------------------
    page.goto(f"/c/ACME/billing/invoices/{invoice.pk}/edit/")
    expect(page).to_have_url(re.compile(rf"/c/ACME/billing/invoices/{invoice.pk}/$"))
    expect(page.locator(".alert-danger")).to_contain_text("cannot be changed")


def test_without_javascript_the_form_still_works(
    browser: Any, live_server: Any, marta: Any, acme: Any, books: Any
) -> None:
    """No script: every column shows, the totals are drawn by the server, the product's
    defaults (description, price) are applied on save."""
    from trastienda.tests.browser.pages import submit_login

    customer, product, vat = books
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="en-GB"
    )
    try:
        page = context.new_page()
        submit_login(page, "marta", PASSWORD)
        page.goto("/c/ACME/billing/invoices/add/")
        expect(page.locator("#id_lines-0-account")).to_be_visible()
        expect(page.locator("[data-remove-line]").first).to_be_hidden()
        page.locator("#id_partner").select_option(str(customer.pk))
        page.locator("#id_date").fill("2026-06-20")
        page.locator("#id_lines-0-product").select_option(str(product.pk))
        page.locator("#id_lines-0-taxes").select_option([str(vat.pk)])
        with page.expect_navigation():
            page.locator("#save").click()
        expect(page).to_have_url(re.compile(r"/c/ACME/billing/invoices/\d+/$"))
        expect(page.locator("#invoice-lines")).to_contain_text(
            "Consulting"
        )  # the service: name in the UI language
        expect(page.locator("#invoice-payable")).to_have_text("60.50")
        draft = Invoice.objects.get(company=acme, state="draft")
        assert draft.total_amount == 6050
    finally:
        context.close()
