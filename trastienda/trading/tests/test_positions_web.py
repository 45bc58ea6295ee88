"""Positions and P&L pages and API: who may see and run what, exports, the prices import
page and endpoint (errors by line, nothing written)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook
from rest_framework.test import APIClient

from trastienda.trading.models import PnlSnapshot, Price
from trastienda.trading.positions import pnl_run, price_set
from trastienda.trading.services import trade_book
from trastienda.trading.tests.conftest import Book, past_business_day

pytestmark = pytest.mark.django_db

DAY = past_business_day(10)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def url(book: Book, path: str) -> str:
    return f"/c/{book.company.code}/trading/{path}"


@pytest.fixture
def traded(book: Book) -> Book:
    """Two trades of SAN (T1 buys 100 @ 10, T2 sells 40 @ 11), a close of 12, the day run."""
    for n, (side, quantity, price, trader) in enumerate(
        [("buy", "100", "10", "T1"), ("sell", "40", "11", "T2")], start=1
    ):
        trade_book(
            company=book.company,
            trade_id=f"W-{n}",
            executed_at=f"{DAY.isoformat()}T1{n}:00:00",
            account="CLI-1",
            trader=trader,
            instrument="SAN",
            broker="BRK",
            side=side,
            quantity=quantity,
            price=price,
        )
    price_set(company=book.company, instrument="SAN", date=DAY, close="12")
    pnl_run(company=book.company, date=DAY)
    return book


@pytest.fixture
def oper(login: Callable[[Any], Client], operator: Any) -> Client:
    return login(operator)


def api_for(user: Any, company: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_X_COMPANY=company.code)
    return client


PAGES = [
    "prices/",
    "prices/?q=SAN&date_from=2000-01-01",
    "prices/add/",
    "prices/import/",
    "positions/",
    f"positions/?date={DAY.isoformat()}",
    f"positions/?date={DAY.isoformat()}&group=desk",
    f"positions/?date={DAY.isoformat()}&group=instrument",
    "pnl/",
    f"pnl/?date={DAY.isoformat()}",
    "pnl/history/",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_operations(traded: Book, oper: Client, path: str) -> None:
    response = oper.get(url(traded, path))
    assert response.status_code == 200, path


@pytest.mark.parametrize("path", PAGES)
def test_pages_refuse_a_clerk(
    traded: Book, login: Callable[[Any], Client], clerk: Any, path: str
) -> None:
    assert login(clerk).get(url(traded, path)).status_code == 403


def test_price_detail_and_list(traded: Book, oper: Client) -> None:
    price = Price.objects.get()
    page = oper.get(price.get_absolute_url()).content.decode()
    assert "12 EUR" in page
    listed = oper.get(url(traded, "prices/")).content.decode()
    assert 'id="import-prices"' in listed and price.get_absolute_url() in listed
    assert oper.get(url(traded, f"prices/{price.pk}/edit/")).status_code == 403


def test_positions_page_figures(traded: Book, oper: Client) -> None:
    page = oper.get(url(traded, f"positions/?date={DAY.isoformat()}")).content.decode()
    assert 'id="positions"' in page
    # T1: 60 left, cost 600.00, value 720.00, unrealised 120.00; T2 realised 40.00
    for figure in ("600.00", "720.00", "120.00", "40.00"):
        assert figure in page.replace(",", "."), figure


def test_exports(traded: Book, oper: Client) -> None:
    positions = oper.get(url(traded, f"positions/?date={DAY.isoformat()}&export=xlsx"))
    assert positions.status_code == 200 and positions["Content-Type"] == XLSX
    sheet = load_workbook(io.BytesIO(positions.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Account" and len(rows) == 3
    assert {row[2]: row[11] for row in rows[1:]}["T1"] == 120
    grouped = oper.get(url(traded, f"positions/?date={DAY.isoformat()}&group=desk&export=csv"))
    assert grouped.status_code == 200 and b"EQ" in grouped.content
    pnl = oper.get(url(traded, f"pnl/?date={DAY.isoformat()}&export=xlsx"))
    assert pnl.status_code == 200 and pnl["Content-Type"] == XLSX
    pnl_rows = list(load_workbook(io.BytesIO(pnl.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert len(pnl_rows) == 1 + 2 + 1 + 2  # header, 2 traders, 1 broker, 2 desks
    prices = oper.get(url(traded, "prices/?export=xlsx"))
    assert prices.status_code == 200 and prices["Content-Type"] == XLSX
    history = oper.get(url(traded, "pnl/history/?export=csv"))
    assert history.status_code == 200


def test_accountant_reads_but_cannot_run(
    traded: Book, login: Callable[[Any], Client], accountant: Any
) -> None:
    client = login(accountant)
    assert client.get(url(traded, "pnl/")).status_code == 200
    response = client.post(url(traded, "pnl/run/"), {"date": DAY.isoformat()})
    assert response.status_code == 403
    assert client.post(url(traded, "prices/import/")).status_code == 403


def test_run_from_the_report(traded: Book, oper: Client) -> None:
    first = set(PnlSnapshot.objects.values_list("pk", flat=True))
    response = oper.post(url(traded, "pnl/run/"), {"date": DAY.isoformat()})
    assert response.status_code == 302
    assert response["Location"].endswith(f"pnl/?date={DAY.isoformat()}")
    assert PnlSnapshot.objects.count() == 2
    assert not first & set(PnlSnapshot.objects.values_list("pk", flat=True))
    page = oper.get(response["Location"]).content.decode()
    assert 'id="pnl-trader"' in page and 'data-chart="pnl-chart-0"' in page
    assert oper.get(url(traded, "pnl/run/")).status_code == 405
    bad = oper.post(url(traded, "pnl/run/"), {"date": "2999-01-01"})
    assert bad.status_code == 302 and PnlSnapshot.objects.filter(date__year=2999).count() == 0


def test_history_chart(traded: Book, oper: Client) -> None:
    page = oper.get(url(traded, "pnl/history/")).content.decode()
    assert 'data-chart="pnl-history-chart"' in page and '"type": "line"' in page
    bad = oper.get(url(traded, "pnl/history/?date_from=2025-02-01&date_to=2025-01-01"))
    assert bad.status_code == 400


def test_import_page(book: Book, oper: Client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile(
        "p.csv", f"date,instrument,close\n{DAY},SAN,1\n{DAY},NOPE,1\n".encode()
    )
    response = oper.post(url(book, "prices/import/"), {"file": bad})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="import-errors"' in page and "line 3.instrument" in page
    assert Price.objects.count() == 0
    good = SimpleUploadedFile("p.csv", f"date,instrument,close\n{DAY},SAN,1.5\n".encode())
    response = oper.post(url(book, "prices/import/"), {"file": good})
    assert response.status_code == 200 and 'data-created="1"' in response.content.decode()
    assert Price.objects.get().close == 150000000


def test_add_page_sets_and_replaces(book: Book, oper: Client) -> None:
    data = {"instrument": book.equity.pk, "date": DAY.isoformat(), "close": "4.5"}
    assert oper.post(url(book, "prices/add/"), data).status_code == 302
    data["close"] = "4.75"
    assert oper.post(url(book, "prices/add/"), data).status_code == 302
    assert Price.objects.get().close == 475000000
    data["close"] = "1.123456789"
    assert oper.post(url(book, "prices/add/"), data).status_code == 400
    assert Price.objects.get().close == 475000000


# --- API --------------------------------------------------------------------------------------

API = "/api/v1/trading/"


def test_api_prices(book: Book, operator: Any) -> None:
    api = api_for(operator, book.company)
    created = api.post(
        f"{API}prices/", {"instrument": "SAN", "date": DAY.isoformat(), "close": "4.12345678"}
    )
    assert created.status_code == 201, created.content
    assert created.json()["close"] == "4.12345678" and created.json()["currency"] == "EUR"
    bad = api.post(
        f"{API}prices/", {"instrument": "SAN", "date": DAY.isoformat(), "close": "1.000000001"}
    )
    assert bad.status_code == 400 and "close" in bad.json()["error"]["fields"]
    listed = api.get(f"{API}prices/").json()
    assert listed["count"] == 1 and listed["results"][0]["instrument"] == "SAN"
    one = api.get(f"{API}prices/{created.json()['id']}/")
    assert one.status_code == 200


def test_api_prices_import(book: Book, operator: Any) -> None:
    api = api_for(operator, book.company)
    content = f"date,instrument,close\n{DAY},SAN,4\n{DAY},BONO-2030,x\n".encode()
    bad = api.post(
        f"{API}prices/import/",
        {"file": io.BytesIO(content)},
        format="multipart",
    )
    assert bad.status_code == 400
    assert list(bad.json()["error"]["fields"]) == ["line 3.close"]
    assert Price.objects.count() == 0
    good = io.BytesIO(f"date,instrument,close\n{DAY},SAN,4\n".encode())
    good.name = "p.csv"
    response = api.post(f"{API}prices/import/", {"file": good}, format="multipart")
    assert response.status_code == 201
    assert response.json() == {"created": 1, "replaced": 0, "unchanged": 0}


def test_api_positions_and_pnl(traded: Book, operator: Any, clerk: Any) -> None:
    api = api_for(operator, traded.company)
    response = api.get(f"{API}positions/", {"date": DAY.isoformat(), "trader": "T1"})
    assert response.status_code == 200
    [row] = response.json()["positions"]
    assert row == {
        "account": "CLI-1",
        "instrument": "SAN",
        "trader": "T1",
        "desk": "EQ",
        "broker": "BRK",
        "currency": "EUR",
        "quantity": "60",
        "cost": "600.00",
        "close": "12",
        "close_date": DAY.isoformat(),
        "market_value": "720.00",
        "unrealised": "120.00",
        "realised": "0.00",
        "realised_to_date": "0.00",
        "fees": "0.00",
    }
    assert api.get(f"{API}positions/", {"trader": "NOPE"}).status_code == 400
    pnl = api.get(f"{API}pnl/", {"date": DAY.isoformat(), "group": "desk"}).json()
    assert {r["desk"]: r["total"] for r in pnl["rows"]} == {"EQ": "120.00", "FI": "40.00"}
    assert api.get(f"{API}pnl/", {"group": "nope"}).status_code == 400
    run = api.post(f"{API}pnl/", {"date": DAY.isoformat()}, format="json")
    assert run.status_code == 201 and run.json()["replaced"] == 2
    future = api.post(f"{API}pnl/", {"date": "2999-01-01"}, format="json")
    assert future.status_code == 400 and "date" in future.json()["error"]["fields"]
    outsider = api_for(clerk, traded.company)
    assert outsider.get(f"{API}positions/").status_code == 403
    assert outsider.post(f"{API}pnl/", {"date": DAY.isoformat()}).status_code == 403
    assert outsider.get(f"{API}prices/").status_code == 403
