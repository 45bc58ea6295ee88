"""The exception queue: its services (open, resolve, reopen, assign), the page (filters by
state, source, owner, age; assigning one or many; links to where the item is worked on) and
the API, with their permissions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from trastienda.matching.models import MatchException
from trastienda.matching.queue import (
    Unmatched,
    exception_assign,
    exception_reopen,
    exceptions_open,
    exceptions_resolve,
)

pytestmark = pytest.mark.django_db
PAGE = "/c/ACME/matching/exceptions/"
API = "/api/v1/matching/exceptions/"
SOURCE = "banking.statementline"


def days_ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


def item(object_id: int, days: int = 1, amount: int = -4530, reason: str = "No match") -> Unmatched:
    return Unmatched(
        object_id=object_id,
        summary=f"Line {object_id}: COMISION",
        amount=amount,
        currency="EUR",
        date=days_ago(days),
        reason=reason,
    )


@pytest.fixture
def queue(company: Any) -> dict[int, MatchException]:
    """Four open bank-line exceptions aged 1, 10, 45 and 120 days, one trade exception."""
    exceptions_open(
        company=company,
        source=SOURCE,
        items=[item(1, 1), item(2, 10, 121000), item(3, 45), item(4, 120)],
    )
    exceptions_open(company=company, source="trading.trade", items=[item(9, 2, 0, "Broker")])
    return {e.object_id: e for e in MatchException.objects.filter(company=company)}


@pytest.fixture
def boss(make_user: Any, company: Any) -> Any:
    return make_user("ana", company=company, role="administrator")


@pytest.fixture
def colleague(make_user: Any, company: Any) -> Any:
    return make_user("luis", company=company, role="administrator")


# --- services ---------------------------------------------------------------------------------


def test_open_keeps_owner_note_and_age_and_refreshes_the_reason(
    company: Any, boss: Any, queue: dict[int, MatchException]
) -> None:
    first = queue[1]
    exception_assign(instance=first, owner=boss, note="Llamar al banco")
    added = exceptions_open(
        company=company, source=SOURCE, items=[item(1, 1, reason="Two candidates"), item(5)]
    )
    assert added == 1
    first.refresh_from_db()
    assert (first.owner, first.note, first.reason) == (boss, "Llamar al banco", "Two candidates")
    assert MatchException.objects.filter(source=SOURCE, object_id=1).count() == 1


def test_resolve_and_reopen(company: Any, queue: dict[int, MatchException]) -> None:
    assert exceptions_resolve(company=company, source=SOURCE, object_ids=[1, 2, 77]) == 2
    resolved = MatchException.objects.get(pk=queue[1].pk)
    assert resolved.state == "resolved" and resolved.resolved_at is not None
    exception_reopen(company=company, source=SOURCE, item=item(1))
    assert MatchException.objects.filter(source=SOURCE, object_id=1).count() == 2
    assert MatchException.objects.get(source=SOURCE, object_id=1, state="open").owner is None


def test_assign_and_unassign(boss: Any, queue: dict[int, MatchException]) -> None:
    exception = queue[2]
    exception_assign(instance=exception, owner=boss, note="x" * 400)
    exception.refresh_from_db()
    assert exception.owner == boss and len(exception.note) == 300
    exception_assign(instance=exception, owner=None)
    exception.refresh_from_db()
    assert exception.owner is None and exception.note == "x" * 300  # note kept


def test_age_in_days(queue: dict[int, MatchException]) -> None:
    assert [queue[n].age_days for n in (1, 2, 3, 4)] == [1, 10, 45, 120]


# --- the page ---------------------------------------------------------------------------------


def shown(response: Any) -> set[int]:
    assert response.status_code == 200, response.status_code
    return {row.record.object_id for row in response.context["table"].rows}


def test_queue_page_filters(
    login: Any, boss: Any, company: Any, queue: dict[int, MatchException]
) -> None:
    client = login(boss)
    exceptions_resolve(company=company, source=SOURCE, object_ids=[3])
    assert shown(client.get(PAGE)) == {1, 2, 4, 9}  # open ones by default
    assert shown(client.get(PAGE, {"state": ""})) == {1, 2, 3, 4, 9}
    assert shown(client.get(PAGE, {"state": "resolved"})) == {3}
    assert shown(client.get(PAGE, {"source": SOURCE})) == {1, 2, 4}
    assert shown(client.get(PAGE, {"age": "0-7"})) == {1, 9}
    assert shown(client.get(PAGE, {"age": "8-30"})) == {2}
    assert shown(client.get(PAGE, {"age": "90+"})) == {4}
    assert shown(client.get(PAGE, {"q": "broker"})) == {9}
    exception_assign(instance=queue[2], owner=boss)
    assert shown(client.get(PAGE, {"owner": "me"})) == {2}
    assert shown(client.get(PAGE, {"owner": "none"})) == {1, 4, 9}
    assert shown(client.get(PAGE, {"owner": str(boss.pk)})) == {2}


def test_queue_page_shows_amounts_ages_and_links(
    login: Any, boss: Any, queue: dict[int, MatchException]
) -> None:
    client = login(boss)
    response = client.get(PAGE, {"source": SOURCE, "sort": "age"})
    body = response.content.decode()
    assert "-45.30" in body and "1,210.00" in body
    rows = list(response.context["table"].rows)
    assert [row.get_cell_value("age") for row in rows] == [1, 10, 45, 120]
    assert "/c/ACME/banking/reconcile/?line=1" in body
    assert 'id="assign-me"' in body
    detail = client.get(f"{PAGE}{queue[4].pk}/")
    text = detail.content.decode()
    assert detail.status_code == 200
    assert "120 days ago" in text and "Bank statement line" in text
    assert 'href="/c/ACME/banking/reconcile/?line=4"' in text and 'id="assign-form"' in text
    trade = client.get(f"{PAGE}{queue[9].pk}/").content.decode()
    assert 'id="work-link"' not in trade  # no page declared for that source


def test_queue_page_exports(login: Any, boss: Any, queue: dict[int, MatchException]) -> None:
    client = login(boss)
    response = client.get(PAGE, {"export": "csv", "source": SOURCE, "sort": "item_date"})
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:2] == ["Summary", "Amount"]
    assert lines[1].startswith("Line 4: COMISION,-45.30,")
    assert len(lines) == 5  # the header and the four open bank lines


def test_assign_to_me_and_to_a_colleague_with_a_note(
    login: Any, boss: Any, colleague: Any, queue: dict[int, MatchException]
) -> None:
    client = login(boss)
    assign = f"{PAGE}assign/"
    response = client.post(
        assign, {"pk": [queue[1].pk, queue[2].pk], "assign_me": "1", "next": PAGE + "?age=0-7"}
    )
    assert response.status_code == 302 and response["Location"] == PAGE + "?age=0-7"
    assert {e.owner for e in MatchException.objects.filter(object_id__in=[1, 2])} == {boss}
    response = client.post(
        assign,
        {"pk": queue[4].pk, "owner": str(colleague.pk), "set_note": "1", "note": "Revisar"},
    )
    assert response.status_code == 302 and response["Location"] == f"{PAGE}{queue[4].pk}/"
    four = MatchException.objects.get(pk=queue[4].pk)
    assert (four.owner, four.note) == (colleague, "Revisar")
    client.post(assign, {"pk": queue[4].pk, "owner": ""})
    four.refresh_from_db()
    assert (four.owner, four.note) == (None, "Revisar")


def test_assign_refuses_strangers_and_foreign_exceptions(
    login: Any,
    boss: Any,
    make_user: Any,
    other_company: Any,
    queue: dict[int, MatchException],
) -> None:
    stranger = make_user("otto", company=other_company, role="administrator")
    client = login(boss)
    response = client.post(
        f"{PAGE}assign/", {"pk": queue[1].pk, "owner": str(stranger.pk)}, follow=True
    )
    assert "Choose a member of this company." in response.content.decode()
    assert MatchException.objects.get(pk=queue[1].pk).owner is None
    theirs = MatchException.objects.create(
        company=other_company, source=SOURCE, object_id=1001, summary="x", item_date=days_ago(1)
    )
    client.post(f"{PAGE}assign/", {"pk": theirs.pk, "assign_me": "1"})
    theirs.refresh_from_db()
    assert theirs.owner is None
    assert client.get(f"{PAGE}{theirs.pk}/").status_code == 404


def test_queue_permissions(
    login: Any, make_user: Any, company: Any, queue: dict[int, MatchException]
) -> None:
    auditor = make_user("aurora", company=company, role="auditor")
    client: Client = login(auditor)  # reads everything: sees the queue, assigns nothing
    page = client.get(PAGE)
    assert page.status_code == 200 and 'id="assign-me"' not in page.content.decode()
    assert client.post(f"{PAGE}assign/", {"pk": queue[1].pk, "assign_me": "1"}).status_code == 403
    assert MatchException.objects.get(pk=queue[1].pk).owner is None
    clerk = make_user("carlos", company=company, role="clerk")
    client = login(clerk)
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}{queue[1].pk}/").status_code == 403
    for refused in (f"{PAGE}add/", f"{PAGE}{queue[1].pk}/edit/", f"{PAGE}{queue[1].pk}/delete/"):
        assert login(auditor).get(refused).status_code == 403, refused


def test_menu_entry(login: Any, boss: Any, accountant: Any) -> None:
    body = login(boss).get("/c/ACME/").content.decode()
    assert 'href="/c/ACME/matching/exceptions/"' in body


# --- the API ----------------------------------------------------------------------------------


def test_filters_ignore_a_field_the_schema_built_from_the_class(
    client: Client, boss: Any, queue: dict[int, MatchException]
) -> None:
    """The API schema builds the class's filter fields (choices empty then); a filter set of a
    request still offers the company's choices ("me" among them)."""
    from trastienda.matching.filters import MatchExceptionFilterSet

    assert MatchExceptionFilterSet.base_filters["owner"].field is not None  # cached on the class
    client.force_login(boss)
    listing = client.get(API, {"owner": "none"}, HTTP_X_COMPANY="ACME")
    assert listing.status_code == 200, listing.content
    assert listing.json()["count"] == len(queue)  # nobody owns any yet


