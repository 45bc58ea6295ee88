"""Pages of trading: lists, details, booking, amending, cancelling, importing, exporting and
who may do what."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from trastienda.trading.models import Desk, Instrument, Trade
from trastienda.trading.services import trade_book
from trastienda.trading.tests.conftest import Book, past_business_day

pytestmark = pytest.mark.django_db

Data = Callable[..., dict[str, Any]]


def url(book: Book, path: str) -> str:
    return f"/c/{book.company.code}/trading/{path}"


@pytest.fixture
def oper_client(login: Callable[[Any], Client], operator: Any) -> Client:
    return login(operator)


@pytest.fixture
def booked(book: Book, trade_data: Data) -> Trade:
    return trade_book(company=book.company, **trade_data())


@pytest.mark.parametrize(
    "path",
    [
        "trades/",
        "trades/add/",
        "trades/import/",
        "instruments/",
        "instruments/add/",
        "accounts/",
        "brokers/",
        "traders/",
        "desks/",
        "desks/add/",
    ],
)
def test_pages_render(book: Book, booked: Trade, oper_client: Client, path: str) -> None:
    response = oper_client.get(url(book, path))
    assert response.status_code == 200, path


def test_detail_pages_render(book: Book, booked: Trade, oper_client: Client) -> None:
    for obj in (book.desk, book.trader, book.broker, book.account, book.option, booked):
        response = oper_client.get(obj.get_absolute_url())
        assert response.status_code == 200, obj
    page = oper_client.get(booked.get_absolute_url()).content.decode()
    assert 'id="trade-versions"' in page and 'id="amend-trade"' in page
    assert "6185.19 EUR" in page and "4.12345678" in page


def test_trade_list_shows_current_versions_and_filters(
    book: Book, booked: Trade, trade_data: Data, oper_client: Client
) -> None:
    from trastienda.trading.services import trade_amend

    trade_amend(company=book.company, trade_id="FO-1", quantity="10")
    trade_book(company=book.company, **trade_data(trade_id="FO-2", trader="T2", account="HOUSE"))
    page = oper_client.get(url(book, "trades/")).content.decode()
    assert page.count("FO-1</a>") == 1 and "FO-2</a>" in page
    every = oper_client.get(url(book, "trades/?all_versions=true")).content.decode()
    assert every.count("FO-1</a>") == 2
    by_desk = oper_client.get(url(book, f"trades/?desk={book.other_desk.pk}")).content.decode()
    assert "FO-2</a>" in by_desk and "FO-1</a>" not in by_desk
    searched = oper_client.get(url(book, "trades/?q=FO-2")).content.decode()
    assert "FO-2</a>" in searched and "FO-1</a>" not in searched
    day = past_business_day().isoformat()
    dated = oper_client.get(url(book, f"trades/?trade_date_from={day}&side=buy&late=true"))
    assert "FO-1</a>" in dated.content.decode()


def test_book_a_trade_through_the_page(book: Book, oper_client: Client, operator: Any) -> None:
    day = past_business_day()
    response = oper_client.post(
        url(book, "trades/add/"),
        {
            "trade_id": "WEB-1",
            "executed_at": f"{day.isoformat()}T10:00",
            "account": "CLI-1",
            "trader": "T1",
            "instrument": "SAN",
            "broker": "BRK",
            "side": "sell",
            "quantity": "10",
            "price": "4.5",
            "fees": "",
            "commission": "",
        },
    )
    trade = Trade.objects.get(trade_id="WEB-1")
    assert response.status_code == 302 and response["Location"] == trade.get_absolute_url()
    assert (trade.gross_amount, trade.source, trade.created_by) == (4500, "web", operator)


def test_booking_errors_show_on_the_form(book: Book, oper_client: Client) -> None:
    day = past_business_day()
    response = oper_client.post(
        url(book, "trades/add/"),
        {
            "trade_id": "WEB-1",
            "executed_at": f"{day.isoformat()}T10:00",
            "account": "CLI-1",
            "trader": "T1",
            "instrument": "SAN",
            "broker": "BRK",
            "side": "buy",
            "quantity": "1.12345678",
            "price": "4.5",
        },
    )
    assert response.status_code == 400
    assert "At most 6 decimals." in response.content.decode()
    assert not Trade.objects.exists()


def test_amend_through_the_page(book: Book, booked: Trade, oper_client: Client) -> None:
    form = oper_client.get(url(book, f"trades/{booked.pk}/edit/"))
    assert form.status_code == 200
    assert 'value="4.12345678"' in form.content.decode()
    values = {
        "executed_at": form.context["form"].initial["executed_at"],
        **{k: v for k, v in form.context["form"].initial.items() if k != "trade_id"},
    }
    values["quantity"] = "1600"
    response = oper_client.post(url(book, f"trades/{booked.pk}/edit/"), values)
    assert response.status_code == 302
    current = Trade.objects.get(trade_id="FO-1", is_current=True)
    assert current.version == 2 and current.quantity == 1_600_000_000
    assert current.settlement_date == booked.settlement_date
    page = oper_client.get(current.get_absolute_url()).content.decode()
    assert "1500" in page and "1600" in page and 'data-version="2"' in page
    # nothing changed: no new version
    same = {**values}
    oper_client.post(url(book, f"trades/{current.pk}/edit/"), same)
    assert Trade.objects.filter(trade_id="FO-1").count() == 2


def test_cancel_through_the_page(book: Book, booked: Trade, oper_client: Client) -> None:
    assert oper_client.get(url(book, f"trades/{booked.pk}/cancel/")).status_code == 200
    empty = oper_client.post(url(book, f"trades/{booked.pk}/cancel/"), {"reason": ""})
    assert empty.status_code == 400
    response = oper_client.post(url(book, f"trades/{booked.pk}/cancel/"), {"reason": "dup"})
    assert response.status_code == 302
    current = Trade.objects.get(trade_id="FO-1", is_current=True)
    assert current.status == Trade.Status.CANCELLED
    # the amend page of a cancelled trade leads back to it
    again = oper_client.get(url(book, f"trades/{current.pk}/edit/"))
    assert again.status_code == 302
    page = oper_client.get(current.get_absolute_url()).content.decode()
    assert 'id="amend-trade"' not in page


def test_trades_are_never_deleted(book: Book, booked: Trade, oper_client: Client) -> None:
    assert oper_client.get(url(book, f"trades/{booked.pk}/delete/")).status_code == 403
    assert oper_client.post(url(book, f"trades/{booked.pk}/delete/")).status_code == 403
    assert Trade.objects.count() == 1


def upload(content: bytes, name: str = "trades.csv") -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = name
    return file


def test_import_page(book: Book, oper_client: Client) -> None:
    day = past_business_day().isoformat()
    header = "trade_id,executed_at,account,trader,instrument,broker,side,quantity,price\n"
    good = f"I1,{day}T10:00:00,CLI-1,T1,SAN,BRK,buy,10,4.5\n"
    bad = f"I2,{day}T10:00:00,NOPE,T1,SAN,BRK,buy,10,4.5\n"
    refused = oper_client.post(
        url(book, "trades/import/"), {"file": upload((header + good + bad).encode())}
    )
    assert refused.status_code == 400
    text = refused.content.decode()
    assert 'id="import-errors"' in text and "line 3.account" in text
    assert not Trade.objects.exists()
    done = oper_client.post(url(book, "trades/import/"), {"file": upload((header + good).encode())})
    assert done.status_code == 200
    assert 'data-booked="1"' in done.content.decode()
    assert Trade.objects.filter(trade_id="I1").exists()


def test_export_xlsx_with_exact_decimals(book: Book, booked: Trade, oper_client: Client) -> None:
    from decimal import Decimal

    from openpyxl import load_workbook

    response = oper_client.get(url(book, "trades/?export=xlsx"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    values = dict(zip(header, rows[1], strict=False))
    assert Decimal(str(values["Price"])) == Decimal("4.12345678")
    assert Decimal(str(values["Gross amount"])) == Decimal("6185.19")
    csv = oper_client.get(url(book, "trades/?export=csv")).content.decode()
    assert "4.12345678" in csv and "6185.19" in csv and "1500" in csv


def test_create_instrument_page_checks_the_type(book: Book, oper_client: Client) -> None:
    response = oper_client.post(
        url(book, "instruments/add/"),
        {
            "code": "OPT-X",
            "name": "Option",
            "type": "option",
            "market": "XMAD",
            "currency": "EUR",
            "multiplier": "1",
        },
    )
    assert response.status_code == 400
    assert "An option needs the strike." in response.content.decode()
    ok = oper_client.post(
        url(book, "instruments/add/"),
        {
            "code": "ENEL",
            "isin": "IT0003128367",
            "name": "Enel",
            "type": "equity",
            "market": "XMIL",
            "currency": "EUR",
            "multiplier": "1",
            "active": "on",
        },
    )
    assert ok.status_code == 302
    assert Instrument.objects.get(code="ENEL").isin == "IT0003128367"


def test_delete_refused_when_trades_use_it(book: Book, booked: Trade, oper_client: Client) -> None:
    response = oper_client.post(url(book, f"instruments/{book.equity.pk}/delete/"))
    assert response.status_code == 302
    assert Instrument.objects.filter(pk=book.equity.pk).exists()
    desk = Desk.objects.create(company=book.company, code="TMP", name="Temp")
    oper_client.post(url(book, f"desks/{desk.pk}/delete/"))
    assert not Desk.objects.filter(pk=desk.pk).exists()


def test_clerk_and_accountant(
    book: Book, booked: Trade, login: Callable[[Any], Client], clerk: Any, accountant: Any
) -> None:
    client = login(clerk)
    for path in ("trades/", "trades/add/", "trades/import/", f"trades/{booked.pk}/edit/"):
        assert client.get(url(book, path)).status_code == 403
    assert client.post(url(book, "trades/add/"), {"trade_id": "X"}).status_code == 403
    assert client.post(url(book, f"trades/{booked.pk}/cancel/"), {"reason": "x"}).status_code == 403
    assert client.post(url(book, "desks/add/"), {"code": "X", "name": "X"}).status_code == 403
    reader = login(accountant)  # reads trading, changes nothing
    assert reader.get(url(book, "trades/")).status_code == 200
    page = reader.get(booked.get_absolute_url())
    assert page.status_code == 200 and 'id="amend-trade"' not in page.content.decode()
    assert reader.post(url(book, f"trades/{booked.pk}/cancel/"), {"reason": "x"}).status_code == 403
    assert reader.post(url(book, "trades/import/"), {}).status_code == 403
    assert Trade.objects.count() == 1
