"""Shared fixtures of trading's tests: a company's reference data and its people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from trastienda.trading import reference
from trastienda.trading.models import Broker, Desk, Instrument, Trader, TradingAccount


@dataclass
class Book:
    """A company's trading reference data."""

    company: Any
    desk: Desk
    other_desk: Desk
    trader: Trader
    other_trader: Trader
    broker: Broker
    account: TradingAccount
    house: TradingAccount
    equity: Instrument  # Santander, XMAD, EUR
    bond: Instrument
    future: Instrument
    option: Instrument


def past_business_day(days_back: int = 7) -> dt.date:
    """A weekday ``days_back`` or more days before today (not 1 Jan, 25/26 Dec)."""
    day = timezone.localdate() - dt.timedelta(days=days_back)
    while day.weekday() >= 5 or (day.month, day.day) in {(1, 1), (12, 25), (12, 26), (1, 6)}:
        day -= dt.timedelta(days=1)
    return day


@pytest.fixture
def book(company: Any) -> Book:
    desk = reference.desk_create(company=company, code="EQ", name="Equities")
    other_desk = reference.desk_create(company=company, code="FI", name="Fixed income")
    trader = reference.trader_create(company=company, code="T1", name="Ana Ruiz", desk=desk)
    other_trader = reference.trader_create(
        company=company, code="T2", name="Luca Bianchi", desk=other_desk
    )
    broker = reference.broker_create(company=company, code="BRK", name="Broker One")
    account = reference.trading_account_create(
        company=company, code="CLI-1", name="Client one", kind="client", desk=desk
    )
    house = reference.trading_account_create(
        company=company, code="HOUSE", name="House book", kind="house"
    )
    equity = reference.instrument_create(
        company=company,
        code="SAN",
        isin="ES0113900J37",
        name="Banco Santander",
        type="equity",
        market="XMAD",
        currency="EUR",
    )
    bond = reference.instrument_create(
        company=company,
        code="BONO-2030",
        isin="ES0000012K61",
        name="Bono 2030",
        type="bond",
        market="XMAD",
        currency="EUR",
        maturity=dt.date(2030, 7, 30),
        coupon=Decimal("1.25"),
    )
    future = reference.instrument_create(
        company=company,
        code="FIE-2612",
        name="IBEX 35 future Dec 2026",
        type="future",
        market="XMAD",
        currency="EUR",
        expiry=dt.date(2026, 12, 18),
        multiplier=Decimal(10),
    )
    option = reference.instrument_create(
        company=company,
        code="OIE-2612-C12000",
        name="IBEX 35 call 12000 Dec 2026",
        type="option",
        market="XMAD",
        currency="EUR",
        underlying=future,
        expiry=dt.date(2026, 12, 18),
        strike=Decimal(12000),
        option_right="call",
        multiplier=Decimal(10),
        exercise_style="european",
    )
    return Book(
        company,
        desk,
        other_desk,
        trader,
        other_trader,
        broker,
        account,
        house,
        equity,
        bond,
        future,
        option,
    )


@pytest.fixture
def trade_data(book: Book) -> Callable[..., dict[str, Any]]:
    """The fields of a valid equity trade on a past business day; keywords override."""

    def make(**overrides: Any) -> dict[str, Any]:
        day = past_business_day()
        data: dict[str, Any] = {
            "trade_id": "FO-1",
            "executed_at": f"{day.isoformat()}T10:15:00",
            "account": "CLI-1",
            "trader": "T1",
            "instrument": "SAN",
            "broker": "BRK",
            "side": "buy",
            "quantity": "1500",
            "price": "4.12345678",
            "fees": "1.50",
            "commission": "3.20",
        }
        data.update(overrides)
        return data

    return make


@pytest.fixture
def operator(make_user: Callable[..., Any], company: Any) -> Any:
    return make_user("oper", company=company, role="operations")


@pytest.fixture
def clerk(make_user: Callable[..., Any], company: Any) -> Any:
    return make_user("clerk", company=company, role="clerk")
