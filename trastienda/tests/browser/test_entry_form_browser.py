"""The journal-entry form with the keyboard alone, in Spanish: the account picker, Enter from
cell to cell, "=" for the balancing amount, lines added and removed, Ctrl+S to save."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from trastienda.conftest import PASSWORD
from trastienda.core.models import UserProfile
from trastienda.ledger import services
from trastienda.ledger.models import Account, Journal, JournalEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def test_entry_typed_with_the_keyboard_in_spanish(
    page: Any, marta: Any, acme: Any, otra: Any, sign_in: Any, shoot: Any
) -> None:
    services.fiscal_year_create(
        company=acme, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    UserProfile.objects.filter(user=marta).update(language="es")
    bank = Account.objects.get(company=acme, code="5720")
    sign_in("marta", PASSWORD)
    page.goto("/c/ACME/ledger/entries/add/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    rows = page.locator("#entry-lines-body tr[data-entry-line]")
    expect(rows).to_have_count(3)
    # keyboard first: the first field has the focus; the optional columns are folded away
    assert focused_id(page) == "id_journal"
    expect(page.locator("#entry-lines")).to_have_class(re.compile(r"\bentry-lines-compact\b"))
    expect(page.locator("#id_lines-0-currency")).to_be_hidden()

    # --- the header, Enter from field to field (never submitting) -----------------------
    journal = Journal.objects.get(company=acme, code="GEN")
    page.locator("#id_journal").select_option(str(journal.pk))
    page.keyboard.press("Enter")
    assert focused_id(page) == "id_date"
    page.locator("#id_date").fill("2026-03-02")
    page.keyboard.press("Enter")
    page.keyboard.type("TECLADO-1")
    page.keyboard.press("Enter")
    page.keyboard.type("Aportación de los socios")
    page.keyboard.press("Enter")
    assert focused_id(page) == "id_lines-0-account-picker"
    assert page.url.endswith("/c/ACME/ledger/entries/add/")

    # --- line 1: a code prefix, ↓ ↓ and Enter pick 5720; "1.500" is one thousand five hundred
    page.keyboard.type("57")
    options = page.locator("#account-picker-list [role=option]")
    expect(options).to_have_count(7)
    expect(options.first).to_contain_text("5700 · Caja")
    expect(options.first).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator("#id_lines-0-account-picker")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(options.nth(2)).to_have_class(re.compile(r"\bactive\b"))
    expect(options.nth(2)).to_contain_text("5720 · Bancos c/c")
    expect(options.nth(2).locator(".account-picker-path")).to_have_text(
        "5 Cuentas financieras \u203a 57 Tesorería \u203a "
        "572 Bancos e instituciones de crédito c/c vista, euros"
    )
    shoot(page, "entry-form-es-picker-open")
    page.keyboard.press("Enter")
    expect(page.locator("#account-picker-list")).to_be_hidden()
    expect(page.locator("#id_lines-0-account-picker")).to_have_value("5720 · Bancos c/c")
    expect(page.locator("#id_lines-0-account")).to_have_value(str(bank.pk))
    assert focused_id(page) == "id_lines-0-debit"
    page.keyboard.type("1.500")
    page.keyboard.press("Enter")  # a debit was typed: the credit is skipped
    assert focused_id(page) == "id_lines-0-description"
    # what was read is shown as the locale writes it
    expect(page.locator("#id_lines-0-debit")).to_have_value("1.500,00")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # past the partner, to the next line's account
    assert focused_id(page) == "id_lines-1-account-picker"

    # --- line 2: words of the name, accents ignored; Enter before the answer picks the first
    page.keyboard.type("capital social")
    page.keyboard.press("Enter")
    expect(page.locator("#id_lines-1-account-picker")).to_have_value("1000 · Capital social")
    assert focused_id(page) == "id_lines-1-debit"
    page.keyboard.press("Enter")
    page.keyboard.type("1.000")
    expect(page.locator("#total-credit")).to_have_text("1.000,00")
    expect(page.locator("#total-difference")).to_have_text("500,00")
    for _ in range(3):
        page.keyboard.press("Enter")
    assert focused_id(page) == "id_lines-2-account-picker"

    # --- line 3: "tesoreria" finds nothing postable; "caja" does; "=" balances ------------
    page.keyboard.type("tesoreria")
    expect(page.locator("#account-picker-list")).to_contain_text(
        "No coincide ninguna cuenta que admita apuntes."
    )
    page.keyboard.press("Escape")
    expect(page.locator("#account-picker-list")).to_be_hidden()
    page.keyboard.press("Control+a")
    page.keyboard.type("CAJA")
    expect(options).to_have_count(2)  # 5700 Caja, 571 Caja, moneda extranjera
    page.keyboard.press("Enter")
    expect(page.locator("#id_lines-2-account-picker")).to_have_value("5700 · Caja")
    assert focused_id(page) == "id_lines-2-debit"
    # "=" as a Spanish keyboard types it (Shift+0): a credit is missing, so it goes to the
    # credit, which gets the focus
    page.locator("#id_lines-2-debit").dispatch_event(
        "keydown", {"key": "=", "code": "Digit0", "shiftKey": True}
    )
    expect(page.locator("#id_lines-2-credit")).to_have_value("500,00")
    expect(page.locator("#id_lines-2-debit")).to_have_value("")
    assert focused_id(page) == "id_lines-2-credit"
    # typing a debit clears the credit of the line; "=" in the emptied credit fills it again
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("9")
    expect(page.locator("#id_lines-2-credit")).to_have_value("")
    expect(page.locator("#total-difference")).to_have_text("509,00")
    page.keyboard.press("Backspace")
    page.keyboard.press("Enter")
    assert focused_id(page) == "id_lines-2-credit"
    page.keyboard.press("=")
    expect(page.locator("#id_lines-2-credit")).to_have_value("500,00")
    expect(page.locator("#total-debit")).to_have_text("1.500,00")
    expect(page.locator("#total-credit")).to_have_text("1.500,00")
    expect(page.locator("#total-difference")).to_have_text("0,00")
    expect(page.locator("#total-difference")).to_have_class(re.compile(r"\btext-success\b"))
    expect(page.locator("#summary-status")).to_have_class(re.compile(r"\btext-bg-success\b"))

    # --- Enter after the last cell adds a line (HTMX); Alt+Backspace removes it -----------
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(4)
    expect(page.locator("#id_lines-TOTAL_FORMS")).to_have_value("4")
    expect(page.locator("#id_lines-3-account-picker")).to_be_focused()
    page.keyboard.press("Alt+Backspace")
    expect(rows).to_have_count(3)
    expect(page.locator("#id_lines-TOTAL_FORMS")).to_have_value("3")
    # Alt+N adds one; removing a middle line renumbers the others
    page.keyboard.press("Alt+n")
    expect(rows).to_have_count(4)
    expect(page.locator("#id_lines-3-account-picker")).to_be_focused()
    page.keyboard.type("4300")
    page.keyboard.press("Enter")
    expect(page.locator("#id_lines-3-account-picker")).to_have_value("4300 · Clientes (euros)")
    page.locator("#id_lines-1-description").click()
    page.keyboard.type("Socios")
    page.keyboard.press("Alt+Backspace")
    expect(rows).to_have_count(3)
    expect(page.locator("#id_lines-2-account-picker")).to_have_value("4300 · Clientes (euros)")
    expect(page.locator("#id_lines-1-account-picker")).to_have_value("5700 · Caja")
    expect(page.locator("#total-difference")).to_have_text("1.000,00")
    assert [rows.nth(i).locator("[data-line-number]").inner_text() for i in range(3)] == [
        "1",
        "2",
        "3",
    ]
    # put capital back in place of the customer, by the keyboard again
    page.locator("#id_lines-2-account-picker").click()
    page.keyboard.type("100")
    expect(options).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#id_lines-2-account-picker")).to_have_value("1000 · Capital social")
    page.keyboard.press("Enter")  # the empty debit: on to the credit
    page.keyboard.press("=")
    expect(page.locator("#id_lines-2-credit")).to_have_value("1.000,00")
    expect(page.locator("#total-difference")).to_have_text("0,00")

    # --- the shortcuts legend ----------------------------------------------------------------
    page.locator("#entry-shortcuts-toggle").click()
    expect(page.locator("#entry-shortcuts")).to_be_visible()
    expect(page.locator("#entry-shortcuts")).to_contain_text("Alt")
    shoot(page, "entry-form-es-shortcuts")
    page.keyboard.press("Escape")
    expect(page.locator("#entry-shortcuts")).to_be_hidden()

    # --- Ctrl+S saves the draft -------------------------------------------------------------
    page.locator("#id_lines-2-credit").focus()
    shoot(page, "entry-form-es-balanced")
    with page.expect_navigation():
        page.keyboard.press("Control+s")
    expect(page).to_have_url(re.compile(r"/c/ACME/ledger/entries/\d+/$"))
    entry = JournalEntry.objects.get(company=acme, reference="TECLADO-1")
    assert (entry.state, entry.number, entry.date, entry.description) == (
        "draft",
        None,
        dt.date(2026, 3, 2),
        "Aportación de los socios",
    )
    got = list(
        entry.lines.order_by("line_no").values_list(
            "line_no", "account__code", "debit", "credit", "description"
        )
    )
    assert got == [
        (1, "5720", 150000, 0, ""),
        (2, "5700", 0, 50000, ""),
        (3, "1000", 0, 100000, ""),
    ]
    assert not JournalEntry.objects.filter(company=otra).exists()

    # --- the draft opens again with its accounts in the picker -------------------------------
    page.goto(f"/c/ACME/ledger/entries/{entry.pk}/edit/")
    expect(rows).to_have_count(3)
    expect(page.locator("#id_lines-0-account-picker")).to_have_value("5720 · Bancos c/c")
    expect(page.locator("#id_lines-2-account-picker")).to_have_value("1000 · Capital social")
    expect(page.locator("#total-difference")).to_have_text("0,00")


def test_without_javascript_the_plain_selects_still_work(
    browser: Any, live_server: Any, marta: Any, acme: Any
) -> None:
    """Progressive enhancement: no picker, no shortcuts, every column; the third, untouched
    row of the page is ignored (it is one of the formset's initial forms)."""
    from trastienda.tests.browser.pages import submit_login

    services.fiscal_year_create(
        company=acme, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="en-GB"
    )
    try:
        page = context.new_page()
        submit_login(page, "marta", PASSWORD)
        page.goto("/c/ACME/ledger/entries/add/")
        expect(page.locator("#id_lines-0-account")).to_be_visible()
        expect(page.locator("#id_lines-0-account-picker")).to_have_count(0)
        expect(page.locator("#id_lines-0-currency")).to_be_visible()
        expect(page.locator("#entry-shortcuts-toggle")).to_be_hidden()
        expect(page.locator("[data-remove-line]").first).to_be_hidden()
        journal = Journal.objects.get(company=acme, code="GEN")
        page.locator("#id_journal").select_option(str(journal.pk))
        page.locator("#id_date").fill("2026-04-01")
        page.locator("#id_reference").fill("SIN-JS")
        bank = Account.objects.get(company=acme, code="5720")
        capital = Account.objects.get(company=acme, code="1000")
        page.locator("#id_lines-0-account").select_option(str(bank.pk))
        page.locator("#id_lines-0-debit").fill("1,250.50")
        page.locator("#id_lines-1-account").select_option(str(capital.pk))
        page.locator("#id_lines-1-credit").fill("1250.5")
        with page.expect_navigation():
            page.locator("#save").click()
        expect(page).to_have_url(re.compile(r"/c/ACME/ledger/entries/\d+/$"))
        entry = JournalEntry.objects.get(company=acme, reference="SIN-JS")
        assert list(
            entry.lines.order_by("line_no").values_list("account__code", "debit", "credit")
        ) == [("5720", 125050, 0), ("1000", 0, 125050)]
    finally:
        context.close()


def test_a_refused_entry_comes_back_with_the_line_in_error_focused(
    page: Any, marta: Any, acme: Any, sign_in: Any
) -> None:
    services.fiscal_year_create(
        company=acme, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    sign_in("marta", PASSWORD)
    page.goto("/c/ACME/ledger/entries/add/")
    journal = Journal.objects.get(company=acme, code="GEN")
    page.locator("#id_journal").select_option(str(journal.pk))
    page.locator("#id_date").fill("2026-05-04")
    page.locator("#id_lines-0-account-picker").focus()
    page.keyboard.type("5720")
    page.keyboard.press("Enter")
    page.keyboard.type("12x")  # unreadable: marked at once, the totals say so
    expect(page.locator("#id_lines-0-debit")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#total-difference")).to_have_text("?")
    page.keyboard.press("Backspace")
    expect(page.locator("#id_lines-0-debit")).not_to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#total-debit")).to_have_text("12.00")
    page.locator("#id_lines-1-credit").fill("12")  # a line without its account
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    expect(page.locator("#entry-errors")).to_contain_text(
        "Line 2: Account: This field is required."
    )
    assert not JournalEntry.objects.exists()
    picker = page.locator("#id_lines-1-account-picker")
    expect(picker).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(picker).to_be_focused()
    expect(page.locator("#id_lines-0-account-picker")).to_have_value("5720 · Bank current account")
    expect(page.locator("#total-difference")).to_have_text("0.00")
    page.keyboard.type("capital")
    page.keyboard.press("Enter")
    expect(picker).not_to_have_class(re.compile(r"\bis-invalid\b"))
    # typed and Enter at once: the focus moves on; nothing matches, so the box says so
    third = page.locator("#id_lines-2-account-picker")
    third.focus()
    page.keyboard.type("zzzz")
    page.keyboard.press("Enter")
    expect(page.locator("#id_lines-2-debit")).to_be_focused()
    expect(third).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#id_lines-2-account")).to_have_value("")
    with page.expect_navigation():
        page.keyboard.press("Control+s")
    entry = JournalEntry.objects.get(company=acme)
    assert list(
        entry.lines.order_by("line_no").values_list("account__code", "debit", "credit")
    ) == [("5720", 1200, 0), ("1000", 0, 1200)]
