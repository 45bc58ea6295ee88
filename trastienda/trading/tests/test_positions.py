"""Positions and P&L: the lot engine (FIFO and average cost, partial closes, shorts, fees,
multiplier) with hand-computed figures, the prices import and the daily P&L run."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from trastienda.audit.models import AuditEntry
from trastienda.trading import positions as book_
from trastienda.trading.models import CostMethod, PnlSnapshot, Price, TradingSettings
from trastienda.trading.positions import (
    TradeFact,
    cli_import_prices,
    lots_compute,
    market_value,
    pnl_run,
    positions,
    price_set,
    prices_import,
    settings_for,
    share,
)
from trastienda.trading.services import trade_book
from trastienda.trading.tests.conftest import Book, past_business_day

DAY = past_business_day(10)


def trade(b: Book, n: int, side: str, quantity: str, price: str, **kw: Any) -> Any:
    data: dict[str, Any] = {
        "trade_id": f"T-{n}",
        "executed_at": f"{DAY.isoformat()}T{9 + n:02d}:00:00",
        "account": "CLI-1",
        "trader": "T1",
        "instrument": "SAN",
        "broker": "BRK",
        "side": side,
        "quantity": quantity,
        "price": price,
    }
    data.update(kw)
    return trade_book(company=b.company, **data)


def use(b: Book, method: str) -> None:
    row = settings_for(b.company)
    row.cost_method = method
    row.save()


def by_trader(rows: list[Any]) -> dict[str, Any]:
    return {row.trader.code: row for row in rows}


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# --- pure arithmetic --------------------------------------------------------------------------


def test_share_rounds_half_up_away_from_zero() -> None:
    assert share(301, 1, 3) == 100
    assert share(201, 1, 2) == 101
    assert share(-201, 1, 2) == -101
    assert share(7, 3, 3) == 7
    assert share(0, 1, 7) == 0


def test_market_value_uses_the_multiplier_and_rounds_half_up() -> None:
    # 3 x 0.125 x 1 = 0.375 EUR -> 0.38; short: -0.38
    assert market_value(3_000_000, 12_500_000, Decimal(1), "EUR") == 38
    assert market_value(-3_000_000, 12_500_000, Decimal(1), "EUR") == -38
    assert market_value(2_000_000, 11000 * 10**8, Decimal(10), "EUR") == 22_000_000


# --- lots through the trade service -----------------------------------------------------------


@pytest.mark.django_db
def test_fifo_partial_close_goes_to_the_closing_trader(book: Book) -> None:
    trade(book, 1, "buy", "100", "10", fees="1.00")  # cost 1001.00
    trade(book, 2, "buy", "100", "12", fees="1.00")  # cost 1201.00
    # T2 sells 150 @ 13, fees 1.50: proceeds 1948.50; FIFO cost 1001.00 + 600.50
    trade(book, 3, "sell", "150", "13", fees="1.50", trader="T2")
    price_set(company=book.company, instrument="SAN", date=DAY, close="14")
    rows = by_trader(positions(book.company, DAY))
    assert set(rows) == {"T1", "T2"}
    t1, t2 = rows["T1"], rows["T2"]
    assert (t1.quantity, t1.cost, t1.close) == (50_000_000, 60050, 14 * 10**8)
    assert (t1.market_value, t1.unrealised, t1.realised_to_date) == (70000, 9950, 0)
    assert t1.desk == book.desk and t2.desk == book.other_desk
    assert (t2.quantity, t2.cost, t2.realised, t2.realised_to_date) == (0, 0, 34700, 34700)
    assert t2.unrealised == 0 and t2.fees == 150
    assert t1.fees == 200
    # realised + unrealised = market value - net cash paid (1001 + 1201 - 1948.50 = 253.50)
    assert t1.unrealised + t2.realised_to_date == 70000 - 25350


@pytest.mark.django_db
def test_average_cost_of_the_same_trades(book: Book) -> None:
    use(book, CostMethod.AVERAGE)
    trade(book, 1, "buy", "100", "10", fees="1.00")
    trade(book, 2, "buy", "100", "12", fees="1.00")
    trade(book, 3, "sell", "150", "13", fees="1.50", trader="T2")
    price_set(company=book.company, instrument="SAN", date=DAY, close="14")
    rows = by_trader(positions(book.company, DAY))
    # average 11.01 a share: 150 cost 1651.50, proceeds 1948.50 -> 297.00; 50 left at 550.50
    assert rows["T2"].realised_to_date == 29700
    assert (rows["T1"].quantity, rows["T1"].cost, rows["T1"].unrealised) == (
        50_000_000,
        55050,
        14950,
    )
    assert rows["T1"].unrealised + rows["T2"].realised_to_date == 70000 - 25350


@pytest.mark.django_db
def test_average_cost_spreads_over_openers(book: Book) -> None:
    use(book, CostMethod.AVERAGE)
    trade(book, 1, "buy", "100", "10")  # T1: 1000.00
    trade(book, 2, "buy", "100", "11", trader="T2")  # T2: 1100.00
    trade(book, 3, "sell", "100", "12")  # closes T1's 100 at the average 10.50
    rows = by_trader(positions(book.company, DAY))
    assert rows["T1"].realised_to_date == 15000  # 1200.00 - 1050.00
    assert (rows["T2"].quantity, rows["T2"].cost) == (100_000_000, 105000)
    assert rows["T1"].quantity == 0


@pytest.mark.django_db
def test_short_then_cover_and_flip_with_multiplier(book: Book) -> None:
    # future, multiplier 10: sell 2 @ 11000 with 5.00 commission: short lot cost -219995.00
    trade(book, 1, "sell", "2", "11000", instrument="FIE-2612", commission="5")
    # buy 3 @ 10900, commission 7.50: 2 cover the short (cash 218005.00), 1 opens a long
    trade(book, 2, "buy", "3", "10900", instrument="FIE-2612", commission="7.50")
    price_set(company=book.company, instrument="FIE-2612", date=DAY, close="11000")
    [row] = positions(book.company, DAY)
    assert row.realised_to_date == 199000  # 219995.00 - 218005.00
    assert (row.quantity, row.cost) == (1_000_000, 10900250)
    assert (row.market_value, row.unrealised) == (11000000, 99750)
    # net cash paid 327007.50 - 219995.00 = 107012.50
    assert row.realised_to_date + row.unrealised == row.market_value - 10701250


@pytest.mark.django_db
def test_open_short_has_negative_cost_and_market_value(book: Book) -> None:
    trade(book, 1, "sell", "100", "10", fees="1")  # proceeds 999.00
    price_set(company=book.company, instrument="SAN", date=DAY, close="9")
    [row] = positions(book.company, DAY)
    assert (row.quantity, row.cost, row.market_value, row.unrealised) == (
        -100_000_000,
        -99900,
        -90000,
        9900,
    )


@pytest.mark.django_db
def test_rounding_of_partial_closes_adds_up(book: Book) -> None:
    trade(book, 1, "buy", "3", "1", fees="0.01")  # 3.01
    trade(book, 2, "sell", "1", "1")  # cost out 1.00 (1.0033)
    trade(book, 3, "sell", "1", "1")  # cost out 1.01 (1.005 half up)
    [row] = positions(book.company, DAY)
    assert (row.quantity, row.cost, row.realised_to_date) == (1_000_000, 100, -1)
    trade(book, 4, "sell", "1", "1")
    [row] = positions(book.company, DAY)
    assert (row.quantity, row.cost, row.realised_to_date) == (0, 0, -1)


@pytest.mark.django_db
def test_cancelled_and_later_trades_are_left_out(book: Book) -> None:
    from trastienda.trading.services import trade_cancel

    trade(book, 1, "buy", "100", "10")
    trade(book, 2, "buy", "50", "10")
    trade_cancel(company=book.company, trade_id="T-2", reason="twice")
    [row] = positions(book.company, DAY)
    assert row.quantity == 100_000_000 and row.close is None and row.unrealised is None
    assert positions(book.company, DAY - dt.timedelta(days=1)) == []
    assert book_.net_quantities(book.company, DAY) == {
        (book.account.pk, book.equity.pk): 100_000_000
    }


@pytest.mark.django_db
def test_latest_price_on_or_before_the_date(book: Book) -> None:
    trade(book, 1, "buy", "10", "10")
    price_set(company=book.company, instrument="SAN", date=DAY - dt.timedelta(days=3), close="9")
    later = DAY + dt.timedelta(days=1)
    [row] = positions(book.company, later)
    assert row.close == 9 * 10**8 and row.close_date == DAY - dt.timedelta(days=3)
    assert book_.closing_price(book.equity, DAY) is None


@pytest.mark.django_db
def test_filters(book: Book) -> None:
    trade(book, 1, "buy", "10", "10")
    trade(book, 2, "buy", "10", "10", trader="T2", account="HOUSE")
    assert len(positions(book.company, DAY)) == 2
    assert [r.trader.code for r in positions(book.company, DAY, {"desk": book.other_desk})] == [
        "T2"
    ]
    assert [r.account.code for r in positions(book.company, DAY, {"account": book.house})] == [
        "HOUSE"
    ]
    assert positions(book.company, DAY, {"broker": book.broker.pk + 999}) == []


# --- property: realised + unrealised = market value - net cash paid ---------------------------

steps = st.lists(
    st.tuples(
        st.integers(min_value=-5, max_value=5).filter(bool),  # quantity (units)
        st.integers(min_value=1, max_value=5000),  # price in cents
        st.integers(min_value=0, max_value=300),  # fees in cents
        st.integers(min_value=0, max_value=2),  # trader
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(steps, st.integers(min_value=0, max_value=9000), st.sampled_from(["fifo", "average"]))
def test_pnl_adds_up(trades: list[tuple[int, int, int, int]], close: int, method: str) -> None:
    day = dt.date(2025, 3, 3)
    moment = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
    facts = []
    net_cash = 0
    for n, (units, cents, fees, trader) in enumerate(trades):
        gross = abs(units) * cents * 10  # multiplier 10
        cash = gross + fees if units > 0 else -(gross - fees)
        net_cash += cash
        facts.append(
            TradeFact(
                id=n,
                executed_at=moment + dt.timedelta(minutes=n),
                trade_date=day,
                account_id=1,
                instrument_id=1,
                trader_id=trader,
                desk_id=trader,
                broker_id=1,
                quantity=units * 10**6,
                cash=cash,
                fees=fees,
            )
        )
    lines = lots_compute(facts, method, day)
    quantity = sum(line.quantity for line in lines.values())
    assert quantity == sum(units for units, *_rest in trades) * 10**6
    close_price = close * 10**6  # close in cents -> 10^-8 units
    mv = sum(
        market_value(line.quantity, close_price, Decimal(10), "EUR") for line in lines.values()
    )
    unrealised = sum(
        market_value(line.quantity, close_price, Decimal(10), "EUR") - line.cost
        for line in lines.values()
    )
    realised = sum(line.realised_to_date for line in lines.values())
    assert realised + unrealised == mv - net_cash
    assert all(line.cost == 0 for line in lines.values() if line.quantity == 0)
    assert sum(line.fees for line in lines.values()) == sum(f for _u, _c, f, _t in trades)


# --- prices import ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_prices_import_csv(book: Book) -> None:
    content = csv_bytes(
        "date,instrument,close",
        f"{DAY},SAN,4.12345678",
        f"{DAY},ES0000012K61,96.85",  # by ISIN
    )
    result = prices_import(company=book.company, content=content, filename="p.csv")
    assert (result.created, result.replaced, result.unchanged) == (2, 0, 0)
    closes = dict(Price.objects.values_list("instrument__code", "close"))
    assert closes == {"SAN": 412345678, "BONO-2030": 9685000000}
    assert AuditEntry.objects.filter(object_type="trading.priceimport").count() == 1


@pytest.mark.django_db
def test_prices_import_xlsx_with_number_cells(book: Book) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Date", "Instrument", "Close"])
    sheet.append([dt.datetime(DAY.year, DAY.month, DAY.day), "SAN", 4.125])  # noqa: DTZ001
    sheet.append([DAY.isoformat(), "FIE-2612", "11875.5"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = prices_import(company=book.company, content=buffer.getvalue(), filename="p.xlsx")
    assert result.created == 2
    assert Price.objects.get(instrument=book.equity).close == 412500000
    assert Price.objects.get(instrument=book.future).close == 1187550000000


@pytest.mark.django_db
def test_prices_import_refuses_and_writes_nothing(book: Book) -> None:
    future = dt.date.today() + dt.timedelta(days=5)  # noqa: DTZ011
    content = csv_bytes(
        "date,instrument,close",
        f"{DAY},SAN,4.1",
        f"{DAY},NOPE,1",
        f"{DAY},BONO-2030,1.123456789",
        "03/01/2025,FIE-2612,1",
        f"{DAY},SAN,4.2",
        f"{future},BONO-2030,1",
        f"{DAY},FIE-2612,-1",
        f"{DAY},OIE-2612-C12000,abc",
    )
    audits = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as caught:
        prices_import(company=book.company, content=content, filename="p.csv")
    errors = caught.value.message_dict
    assert sorted(errors) == [
        "line 3.instrument",
        "line 4.close",
        "line 5.date",
        "line 6.instrument",
        "line 7.date",
        "line 8.close",
        "line 9.close",
    ]
    assert errors["line 4.close"] == ["At most 8 decimals."]
    assert "also on line 2" in errors["line 6.instrument"][0]
    assert Price.objects.count() == 0
    assert AuditEntry.objects.count() == audits


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "key"),
    [
        (b"", "file"),
        (csv_bytes("date,instrument"), "file"),
        (csv_bytes("date,instrument,close"), "file"),
        (b"PK\x03\x04not a workbook", "file"),
    ],
)
def test_prices_import_bad_files(book: Book, content: bytes, key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        prices_import(company=book.company, content=content, filename="p.csv")
    assert list(caught.value.message_dict) == [key]
    assert Price.objects.count() == 0


@pytest.mark.django_db
def test_reimport_is_idempotent_and_a_new_price_replaces(book: Book) -> None:
    content = csv_bytes("date,instrument,close", f"{DAY},SAN,4.10", f"{DAY},BONO-2030,96")
    prices_import(company=book.company, content=content, filename="p.csv")
    before = list(Price.objects.order_by("pk").values_list("pk", "close", "imported_at"))
    audits = AuditEntry.objects.count()
    again = prices_import(company=book.company, content=content, filename="p.csv")
    assert (again.created, again.replaced, again.unchanged) == (0, 0, 2)
    assert list(Price.objects.order_by("pk").values_list("pk", "close", "imported_at")) == before
    assert AuditEntry.objects.count() == audits
    changed = csv_bytes("date,instrument,close", f"{DAY},SAN,4.2", f"{DAY},BONO-2030,96")
    third = prices_import(company=book.company, content=changed, filename="p2.csv")
    assert (third.created, third.replaced, third.unchanged) == (0, 1, 1)
    price = Price.objects.get(instrument=book.equity)
    assert price.close == 420000000
    entry = AuditEntry.objects.filter(object_type="trading.price", object_id=str(price.pk)).last()
    assert entry is not None and entry.changes["close"] == [410000000, 420000000]


@pytest.mark.django_db
def test_price_set_errors_and_replacement(book: Book, other_company: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        price_set(company=book.company, instrument="X", date="2020-13-01", close="1.000000001")
    assert sorted(caught.value.message_dict) == ["close", "date", "instrument"]
    first = price_set(company=book.company, instrument=book.equity, date=DAY, close="5")
    second = price_set(company=book.company, instrument="SAN", date=DAY, close=Decimal("5.5"))
    assert first.pk == second.pk and second.close == 550000000
    assert Price.objects.count() == 1
    with pytest.raises(ValidationError):
        price_set(company=other_company, instrument=book.equity, date=DAY, close="1")


@pytest.mark.django_db
def test_cli_import_prices(book: Book, tmp_path: Any) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(csv_bytes("date,instrument,close", f"{DAY},SAN,4"))
    assert cli_import_prices(book.company, path) == "1 prices imported, 0 replaced, 0 unchanged."
    path.write_bytes(csv_bytes("date,instrument,close", f"{DAY},SAN,x"))
    with pytest.raises(ValidationError):
        cli_import_prices(book.company, str(path))


# --- the daily run ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_pnl_run_writes_and_replaces_the_days_rows(book: Book) -> None:
    trade(book, 1, "buy", "100", "10", fees="1.00")
    trade(book, 2, "sell", "40", "11", trader="T2")
    price_set(company=book.company, instrument="SAN", date=DAY, close="12")
    audits = AuditEntry.objects.count()
    result = pnl_run(company=book.company, date=DAY)
    assert (result.rows, result.replaced, result.unpriced) == (2, 0, 0)
    assert AuditEntry.objects.count() == audits + 2  # the settings row, then the run
    assert TradingSettings.objects.filter(company=book.company).count() == 1
    rows = {r.trader.code: r for r in PnlSnapshot.objects.filter(date=DAY)}
    # cost 1001.00; 40 sold at 11: proceeds 440.00 - cost 400.40 = 39.60
    assert (rows["T2"].realised, rows["T2"].realised_to_date, rows["T2"].quantity) == (
        3960,
        3960,
        0,
    )
    assert (rows["T1"].quantity, rows["T1"].cost, rows["T1"].market_value) == (
        60_000_000,
        60060,
        72000,
    )
    assert rows["T1"].unrealised == 11940 and rows["T1"].desk == book.desk
    first_ids = set(PnlSnapshot.objects.values_list("pk", flat=True))
    price_set(company=book.company, instrument="SAN", date=DAY, close="13")
    again = pnl_run(company=book.company, date=DAY)
    assert (again.rows, again.replaced) == (2, 2)
    assert PnlSnapshot.objects.count() == 2
    assert not first_ids & set(PnlSnapshot.objects.values_list("pk", flat=True))
    assert PnlSnapshot.objects.get(trader=book.trader).unrealised == 17940
    assert AuditEntry.objects.filter(object_type="trading.pnlrun").count() == 2
    # the next day: realised of the day is 0, to date stays
    pnl_run(company=book.company, date=DAY + dt.timedelta(days=1))
    later = PnlSnapshot.objects.get(date=DAY + dt.timedelta(days=1), trader=book.other_trader)
    assert (later.realised, later.realised_to_date) == (0, 3960)


@pytest.mark.django_db
def test_pnl_run_refuses_a_future_date(book: Book) -> None:
    with pytest.raises(ValidationError) as caught:
        pnl_run(company=book.company, date=dt.date.today() + dt.timedelta(days=3))  # noqa: DTZ011
    assert list(caught.value.message_dict) == ["date"]
    assert PnlSnapshot.objects.count() == 0


@pytest.mark.django_db
def test_reports_of_the_snapshots(book: Book) -> None:
    trade(book, 1, "buy", "100", "10")
    trade(book, 2, "sell", "40", "11", trader="T2")
    price_set(company=book.company, instrument="SAN", date=DAY, close="12")
    pnl_run(company=book.company, date=DAY)
    by_desk = {g.key.code: g for g in book_.pnl_report(book.company, DAY, "desk")}
    assert by_desk["FI"].realised == 4000 and by_desk["EQ"].unrealised == 12000
    assert by_desk["EQ"].total == 12000
    with pytest.raises(ValidationError):
        book_.pnl_report(book.company, DAY, "nope")
    history = book_.pnl_history(book.company, DAY - dt.timedelta(days=5), DAY)
    assert history.dates == [DAY] and history.totals == [16000]
    assert {desk.code: v for desk, v in history.desks.items()} == {"EQ": [12000], "FI": [4000]}


@pytest.mark.django_db
def test_daily_job_runs_the_previous_weekday(book: Book) -> None:
    from trastienda.trading.jobs_positions import pnl_run_all, previous_weekday

    assert previous_weekday(dt.date(2025, 3, 10)) == dt.date(2025, 3, 7)  # Monday -> Friday
    assert pnl_run_all(DAY) == 0  # no trades yet
    trade(book, 1, "buy", "10", "10")
    assert pnl_run_all(DAY) == 1
    assert PnlSnapshot.objects.filter(date=DAY).count() == 1