def test_api_list_filter_and_assign(
    client: Client, boss: Any, colleague: Any, queue: dict[int, MatchException]
) -> None:
    client.force_login(boss)
    headers: dict[str, Any] = {"HTTP_X_COMPANY": "ACME"}
    listing = client.get(API, {"source": SOURCE, "ordering": "item_date"}, **headers).json()
    assert listing["count"] == 4
    oldest = listing["results"][0]
    assert (oldest["object_id"], oldest["amount"], oldest["currency"], oldest["age_days"]) == (
        4,
        "-45.30",
        "EUR",
        120,
    )
    assert oldest["item_url"] == "/c/ACME/banking/reconcile/?line=4"
    assert oldest["source_label"] == "Bank statement line" and oldest["owner"] is None
    assert client.get(API, {"age": "31-90"}, **headers).json()["count"] == 1
    url = f"{API}{queue[4].pk}/assign/"
    mine = client.post(
        url, {"owner": "me", "note": "Mío"}, content_type="application/json", **headers
    )
    assert mine.status_code == 200, mine.content
    assert (mine.json()["owner"], mine.json()["owner_username"], mine.json()["note"]) == (
        boss.pk,
        "ana",
        "Mío",
    )
    assert client.get(API, {"owner": "me"}, **headers).json()["count"] == 1
    theirs = client.post(
        url, {"owner": colleague.pk}, content_type="application/json", **headers
    ).json()
    assert theirs["owner"] == colleague.pk and theirs["note"] == "Mío"
    bad = client.post(url, {"owner": 99999}, content_type="application/json", **headers)
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"owner": ["Choose a member of this company."]}
    nobody = client.post(url, {"owner": None}, content_type="application/json", **headers)
    assert nobody.json()["owner"] is None


def test_api_permissions(
    client: Client, make_user: Any, company: Any, queue: dict[int, MatchException]
) -> None:
    headers: dict[str, Any] = {"HTTP_X_COMPANY": "ACME"}
    client.force_login(make_user("aurora", company=company, role="auditor"))
    assert client.get(API, **headers).status_code == 200
    denied = client.post(
        f"{API}{queue[1].pk}/assign/",
        {"owner": "me"},
        content_type="application/json",
        **headers,
    )
    assert denied.status_code == 403
    client.force_login(make_user("carlos", company=company, role="clerk"))
    assert client.get(API, **headers).status_code == 403
