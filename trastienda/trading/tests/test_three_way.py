"""Three-way reconciliation: the front office's trades against the back-office books (the
settlement instructions) and against the brokers' confirmations, each difference named once,
between the two sources where it lies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from trastienda.trading import reconciliation as rec
from trastienda.trading import services
from trastienda.trading.models import Break, SettlementInstruction, Trade
from trastienda.trading.tests.test_reconciliation import book_trades, fix_report


def booked(trade: Trade, **changes: Any) -> SettlementInstruction:
    """The back office's booking of ``trade`` as it stands (``changes`` make it differ)."""
    sign = -1 if trade.side == Trade.Side.BUY else 1
    values: dict[str, Any] = {
        "company": trade.company,
        "trade_id": trade.trade_id,
        "trade_version": trade,
        "account": trade.account,
        "instrument": trade.instrument,
        "broker": trade.broker,
        "side": trade.side,
        "trade_date": trade.trade_date,
        "settlement_date": trade.settlement_date,
        "quantity": trade.quantity,
        "price": trade.price,
        "currency": trade.currency,
        "gross_amount": trade.gross_amount,
        "fees": trade.fees,
        "commission": trade.commission,
        "cash_amount": sign * (trade.gross_amount + trade.fees + trade.commission),
    }
    values.update(changes)
    return SettlementInstruction.objects.create(**values)


def confirm_all(book: Any, day: dt.date, trades: list[Trade]) -> None:
    content = b"".join(
        fix_report(
            book,
            f"E{n}",
            trade.trade_id,
            f"{Decimal(trade.quantity).scaleb(-6).normalize():f}",
            f"{Decimal(trade.price).scaleb(-8).normalize():f}",
            day,
            account=trade.account.code,
        )
        for n, trade in enumerate(trades, start=1)
    )
    rec.confirmations_import(company=book.company, content=content, filename="day.fix")


def kinds(run: Any) -> list[tuple[str, str]]:
    return sorted(
        Break.objects.filter(last_run=run, state=Break.State.OPEN).values_list("against", "kind")
    )


def test_no_books_yet_means_the_broker_leg_only(book: Any, trade_data: Any) -> None:
    day, trades = book_trades(book, trade_data)
    confirm_all(book, day, trades)
    run = rec.trades_reconcile(company=book.company, trade_date=day)
    assert (run.instructions, run.matched, run.breaks) == (0, 3, 0)


def test_each_difference_is_named_between_the_sources_where_it_lies(
    book: Any, trade_data: Any
) -> None:
    day, trades = book_trades(book, trade_data)
    first, second, third = trades
    confirm_all(book, day, trades)
    booked(first)
    booked(second, quantity=second.quantity - 1_000_000)  # the books hold 299, not 300
    # the third trade is not in the books; a cancelled trade still is
    gone = services.trade_book(
        company=book.company, **trade_data(trade_id="FO-4", quantity="10", fees="0")
    )
    booked(gone)
    services.trade_cancel(company=book.company, trade_id="FO-4", reason="Booked twice")
    run = rec.trades_reconcile(company=book.company, trade_date=day)
    assert run.instructions == 3
    assert kinds(run) == [
        ("books", "books_only"),
        ("books", "missing_books"),
        ("books", "quantity"),
    ]
    quantity = Break.objects.get(last_run=run, kind="quantity")
    assert quantity.trades == [second.pk]
    assert quantity.instructions == [second.instructions.get().pk]
    assert quantity.confirmations == []
    assert (quantity.our_value, quantity.broker_value) == ("300000000", "299000000")
    missing = Break.objects.get(last_run=run, kind="missing_books")
    assert missing.trades == [third.pk]


def test_an_amended_trade_differs_from_its_booking_on_every_changed_key(
    book: Any, trade_data: Any
) -> None:
    day, trades = book_trades(book, trade_data)
    for trade in trades:
        booked(trade)
    amended = services.trade_amend(
        company=book.company, trade_id=trades[0].trade_id, account="HOUSE"
    )
    confirm_all(book, day, [amended, *trades[1:]])
    run = rec.trades_reconcile(company=book.company, trade_date=day)
    assert kinds(run) == [("books", "account")]
    account = Break.objects.get(last_run=run)
    assert (account.our_value, account.broker_value) == ("HOUSE", "CLI-1")


def test_books_and_broker_breaks_live_side_by_side_across_runs(book: Any, trade_data: Any) -> None:
    day, trades = book_trades(book, trade_data)
    instruction = booked(trades[0], settlement_date=trades[0].settlement_date + dt.timedelta(1))
    for trade in trades[1:]:
        booked(trade)
    confirm_all(book, day, trades[:2])  # the broker has not confirmed the third
    first = rec.trades_reconcile(company=book.company, trade_date=day)
    assert kinds(first) == [("books", "settlement_date"), ("broker", "missing_right")]
    kept = Break.objects.get(last_run=first, against="books")
    # the back office corrects its booking: that break goes, the broker's stays
    instruction.status = SettlementInstruction.Status.CANCELLED
    instruction.save(update_fields=["status"])
    booked(trades[0])
    second = rec.trades_reconcile(company=book.company, trade_date=day)
    assert kinds(second) == [("broker", "missing_right")]
    kept.refresh_from_db()
    assert kept.state == Break.State.RESOLVED
    assert Break.objects.get(last_run=second).first_run == first


def test_the_books_breaks_through_the_pages_and_the_api(
    book: Any, trade_data: Any, operator: Any
) -> None:
    from django.test import Client
    from rest_framework.test import APIClient

    day, trades = book_trades(book, trade_data)
    confirm_all(book, day, trades)
    booked(trades[0], price=trades[0].price + 1)
    for trade in trades[1:]:
        booked(trade)
    run = rec.trades_reconcile(company=book.company, trade_date=day)
    price = Break.objects.get(last_run=run)
    assert (price.kind, price.against) == ("price", "books")
    api = APIClient()
    api.force_authenticate(operator)
    api.credentials(HTTP_X_COMPANY=book.company.code)
    found = api.get("/api/v1/trading/breaks/", {"against": "books"}).json()["results"]
    assert [(b["id"], b["instructions"]) for b in found] == [(price.pk, price.instructions)]
    assert api.get("/api/v1/trading/breaks/", {"against": "broker"}).json()["results"] == []
    assert api.get(f"/api/v1/trading/reconciliation-runs/{run.pk}/").json()["instructions"] == 3
    client = Client()
    client.force_login(operator)
    page = client.get(f"/c/{book.company.code}/trading/breaks/?against=books")
    assert page.status_code == 200
    assert f"/trading/breaks/{price.pk}/" in page.content.decode()
