"""Three-way reconciliation: the front office's trades against the back-office books (the
settlement instructions) and against the brokers' confirmations, each difference named once,
between the two sources where it lies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from trastienda.trading import reconciliation as rec
from trastienda.trading import services
from trastienda.trading.models import Break, Confirmation, SettlementInstruction, Trade
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


def test_keys_and_tolerances_come_from_the_trading_settings(book: Any, trade_data: Any) -> None:
    from trastienda.trading import settlement

    day, trades = book_trades(book, trade_data)
    first = trades[0]
    price = Decimal(first.price).scaleb(-8)
    off = (price * Decimal("1.0015")).quantize(Decimal("1e-8"))  # about 15 bp
    content = b"".join(
        [
            fix_report(book, "E1", "FO-1", "100", f"{off:f}", day),
            fix_report(book, "E2", "FO-2", "300", f"{price:f}", day, account="HOUSE"),
            fix_report(book, "E3", "FO-3", "50", f"{price:f}", day),
        ]
    )
    rec.confirmations_import(company=book.company, content=content, filename="day.fix")
    run = rec.trades_reconcile(company=book.company, trade_date=day)
    assert kinds(run) == [("broker", "account"), ("broker", "price")]
    with pytest.raises(ValidationError) as refused:
        settlement.settings_update(
            company=book.company, reconcile_keys="side,colour", price_tolerance_bp="1.234"
        )
    assert set(refused.value.message_dict) == {"reconcile_keys", "price_tolerance_bp"}
    # 15 bp is within 20 bp; without the account as a key, HOUSE confirms FO-2 of CLI-1
    settlement.settings_update(
        company=book.company,
        reconcile_keys=["trade_ref", "instrument", "side", "broker"],
        price_tolerance_bp="20",
    )
    again = rec.trades_reconcile(company=book.company, trade_date=day)
    assert (again.matched, kinds(again)) == (3, [])


def block_report(book: Any, exec_id: str, quantity: str, price: str, day: dt.date) -> bytes:
    """A FIX execution report of a block: no account (tag 1), the broker's own order id."""
    import simplefix

    message = simplefix.FixMessage()
    for tag, value in (
        (8, "FIX.4.4"), (35, "8"), (49, "BRK"), (56, "TRASTIENDA"), (17, exec_id),
        (11, "BLOCK-9"), (37, "O-BLOCK-9"), (150, "F"), (39, "2"), (55, "SAN"),
        (48, book.equity.isin), (22, "4"), (54, "1"), (32, quantity), (31, price),
        (14, quantity), (6, price), (15, "EUR"), (75, day.strftime("%Y%m%d")),
        (60, day.strftime("%Y%m%d-10:15:00.000")),
    ):  # fmt: skip
        message.append_pair(tag, value)
    encoded: bytes = message.encode()
    return encoded.replace(b"\x01", b"|") + b"\n"


def test_a_block_confirmation_matches_our_allocations(book: Any, trade_data: Any) -> None:
    """The broker confirms one block without an account; we booked it as allocations to
    two accounts with our own ids: the allocations summed per trade date, instrument, side
    and broker pair with the block."""
    alloc = [
        services.trade_book(
            company=book.company,
            **trade_data(trade_id=tid, quantity=qty, account=acc, fees="0", commission="0"),
        )
        for tid, qty, acc in (("AL-1", "100", "CLI-1"), ("AL-2", "150", "HOUSE"))
    ]
    day = alloc[0].trade_date
    price = f"{Decimal(alloc[0].price).scaleb(-8).normalize():f}"
    block = block_report(book, "B1", "250", price, day)
    rec.confirmations_import(company=book.company, content=block, filename="block.fix")
    assert Confirmation.objects.get(broker_ref="B1").account is None
    run = rec.trades_reconcile(company=book.company, trade_date=day)
    assert (run.matched, kinds(run)) == (1, [])
    # a block of another size names one quantity break, not two missing allocations
    Confirmation.objects.filter(broker_ref="B1").update(quantity=240_000_000)
    short = rec.trades_reconcile(company=book.company, trade_date=day)
    assert kinds(short) == [("broker", "quantity")]
    assert sorted(Break.objects.get(last_run=short).trades) == sorted(t.pk for t in alloc)


def test_the_history_reads_scaled_numbers_choices_and_records(
    book: Any, trade_data: Any, operator: Any
) -> None:
    """The audit trail stores integers, codes and ids; the detail page's history shows
    quantities, prices and amounts as decimals, a choice's label and the record named."""
    from django.test import Client

    from trastienda.trading.views import TradeViews

    trade = services.trade_book(
        company=book.company, **trade_data(trade_id="H-1", quantity="1500", fees="1.50")
    )
    changes = {
        "quantity": [None, trade.quantity],
        "price": [None, trade.price],
        "fees": [None, trade.fees],
        "side": [None, "buy"],
        "late": [None, False],
        "trader": [None, book.trader.pk],
    }
    rows = {label: after for label, _before, after in TradeViews.readable_changes(changes, trade)}
    assert rows["Quantity"] == Decimal("1500")
    assert rows["Price"] == Decimal(trade.price).scaleb(-8).normalize()
    assert rows["Fees"] in {"1,50 €", "€1.50"}
    assert (rows["Side"], rows["Late booking"]) == ("Buy", "No")
    assert rows["Trader"] == str(book.trader)
    client = Client()
    client.force_login(operator)
    page = client.get(trade.get_absolute_url()).content.decode()
    assert str(trade.quantity) not in page  # 1500000000, the stored integer
