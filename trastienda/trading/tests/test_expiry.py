"""The expiry process and the calendar's services, with hand-computed figures.

The story: on a past business day D, SAN closes at 4.50 EUR and the index future FUT-D at
12150. Options on SAN (an equity) settle physically, options on the future in cash; the
future is cash-settled at its own close, the bond is redeemed at 100."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from trastienda.audit.models import AuditEntry
from trastienda.trading import expiry, reference
from trastienda.trading.models import (
    ExpiryEvent,
    ExpiryRun,
    Instrument,
    Price,
    Trade,
)
from trastienda.trading.positions import net_quantities
from trastienda.trading.services import trade_book
from trastienda.trading.tests.conftest import Book, past_business_day

pytestmark = pytest.mark.django_db

E8 = 10**8
E6 = 10**6


@pytest.fixture
def day() -> dt.date:
    return past_business_day(7)


@pytest.fixture
def make_option(book: Book, day: dt.date) -> Callable[..., Instrument]:
    def make(
        code: str, right: str, strike: str, underlying: Instrument | None = None, mult: str = "100"
    ) -> Instrument:
        return reference.instrument_create(
            company=book.company,
            code=code,
            name=f"{code} option",
            type="option",
            market="XMAD",
            currency="EUR",
            underlying=underlying or book.equity,
            expiry=day,
            strike=Decimal(strike),
            option_right=right,
            multiplier=Decimal(mult),
            exercise_style="european",
        )

    return make


@pytest.fixture
def future_d(book: Book, day: dt.date) -> Instrument:
    return reference.instrument_create(
        company=book.company,
        code="FUT-D",
        name="Index future expiring on D",
        type="future",
        market="XMAD",
        currency="EUR",
        expiry=day,
        multiplier=Decimal(10),
    )


@pytest.fixture
def bond_d(book: Book, day: dt.date) -> Instrument:
    return reference.instrument_create(
        company=book.company,
        code="BOND-D",
        isin="ES0000012B88",
        name="Bond maturing on D",
        type="bond",
        market="XMAD",
        currency="EUR",
        maturity=day,
        coupon=Decimal("2.5"),
    )


_seq = iter(range(1, 10_000))


def trade(
    book: Book,
    instrument: Instrument,
    side: str,
    quantity: str,
    price: str,
    day: dt.date,
    *,
    account: str = "CLI-1",
    trader: str = "T1",
    hour: int = 10,
) -> Trade:
    return trade_book(
        company=book.company,
        trade_id=f"T-{next(_seq)}",
        executed_at=f"{day.isoformat()}T{hour:02d}:00:00",
        account=account,
        trader=trader,
        instrument=instrument.code,
        broker="BRK",
        side=side,
        quantity=quantity,
        price=price,
    )


def price(book: Book, instrument: Instrument, day: dt.date, close: str) -> None:
    Price.objects.create(
        company=book.company,
        instrument=instrument,
        date=day,
        close=int(Decimal(close).scaleb(8)),
    )


def event_of(run: ExpiryRun, instrument: Instrument, account: Any) -> ExpiryEvent:
    return ExpiryEvent.objects.get(run=run, instrument=instrument, account=account)


def trades_of(event: ExpiryEvent) -> list[tuple[str, str, str, int, int, int, str]]:
    return sorted(
        (t.instrument.code, t.side, t.account.code, t.quantity, t.price, t.gross_amount, t.source)
        for t in event.trades.all()
    )


# --- options settled physically (underlying: an equity) ----------------------------------------


def test_long_call_in_the_money_is_exercised_into_the_underlying(
    book: Book, day: dt.date, make_option: Callable[..., Instrument]
) -> None:
    call = make_option("SAN-C400", "call", "4.00")
    trade(book, call, "buy", "3", "0.35", day)
    price(book, book.equity, day, "4.50")

    run = expiry.expiry_process(company=book.company, date=day)

    event = event_of(run, call, book.account)
    assert event.outcome == ExpiryEvent.Outcome.EXERCISED
    assert (event.quantity, event.reference_price) == (3 * E6, 450_000_000)
    # buy 3 x 100 = 300 SAN at the strike 4.00: 1,200.00 EUR paid
    assert event.amount == -120_000 and event.currency == "EUR"
    assert trades_of(event) == [
        ("SAN", "buy", "CLI-1", 300 * E6, 4 * E8, 120_000, "expiry"),
        ("SAN-C400", "sell", "CLI-1", 3 * E6, 0, 0, "expiry"),
    ]
    day_after = net_quantities(book.company, day)
    assert (book.account.pk, call.pk) not in day_after  # the option position is closed
    assert day_after[(book.account.pk, book.equity.pk)] == 300 * E6
    assert (run.events, run.trades) == (1, 2)


def test_short_call_in_the_money_is_assigned(
    book: Book, day: dt.date, make_option: Callable[..., Instrument]
) -> None:
    call = make_option("SAN-C400", "call", "4.00")
    trade(book, call, "sell", "2", "0.35", day, account="HOUSE")
    price(book, book.equity, day, "4.50")

    run = expiry.expiry_process(company=book.company, date=day)

    event = event_of(run, call, book.house)
    assert event.outcome == ExpiryEvent.Outcome.ASSIGNED
    assert event.quantity == -2 * E6
    # deliver (sell) 200 SAN at 4.00: 800.00 EUR received; the short call is bought back at 0
    assert event.amount == 80_000
    assert trades_of(event) == [
        ("SAN", "sell", "HOUSE", 200 * E6, 4 * E8, 80_000, "expiry"),
        ("SAN-C400", "buy", "HOUSE", 2 * E6, 0, 0, "expiry"),
    ]


def test_long_put_in_the_money_is_exercised_by_selling_the_underlying(
    book: Book, day: dt.date, make_option: Callable[..., Instrument]
) -> None:
    put = make_option("SAN-P500", "put", "5.00")
    trade(book, put, "buy", "1", "0.60", day)
    price(book, book.equity, day, "4.50")

    event = event_of(expiry.expiry_process(company=book.company, date=day), put, book.account)

    assert event.outcome == ExpiryEvent.Outcome.EXERCISED
    assert event.amount == 50_000  # 100 SAN sold at 5.00
    assert trades_of(event) == [
        ("SAN", "sell", "CLI-1", 100 * E6, 5 * E8, 50_000, "expiry"),
        ("SAN-P500", "sell", "CLI-1", 1 * E6, 0, 0, "expiry"),
    ]


def test_short_put_in_the_money_is_assigned_and_takes_the_underlying(
    book: Book, day: dt.date, make_option: Callable[..., Instrument]
) -> None:
    put = make_option("SAN-P500", "put", "5.00")
    trade(book, put, "sell", "4", "0.60", day)
    price(book, book.equity, day, "4.50")

    event = event_of(expiry.expiry_process(company=book.company, date=day), put, book.account)

    assert event.outcome == ExpiryEvent.Outcome.ASSIGNED
    assert event.amount == -200_000  # 400 SAN bought at 5.00
    assert trades_of(event) == [
        ("SAN", "buy", "CLI-1", 400 * E6, 5 * E8, 200_000, "expiry"),
        ("SAN-P500", "buy", "CLI-1", 4 * E6, 0, 0, "expiry"),
    ]


@pytest.mark.parametrize(
    ("right", "strike", "side"),
    [
        ("call", "5.00", "buy"),  # long call out of the money
        ("call", "5.00", "sell"),  # short call out of the money
        ("put", "4.00", "buy"),  # long put out of the money
        ("put", "4.00", "sell"),  # short put out of the money
        ("call", "4.50", "buy"),  # at the money: expires
        ("put", "4.50", "sell"),  # at the money: expires
    ],
)
def test_out_of_or_at_the_money_expires_worthless(
    book: Book,
    day: dt.date,
    make_option: Callable[..., Instrument],
    right: str,
    strike: str,
    side: str,
) -> None:
    option = make_option("SAN-X", right, strike)
    trade(book, option, side, "2", "0.10", day)
    price(book, book.equity, day, "4.50")

    run = expiry.expiry_process(company=book.company, date=day)

    event = event_of(run, option, book.account)
    assert event.outcome == ExpiryEvent.Outcome.EXPIRED
    assert (event.amount, event.reference_price) == (0, 450_000_000)
    closing = "sell" if side == "buy" else "buy"
    assert trades_of(event) == [("SAN-X", closing, "CLI-1", 2 * E6, 0, 0, "expiry")]
    assert not Trade.objects.filter(instrument=book.equity).exists()  # nothing delivered
    assert net_quantities(book.company, day) == {}


# --- options settled in cash (underlying: a future) ---------------------------------------------


def test_cash_settled_options_close_at_their_intrinsic_value(
    book: Book, day: dt.date, make_option: Callable[..., Instrument], future_d: Instrument
) -> None:
    call = make_option("FUT-C12000", "call", "12000", underlying=future_d, mult="10")
    put = make_option("FUT-P12300", "put", "12300", underlying=future_d, mult="10")
    trade(book, call, "buy", "2", "110", day)
    trade(book, put, "sell", "1", "190", day, account="HOUSE")
    price(book, future_d, day, "12150")

    run = expiry.expiry_process(company=book.company, date=day)

    long_call = event_of(run, call, book.account)
    assert long_call.outcome == ExpiryEvent.Outcome.EXERCISED
    assert long_call.reference_price == 12150 * E8
    # intrinsic 150 x 2 x 10 = 3,000.00 EUR received
    assert long_call.amount == 300_000
    assert trades_of(long_call) == [
        ("FUT-C12000", "sell", "CLI-1", 2 * E6, 150 * E8, 300_000, "expiry")
    ]
    short_put = event_of(run, put, book.house)
    assert short_put.outcome == ExpiryEvent.Outcome.ASSIGNED
    # intrinsic 12300 - 12150 = 150 x 1 x 10 = 1,500.00 EUR paid
    assert short_put.amount == -150_000
    assert trades_of(short_put) == [
        ("FUT-P12300", "buy", "HOUSE", 1 * E6, 150 * E8, 150_000, "expiry")
    ]
    assert not Trade.objects.filter(instrument=future_d, source="expiry").exists()


# --- futures and bonds -------------------------------------------------------------------------


def test_future_is_cash_settled_at_its_final_settlement_price(
    book: Book, day: dt.date, future_d: Instrument
) -> None:
    trade(book, future_d, "buy", "5", "12000", day)
    trade(book, future_d, "sell", "2", "12100", day, hour=11)
    price(book, future_d, day, "12150")

    event = event_of(expiry.expiry_process(company=book.company, date=day), future_d, book.account)

    assert event.outcome == ExpiryEvent.Outcome.CASH_SETTLED
    assert (event.quantity, event.reference_price) == (3 * E6, 12150 * E8)
    # closing sale of 3 at 12150 x 10: 364,500.00 EUR
    assert event.amount == 36_450_000
    assert trades_of(event) == [
        ("FUT-D", "sell", "CLI-1", 3 * E6, 12150 * E8, 36_450_000, "expiry")
    ]


def test_bond_is_redeemed_at_100_on_its_maturity(
    book: Book, day: dt.date, bond_d: Instrument
) -> None:
    trade(book, bond_d, "buy", "50000", "99.10", day)

    event = event_of(expiry.expiry_process(company=book.company, date=day), bond_d, book.account)

    assert event.outcome == ExpiryEvent.Outcome.REDEEMED
    assert event.reference_price == 100 * E8
    assert event.amount == 500_000_000  # 50,000 x 100 = 5,000,000.00 EUR
    redemption = event.trades.get()
    assert (redemption.side, redemption.quantity, redemption.price) == (
        "sell",
        50_000 * E6,
        100 * E8,
    )
    assert redemption.settlement_date == day  # paid on the maturity date


def test_resulting_trades_take_trader_and_broker_of_the_latest_trade(
    book: Book, day: dt.date, future_d: Instrument
) -> None:
    other = reference.broker_create(company=book.company, code="BRK2", name="Broker two")
    trade(book, future_d, "buy", "2", "12000", day, trader="T1", hour=9)
    trade_book(
        company=book.company,
        trade_id="LATEST",
        executed_at=f"{day.isoformat()}T15:00:00",
        account="CLI-1",
        trader="T2",
        instrument="FUT-D",
        broker=other.code,
        side="buy",
        quantity="1",
        price="12050",
    )
    price(book, future_d, day, "12150")

    event = event_of(expiry.expiry_process(company=book.company, date=day), future_d, book.account)

    closing = event.trades.get()
    assert (closing.trader.code, closing.broker.code) == ("T2", "BRK2")
    assert closing.trade_id == f"EXP-{day:%Y%m%d}-{future_d.pk}-{book.account.pk}-C"


# --- refusals, re-runs, audit ------------------------------------------------------------------


def _counts() -> tuple[int, int, int]:
    return Trade.objects.count(), ExpiryRun.objects.count(), ExpiryEvent.objects.count()


def test_missing_closing_price_names_the_instrument_and_writes_nothing(
    book: Book, day: dt.date, make_option: Callable[..., Instrument], future_d: Instrument
) -> None:
    call = make_option("SAN-C400", "call", "4.00")
    trade(book, call, "buy", "1", "0.30", day)
    trade(book, future_d, "buy", "1", "12000", day)
    price(book, future_d, day, "12150")  # the future has its price; SAN has none
    before = _counts()

    with pytest.raises(ValidationError) as caught:
        expiry.expiry_process(company=book.company, date=day)

    assert caught.value.message_dict == {
        "price": [f"No closing price of SAN on {day.isoformat()} (needed for SAN-C400)."]
    }
    assert _counts() == before
    with pytest.raises(ValidationError):
        expiry.expiry_preview(company=book.company, date=day)


def test_a_date_ahead_is_refused(book: Book) -> None:
    ahead = timezone.localdate() + dt.timedelta(days=3)
    with pytest.raises(ValidationError) as caught:
        expiry.expiry_process(company=book.company, date=ahead)
    assert list(caught.value.message_dict) == ["date"]
    with pytest.raises(ValidationError) as caught:
        expiry.expiry_process(company=book.company, date="31/12/2026")
    assert list(caught.value.message_dict) == ["date"]
    assert _counts() == (0, 0, 0)


def test_second_run_skips_what_was_processed_and_refuses_when_nothing_is_new(
    book: Book, day: dt.date, future_d: Instrument
) -> None:
    trade(book, future_d, "buy", "2", "12000", day)
    price(book, future_d, day, "12150")
    first = expiry.expiry_process(company=book.company, date=day)
    before = _counts()

    preview = expiry.expiry_preview(company=book.company, date=day)
    assert preview.events == [] and preview.previous_runs == [first.pk]
    with pytest.raises(ValidationError) as caught:
        expiry.expiry_process(company=book.company, date=day)
    assert caught.value.message_dict["date"] == [
        f"{day.isoformat()} was processed by run #{first.pk}: nothing new to process."
    ]
    assert _counts() == before

    # A late trade reopens a position in the house account: a second run processes only it.
    trade(book, future_d, "buy", "1", "12100", day, account="HOUSE", hour=16)
    second = expiry.expiry_process(company=book.company, date=day)
    assert (second.events, second.trades) == (1, 1)
    assert event_of(second, future_d, book.house).amount == 12_150_000
    assert ExpiryEvent.objects.filter(instrument=future_d, account=book.account).count() == 1


def test_a_day_with_nothing_to_process_is_recorded_once(book: Book, day: dt.date) -> None:
    run = expiry.expiry_process(company=book.company, date=day)
    assert (run.events, run.trades) == (0, 0)
    with pytest.raises(ValidationError):
        expiry.expiry_process(company=book.company, date=day)
    assert ExpiryRun.objects.count() == 1


def test_run_is_audited(book: Book, day: dt.date, future_d: Instrument) -> None:
    trade(book, future_d, "buy", "2", "12000", day)
    price(book, future_d, day, "12150")
    run = expiry.expiry_process(company=book.company, date=day)
    entry = AuditEntry.objects.filter(object_type="trading.expiryrun", object_id=str(run.pk))
    assert entry.filter(action="other", extra__events=1, extra__trades=1).exists()
    assert AuditEntry.objects.filter(object_type="trading.expiryevent", action="create").exists()


def test_preview_says_what_the_run_will_do(
    book: Book, day: dt.date, make_option: Callable[..., Instrument]
) -> None:
    call = make_option("SAN-C400", "call", "4.00")
    trade(book, call, "buy", "3", "0.35", day)
    price(book, book.equity, day, "4.50")

    plan = expiry.expiry_preview(company=book.company, date=day.isoformat())

    assert [(e.instrument.code, e.outcome, e.amount_text) for e in plan.events] == [
        ("SAN-C400", "exercised", "-1200.00")
    ]
    assert [
        (t.side, t.quantity_text, t.instrument.code, t.price_text) for t in plan.events[0].trades
    ] == [
        ("sell", "3", "SAN-C400", "0"),
        ("buy", "300", "SAN", "4"),
    ]
    assert _counts()[1:] == (0, 0)


def test_cli_expiries_runs_and_tells(book: Book, day: dt.date, future_d: Instrument) -> None:
    trade(book, future_d, "buy", "2", "12000", day)
    price(book, future_d, day, "12150")
    text = expiry.cli_expiries(book.company, day.isoformat())
    run = ExpiryRun.objects.get()
    assert text.splitlines()[0] == (
        f"Expiry run #{run.pk} of {day.isoformat()}: 1 positions processed, 1 trades."
    )
    assert "FUT-D CLI-1 2: Cash-settled, 243000.00 EUR, EXP-" in text.splitlines()[1]


# --- calendar ----------------------------------------------------------------------------------


def test_calendar_lists_expiries_maturities_and_obligations_with_positions(
    book: Book, day: dt.date, future_d: Instrument, bond_d: Instrument
) -> None:
    trade(book, future_d, "buy", "2", "12000", day)
    trade(book, future_d, "sell", "1", "12000", day, account="HOUSE")
    obligation = expiry.obligation_create(
        company=book.company, title="Renew the ISDA", kind="contract_renewal", due_date=day
    )

    events = expiry.calendar_events(book.company, day, day)

    assert [(e.kind, e.title, e.position, e.positions) for e in events] == [
        (
            "future_expiry",
            "FUT-D · Index future expiring on D",
            1 * E6,
            (("CLI-1", 2 * E6), ("HOUSE", -E6)),
        ),
        ("bond_maturity", "BOND-D · Bond maturing on D", None, ()),
        ("obligation", "Renew the ISDA", None, ()),
    ]
    assert events[2].obligation == obligation
    assert events[0].key == f"instrument:{future_d.pk}:{day.isoformat()}"
    only = expiry.calendar_events(book.company, day, day, kinds=["bond_maturity"])
    assert [e.kind for e in only] == ["bond_maturity"]
    # the conftest's Dec 2026 future and option and the 2030 bond are outside the range
    later = expiry.calendar_events(book.company, dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert {e.instrument.code for e in later if e.instrument} >= {"FIE-2612", "OIE-2612-C12000"}


def test_calendar_range_errors_name_the_field(book: Book) -> None:
    with pytest.raises(ValidationError) as caught:
        expiry.calendar_events(book.company, "2026-12-31", "2026-01-01")
    assert list(caught.value.message_dict) == ["to"]
    with pytest.raises(ValidationError) as caught:
        expiry.calendar_events(book.company, "nope", "2026-01-01")
    assert list(caught.value.message_dict) == ["from"]
    with pytest.raises(ValidationError) as caught:
        expiry.calendar_events(book.company, "2026-01-01", "2026-01-02", kinds=["x"])
    assert list(caught.value.message_dict) == ["kind"]


# --- obligations -------------------------------------------------------------------------------


def test_obligation_services_validate_and_audit(
    book: Book, make_user: Callable[..., Any], operator: Any
) -> None:
    with pytest.raises(ValidationError) as caught:
        expiry.obligation_create(company=book.company, title="", due_date=None, kind="nope")
    assert set(caught.value.message_dict) == {"title", "due_date", "kind"}
    stranger = make_user("stranger")
    with pytest.raises(ValidationError) as caught:
        expiry.obligation_create(
            company=book.company, title="X", due_date=dt.date(2027, 1, 1), owner=stranger
        )
    assert list(caught.value.message_dict) == ["owner"]
    with pytest.raises(ValidationError) as caught:
        expiry.obligation_create(
            company=book.company, title="X", due_date=dt.date(2027, 1, 1), reminder_days=400
        )
    assert list(caught.value.message_dict) == ["reminder_days"]
    assert not expiry.Obligation.objects.exists()

    item = expiry.obligation_create(
        company=book.company,
        title="Annual filing",
        kind="regulatory",
        due_date=dt.date(2027, 3, 31),
        owner=operator,
    )
    expiry.obligation_update(instance=item, done=True)
    assert (
        AuditEntry.objects.filter(object_type="trading.obligation", object_id=str(item.pk)).count()
        == 2
    )
    expiry.obligation_delete(instance=item)
    assert not expiry.Obligation.objects.exists()
