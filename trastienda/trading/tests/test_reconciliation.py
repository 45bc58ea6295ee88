"""Confirmations import and the reconciliation of trades against them: breaks classified,
kept across re-runs with their owner, resolved when they go away."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import simplefix
from django.core.exceptions import ValidationError

from trastienda.trading import reconciliation as rec
from trastienda.trading import services
from trastienda.trading.models import Break, Confirmation


def fix_report(
    book: Any,
    exec_id: str,
    order: str,
    quantity: str,
    price: str,
    day: dt.date,
    *,
    side: str = "1",
    exec_type: str = "F",
    ref: str = "",
    account: str = "CLI-1",
) -> bytes:
    message = simplefix.FixMessage()
    message.append_pair(8, "FIX.4.4")
    message.append_pair(35, "8")
    message.append_pair(49, "BRK")
    message.append_pair(56, "TRASTIENDA")
    message.append_pair(17, exec_id)
    if ref:
        message.append_pair(19, ref)
    message.append_pair(11, order)
    message.append_pair(37, f"O-{order}")
    message.append_pair(150, exec_type)
    message.append_pair(39, "2")
    message.append_pair(55, "SAN")
    message.append_pair(48, book.equity.isin)
    message.append_pair(22, "4")
    message.append_pair(54, side)
    message.append_pair(32, quantity)
    message.append_pair(31, price)
    message.append_pair(14, quantity)
    message.append_pair(6, price)
    message.append_pair(15, "EUR")
    message.append_pair(1, account)
    message.append_pair(75, day.strftime("%Y%m%d"))
    message.append_pair(60, day.strftime("%Y%m%d-10:15:00.000"))
    encoded: bytes = message.encode()
    return encoded.replace(b"\x01", b"|") + b"\n"


def book_trades(book: Any, trade_data: Any) -> tuple[dt.date, list[Any]]:
    trades = [
        services.trade_book(
            company=book.company,
            **trade_data(trade_id=trade_id, quantity=qty, fees="0", commission="0"),
        )
        for trade_id, qty in (("FO-1", "100"), ("FO-2", "300"), ("FO-3", "50"))
    ]
    return trades[0].trade_date, trades


def test_fix_import_and_reconcile(book: Any, trade_data: Any, operator: Any) -> None:
    day, trades = book_trades(book, trade_data)
    price = str(Decimal(trades[0].price).scaleb(-8).normalize())
    content = b"".join(
        [
            fix_report(book, "E1", "FO-1", "100", price, day),
            fix_report(book, "E2", "FO-2", "200", price, day),  # partial fills of FO-2
            fix_report(book, "E3", "FO-2", "100", price, day),
            fix_report(book, "E4", "FO-3", "50", "4.20", day),  # another price
            fix_report(book, "E5", "FO-9", "10", price, day),  # not ours
        ]
    )
    result = rec.confirmations_import(company=book.company, content=content, filename="a.fix")
    assert result.imported == 5 and Confirmation.objects.count() == 5
    with pytest.raises(ValidationError) as again:
        rec.confirmations_import(company=book.company, content=content, filename="a.fix")
    assert "line 1" in again.value.message_dict
    assert Confirmation.objects.count() == 5

    run = rec.trades_reconcile(company=book.company, trade_date=day, user=operator)
    kinds = sorted(Break.objects.values_list("kind", flat=True))
    assert run.trades == 3 and run.confirmations == 5
    # FO-1 matches; FO-2 matches its two fills summed; FO-3's price differs; E5 is not ours.
    assert kinds == ["missing_left", "price"] and run.matched == 2
    price_break = Break.objects.get(kind="price")
    assert price_break.trades == [trades[2].pk]
    rec.break_assign(instance=price_break, owner=operator, comment="Asked the broker")

    # The broker corrects E4 to our price: a re-run resolves the price break and keeps others.
    correction = fix_report(book, "E6", "FO-3", "50", price, day, exec_type="G", ref="E4")
    rec.confirmations_import(company=book.company, content=correction, filename="b.fix")
    assert Confirmation.objects.get(broker_ref="E4").state == "cancelled"
    rec.trades_reconcile(company=book.company, trade_date=day)
    price_break.refresh_from_db()
    assert price_break.state == "resolved" and "No longer found" in price_break.resolution
    still = Break.objects.get(kind="missing_left", state="open")
    assert still.first_run_id == run.pk
    rec.break_resolve(instance=still, reason="Not our client: broker informed")
    with pytest.raises(ValidationError):
        rec.break_resolve(instance=still, reason="again")


def test_bad_confirmations_are_refused_by_line(book: Any, trade_data: Any) -> None:
    day, _trades = book_trades(book, trade_data)
    content = fix_report(book, "E1", "FO-1", "100", "4.1", day) + fix_report(
        book, "E2", "FO-1", "100", "4.1", day, account="NOPE"
    )
    with pytest.raises(ValidationError) as refused:
        rec.confirmations_import(company=book.company, content=content, filename="x.fix")
    assert "line 2" in refused.value.message_dict
    assert not Confirmation.objects.exists()
    broken = content.replace(b"|10=", b"|10=9", 1)
    with pytest.raises(ValidationError):
        rec.confirmations_import(company=book.company, content=broken, filename="x.fix")
    with pytest.raises(ValidationError) as no_mapping:
        rec.confirmations_import(
            company=book.company, content=b"a;b\n1;2\n", filename="x.csv", broker="BRK"
        )
    assert "broker" in no_mapping.value.message_dict
