"""Pages and API of fiscal years, journals and entries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from trastienda.ledger.models import Account, FiscalYear, Journal, JournalEntry, Period
from trastienda.ledger.tests.conftest import BANK, CAPITAL


def _lines(books: Any, *rows: tuple[str, str, str]) -> dict[str, str]:
    """The entry form's line formset data: (account code, debit, credit) per row."""
    data = {"lines-TOTAL_FORMS": str(len(rows)), "lines-INITIAL_FORMS": "0"}
    for i, (code, debit, credit) in enumerate(rows):
        data[f"lines-{i}-account"] = str(Account.objects.get(company=books, code=code).pk)
        data[f"lines-{i}-debit"], data[f"lines-{i}-credit"] = debit, credit
    return data


def test_entry_pages_create_post_reverse(
    books: Any, accountant: Any, login: Any, journal: Journal
) -> None:
    client = login(accountant)
    base = f"/c/{books.code}/ledger/entries/"
    response = client.post(
        base + "add/",
        {
            "journal": journal.pk,
            "date": "2026-03-02",
            "reference": "APORT-1",
            "description": "Aportación de capital",
            **_lines(books, (BANK, "3000.00", ""), (CAPITAL, "", "3000.00")),
        },
    )
    assert response.status_code == 302, response.content
    entry = JournalEntry.objects.get(company=books, reference="APORT-1")
    assert list(entry.lines.values_list("debit", "credit")) == [(300000, 0), (0, 300000)]
    detail = client.get(base + f"{entry.pk}/")
    assert detail.status_code == 200 and b'id="post-entry"' in detail.content
    edit = client.get(base + f"{entry.pk}/edit/")
    assert b'value="3000.00"' in edit.content
    bad = client.post(
        base + "add/",
        {"journal": journal.pk, "date": "2026-03-02", **_lines(books, (BANK, "1.001", ""))},
    )
    assert bad.status_code == 400 and JournalEntry.objects.count() == 1
    assert client.post(base + f"{entry.pk}/post/").status_code == 302
    entry.refresh_from_db()
    assert entry.number == "GEN/2026/000001"
    # posted: no edit, no delete; the edit form refuses
    refused = client.post(
        base + f"{entry.pk}/edit/",
        {
            "journal": journal.pk,
            "date": "2026-03-02",
            **_lines(books, (BANK, "1", ""), (CAPITAL, "", "1")),
        },
    )
    assert refused.status_code == 400
    assert client.post(base + f"{entry.pk}/delete/").status_code == 302
    assert JournalEntry.objects.filter(pk=entry.pk).exists()
    assert client.post(base + f"{entry.pk}/reverse/", {"date": "2026-03-31"}).status_code == 302
    reversal = JournalEntry.objects.get(reversal_of=entry)
    assert (reversal.number, reversal.date) == ("GEN/2026/000002", dt.date(2026, 3, 31))
    listing = client.get(base + "?state=posted&q=APORT&account=" + BANK)
    assert listing.status_code == 200 and len(listing.context["table"].rows) == 2
    assert client.get(base + "?export=xlsx").status_code == 200


def test_clerk_cannot_post(books: Any, make_user: Any, draft: Any, client: Any) -> None:
    clerk = make_user("clerk1", company=books, role="clerk")
    client.force_login(clerk)
    entry = draft()
    assert client.post(f"/c/{books.code}/ledger/entries/{entry.pk}/post/").status_code == 403
    entry.refresh_from_db()
    assert entry.state == "draft"


def test_fiscal_year_and_period_pages(
    books: Any, accountant: Any, login: Any, year: FiscalYear
) -> None:
    client = login(accountant)
    base = f"/c/{books.code}/ledger/"
    assert (
        client.post(
            base + "fiscal-years/add/",
            {"name": "2027", "start_date": "2027-01-01", "end_date": "2027-12-31", "state": "open"},
        ).status_code
        == 302
    )
    new = FiscalYear.objects.get(company=books, name="2027")
    assert new.periods.count() == 12
    page = client.get(base + f"fiscal-years/{year.pk}/")
    assert page.status_code == 200 and b'id="periods"' in page.content
    march = Period.objects.get(fiscal_year=year, number=3)
    assert client.post(base + f"periods/{march.pk}/edit/", {"state": "closed"}).status_code == 302
    march.refresh_from_db()
    assert march.state == "closed"
    assert client.get(base + "periods/add/").status_code == 403
    assert client.get(base + "settings/").status_code == 200


def test_entries_api(books: Any, accountant: Any, client: Any) -> None:
    client.force_login(accountant)
    headers = {"HTTP_X_COMPANY": books.code}
    payload = {
        "journal": "GEN",
        "date": "2026-05-04",
        "reference": "API-1",
        "lines": [
            {"account": BANK, "debit": "250.00", "description": "Ingreso"},
            {"account": CAPITAL, "credit": "250.00"},
        ],
    }
    created = client.post(
        "/api/v1/ledger/entries/", payload, content_type="application/json", **headers
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["state"], body["number"], body["lines"][0]["debit"]) == ("draft", None, "250.00")
    unbalanced = dict(
        payload, lines=[{"account": BANK, "debit": "1"}, {"account": CAPITAL, "credit": "2"}]
    )
    other = client.post(
        "/api/v1/ledger/entries/", unbalanced, content_type="application/json", **headers
    )
    assert other.status_code == 201
    refused = client.post(f"/api/v1/ledger/entries/{other.json()['id']}/post/", **headers)
    assert refused.status_code == 400 and "lines" in refused.json()["error"]["fields"]
    posted = client.post(f"/api/v1/ledger/entries/{body['id']}/post/", **headers)
    assert posted.status_code == 200 and posted.json()["number"] == "GEN/2026/000001"
    assert client.post(f"/api/v1/ledger/entries/{body['id']}/", **headers).status_code == 405
    change = client.patch(
        f"/api/v1/ledger/entries/{body['id']}/",
        {"reference": "X"},
        content_type="application/json",
        **headers,
    )
    assert change.status_code == 400
    reversed_ = client.post(
        f"/api/v1/ledger/entries/{body['id']}/reverse/",
        {"date": "2026-05-31"},
        content_type="application/json",
        **headers,
    )
    assert reversed_.status_code == 200 and reversed_.json()["reversal_of"] == body["id"]
    bad_line = dict(
        payload, lines=[{"account": "zzz", "debit": "1"}, {"account": CAPITAL, "credit": "1"}]
    )
    bad = client.post(
        "/api/v1/ledger/entries/", bad_line, content_type="application/json", **headers
    )
    assert bad.status_code == 400
    assert client.get("/api/v1/ledger/journals/", **headers).json()["count"] == 6
    assert client.get("/api/v1/ledger/periods/?state=open", **headers).json()["count"] == 12
