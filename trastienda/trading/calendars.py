"""Business-day calendars per market and settlement-date conventions.

Pure Python over the ``holidays`` library: no database, no models, no settings needed (labels are
lazy translations). Other ``trading`` modules may import this one; it imports nothing from the
project.

Calendars
---------
Supported codes (``MARKETS``) and aliases (``MARKET_ALIASES``):

* ``XMAD`` Bolsa de Madrid (BME), ``holidays.financial_holidays("XMAD")``, from 2000.
* ``XMIL`` Borsa Italiana / Euronext Milan, ``holidays.financial_holidays("XMIL")``, from 2019.
  The library only has Milan's own closures (15 Aug, 24 Dec, 31 Dec) from 2023; we add them for
  2019-2022 from Borsa Italiana's published calendars (see ``_XMIL_EXTRA``).
* ``TARGET`` TARGET2 / T2 euro payments, ``holidays.financial_holidays("XECB")``, from 2000:
  1 Jan, Good Friday, Easter Monday, 1 May, 25 and 26 Dec.
* ``XNYS`` New York Stock Exchange, ``holidays.financial_holidays("XNYS")``.

Years before a calendar's first year raise ``ValueError`` rather than silently treating every
weekday as open. Future years are projected from the rules: ad-hoc closures (national mourning,
emergencies) appear only once the library knows them.

Settlement rule
---------------
A settlement date is the *n*-th settlement day strictly after the trade date (``add_business_days``
with ``n`` = cycle; a cycle of 0 means the trade date itself, or the next settlement day). A
settlement day is a weekday on which the market calendar AND the payment system of the settlement
currency are both open, and every day counted must be one:

* EU markets (``XMAD``, ``XMIL``): the exchange calendar and TARGET2. For ``XMIL`` this is
  deliberately conservative: on 24 and 31 Dec and 15 Aug Borsa Italiana is shut but T2S may
  still settle.
* ``XNYS``: the NYSE calendar and the Federal Reserve calendar (``XFED``). US securities do not
  settle on Columbus Day and Veterans Day although the exchanges trade (FINRA Notices to Members
  95-77, 99-83, 92-54: "it will not be a settlement date because many of the nation's banking
  institutions will be closed").
* FX spot: the payment systems of both currencies, TARGET2 always (Trastienda books in euro)
  plus that of ``market`` and of ``currency_market`` (TARGET2 for euro markets, the Federal
  Reserve for ``XNYS``/``US``); exchange trading holidays do not apply.
* ``currency_market`` for any other instrument adds that currency's payment calendar too.

Default cycles (``settlement_cycle``), market practice as of 2026:

* Equities and ETFs: T+1 in the US (SEC rule 15c6-1 as amended, since 28 May 2024); T+2 in the
  EU (CSDR art. 5(2)), T+1 for trades on or after 11 Oct 2027 (CSDR amendment moving venue-traded
  transferable securities to T+1 from that date).
* Government and corporate bonds: T+1 in the US (Treasuries by convention, corporates under the
  same 15c6-1 change); T+2 in the EU, switching to T+1 on 11 Oct 2027 like equities, since the
  CSDR amendment covers all transferable securities traded on venues, bonds included.
* Futures and options: T+1 (option premium and variation margin paid the next business day).
* FX spot: T+2. FX forwards: no convention, the value date is in the contract (``ValueError``).

``cycle=`` overrides the default number of days.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Final

import holidays
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

__all__ = [
    "EU_T1_START",
    "INSTRUMENT_TYPES",
    "MARKETS",
    "MARKET_ALIASES",
    "add_business_days",
    "business_days_between",
    "holidays_in",
    "is_business_day",
    "next_business_day",
    "previous_business_day",
    "resolve_market",
    "settlement_cycle",
    "settlement_date",
    "settlement_dates",
]

MARKETS: Final = MappingProxyType(
    {
        "XMAD": _("Spain (BME)"),
        "XMIL": _("Italy (Borsa Italiana)"),
        "TARGET": _("TARGET2 (euro payments)"),
        "XNYS": _("United States (NYSE)"),
    }
)

MARKET_ALIASES: Final = MappingProxyType(
    {"ES": "XMAD", "IT": "XMIL", "US": "XNYS", "TARGET2": "TARGET", "XECB": "TARGET"}
)

INSTRUMENT_TYPES: Final = MappingProxyType(
    {
        "equity": pgettext_lazy("instrument type", "Equity"),
        "etf": _("ETF"),
        "government_bond": _("Government bond"),
        "corporate_bond": _("Corporate bond"),
        "future": _("Future"),
        "option": _("Option"),
        "fx_spot": _("FX spot"),
        "fx_forward": _("FX forward"),
    }
)

#: First trade date settling T+1 on EU venues (CSDR amendment, applicable from 11 October 2027).
EU_T1_START: Final = date(2027, 10, 11)

_EU_MARKETS: Final = frozenset({"XMAD", "XMIL"})
_SECURITIES_MARKETS: Final = frozenset({"XMAD", "XMIL", "XNYS"})

# Market code -> holiday calendars (codes of the ``holidays`` library).
_TRADING_CALENDAR: Final = MappingProxyType(
    {"XMAD": "XMAD", "XMIL": "XMIL", "TARGET": "XECB", "XNYS": "XNYS"}
)
# Market code -> payment system of its currency (EUR: TARGET2, USD: Federal Reserve).
_CASH_CALENDAR: Final = MappingProxyType(
    {"XMAD": "XECB", "XMIL": "XECB", "TARGET": "XECB", "XNYS": "XFED"}
)

# First year each library calendar covers (the classes' ``start_year``; TARGET2 has its full set
# of closing days from 2000).
_FIRST_YEAR: Final = MappingProxyType(
    {"XMAD": 2000, "XMIL": 2019, "XECB": 2000, "XNYS": 1863, "XFED": 1999}
)

# Borsa Italiana closures missing from holidays 0.109 before 2023 (it adds them from 2023 only).
# Borsa Italiana's published calendars list 15 Aug, 24 Dec and 31 Dec as closing days every year
# (borsaitaliana.it press releases of 6 Dec 1999 and 3 Dec 2007; the 2019-2022 calendars as
# reported by the Italian financial press, e.g. 2022: "lunedì 15 agosto (festa dell'Assunzione)",
# 2021 and 2020: 24 and 31 December).
_XMIL_EXTRA: Final = (
    (8, 15, "Assumption Day"),
    (12, 24, "Christmas Eve"),
    (12, 31, "New Year's Eve"),
)
_XMIL_EXTRA_YEARS: Final = range(2019, 2023)

_HOLIDAY_NAMES_LANGUAGE: Final = "en_US"


# ---------------------------------------------------------------------------------------------
# Holiday sets, cached per (calendar, year)


@functools.lru_cache(maxsize=1024)
def _library_holidays(code: str, year: int) -> MappingProxyType[date, str]:
    """Closing days (weekends included when the library lists them) of one library calendar."""
    first = _FIRST_YEAR[code]
    if year < first:
        raise ValueError(f"No {code} holiday calendar before {first} (asked for {year}).")
    if year > 9998:
        raise ValueError(f"Year {year} is out of range.")
    found = holidays.financial_holidays(code, years=year, language=_HOLIDAY_NAMES_LANGUAGE)
    days = {day: str(name) for day, name in found.items()}
    if code == "XMIL" and year in _XMIL_EXTRA_YEARS:
        for month, dom, name in _XMIL_EXTRA:
            extra = date(year, month, dom)
            if extra.weekday() < 5:
                days.setdefault(extra, name)
    return MappingProxyType(dict(sorted(days.items())))


@functools.lru_cache(maxsize=4096)
def _closed(codes: tuple[str, ...], year: int) -> frozenset[date]:
    """Weekdays of ``year`` on which at least one of the calendars ``codes`` is closed."""
    closed: set[date] = set()
    for code in codes:
        closed.update(day for day in _library_holidays(code, year) if day.weekday() < 5)
    return frozenset(closed)


def _is_open(codes: tuple[str, ...], day: date) -> bool:
    return day.weekday() < 5 and day not in _closed(codes, day.year)


def _step(codes: tuple[str, ...], day: date, direction: int) -> date:
    one = timedelta(days=direction)
    day += one
    while not _is_open(codes, day):
        day += one
    return day


def _add(codes: tuple[str, ...], day: date, n: int) -> date:
    if n == 0:
        return day if _is_open(codes, day) else _step(codes, day, 1)
    direction = 1 if n > 0 else -1
    for _i in range(abs(n)):
        day = _step(codes, day, direction)
    return day


def _weekdays_through(day: date) -> int:
    """Weekdays from 1 Jan of year 1 (a Monday) up to and including ``day``."""
    weeks, rest = divmod(day.toordinal(), 7)
    return 5 * weeks + min(rest, 5)


def _count_open(codes: tuple[str, ...], after: date, through: date) -> int:
    """Open days ``d`` with ``after < d <= through`` (``after <= through``)."""
    count = _weekdays_through(through) - _weekdays_through(after)
    for year in range(after.year, through.year + 1):
        count -= sum(1 for day in _closed(codes, year) if after < day <= through)
    return count


# ---------------------------------------------------------------------------------------------
# Argument checking


def resolve_market(market: str) -> str:
    """The canonical code (a key of ``MARKETS``) for a code or alias, case-insensitive."""
    code = market.strip().upper() if isinstance(market, str) else market
    code = MARKET_ALIASES.get(code, code)
    if code not in MARKETS:
        known = ", ".join([*MARKETS, *MARKET_ALIASES])
        raise ValueError(f"Unknown market {market!r}; expected one of: {known}.")
    return code


def _check_day(day: date, name: str = "day") -> None:
    # datetime is a subclass of date but never equal to one: a timestamp would miss every holiday.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"{name} must be a datetime.date, not {type(day).__name__}.")


def _trading_codes(market: str) -> tuple[str, ...]:
    return (_TRADING_CALENDAR[resolve_market(market)],)


# ---------------------------------------------------------------------------------------------
# Business days of one market calendar


def is_business_day(market: str, day: date) -> bool:
    """Whether ``day`` is a weekday and not a holiday of ``market``."""
    _check_day(day)
    return _is_open(_trading_codes(market), day)


def next_business_day(market: str, day: date) -> date:
    """The first business day of ``market`` strictly after ``day``."""
    _check_day(day)
    return _step(_trading_codes(market), day, 1)


def previous_business_day(market: str, day: date) -> date:
    """The last business day of ``market`` strictly before ``day``."""
    _check_day(day)
    return _step(_trading_codes(market), day, -1)


def add_business_days(market: str, day: date, n: int) -> date:
    """The ``n``-th business day after ``day`` (before it if ``n`` < 0).

    ``n`` = 0 gives ``day`` itself if it is a business day, else the next business day.
    """
    _check_day(day)
    return _add(_trading_codes(market), day, n)


def business_days_between(market: str, start: date, end: date) -> int:
    """Business days ``d`` with ``start < d <= end``; negated when ``end`` is before ``start``.

    ``business_days_between(m, a, b) == -business_days_between(m, b, a)``, and for ``n`` > 0
    (for any ``n`` when ``start`` is a business day)
    ``business_days_between(m, start, add_business_days(m, start, n)) == n``.
    """
    _check_day(start, "start")
    _check_day(end, "end")
    codes = _trading_codes(market)
    if end >= start:
        return _count_open(codes, start, end)
    return -_count_open(codes, end, start)


def holidays_in(market: str, year: int) -> dict[date, str]:
    """Closing days of ``market`` in ``year`` with their (English) names, in date order.

    Holidays falling on a weekend are included only when the library lists them.
    """
    return dict(_library_holidays(_TRADING_CALENDAR[resolve_market(market)], year))


# ---------------------------------------------------------------------------------------------
# Settlement


def settlement_cycle(instrument_type: str, market: str, trade_date: date) -> int:
    """The default number of settlement days (the *n* of T+n) for a trade."""
    code = resolve_market(market)
    if instrument_type not in INSTRUMENT_TYPES:
        raise ValueError(
            f"Unknown instrument type {instrument_type!r}; "
            f"expected one of: {', '.join(INSTRUMENT_TYPES)}."
        )
    if instrument_type == "fx_forward":
        raise ValueError(
            "FX forwards have no settlement convention: use the value date agreed in the contract."
        )
    if instrument_type == "fx_spot":
        return 2
    if code not in _SECURITIES_MARKETS:
        raise ValueError(
            f"Market {market!r} is a payment calendar, not a trading venue: "
            f"{instrument_type} trades need one of {', '.join(sorted(_SECURITIES_MARKETS))}."
        )
    if instrument_type in ("future", "option"):
        return 1
    # Equities, ETFs and bonds.
    if code in _EU_MARKETS:
        return 1 if trade_date >= EU_T1_START else 2
    return 1


def _settlement_codes(
    instrument_type: str, market: str, currency_market: str | None
) -> tuple[str, ...]:
    if instrument_type == "fx_spot":
        codes = {"XECB", _CASH_CALENDAR[market]}
    else:
        codes = {_TRADING_CALENDAR[market], _CASH_CALENDAR[market]}
    if currency_market is not None:
        codes.add(_CASH_CALENDAR[resolve_market(currency_market)])
    return tuple(sorted(codes))


@functools.lru_cache(maxsize=262_144)
def _settlement_date(
    trade_date: date,
    instrument_type: str,
    market: str,
    cycle: int | None,
    currency_market: str | None,
) -> date:
    _check_day(trade_date, "trade_date")
    code = resolve_market(market)
    default = settlement_cycle(instrument_type, code, trade_date)
    if cycle is None:
        cycle = default
    elif isinstance(cycle, bool) or not isinstance(cycle, int) or cycle < 0:
        raise ValueError(f"cycle must be a non-negative integer, not {cycle!r}.")
    return _add(_settlement_codes(instrument_type, code, currency_market), trade_date, cycle)


def settlement_date(
    trade_date: date,
    instrument_type: str,
    market: str,
    *,
    cycle: int | None = None,
    currency_market: str | None = None,
) -> date:
    """The contractual settlement date of a trade (see the module docstring for the rules).

    Results are cached per argument tuple, so reconciling many trades on few dates is cheap.
    Raises ``ValueError`` for an unknown market or instrument type, for FX forwards and for
    years the calendars do not cover.
    """
    return _settlement_date(trade_date, instrument_type, market, cycle, currency_market)


def settlement_dates(
    trade_dates: Iterable[date],
    instrument_type: str,
    market: str,
    *,
    cycle: int | None = None,
    currency_market: str | None = None,
) -> list[date]:
    """``settlement_date`` for many trade dates of one instrument type and market, in order."""
    seen: dict[date, date] = {}
    result = []
    for trade_date in trade_dates:
        settle = seen.get(trade_date)
        if settle is None:
            settle = _settlement_date(trade_date, instrument_type, market, cycle, currency_market)
            seen[trade_date] = settle
        result.append(settle)
    return result
