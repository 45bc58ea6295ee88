"""REST API of trading: reference data CRUD and trades (book, amend, cancel, versions,
import), amounts as decimal strings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from trastienda.trading.models import Desk, Instrument, Trade
from trastienda.trading.services import trade_book
from trastienda.trading.tests.conftest import Book, past_business_day

pytestmark = pytest.mark.django_db

Data = Callable[..., dict[str, Any]]
API = "/api/v1/trading/"


def client_for(user: Any, company: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_X_COMPANY=company.code)
    return client


@pytest.fixture
def api(operator: Any, book: Book) -> APIClient:
    return client_for(operator, book.company)


def test_book_retrieve_and_list(book: Book, api: APIClient, trade_data: Data) -> None:
    response = api.post(f"{API}trades/", trade_data(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["trade_id"] == "FO-1" and body["version"] == 1
    assert (body["quantity"], body["price"], body["gross_amount"], body["fees"]) == (
        "1500",
        "4.12345678",
        "6185.19",
        "1.50",
    )
    assert (body["account"], body["instrument"], body["desk"]) == ("CLI-1", "SAN", "EQ")
    listed = api.get(f"{API}trades/", {"instrument": book.equity.pk}).json()
    assert [t["trade_id"] for t in listed["results"]] == ["FO-1"]
    assert api.get(f"{API}trades/{body['id']}/").json()["gross_amount"] == "6185.19"


def test_book_errors_name_the_field(book: Book, api: APIClient, trade_data: Data) -> None:
    response = api.post(f"{API}trades/", trade_data(broker="NOPE"), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["broker"]
    assert not Trade.objects.exists()


def test_amend_cancel_and_versions(book: Book, api: APIClient, trade_data: Data) -> None:
    trade = trade_book(company=book.company, **trade_data())
    amended = api.post(f"{API}trades/{trade.pk}/amend/", {"price": "4.2"}, format="json")
    assert amended.status_code == 201, amended.content
    assert (amended.json()["version"], amended.json()["price"]) == (2, "4.2")
    new_id = amended.json()["id"]
    cancelled = api.post(f"{API}trades/{new_id}/cancel/", {"reason": "dup"}, format="json")
    assert cancelled.status_code == 201 and cancelled.json()["status"] == "cancelled"
    refused = api.post(f"{API}trades/{new_id}/amend/", {"price": "4.3"}, format="json")
    assert refused.status_code == 400
    versions = api.get(f"{API}trades/{trade.pk}/versions/").json()
    assert [(v["version"], v["status"]) for v in versions] == [
        (1, "active"),
        (2, "active"),
        (3, "cancelled"),
    ]
    current = api.get(f"{API}trades/").json()["results"]
    assert [t["version"] for t in current] == [3]
    every = api.get(f"{API}trades/", {"all_versions": "true"}).json()["results"]
    assert len(every) == 3


def test_import(book: Book, api: APIClient) -> None:
    day = past_business_day().isoformat()
    header = "trade_id,executed_at,account,trader,instrument,broker,side,quantity,price\n"
    good = f"I1,{day}T10:00:00,CLI-1,T1,SAN,BRK,buy,10,4.5\n"
    bad = f"I2,{day}T10:00:00,CLI-1,T1,SAN,BRK,hold,10,4.5\n"
    refused = api.post(
        f"{API}trades/import/",
        {"file": SimpleUploadedFile("t.csv", (header + good + bad).encode())},
        format="multipart",
    )
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["line 3.side"]
    assert not Trade.objects.exists()
    done = api.post(
        f"{API}trades/import/",
        {"file": SimpleUploadedFile("t.csv", (header + good).encode())},
        format="multipart",
    )
    assert done.status_code == 201
    assert done.json() == {"booked": 1, "amended": 0, "late": 1}


def test_reference_crud(book: Book, api: APIClient) -> None:
    created = api.post(f"{API}desks/", {"code": "FX", "name": "FX desk"}, format="json")
    assert created.status_code == 201
    duplicate = api.post(f"{API}desks/", {"code": "FX", "name": "Again"}, format="json")
    assert duplicate.status_code == 400 and "code" in duplicate.json()["error"]["fields"]
    trader = api.post(f"{API}traders/", {"code": "T9", "name": "Nine", "desk": "FX"}, format="json")
    assert trader.status_code == 201 and trader.json()["desk"] == "FX"
    option = api.post(
        f"{API}instruments/",
        {
            "code": "OPT-1",
            "name": "Call",
            "type": "option",
            "market": "XMAD",
            "currency": "EUR",
            "underlying": "FIE-2612",
            "expiry": "2027-03-19",
            "strike": "11000",
            "option_right": "call",
            "multiplier": "10",
            "exercise_style": "european",
        },
        format="json",
    )
    assert option.status_code == 201, option.content
    assert option.json()["strike"] == "11000.00000000"
    bad = api.post(
        f"{API}instruments/",
        {
            "code": "X",
            "name": "X",
            "type": "equity",
            "market": "XXXX",
            "currency": "EUR",
            "isin": "ES0113900J38",
        },
        format="json",
    )
    assert bad.status_code == 400
    assert {"market", "isin"} <= set(bad.json()["error"]["fields"])
    desk = Desk.objects.get(code="FX")
    assert api.delete(f"{API}desks/{desk.pk}/").status_code == 400  # a trader is on it
    assert api.patch(f"{API}desks/{desk.pk}/", {"name": "Forex"}, format="json").status_code == 200
    assert Instrument.objects.filter(code="OPT-1").exists()


def test_accountant_reads_only(book: Book, accountant: Any, trade_data: Data) -> None:
    trade = trade_book(company=book.company, **trade_data())
    client = client_for(accountant, book.company)
    assert client.get(f"{API}trades/").status_code == 200
    assert client.post(f"{API}trades/", trade_data(trade_id="X"), format="json").status_code == 403
    assert (
        client.post(f"{API}trades/{trade.pk}/cancel/", {"reason": "x"}, format="json").status_code
        == 403
    )
    assert client.post(f"{API}desks/", {"code": "Z", "name": "Z"}, format="json").status_code == 403
    assert Trade.objects.count() == 1
