"""``entry_create_posted``: create and post one entry in one transaction, audited once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from trastienda.audit.models import AuditEntry
from trastienda.ledger import services
from trastienda.ledger.models import AccountBalance, Journal, JournalEntry, JournalEntryLine
from trastienda.ledger.tests.conftest import BANK, CAPITAL, SALES


def _lines(debit: str = "100.00", credit: str = "100.00") -> list[dict[str, Any]]:
    return [{"account": BANK, "debit": debit}, {"account": CAPITAL, "credit": credit}]


def test_creates_posts_and_audits_once(books: Any, journal: Journal) -> None:
    before = AuditEntry.objects.filter(object_type="ledger.journalentry").count()
    entry = services.entry_create_posted(
        company=books, journal=journal, date=dt.date(2026, 3, 10), reference="R1", lines=_lines()
    )
    assert entry.is_posted and entry.number == "GEN/2026/000001"
    stored = JournalEntry.objects.get(pk=entry.pk)
    assert (stored.state, stored.number, stored.hash) == ("posted", entry.number, entry.hash)
    events = AuditEntry.objects.filter(object_type="ledger.journalentry", object_id=str(entry.pk))
    assert AuditEntry.objects.filter(object_type="ledger.journalentry").count() == before + 1
    (event,) = events
    assert event.action == "create"
    assert event.changes["number"] == [None, "GEN/2026/000001"]
    assert event.changes["state"] == [None, "posted"]
    assert event.changes["hash"] == [None, entry.hash]
    assert services.ledger_verify(company=books).ok
    assert services.ledger_balances_verify(company=books) == []
    assert set(JournalEntryLine.objects.filter(entry=entry).values_list("date", "chain_seq")) == {
        (dt.date(2026, 3, 10), entry.chain_seq)
    }


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        (_lines("100.00", "99.99"), "lines"),  # unbalanced
        ([{"account": "9999", "debit": "1"}, {"account": SALES, "credit": "1"}], "lines.1"),
    ],
)
def test_refused_writes_nothing_and_consumes_no_number(
    books: Any, journal: Journal, lines: list[dict[str, Any]], field: str
) -> None:
    audited = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as err:
        services.entry_create_posted(
            company=books, journal=journal, date=dt.date(2026, 3, 10), lines=lines
        )
    assert any(key.startswith(field) for key in err.value.message_dict), err.value.message_dict
    assert not JournalEntry.objects.filter(company=books).exists()
    assert not JournalEntryLine.objects.filter(company=books).exists()
    assert not AccountBalance.objects.filter(company=books).exists()
    assert AuditEntry.objects.count() == audited
    entry = services.entry_create_posted(
        company=books, journal=journal, date=dt.date(2026, 3, 10), lines=_lines()
    )
    assert entry.number == "GEN/2026/000001"


def test_api_creates_posted_entries(books: Any, accountant: Any, client: Any) -> None:
    from trastienda.core.models import Role

    client.force_login(accountant)
    headers = {"HTTP_X_COMPANY": books.code}
    payload = {
        "journal": "GEN",
        "date": "2026-05-04",
        "post": True,
        "lines": [{"account": BANK, "debit": "250.00"}, {"account": CAPITAL, "credit": "250.00"}],
    }
    url = "/api/v1/ledger/entries/"
    created = client.post(url, payload, content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["state"], body["number"]) == ("posted", "GEN/2026/000001")
    assert "post" not in body
    unbalanced = dict(payload, lines=_lines("1.00", "2.00"))
    refused = client.post(url, unbalanced, content_type="application/json", **headers)
    assert refused.status_code == 400 and "lines" in refused.json()["error"]["fields"]
    assert JournalEntry.objects.filter(company=books).count() == 1
    draft = client.post(url, dict(payload, post=False), content_type="application/json", **headers)
    assert draft.status_code == 201 and draft.json()["state"] == "draft"
    patch = client.patch(
        f"{url}{draft.json()['id']}/", {"post": True}, content_type="application/json", **headers
    )
    assert patch.status_code == 400 and "post" in patch.json()["error"]["fields"]
    role = Role.objects.get(company=books, code="accountant")  # drafts only from now on
    role.permissions.remove(*role.permissions.filter(codename="post_journalentry"))
    denied = client.post(url, payload, content_type="application/json", **headers)
    assert denied.status_code == 403
    assert JournalEntry.objects.filter(company=books).count() == 2
