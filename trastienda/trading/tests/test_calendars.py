"""Business-day calendars and settlement dates (pure functions, no database).

Expected closing days come from the markets' own calendars, not from the library under test:

* BME: "Calendario de mercado" on bolsasymercados.es (2025, 2026): closed 1 Jan, Good Friday,
  Easter Monday, 1 May, 25 and 26 Dec; 24 and 31 Dec are half days (close 14:00), so open.
* Borsa Italiana: "Trading Calendar and Hours" on borsaitaliana.it, 2024: closed 1 Jan, Good
  Friday, Easter Monday, 1 May, 15 Aug, 24, 25, 26 and 31 Dec; open on the Italian public
  holidays 6 Jan, 25 Apr, 2 Jun, 1 Nov and 8 Dec. 2022 (as published): closed 15 Aug, 26 Dec.
* TARGET2: ECB press releases (1 Jan, Good Friday, Easter Monday, 1 May, 25 and 26 Dec).
* NYSE: nyse.com holidays (2026: Good Friday 3 Apr, Juneteenth 19 Jun, Independence Day observed
  3 Jul, Thanksgiving 26 Nov); Columbus and Veterans Day are trading days but not settlement days
  (FINRA Notices to Members 95-77, 99-83, 92-54).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils.functional import Promise
from hypothesis import given
from hypothesis import strategies as st

from trastienda.trading import calendars as cal
from trastienda.trading.calendars import (
    EU_T1_START,
    MARKETS,
    add_business_days,
    business_days_between,
    holidays_in,
    is_business_day,
    next_business_day,
    previous_business_day,
    resolve_market,
    settlement_date,
    settlement_dates,
)

GOOD_FRIDAY_2026 = date(2026, 4, 3)
EASTER_MONDAY_2026 = date(2026, 4, 6)


# --- markets -----------------------------------------------------------------------------------


def test_markets_have_lazy_labels():
    assert set(MARKETS) == {"XMAD", "XMIL", "TARGET", "XNYS"}
    assert all(isinstance(label, Promise) for label in MARKETS.values())


@pytest.mark.parametrize(
    ("alias", "code"),
    [
        ("ES", "XMAD"),
        ("IT", "XMIL"),
        ("US", "XNYS"),
        ("TARGET2", "TARGET"),
        ("XECB", "TARGET"),
        ("xmad", "XMAD"),
        ("TARGET", "TARGET"),
    ],
)
def test_aliases(alias, code):
    assert resolve_market(alias) == code


def test_alias_and_code_give_the_same_calendar():
    assert holidays_in("ES", 2026) == holidays_in("XMAD", 2026)
    assert holidays_in("XECB", 2026) == holidays_in("TARGET", 2026)


@pytest.mark.parametrize("market", ["XPAR", "", "FR"])
def test_unknown_market_is_named(market):
    with pytest.raises(ValueError, match=f"Unknown market {market!r}"):
        is_business_day(market, date(2026, 3, 2))
    with pytest.raises(ValueError, match=f"Unknown market {market!r}"):
        settlement_date(date(2026, 3, 2), "equity", market)


def test_datetime_is_refused():
    # A timestamp never equals a holiday date: silently accepting it would open every holiday.
    with pytest.raises(TypeError):
        is_business_day("XMAD", datetime(2026, 1, 1, 10, 0))  # noqa: DTZ001
    with pytest.raises(TypeError):
        settlement_date(datetime(2026, 1, 1, 10, 0), "equity", "XMAD")  # noqa: DTZ001


def test_years_before_coverage_raise():
    with pytest.raises(ValueError, match="XMIL"):
        is_business_day("XMIL", date(2018, 3, 1))


# --- holidays ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "closed",
    [
        date(2026, 1, 1),
        GOOD_FRIDAY_2026,
        EASTER_MONDAY_2026,
        date(2026, 5, 1),
        date(2026, 12, 25),
        date(2025, 12, 26),  # San Esteban, a Friday in 2025
    ],
)
def test_spain_closed(closed):
    assert not is_business_day("XMAD", closed)


@pytest.mark.parametrize(
    "open_day",
    [
        date(2025, 12, 24),  # half day, closes 14:00
        date(2025, 12, 31),  # half day, closes 14:00
        date(2026, 1, 6),  # Reyes: a public holiday, but BME trades
        date(2026, 10, 12),  # Fiesta Nacional: BME trades
    ],
)
def test_spain_open(open_day):
    assert is_business_day("XMAD", open_day)


def test_spain_holidays_2026():
    assert list(holidays_in("XMAD", 2026)) == [
        date(2026, 1, 1),
        GOOD_FRIDAY_2026,
        EASTER_MONDAY_2026,
        date(2026, 5, 1),
        date(2026, 12, 25),
    ]  # 26 Dec 2026 is a Saturday


@pytest.mark.parametrize(
    "closed",
    [
        date(2024, 1, 1),
        date(2024, 3, 29),
        date(2024, 4, 1),
        date(2024, 5, 1),
        date(2024, 8, 15),
        date(2024, 12, 24),
        date(2024, 12, 25),
        date(2024, 12, 26),
        date(2024, 12, 31),
        date(2025, 8, 15),
        date(2022, 8, 15),  # missing from holidays 0.109, added by calendars._XMIL_EXTRA
        date(2021, 12, 24),  # idem
        date(2021, 12, 31),  # idem
    ],
)
def test_italy_closed(closed):
    assert not is_business_day("XMIL", closed)


@pytest.mark.parametrize(
    "open_day",
    [date(2024, 1, 5), date(2024, 4, 25), date(2025, 6, 2), date(2024, 11, 1), date(2025, 12, 8)],
)
def test_italy_open_on_some_public_holidays(open_day):
    assert is_business_day("XMIL", open_day)


def test_target2_holidays():
    assert list(holidays_in("TARGET", 2025)) == [
        date(2025, 1, 1),
        date(2025, 4, 18),
        date(2025, 4, 21),
        date(2025, 5, 1),
        date(2025, 12, 25),
        date(2025, 12, 26),
    ]
    assert is_business_day("TARGET", date(2025, 12, 24))
    assert is_business_day("TARGET", date(2025, 12, 31))


@pytest.mark.parametrize(
    "closed",
    [
        GOOD_FRIDAY_2026,
        date(2026, 6, 19),  # Juneteenth
        date(2026, 7, 3),  # Independence Day observed (4 July is a Saturday)
        date(2026, 11, 26),  # Thanksgiving
        date(2026, 12, 25),
    ],
)
def test_nyse_closed(closed):
    assert not is_business_day("XNYS", closed)


def test_nyse_trades_on_columbus_and_veterans_day():
    assert is_business_day("XNYS", date(2026, 10, 12))
    assert is_business_day("XNYS", date(2026, 11, 11))


def test_holidays_in_has_names():
    names = holidays_in("XNYS", 2026)
    assert names[date(2026, 11, 26)] == "Thanksgiving Day"


# --- stepping ----------------------------------------------------------------------------------


def test_weekends():
    saturday, sunday = date(2026, 3, 7), date(2026, 3, 8)
    for market in MARKETS:
        assert not is_business_day(market, saturday)
        assert not is_business_day(market, sunday)
        assert next_business_day(market, date(2026, 3, 6)) == date(2026, 3, 9)
        assert previous_business_day(market, date(2026, 3, 9)) == date(2026, 3, 6)
        assert next_business_day(market, saturday) == date(2026, 3, 9)
        assert previous_business_day(market, sunday) == date(2026, 3, 6)


def test_add_zero_days():
    assert add_business_days("XMAD", date(2026, 3, 4), 0) == date(2026, 3, 4)
    assert add_business_days("XMAD", date(2026, 4, 4), 0) == date(2026, 4, 7)  # Sat before EM
    assert add_business_days("XMAD", GOOD_FRIDAY_2026, 0) == date(2026, 4, 7)


def test_add_negative_days():
    assert add_business_days("XMAD", date(2026, 4, 7), -1) == date(2026, 4, 2)
    assert add_business_days("XMAD", EASTER_MONDAY_2026, -1) == date(2026, 4, 2)
    assert add_business_days("XMAD", date(2026, 3, 9), -2) == date(2026, 3, 5)


def test_business_days_between():
    assert business_days_between("XMAD", date(2026, 4, 2), date(2026, 4, 8)) == 2
    assert business_days_between("XMAD", date(2026, 4, 8), date(2026, 4, 2)) == -2
    assert business_days_between("XMAD", date(2026, 4, 2), date(2026, 4, 2)) == 0
    # A whole year: 261 weekdays in 2026 minus 5 weekday holidays.
    assert business_days_between("XMAD", date(2025, 12, 31), date(2026, 12, 31)) == 256


# --- settlement --------------------------------------------------------------------------------


def test_t2_across_a_weekend():
    assert settlement_date(date(2026, 3, 5), "equity", "XMAD") == date(2026, 3, 9)
    assert settlement_date(date(2026, 3, 6), "etf", "XMIL") == date(2026, 3, 10)


@pytest.mark.parametrize("market", ["XMAD", "XMIL", "ES", "IT"])
def test_t2_across_easter_2026(market):
    assert settlement_date(date(2026, 4, 1), "equity", market) == date(2026, 4, 7)
    assert settlement_date(date(2026, 4, 2), "equity", market) == date(2026, 4, 8)


def test_us_t1_across_thanksgiving_2026():
    assert settlement_date(date(2026, 11, 25), "equity", "XNYS") == date(2026, 11, 27)
    assert settlement_date(date(2026, 11, 27), "equity", "US") == date(2026, 11, 30)


def test_us_does_not_settle_on_columbus_or_veterans_day():
    assert settlement_date(date(2026, 10, 9), "equity", "XNYS") == date(2026, 10, 13)
    # A trade on Columbus Day itself settles with the previous day's trades.
    assert settlement_date(date(2026, 10, 12), "equity", "XNYS") == date(2026, 10, 13)
    assert settlement_date(date(2026, 11, 10), "corporate_bond", "XNYS") == date(2026, 11, 12)


@pytest.mark.parametrize("instrument", ["equity", "etf", "government_bond", "corporate_bond"])
def test_eu_switch_to_t1(instrument):
    assert date(2027, 10, 11) == EU_T1_START
    # Trades up to Friday 8 Oct 2027 still settle T+2.
    assert settlement_date(date(2027, 10, 7), instrument, "XMAD") == date(2027, 10, 11)
    assert settlement_date(date(2027, 10, 8), instrument, "XMAD") == date(2027, 10, 12)
    assert settlement_date(date(2027, 10, 11), instrument, "XMAD") == date(2027, 10, 12)
    assert settlement_date(date(2027, 10, 12), instrument, "XMIL") == date(2027, 10, 13)


def test_bonds():
    assert settlement_date(date(2026, 3, 5), "government_bond", "XMAD") == date(2026, 3, 9)
    assert settlement_date(date(2026, 3, 5), "corporate_bond", "XMIL") == date(2026, 3, 9)
    assert settlement_date(date(2026, 3, 5), "government_bond", "XNYS") == date(2026, 3, 6)


@pytest.mark.parametrize("instrument", ["future", "option"])
def test_derivatives_t1(instrument):
    assert settlement_date(date(2026, 4, 2), instrument, "XMIL") == date(2026, 4, 7)
    assert settlement_date(date(2026, 3, 6), instrument, "XNYS") == date(2026, 3, 9)


def test_eu_settlement_needs_market_and_target2_open():
    # Borsa Italiana is shut on 24 Dec although TARGET2 is open: the rule skips it.
    assert settlement_date(date(2025, 12, 22), "equity", "XMIL") == date(2025, 12, 29)
    # BME and TARGET2 are both open on 24 Dec.
    assert settlement_date(date(2025, 12, 22), "equity", "XMAD") == date(2025, 12, 24)


def test_fx_spot_target2():
    assert settlement_date(date(2026, 4, 1), "fx_spot", "TARGET") == date(2026, 4, 7)
    # Exchange closures do not matter for FX: Borsa's 24 Dec closure is ignored.
    assert settlement_date(date(2025, 12, 22), "fx_spot", "XMIL") == date(2025, 12, 24)


def test_fx_spot_needs_both_currencies_open():
    # Columbus Day 2026: TARGET2 open, Federal Reserve closed.
    assert settlement_date(date(2026, 10, 8), "fx_spot", "TARGET") == date(2026, 10, 12)
    assert settlement_date(date(2026, 10, 8), "fx_spot", "TARGET", currency_market="US") == date(
        2026, 10, 13
    )
    # Thanksgiving.
    assert settlement_date(date(2026, 11, 24), "fx_spot", "TARGET") == date(2026, 11, 26)
    assert settlement_date(date(2026, 11, 24), "fx_spot", "XNYS") == date(2026, 11, 27)
    # Easter Monday: US open, TARGET2 closed.
    assert settlement_date(date(2026, 4, 2), "fx_spot", "XNYS") == date(2026, 4, 8)


def test_fx_forward_has_no_convention():
    with pytest.raises(ValueError, match="value date"):
        settlement_date(date(2026, 3, 2), "fx_forward", "TARGET")


def test_cycle_override():
    assert settlement_date(date(2026, 3, 4), "equity", "XMAD", cycle=0) == date(2026, 3, 4)
    assert settlement_date(date(2026, 4, 4), "equity", "XMAD", cycle=0) == date(2026, 4, 7)
    assert settlement_date(date(2026, 3, 4), "equity", "XNYS", cycle=3) == date(2026, 3, 9)
    with pytest.raises(ValueError, match="cycle"):
        settlement_date(date(2026, 3, 4), "equity", "XMAD", cycle=-1)


def test_unknown_instrument_type_is_named():
    with pytest.raises(ValueError, match="Unknown instrument type 'warrant'"):
        settlement_date(date(2026, 3, 2), "warrant", "XMAD")


def test_target_is_not_a_trading_venue():
    with pytest.raises(ValueError, match="not a trading venue"):
        settlement_date(date(2026, 3, 2), "equity", "TARGET")


def test_unknown_currency_market_is_named():
    with pytest.raises(ValueError, match="Unknown market 'JP'"):
        settlement_date(date(2026, 3, 2), "fx_spot", "TARGET", currency_market="JP")


def test_settlement_dates_matches_scalar():
    days = [date(2026, 3, 30) + timedelta(days=i) for i in range(20)] * 3
    assert settlement_dates(days, "equity", "XMAD") == [
        settlement_date(day, "equity", "XMAD") for day in days
    ]


# --- properties --------------------------------------------------------------------------------

market_codes = st.sampled_from([*MARKETS, *cal.MARKET_ALIASES])
# From 2021: going back 400 business days from any of these stays in the years every
# calendar covers (Milan from 2019).
days = st.dates(min_value=date(2021, 1, 1), max_value=date(2032, 12, 31))


@given(market=market_codes, day=days, n=st.integers(min_value=-400, max_value=400))
def test_add_business_days_properties(market, day, n):
    result = add_business_days(market, day, n)
    assert is_business_day(market, result)
    if n >= 0:
        assert result >= day
    else:
        assert result < day
    if n > 0 or is_business_day(market, day):
        assert business_days_between(market, day, result) == n


@given(market=market_codes, start=days, end=days)
def test_business_days_between_is_antisymmetric(market, start, end):
    assert business_days_between(market, start, end) == -business_days_between(market, end, start)
    count = sum(
        is_business_day(market, start + timedelta(days=i)) for i in range(1, (end - start).days + 1)
    )
    if end >= start:
        assert business_days_between(market, start, end) == count


@given(
    trade=days,
    instrument=st.sampled_from(["equity", "etf", "government_bond", "future", "option"]),
    market=st.sampled_from(["XMAD", "XMIL", "XNYS"]),
)
def test_settlement_is_a_business_day_after_the_trade(trade, instrument, market):
    settle = settlement_date(trade, instrument, market)
    assert settle > trade
    assert is_business_day(market, settle)
    cash = "XNYS" if market == "XNYS" else "TARGET"
    assert is_business_day(cash, settle)
