"""Pages, iCal feed and REST API of the expiry calendar and process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import icalendar
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from trastienda.trading import expiry, reference
from trastienda.trading.models import ExpiryEvent, ExpiryRun, Instrument, Obligation, Price, Trade
from trastienda.trading.services import trade_book
from trastienda.trading.tests.conftest import Book, past_business_day

pytestmark = pytest.mark.django_db

API = "/api/v1/trading/"


@pytest.fixture
def day() -> dt.date:
    return past_business_day(7)


@pytest.fixture
def expiring(book: Book, day: dt.date) -> Instrument:
    """A future expiring on ``day`` with CLI-1 long 2 and its final settlement price."""
    future = reference.instrument_create(
        company=book.company,
        code="FUT-D",
        name="Future D",
        type="future",
        market="XMAD",
        currency="EUR",
        expiry=day,
        multiplier=Decimal(10),
    )
    trade_book(
        company=book.company,
        trade_id="F-1",
        executed_at=f"{day.isoformat()}T10:00:00",
        account="CLI-1",
        trader="T1",
        instrument="FUT-D",
        broker="BRK",
        side="buy",
        quantity="2",
        price="12000",
    )
    return future


def settle_price(book: Book, instrument: Instrument, day: dt.date, close: str) -> None:
    Price.objects.create(
        company=book.company, instrument=instrument, date=day, close=int(Decimal(close).scaleb(8))
    )


def url(book: Book, name: str, **kwargs: Any) -> str:
    return reverse(f"trading:{name}", kwargs={"company": book.company.code, **kwargs})


# --- pages -------------------------------------------------------------------------------------


def test_month_view_shows_the_grid_and_events(
    book: Book, operator: Any, login: Callable[[Any], Client], expiring: Instrument, day: dt.date
) -> None:
    client = login(operator)
    response = client.get(url(book, "expiry_calendar"), {"month": day.strftime("%Y-%m")})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="month-grid"' in html and "FUT-D · Future D (2)" in html
    assert f'data-date="{day.isoformat()}"' in html and "text-bg-info" in html
    assert "token=" in html  # the personal feed address
    this_month = client.get(url(book, "expiry_calendar"))
    assert 'aria-current="date"' in this_month.content.decode()
    assert client.get(url(book, "expiry_calendar"), {"month": "garbage"}).status_code == 200


def test_list_view_filters_and_exports(
    book: Book, operator: Any, login: Callable[[Any], Client], expiring: Instrument, day: dt.date
) -> None:
    expiry.obligation_create(company=book.company, title="Renewal", due_date=day)
    client = login(operator)
    params = {"from": day.isoformat(), "to": day.isoformat()}
    html = client.get(url(book, "expiry_list"), params).content.decode()
    assert "FUT-D · Future D" in html and "Renewal" in html
    only = client.get(url(book, "expiry_list"), {**params, "kind": "obligation"}).content.decode()
    assert "Renewal" in only and "FUT-D" not in only
    bad = client.get(url(book, "expiry_list"), {"from": day.isoformat(), "to": "2000-01-01"})
    assert bad.status_code == 400
    csv = client.get(url(book, "expiry_list"), {**params, "export": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Date,Kind,Event,Open position")
    assert lines[1].startswith(f"{day.isoformat()},Future expiry,FUT-D · Future D,2")
    xlsx = client.get(url(book, "expiry_list"), {**params, "export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_pages_refuse_roles_without_permission(
    book: Book, clerk: Any, login: Callable[[Any], Client]
) -> None:
    client = login(clerk)
    for name in ("expiry_calendar", "expiry_list", "expiry_process", "expiryrun_list"):
        assert client.get(url(book, name)).status_code == 403, name
    assert client.get(url(book, "expiry_ical")).status_code == 403
    assert client.post(url(book, "expiry_process"), {"date": "2026-01-02"}).status_code == 403
    assert not ExpiryRun.objects.exists()


def test_process_page_previews_then_runs(
    book: Book, operator: Any, login: Callable[[Any], Client], expiring: Instrument, day: dt.date
) -> None:
    client = login(operator)
    assert client.get(url(book, "expiry_process")).status_code == 200
    missing = client.get(url(book, "expiry_process"), {"date": day.isoformat()})
    assert missing.status_code == 400
    assert "No closing price of FUT-D" in missing.content.decode()
    refused = client.post(url(book, "expiry_process"), {"date": day.isoformat()})
    assert refused.status_code == 400 and not ExpiryRun.objects.exists()

    settle_price(book, expiring, day, "12150")
    preview = client.get(url(book, "expiry_process"), {"date": day.isoformat()})
    html = preview.content.decode()
    assert preview.status_code == 200 and "Cash-settled" in html and "243000.00" in html
    response = client.post(url(book, "expiry_process"), {"date": day.isoformat()})
    run = ExpiryRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert run.created_by == operator
    detail = client.get(run.get_absolute_url()).content.decode()
    closing = Trade.objects.get(source="expiry")
    assert closing.get_absolute_url() in detail and "243000.00 EUR" in detail
    assert client.get(url(book, "expiryrun_list")).status_code == 200
    again = client.post(url(book, "expiry_process"), {"date": day.isoformat()})
    assert again.status_code == 400 and ExpiryRun.objects.count() == 1


def test_obligation_pages(book: Book, operator: Any, login: Callable[[Any], Client]) -> None:
    client = login(operator)
    bad = client.post(url(book, "obligation_add"), {"title": "", "kind": "other"})
    assert bad.status_code == 400 and not Obligation.objects.exists()
    response = client.post(
        url(book, "obligation_add"),
        {
            "title": "Renew the broker agreement",
            "kind": "contract_renewal",
            "due_date": "2027-02-01",
            "reminder_days": "15",
            "owner": operator.pk,
        },
    )
    item = Obligation.objects.get()
    assert response.status_code == 302 and item.owner == operator and item.reminder_days == 15
    assert client.get(url(book, "obligation_list")).status_code == 200
    assert "Renew the broker agreement" in client.get(item.get_absolute_url()).content.decode()
    edited = client.post(
        url(book, "obligation_edit", pk=item.pk),
        {"title": "Renewed", "kind": "contract_renewal", "due_date": "2027-02-01", "done": "on"},
    )
    assert edited.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.done) == ("Renewed", True)


# --- iCal feed ---------------------------------------------------------------------------------


def _feed_events(content: bytes) -> dict[str, Any]:
    calendar = icalendar.Calendar.from_ical(content)
    return {str(e["summary"]): e for e in calendar.walk("VEVENT")}


def test_ical_feed_with_session_and_with_token(
    book: Book, operator: Any, login: Callable[[Any], Client], expiring: Instrument, day: dt.date
) -> None:
    expiry.obligation_create(
        company=book.company,
        title="Annual filing",
        kind="regulatory",
        due_date=timezone.localdate() + dt.timedelta(days=30),
        description="File the annual report.",
    )
    response = login(operator).get(url(book, "expiry_ical"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    events = _feed_events(response.content)
    future = events["Future expiry: FUT-D · Future D"]
    assert future.decoded("dtstart") == day
    assert future.decoded("dtend") == day + dt.timedelta(days=1)
    assert "CLI-1: 2" in str(future["description"])
    assert str(future["uid"]) == f"instrument-{expiring.pk}-{day.isoformat()}-ACME@trastienda"
    assert "Obligation: Annual filing" in events
    assert "Option expiry: OIE-2612-C12000 · IBEX 35 call 12000 Dec 2026" in events

    token = expiry.ical_token(operator, book.company)
    anonymous = Client()
    with_token = anonymous.get(url(book, "expiry_ical"), {"token": token})
    assert with_token.status_code == 200
    assert set(_feed_events(with_token.content)) == set(events)
    assert anonymous.get(url(book, "expiry_ical"), {"token": token + "x"}).status_code == 404
    assert anonymous.get(url(book, "expiry_ical"), {"token": "1.2:abc"}).status_code == 404
    assert anonymous.get(url(book, "expiry_ical")).status_code == 302

    operator.set_password("Another-Long-Passphrase-42")
    operator.save()
    assert anonymous.get(url(book, "expiry_ical"), {"token": token}).status_code == 404


def test_ical_token_is_bound_to_company_and_permission(
    book: Book, clerk: Any, operator: Any, other_company: Any
) -> None:
    assert expiry.ical_user(expiry.ical_token(operator, book.company), book.company) == operator
    assert expiry.ical_user(expiry.ical_token(operator, book.company), other_company) is None
    assert expiry.ical_user(expiry.ical_token(clerk, book.company), book.company) is None


# --- REST API ----------------------------------------------------------------------------------


@pytest.fixture
def api(operator: Any, book: Book) -> APIClient:
    client = APIClient()
    client.force_authenticate(operator)
    client.credentials(HTTP_X_COMPANY=book.company.code)
    return client


def test_api_obligations_crud(book: Book, api: APIClient, operator: Any) -> None:
    created = api.post(
        f"{API}obligations/",
        {"title": "Filing", "kind": "regulatory", "due_date": "2027-01-15", "owner": "oper"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["title"], body["owner"], body["reminder_days"]) == ("Filing", "oper", None)
    bad = api.post(f"{API}obligations/", {"title": "X", "due_date": "someday"}, format="json")
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["due_date"]
    stranger = api.post(
        f"{API}obligations/",
        {"title": "X", "due_date": "2027-01-15", "reminder_days": 999},
        format="json",
    )
    assert stranger.status_code == 400
    assert list(stranger.json()["error"]["fields"]) == ["reminder_days"]
    assert Obligation.objects.count() == 1
    pk = body["id"]
    patched = api.patch(f"{API}obligations/{pk}/", {"done": True}, format="json")
    assert patched.status_code == 200 and patched.json()["done"] is True
    assert [o["id"] for o in api.get(f"{API}obligations/", {"done": "true"}).json()["results"]] == [
        pk
    ]
    assert api.delete(f"{API}obligations/{pk}/").status_code == 204


def test_api_calendar(book: Book, api: APIClient, expiring: Instrument, day: dt.date) -> None:
    response = api.get(f"{API}calendar/", {"from": day.isoformat(), "to": day.isoformat()})
    assert response.status_code == 200
    assert response.json() == [
        {
            "date": day.isoformat(),
            "kind": "future_expiry",
            "kind_label": "Future expiry",
            "key": f"instrument:{expiring.pk}:{day.isoformat()}",
            "title": "FUT-D · Future D",
            "instrument": "FUT-D",
            "obligation": None,
            "position": "2",
            "positions": [{"account": "CLI-1", "quantity": "2"}],
            "processed": False,
            "done": False,
        }
    ]
    bad = api.get(f"{API}calendar/", {"from": day.isoformat(), "to": "2000-01-01"})
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["to"]
    assert api.get(f"{API}calendar/").status_code == 200


def test_api_expiry_runs(
    book: Book, api: APIClient, expiring: Instrument, day: dt.date, clerk: Any
) -> None:
    missing = api.post(f"{API}expiry-runs/", {"date": day.isoformat()}, format="json")
    assert missing.status_code == 400
    assert missing.json()["error"]["fields"]["price"][0].startswith("No closing price of FUT-D")
    assert not ExpiryRun.objects.exists() and not Trade.objects.filter(source="expiry").exists()

    settle_price(book, expiring, day, "12150")
    preview = api.get(f"{API}expiry-runs/preview/", {"date": day.isoformat()})
    assert preview.status_code == 200
    assert preview.json()["events"][0]["amount"] == "243000.00"
    created = api.post(f"{API}expiry-runs/", {"date": day.isoformat()}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    closing = Trade.objects.get(source="expiry")
    assert (body["events"], body["trades"]) == (1, 1)
    assert body["event_rows"] == [
        {
            "instrument": "FUT-D",
            "account": "CLI-1",
            "outcome": "cash_settled",
            "quantity": "2",
            "reference_price": "12150",
            "amount": "243000.00",
            "currency": "EUR",
            "trades": [{"id": closing.pk, "trade_id": closing.trade_id}],
        }
    ]
    assert api.get(f"{API}expiry-runs/{body['id']}/").json()["event_rows"][0]["amount"] == (
        "243000.00"
    )
    assert api.get(f"{API}expiry-runs/").json()["count"] == 1
    again = api.post(f"{API}expiry-runs/", {"date": day.isoformat()}, format="json")
    assert again.status_code == 400 and ExpiryEvent.objects.count() == 1

    other = APIClient()
    other.force_authenticate(clerk)
    other.credentials(HTTP_X_COMPANY=book.company.code)
    assert other.post(f"{API}expiry-runs/", {"date": day.isoformat()}).status_code == 403
    assert other.get(f"{API}calendar/").status_code == 403
