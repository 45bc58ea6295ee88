"""The journal-entry page: header plus a formset of lines, HTMX rows, post and reverse."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from trastienda.ledger.models import Account, JournalEntry, JournalEntryLine
from trastienda.ledger.tests.conftest import BANK, CAPITAL, CASH


def lines_data(rows: list[dict[str, str]], total: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "lines-TOTAL_FORMS": str(total if total is not None else len(rows)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "500",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"lines-{i}-{key}"] = value
    return data


def account(books: Any, code: str) -> str:
    return str(Account.objects.get(company=books, code=code).pk)


def token(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return str(client.cookies["csrftoken"].value)


def entry_post_data(books: Any, journal: Any, rows: list[dict[str, str]], **extra: Any) -> Any:
    return {
        "journal": str(journal.pk),
        "date": "2026-03-02",
        "reference": "FORM-1",
        "description": "Aportación",
        **lines_data(rows),
        **extra,
    }


def test_create_balanced_three_line_draft_with_csrf(
    books: Any, accountant: Any, csrf_client: Client, journal: Any
) -> None:
    csrf_client.force_login(accountant)
    url = f"/c/{books.code}/ledger/entries/add/"
    page = csrf_client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="entry-lines-body"' in body and "ledger/entry_form.js" in body
    assert f"{BANK} · " in body and "<script>" not in body
    rows = [
        {"account": account(books, BANK), "debit": "1234.56", "description": "Banco"},
        {"account": account(books, CASH), "debit": "0.44", "currency": "EUR"},
        {"account": account(books, CAPITAL), "credit": "1235", "partner": "Socio"},
    ]
    data = entry_post_data(books, journal, rows)
    # without the CSRF token the page refuses
    assert csrf_client.post(url, data).status_code == 403
    assert not JournalEntry.objects.exists()
    data["csrfmiddlewaretoken"] = token(csrf_client, url)
    response = csrf_client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    entry = JournalEntry.objects.get(company=books, reference="FORM-1")
    assert entry.state == "draft" and entry.number is None
    got = list(
        entry.lines.order_by("line_no").values_list(
            "line_no", "account__code", "debit", "credit", "currency_id", "amount_currency"
        )
    )
    assert got == [
        (1, BANK, 123456, 0, "EUR", 123456),
        (2, CASH, 44, 0, "EUR", 44),
        (3, CAPITAL, 0, 123500, "EUR", -123500),
    ]
    assert entry.lines.get(line_no=3).partner == "Socio"
    # the edit page shows the lines again, as the locale types them
    edit = csrf_client.get(f"/c/{books.code}/ledger/entries/{entry.pk}/edit/")
    assert edit.status_code == 200 and 'value="1234.56"' in edit.content.decode()


def test_locale_decimals_are_parsed_exactly(
    books: Any, accountant: Any, login: Any, journal: Any
) -> None:
    client = login(accountant)
    rows = [
        {"account": account(books, BANK), "debit": "1.234,56"},
        {"account": account(books, CAPITAL), "credit": "1234,56"},
    ]
    data = entry_post_data(books, journal, rows, date="02/03/2026")
    response = client.post(f"/c/{books.code}/ledger/entries/add/", data, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 302, response.content.decode()
    entry = JournalEntry.objects.get(company=books)
    assert list(entry.lines.values_list("debit", "credit")) == [(123456, 0), (0, 123456)]


def test_unbalanced_and_malformed_lines_name_the_line_and_write_nothing(
    books: Any, accountant: Any, login: Any, journal: Any
) -> None:
    client = login(accountant)
    url = f"/c/{books.code}/ledger/entries/add/"
    # line 2 has too many decimals: a field error of the form, nothing reaches the service
    rows = [
        {"account": account(books, BANK), "debit": "10"},
        {"account": account(books, CAPITAL), "credit": "10.001"},
    ]
    response = client.post(url, entry_post_data(books, journal, rows))
    assert response.status_code == 400
    errors = response.context["line_errors"]
    assert len(errors) == 1 and errors[0].startswith("Line 2: Credit: Too many decimals for EUR")
    # line 3 is not a number; line 1 has no account
    rows = [
        {"debit": "5"},
        {"account": account(books, CAPITAL), "credit": "5"},
        {"account": account(books, CASH), "debit": "abc"},
    ]
    response = client.post(url, entry_post_data(books, journal, rows))
    assert response.status_code == 400
    errors = response.context["line_errors"]
    assert errors == ["Line 1: Account: This field is required.", "Line 3: Debit: Enter a number."]
    # line 2 is both a debit and a credit: the service's error lands on line 2
    rows = [
        {"account": account(books, BANK), "debit": "5"},
        {"account": account(books, CAPITAL), "debit": "5", "credit": "5"},
    ]
    response = client.post(url, entry_post_data(books, journal, rows))
    assert response.status_code == 400
    assert response.context["line_errors"] == ["Line 2: A line is either a debit or a credit."]
    assert "Line 2: A line is either a debit or a credit." in response.content.decode()
    # "save and post" of an unbalanced entry: the posting refuses and the draft is rolled back
    rows = [
        {"account": account(books, BANK), "debit": "5"},
        {"account": account(books, CAPITAL), "credit": "4"},
    ]
    response = client.post(url, entry_post_data(books, journal, rows, post="1"))
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not JournalEntry.objects.exists() and not JournalEntryLine.objects.exists()


def test_blank_rows_are_ignored(books: Any, accountant: Any, login: Any, journal: Any) -> None:
    client = login(accountant)
    rows = [
        {"account": account(books, BANK), "debit": "7"},
        {"currency": "EUR"},
        {"account": account(books, CAPITAL), "credit": "7"},
    ]
    response = client.post(
        f"/c/{books.code}/ledger/entries/add/", entry_post_data(books, journal, rows)
    )
    assert response.status_code == 302, response.content.decode()
    entry = JournalEntry.objects.get()
    assert list(entry.lines.values_list("line_no", "debit", "credit")) == [
        (1, 700, 0),
        (2, 0, 700),
    ]


def test_post_and_reverse_from_the_page(
    books: Any, accountant: Any, csrf_client: Client, draft: Any
) -> None:
    entry = draft("250.00")
    csrf_client.force_login(accountant)
    base = f"/c/{books.code}/ledger/entries/{entry.pk}/"
    detail = csrf_client.get(base)
    body = detail.content.decode()
    assert 'id="post-entry"' in body and 'id="reverse-entry"' not in body
    assert detail.context["entry_totals"]["debit"] == detail.context["entry_totals"]["credit"]
    assert str(detail.context["entry_totals"]["debit"]) == "250.00"
    csrf = str(csrf_client.cookies["csrftoken"].value)
    assert csrf_client.post(base + "post/").status_code == 403  # no CSRF token
    response = csrf_client.post(base + "post/", {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.number == "GEN/2026/000001" and len(entry.hash) == 64
    detail = csrf_client.get(base)
    body = detail.content.decode()
    assert "GEN/2026/000001" in body and entry.hash in body
    assert 'id="reverse-entry"' in body and 'id="post-entry"' not in body
    assert f"{base}edit/" not in body and f"{base}delete/" not in body
    response = csrf_client.post(
        base + "reverse/", {"csrfmiddlewaretoken": csrf, "date": "2026-03-31"}
    )
    assert response.status_code == 302
    reversal = JournalEntry.objects.get(reversal_of=entry)
    assert reversal.number == "GEN/2026/000002" and str(reversal.date) == "2026-03-31"
    assert list(reversal.lines.order_by("line_no").values_list("debit", "credit")) == [
        (0, 25000),
        (25000, 0),
    ]


def test_edit_of_a_posted_entry_is_refused(
    books: Any, accountant: Any, login: Any, posted: Any, journal: Any
) -> None:
    entry = posted("10.00")
    client = login(accountant)
    url = f"/c/{books.code}/ledger/entries/{entry.pk}/edit/"
    before = list(entry.lines.values_list("pk", "debit", "credit"))
    rows = [
        {"account": account(books, BANK), "debit": "1"},
        {"account": account(books, CAPITAL), "credit": "1"},
    ]
    response = client.post(url, entry_post_data(books, journal, rows))
    assert response.status_code == 400
    assert "is posted: it cannot be changed" in response.content.decode()
    assert list(entry.lines.values_list("pk", "debit", "credit")) == before
    # following a link to the edit page sends the user back to the entry, with the reason
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].endswith(f"/{entry.pk}/")


def test_clerk_sees_no_post_button(books: Any, make_user: Any, client: Client, draft: Any) -> None:
    entry = draft()
    clerk = make_user("clerk2", company=books, role="clerk")
    client.force_login(clerk)
    detail = client.get(f"/c/{books.code}/ledger/entries/{entry.pk}/")
    if detail.status_code == 200:
        assert 'id="post-entry"' not in detail.content.decode()
    assert client.post(f"/c/{books.code}/ledger/entries/{entry.pk}/post/").status_code == 403


def test_htmx_add_line_fragment(books: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    response = client.get(
        f"/c/{books.code}/ledger/entries/line/?lines-TOTAL_FORMS=3", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<tr") and "<html" not in body
    assert 'name="lines-3-account"' in body and 'name="lines-3-debit"' in body
    assert 'name="lines-4-account"' not in body
    assert f"{BANK} · " in body
    # only postable, active accounts of the company are offered (groups are not)
    group = Account.objects.filter(company=books, postable=False).first()
    assert group is not None and f'value="{group.pk}"' not in body


@pytest.mark.parametrize(
    ("language", "typed", "expected"),
    [
        ("es", "1.000", "1000"),
        ("es", "12.345.678", "12345678"),
        ("es", "1.234,56", "1234.56"),
        ("es", "12.5", "12.5"),
        ("it", "1.000", "1000"),
        ("it", "0,05", "0.05"),
        ("en", "1,000", "1000"),
        ("en", "1.000", "1.000"),
        ("en", "1,234.56", "1234.56"),
    ],
)
def test_amounts_are_read_as_the_locale_writes_them(language, typed, expected):
    from decimal import Decimal

    from django.utils import translation

    from trastienda.ledger.forms import parse_amount

    with translation.override(language):
        assert parse_amount(typed) == Decimal(expected)
