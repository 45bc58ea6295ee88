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


# --- the account picker's search ---------------------------------------------------------------


def search(client: Client, books: Any, q: str, language: str = "es") -> Any:
    response = client.get(
        f"/c/{books.code}/ledger/accounts/search/", {"q": q}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def codes(payload: Any) -> list[str]:
    return [row["code"] for row in payload["results"]]


def test_search_by_code_prefix_offers_postable_active_accounts_by_code(
    books: Any, accountant: Any, login: Any
) -> None:
    client = login(accountant)
    # groups 57, 570 and 572 are not offered; 571 and 573.. are postable 3-digit accounts
    assert codes(search(client, books, "57")) == [
        "5700",
        "571",
        "5720",
        "573",
        "574",
        "575",
        "576",
    ]
    payload = search(client, books, "572")
    assert payload == {
        "results": [
            {
                "id": Account.objects.get(company=books, code="5720").pk,
                "code": "5720",
                "name": "Bancos c/c",
                "label": "5720 · Bancos c/c",
                "path": "5 Cuentas financieras \u203a 57 Tesorería \u203a "
                "572 Bancos e instituciones de crédito c/c vista, euros",
            }
        ],
        "more": False,
    }
    assert codes(search(client, books, "5729")) == []
    assert codes(search(client, books, "9")) == []  # no upper bound for the range: still exact
    # an archived account is no longer offered
    Account.objects.filter(company=books, code="573").update(active=False)
    assert codes(search(client, books, "57")) == ["5700", "571", "5720", "574", "575", "576"]


def test_search_by_words_of_the_name_in_the_users_language_ignoring_accents(
    books: Any, accountant: Any, login: Any
) -> None:
    client = login(accountant)
    assert codes(search(client, books, "credito BANCOS")) == ["573", "574", "575"]
    assert codes(search(client, books, "crédito ahorro")) == ["574", "575"]
    assert codes(search(client, books, "clientes euros")) == ["4300"]
    assert codes(search(client, books, "4 clientes euros")) == ["4300"]  # code and words
    assert codes(search(client, books, "43 euros")) == ["4300"]
    assert codes(search(client, books, "TESORERIA")) == []  # a group's name: not postable
    # the name the user reads: English and Italian users search their own language
    english = search(client, books, "bank current", language="en")
    assert [row["label"] for row in english["results"]] == [
        "5720 · Bank current account",
        "573 · Banks, current accounts, foreign currency",
    ]
    assert english["results"][0]["path"] == (
        "5 Financial accounts \u203a 57 Cash and cash equivalents \u203a "
        "572 Banks, current accounts, euros"
    )
    assert codes(search(client, books, "liquidita", language="it")) == ["576"]  # "liquidità"
    assert codes(search(client, books, "bank current", language="es")) == []
    # characters with a meaning in regular expressions or LIKE are plain text
    for q in ("c/c", "(", "[a", "%", "_", "\\", "a.*", "5%", "57_0"):
        payload = search(client, books, q)
        assert all(q.lower() in row["name"].lower() for row in payload["results"]), q
    assert codes(search(client, books, "c/c")) == ["5720", "573"]


def test_search_without_words_lists_the_first_twenty_by_code(
    books: Any, accountant: Any, login: Any
) -> None:
    client = login(accountant)
    payload = search(client, books, "  ")
    expected = list(
        Account.objects.filter(company=books, postable=True, active=True)
        .order_by("code")
        .values_list("code", flat=True)[:20]
    )
    assert codes(payload) == expected and len(expected) == 20 and payload["more"] is True
    assert codes(search(client, books, "4")) == expected_prefix(books, "4")[:20]


def expected_prefix(books: Any, prefix: str) -> list[str]:
    return list(
        Account.objects.filter(company=books, postable=True, active=True, code__startswith=prefix)
        .order_by("code")
        .values_list("code", flat=True)
    )


def test_search_never_shows_another_companys_accounts(
    books: Any, other_company: Any, accountant: Any, login: Any
) -> None:
    from trastienda.ledger import services

    # OTRA is Italian (codes like 01.02.003): an account shaped like ACME's, to be sure
    services.account_create(
        company=other_company,
        code="5729",
        parent=None,
        name_es="Banco secreto de OTRA",
        name_it="Banca segreta di OTRA",
        name_en="Secret bank of OTRA",
        type="asset",
        postable=True,
    )
    client = login(accountant)
    assert codes(search(client, books, "5729")) == []
    assert codes(search(client, books, "secreto")) == []
    assert "5729" not in codes(search(client, books, "57"))
    ids = {row["id"] for row in search(client, books, "")["results"]}
    assert not Account.objects.filter(pk__in=ids).exclude(company=books).exists()
    # the other company's address: the accountant is no member there
    response = client.get(f"/c/{other_company.code}/ledger/accounts/search/", {"q": "5729"})
    assert response.status_code == 404


def test_search_needs_the_permission_to_view_accounts(
    books: Any, make_user: Any, client: Client
) -> None:
    clerk = make_user("clerk3", company=books, role="clerk")
    client.force_login(clerk)
    response = client.get(f"/c/{books.code}/ledger/accounts/search/", {"q": "572"})
    assert response.status_code == 403
    assert b"5720" not in response.content
    client.logout()
    response = client.get(f"/c/{books.code}/ledger/accounts/search/", {"q": "572"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_search_code_prefix_uses_the_company_code_index(books: Any) -> None:
    """The prefix is a range on (company, code): the index of the unique constraint serves it."""
    from django.db import connection

    from trastienda.ledger.account_search import search_queryset

    qs = search_queryset(books, "572")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Statistics with this company's chart (ANALYZE samples this transaction's rows
            # too): with none, or those an earlier test left, every index looks as good for
            # one row and the planner may take the company's (seen once in CI).
            cursor.execute("ANALYZE ledger_account")
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("RESET enable_seqscan")
            assert "ledger_account_code_unique" in plan, plan
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            assert "USING INDEX" in plan and "code>? AND code<?" in plan, plan


def test_unfilled_rows_of_the_page_are_ignored(
    books: Any, accountant: Any, login: Any, journal: Any
) -> None:
    """The page offers three rows (INITIAL_FORMS=3): a third one left blank is no error."""
    client = login(accountant)
    rows = [
        {"account": account(books, BANK), "debit": "7", "currency": "EUR"},
        {"account": account(books, CAPITAL), "credit": "7", "currency": "EUR"},
        {"currency": "EUR", "debit": "", "credit": "", "description": ""},
    ]
    data = entry_post_data(books, journal, rows)
    data["lines-INITIAL_FORMS"] = "3"
    response = client.post(f"/c/{books.code}/ledger/entries/add/", data)
    assert response.status_code == 302, response.context and response.context["line_errors"]
    entry = JournalEntry.objects.get()
    assert list(entry.lines.values_list("line_no", "debit", "credit")) == [(1, 700, 0), (2, 0, 700)]


@pytest.mark.parametrize("value", [None, "", "2", 3, "<x>"])
def test_fast_select_draws_what_djangos_select_draws(value: Any) -> None:
    from django import forms as django_forms
    from django.test.html import parse_html

    from trastienda.ledger.forms import FastSelect, SharedChoices

    items = [("", "---------"), (1, "1000 · Capital"), (2, 'A & "B" <c>'), ("<x>", "x"), (3, "é")]
    attrs = {"id": "id_lines-0-account", "class": "form-select is-invalid", "data-x": "1"}
    expected = django_forms.Select(attrs={"class": "form-select is-invalid"}, choices=items)
    fast = FastSelect(attrs={"class": "form-select is-invalid"}, choices=SharedChoices(items))
    drawn = fast.render("lines-0-account", value, attrs={"id": attrs["id"], "data-x": "1"})
    assert parse_html(drawn) == parse_html(
        expected.render("lines-0-account", value, attrs={"id": attrs["id"], "data-x": "1"})
    )
    assert drawn.count(" selected") == (1 if value in (None, "", "2", 3, "<x>") else 0)


def test_search_dotted_italian_codes_and_the_prefix_range(other_company: Any) -> None:
    from django.utils import translation

    from trastienda.ledger.account_search import account_search, next_prefix

    assert [next_prefix(p) for p in ("572", "579", "5799", "9", "99", "02.01", "57.2", "ab")] == [
        "573",
        "58",
        "58",
        None,
        None,
        "03",
        "58",
        None,
    ]
    with translation.override("it"):
        hits = account_search(other_company, "02.01")
        assert [hit.code for hit in hits][:3] == ["02.01.001", "02.01.002", "02.01.003"]
        assert all(hit.code.startswith("02.01.") for hit in hits)
        assert hits[0].label == "02.01.001 · Costi di impianto e di ampliamento"
        assert hits[0].path == "02 Immobilizzazioni \u203a 02.01 Immobilizzazioni immateriali"
        # "Avviamento" and "Fondo ammortamento avviamento" (the contra account)
        assert [hit.code for hit in account_search(other_company, "avviamento")] == [
            "02.01.005",
            "02.01.905",
        ]
        assert [hit.code for hit in account_search(other_company, "02.01.0 AVVIAMENTO")] == [
            "02.01.005"
        ]
