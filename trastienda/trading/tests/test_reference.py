"""Reference data services: codes, ISINs, currencies, markets, the fields each instrument
type needs, and deletions refused while trades use a record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from trastienda.trading import reference
from trastienda.trading.models import Instrument
from trastienda.trading.services import trade_book
from trastienda.trading.tests.conftest import Book

pytestmark = pytest.mark.django_db


def fields_of(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(exc.value.message_dict)


def equity(company: Any, **kw: Any) -> Instrument:
    data = {
        "code": "ENEL",
        "isin": "IT0003128367",
        "name": "Enel",
        "type": "equity",
        "market": "XMIL",
        "currency": "EUR",
        **kw,
    }
    return reference.instrument_create(company=company, **data)


def test_codes_are_unique_per_company(book: Book, other_company: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        reference.desk_create(company=book.company, code="EQ", name="Again")
    assert fields_of(exc) == {"code"}
    assert reference.desk_create(company=other_company, code="EQ", name="Other").pk
    with pytest.raises(ValidationError):
        reference.trader_update(instance=book.other_trader, code="T1")
    assert reference.trader_update(instance=book.trader, name="Ana R.").name == "Ana R."


def test_isin_checked_and_normalised(book: Book) -> None:
    enel = equity(book.company, isin="it 0003128367")
    assert enel.isin == "IT0003128367"
    with pytest.raises(ValidationError) as exc:
        equity(book.company, code="BAD", isin="IT0003128368")
    assert fields_of(exc) == {"isin"}
    with pytest.raises(ValidationError) as exc:
        equity(book.company, code="ENEL2")  # same ISIN twice
    assert fields_of(exc) == {"isin"}


def test_currency_and_market(book: Book) -> None:
    with pytest.raises(ValidationError) as exc:
        equity(book.company, currency="EUX", market="XPAR")
    assert fields_of(exc) == {"currency", "market"}
    assert equity(book.company, currency="eur", market="xmil").market == "XMIL"


def test_option_needs_its_fields(book: Book) -> None:
    with pytest.raises(ValidationError) as exc:
        reference.instrument_create(
            company=book.company,
            code="OPT",
            name="Option",
            type="option",
            market="XMAD",
            currency="EUR",
            multiplier=None,
        )
    assert fields_of(exc) == {
        "underlying",
        "expiry",
        "strike",
        "option_right",
        "multiplier",
        "exercise_style",
    }


def test_bond_needs_maturity_future_expiry_forward_counter_currency(book: Book) -> None:
    base = {"name": "X", "market": "XMAD", "currency": "EUR"}
    with pytest.raises(ValidationError) as exc:
        reference.instrument_create(company=book.company, code="B", type="bond", **base)
    assert fields_of(exc) == {"maturity"}
    with pytest.raises(ValidationError) as exc:
        reference.instrument_create(company=book.company, code="F", type="future", **base)
    assert fields_of(exc) == {"expiry"}
    with pytest.raises(ValidationError) as exc:
        reference.instrument_create(
            company=book.company, code="FX", type="fx_forward", counter_currency="EUR", **base
        )
    assert fields_of(exc) == {"counter_currency"}
    forward = reference.instrument_create(
        company=book.company,
        code="FX",
        type="fx_forward",
        counter_currency="usd",
        **{**base, "market": "TARGET"},
    )
    assert forward.counter_currency == "USD"
    bond = reference.instrument_create(
        company=book.company,
        code="B",
        type="bond",
        maturity=dt.date(2031, 1, 31),
        coupon=Decimal("3.5"),
        **base,
    )
    assert bond.maturity == dt.date(2031, 1, 31)


def test_delete_refused_when_trades_use_it(
    book: Book, trade_data: Callable[..., dict[str, Any]]
) -> None:
    trade_book(company=book.company, **trade_data())
    cases: list[tuple[Callable[..., None], Any]] = [
        (reference.instrument_delete, book.equity),
        (reference.trading_account_delete, book.account),
        (reference.broker_delete, book.broker),
        (reference.trader_delete, book.trader),
        (reference.desk_delete, book.desk),
    ]
    for delete, obj in cases:
        with pytest.raises(ValidationError):
            delete(instance=obj)
    with pytest.raises(ValidationError):
        reference.instrument_delete(instance=book.future)  # the option's underlying
    reference.instrument_delete(instance=book.bond)
    assert not Instrument.objects.filter(code="BONO-2030").exists()


def test_currency_of_a_traded_instrument_stays(
    book: Book, trade_data: Callable[..., dict[str, Any]]
) -> None:
    trade_book(company=book.company, **trade_data())
    with pytest.raises(ValidationError) as exc:
        reference.instrument_update(instance=book.equity, currency="USD")
    assert "currency" in fields_of(exc)
    book.equity.refresh_from_db()
    assert reference.instrument_update(instance=book.equity, name="Santander").name == "Santander"


def test_a_traders_user_is_a_member_of_the_company(
    book: Book, other_company: Any, make_user: Any
) -> None:
    member = make_user("ana.ruiz", company=book.company, role="operations")
    stranger = make_user("zoe.other", company=other_company, role="operations")
    with pytest.raises(ValidationError) as refused:
        reference.trader_create(
            company=book.company, code="T9", name="Zoe", desk=book.desk, user=stranger
        )
    assert list(refused.value.message_dict) == ["user"]
    trader = reference.trader_create(
        company=book.company, code="T9", name="Ana", desk=book.desk, user=member
    )
    assert trader.user == member
    with pytest.raises(ValidationError):
        reference.trader_update(instance=trader, user=stranger)
    reference.trader_update(instance=trader, name="Ana R.")  # its user stays a member
