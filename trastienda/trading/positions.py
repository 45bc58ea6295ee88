"""Positions and P&L: end-of-day prices, open quantities, realised and unrealised P&L.

See ``trastienda/trading/DESIGN.md``.

- **Prices** (:func:`prices_import`, :func:`price_set`): an instrument's closing price of a day,
  in units of 10^-8 of its currency (more decimals is refused, never rounded). The import reads
  a CSV or XLSX file with the columns ``date``, ``instrument`` (code or ISIN) and ``close``, all
  or nothing, errors keyed ``line N.field``; an identical price changes nothing, a different
  one replaces it (the change is audited).
- **Lots** (:func:`lots_compute`, pure): the current versions of active trades, per (account,
  instrument) in the order ``executed_at, id``. A trade that adds to the position (or opens
  it) opens a lot that belongs to its trader and broker; a buy against a short or a sell
  against a long closes lots, FIFO or at the average cost (``TradingSettings.cost_method``),
  and what is left of it opens a lot the other way (a sell with no long opens a short). A lot's
  cost is the money paid for it: gross + fees + commission of a buy, minus (gross - fees -
  commission) of a sell, so realised P&L is net of every fee. Realised P&L of a close goes to
  the closing trade's trader and broker.
- **Positions** (:func:`positions`): per (account, instrument, trader, broker), the open
  quantity and cost, the latest closing price on or before the date, the market value
  (quantity x close x multiplier, rounded half up to the minor unit), unrealised P&L
  (market value - cost), realised P&L of the day and to date, fees of the day.
- **Daily run** (:func:`pnl_run`): the positions of a date stored as ``PnlSnapshot`` rows,
  replacing that date's rows in one transaction, audited once; the P&L report
  (:func:`pnl_report`) and history (:func:`pnl_history`) read them.

Integers and Decimal only: amounts are minor units of the instrument's currency; every share
of an amount is rounded half up (away from zero) and the last share takes the remainder, so
for every position ``realised to date + unrealised = market value - net cash paid`` exactly.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Max, Q, Sum, When
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from trastienda.core import tabular
from trastienda.core.models import Company
from trastienda.trading.models import (
    PRICE_PLACES,
    Broker,
    CostMethod,
    Desk,
    Instrument,
    PnlSnapshot,
    Price,
    Trade,
    Trader,
    TradingAccount,
    TradingSettings,
)

PRICE_COLUMNS = ("date", "instrument", "close")
MAX_PRICE = 2**63 - 1  # the largest BigIntegerField
GROUPS = ("account", "instrument", "trader", "desk", "broker")
PNL_GROUPS = ("trader", "broker", "desk", "account", "instrument")


def net_quantities(
    company: Company, on_date: dt.date, instruments: Iterable[Instrument] | None = None
) -> dict[tuple[int, int], int]:
    """Open quantity (units of 10^-6, signed: short < 0) per (account id, instrument id) at
    the end of ``on_date``: the current versions of active trades dated that day or before.
    Flat positions are left out."""
    trades = Trade.objects.filter(
        company=company, is_current=True, status=Trade.Status.ACTIVE, trade_date__lte=on_date
    )
    if instruments is not None:
        trades = trades.filter(instrument__in=list(instruments))
    rows = trades.values("account_id", "instrument_id").annotate(
        net=Sum(Case(When(side=Trade.Side.BUY, then=F("quantity")), default=-F("quantity")))
    )
    return {(r["account_id"], r["instrument_id"]): r["net"] for r in rows if r["net"]}


def closing_price(instrument: Instrument, on_date: dt.date) -> int | None:
    """The instrument's price (10^-8) of ``on_date``, or None when none was imported."""
    return (
        Price.objects.filter(instrument=instrument, date=on_date)
        .values_list("close", flat=True)
        .first()
    )


# --- settings ---------------------------------------------------------------------------------


def settings_for(company: Company) -> TradingSettings:
    """The company's trading settings row, made (with the defaults) on first use."""
    from trastienda.trading.settlement import trading_settings  # settlement reads positions

    return trading_settings(company)


def cost_method_of(company: Company) -> str:
    """The company's cost method, without making the settings row (for reads)."""
    method = (
        TradingSettings.objects.filter(company=company)
        .values_list("cost_method", flat=True)
        .first()
    )
    return str(method or CostMethod.FIFO)


# --- prices -----------------------------------------------------------------------------------


def _user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _close_value(value: Any, errors: list[str]) -> int | None:
    """A closing price (text, or a workbook's number cell) as an integer of 10^-8 units;
    more decimals is an error, never rounded."""
    if tabular.is_blank(value):
        errors.append(_("Enter the closing price."))
        return None
    try:
        number = value if isinstance(value, Decimal) else tabular.cell_number(value)
    except (ValueError, InvalidOperation):
        errors.append(
            _("“%(value)s” is not a number.") % {"value": tabular.cell_text(value).strip()}
        )
        return None
    if not number.is_finite():
        errors.append(_("Enter a number."))
        return None
    scaled = number.scaleb(PRICE_PLACES)
    if scaled != scaled.to_integral_value():
        errors.append(_("At most %(places)d decimals.") % {"places": PRICE_PLACES})
        return None
    close = int(scaled)
    if close < 0:
        errors.append(_("The price cannot be negative."))
        return None
    if close > MAX_PRICE:
        errors.append(_("The price is too large."))
        return None
    return close


def _date_value(value: Any, errors: list[str], today: dt.date) -> dt.date | None:
    if isinstance(value, dt.datetime):
        day: dt.date | None = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        text = tabular.cell_text(value).strip()
        if not text:
            errors.append(_("Enter the date."))
            return None
        try:
            day = parse_date(text)
        except ValueError:
            day = None
        if day is None:
            errors.append(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": text})
            return None
    if day is not None and day > today:
        errors.append(_("The date is in the future."))
        return None
    return day


def _instruments_by_code(company: Company) -> dict[str, Instrument]:
    found = list(Instrument.objects.for_company(company))
    table = {i.isin: i for i in found if i.isin}
    table.update({i.code: i for i in found})
    return table


def _instrument_value(
    table: Mapping[str, Instrument], value: Any, errors: list[str]
) -> Instrument | None:
    if isinstance(value, Instrument):
        return value
    code = tabular.clean_text(value)
    if not code:
        errors.append(_("Enter the instrument's code or ISIN."))
        return None
    found = table.get(code) or table.get(code.upper())
    if found is None:
        errors.append(_("Unknown instrument %(code)s.") % {"code": code})
    return found


@dataclass
class PriceImportResult:
    created: int = 0
    replaced: int = 0
    unchanged: int = 0


def _file_rows(content: bytes, filename: str) -> list[tabular.Row]:
    """The non-blank rows of a CSV or XLSX file (header included)."""
    try:
        kind = tabular.tabular_kind(content)
        if kind == "xlsx" or (not kind and filename.lower().endswith(".xlsx")):
            rows = tabular.xlsx_rows(content)
        else:
            rows = tabular.csv_rows(tabular.decode(content, "utf-8"))
        return list(tabular.non_blank_rows(rows))
    except tabular.TabularFormatError as exc:
        where = f"line {exc.line}" if exc.line else "file"
        raise ValidationError({where: [exc.message]}) from exc


def prices_import(
    *, company: Company, content: bytes, filename: str = "", user: Any = None
) -> PriceImportResult:
    """Import closing prices from a CSV or XLSX file with the header ``date``, ``instrument``
    (code or ISIN) and ``close``, all or nothing: every line is checked first (errors keyed
    ``line N.field``, N the file's line, the header being line 1), then new prices are
    stored, different ones replace the stored price (audited) and identical ones change
    nothing."""
    rows = _file_rows(content, filename)
    if not rows:
        raise ValidationError({"file": [_("The file has no prices.")]})
    _line, head = rows[0]
    header = [tabular.clean_text(cell).lower() for cell in head]
    missing = [name for name in PRICE_COLUMNS if name not in header]
    if missing:
        raise ValidationError(
            {"file": [_("Columns missing: %(names)s.") % {"names": ", ".join(missing)}]}
        )
    if len(rows) == 1:
        raise ValidationError({"file": [_("The file has no prices.")]})
    position = {name: header.index(name) for name in PRICE_COLUMNS}
    table = _instruments_by_code(company)
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    wanted: dict[tuple[int, dt.date], tuple[int, int]] = {}  # -> (close, line)
    for line, cells in rows[1:]:

        def cell(name: str, cells: list[Any] = cells) -> Any:
            index = position[name]
            return cells[index] if index < len(cells) else None

        problems: dict[str, list[str]] = {name: [] for name in PRICE_COLUMNS}
        day = _date_value(cell("date"), problems["date"], today)
        instrument = _instrument_value(table, cell("instrument"), problems["instrument"])
        close = _close_value(cell("close"), problems["close"])
        if day is not None and instrument is not None:
            earlier = wanted.get((instrument.pk, day))
            if earlier is not None:
                problems["instrument"].append(
                    _("The price of %(code)s on %(date)s is also on line %(line)d.")
                    % {"code": instrument.code, "date": day.isoformat(), "line": earlier[1]}
                )
            elif close is not None:
                wanted[(instrument.pk, day)] = (close, line)
        for name, messages in problems.items():
            if messages:
                errors[f"line {line}.{name}"] = messages
    if errors:
        raise ValidationError(errors)
    result = PriceImportResult()
    try:
        with transaction.atomic():
            _prices_store(company, wanted, result)
            if result.created or result.replaced:
                from trastienda.audit.models import AuditAction
                from trastienda.audit.services import audit_log

                audit_log(
                    action=AuditAction.CREATE,
                    company=company,
                    user=_user(user),
                    object_type="trading.priceimport",
                    object_repr=filename,
                    extra={
                        "file": filename,
                        "created": result.created,
                        "replaced": result.replaced,
                        "unchanged": result.unchanged,
                    },
                )
    except IntegrityError as exc:  # the same prices stored meanwhile by another import
        raise ValidationError(
            {"file": [_("Some of these prices were stored meanwhile: import the file again.")]}
        ) from exc
    return result


def _prices_store(
    company: Company,
    wanted: Mapping[tuple[int, dt.date], tuple[int, int]],
    result: PriceImportResult,
) -> None:
    stored: dict[tuple[int, dt.date], Price] = {}
    days = sorted({day for _pk, day in wanted})
    instruments = sorted({pk for pk, _day in wanted})
    for start in range(0, len(instruments), 500):
        chunk = instruments[start : start + 500]
        for price in (
            Price.objects.select_for_update()
            .filter(company=company, instrument_id__in=chunk, date__in=days)
            .select_related("instrument", "company")
            .order_by("pk")
        ):
            stored[(price.instrument_id, price.date)] = price
    new: list[Price] = []
    for key, (close, _line) in sorted(wanted.items(), key=lambda item: item[1][1]):
        existing = stored.get(key)
        if existing is None:
            new.append(Price(company=company, instrument_id=key[0], date=key[1], close=close))
        elif existing.close == close:
            result.unchanged += 1
        else:
            existing.close = close
            existing.source = "import"
            existing.save(update_fields=["close", "source"])  # audited with before and after
            result.replaced += 1
    for start in range(0, len(new), 1000):
        Price.objects.bulk_create(new[start : start + 1000])
    result.created = len(new)


def price_set(
    *,
    company: Company,
    instrument: Instrument | str,
    date: dt.date | str,
    close: Decimal | str | int,
    user: Any = None,
    source: str = "manual",
) -> Price:
    """Set one closing price (``close`` decimal text, at most 8 decimals): store it, replace
    a different one (audited), or leave an identical one alone. Errors by field."""
    problems: dict[str, list[str]] = {name: [] for name in PRICE_COLUMNS}
    if isinstance(instrument, Instrument) and instrument.company_id != company.pk:
        problems["instrument"].append(_("Unknown instrument."))
        found: Instrument | None = None
    elif isinstance(instrument, Instrument):
        found = instrument
    else:
        found = _instrument_value(_instruments_by_code(company), instrument, problems["instrument"])
    day = _date_value(date, problems["date"], timezone.localdate())
    scaled = _close_value(close, problems["close"])
    errors = {name: messages for name, messages in problems.items() if messages}
    if errors or found is None or day is None or scaled is None:
        raise ValidationError(errors or {"close": [_("Enter a closing price.")]})
    with transaction.atomic():
        price = (
            Price.objects.select_for_update()
            .filter(company=company, instrument=found, date=day)
            .select_related("instrument", "company")
            .first()
        )
        if price is None:
            try:
                with transaction.atomic():
                    price = Price.objects.create(
                        company=company, instrument=found, date=day, close=scaled, source=source
                    )
            except IntegrityError as exc:
                raise ValidationError(
                    {"date": [_("A price of this day was stored meanwhile: try again.")]}
                ) from exc
        elif price.close != scaled:
            price.close = scaled
            price.source = source
            price.save(update_fields=["close", "source"])
    return price


def cli_import_prices(company: Company, path: Path | str) -> str:
    """For ``trastienda trading import prices FILE --company CODE``: import the file and
    return the line to print. Raises ``ValidationError`` (print it with
    :func:`trastienda.core.errors.error_lines`; nothing was imported) or ``OSError``."""
    file = Path(path)
    result = prices_import(company=company, content=file.read_bytes(), filename=file.name)
    return _("%(created)d prices imported, %(replaced)d replaced, %(unchanged)d unchanged.") % {
        "created": result.created,
        "replaced": result.replaced,
        "unchanged": result.unchanged,
    }


# --- lots (pure) ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TradeFact:
    """What the lot engine needs of a trade version. ``quantity`` is signed (buy > 0);
    ``cash`` is the money paid, signed: a buy's gross + fees + commission, a sell's
    -(gross - fees - commission)."""

    id: int
    executed_at: dt.datetime
    trade_date: dt.date
    account_id: int
    instrument_id: int
    trader_id: int
    desk_id: int
    broker_id: int
    quantity: int
    cash: int
    fees: int


@dataclass(slots=True)
class Lot:
    trader_id: int
    desk_id: int
    broker_id: int
    quantity: int  # signed
    cost: int  # signed money paid for it


@dataclass(slots=True)
class Line:
    """One (account, instrument, trader, broker) at the end of a day."""

    desk_id: int
    quantity: int = 0
    cost: int = 0
    realised: int = 0  # of the day
    realised_to_date: int = 0
    fees: int = 0  # fees and commissions of the day's trades

    @property
    def is_empty(self) -> bool:
        return not (self.quantity or self.cost or self.realised_to_date or self.fees)


LineKey = tuple[int, int, int, int]  # account, instrument, trader, broker


def share(amount: int, part: int, whole: int) -> int:
    """``amount * part / whole`` rounded half up (away from zero); the whole amount when
    ``part == whole``."""
    if part == whole:
        return amount
    quotient, remainder = divmod(abs(amount) * part, whole)
    if 2 * remainder >= whole:
        quotient += 1
    return quotient if amount >= 0 else -quotient


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def _respread(lots: list[Lot]) -> None:
    """Average cost: every open unit costs the same; the last lot takes the remainder."""
    total = sum(lot.cost for lot in lots)
    quantity = sum(abs(lot.quantity) for lot in lots)
    given = 0
    for lot in lots[:-1]:
        lot.cost = share(total, abs(lot.quantity), quantity)
        given += lot.cost
    if lots:
        lots[-1].cost = total - given


def _trade_on(lots: list[Lot], trade: TradeFact, method: str) -> int:
    """Apply ``trade`` to the lots of its position; the realised P&L of what it closed."""
    open_quantity = sum(lot.quantity for lot in lots)
    if open_quantity == 0 or _sign(open_quantity) == _sign(trade.quantity):
        lots.append(
            Lot(trade.trader_id, trade.desk_id, trade.broker_id, trade.quantity, trade.cash)
        )
        if method == CostMethod.AVERAGE:
            _respread(lots)
        return 0
    size = abs(trade.quantity)
    closing = min(size, abs(open_quantity))
    cash_closing = share(trade.cash, closing, size)
    if method == CostMethod.AVERAGE:
        total_cost = sum(lot.cost for lot in lots)
        cost_out = share(total_cost, closing, abs(open_quantity))
        left = closing
        while left:
            lot = lots[0]
            take = min(left, abs(lot.quantity))
            lot.quantity -= _sign(lot.quantity) * take
            left -= take
            if lot.quantity == 0:
                lots.pop(0)
        for lot in lots:
            lot.cost = 0
        if lots:
            lots[-1].cost = total_cost - cost_out
            _respread(lots)
    else:
        cost_out = 0
        left = closing
        while left:
            lot = lots[0]
            take = min(left, abs(lot.quantity))
            part = share(lot.cost, take, abs(lot.quantity))
            cost_out += part
            lot.cost -= part
            lot.quantity -= _sign(lot.quantity) * take
            left -= take
            if lot.quantity == 0:
                lots.pop(0)
    if size > closing:
        lots.append(
            Lot(
                trade.trader_id,
                trade.desk_id,
                trade.broker_id,
                _sign(trade.quantity) * (size - closing),
                trade.cash - cash_closing,
            )
        )
    return -(cash_closing + cost_out)


def lots_compute(trades: Iterable[TradeFact], method: str, day: dt.date) -> dict[LineKey, Line]:
    """The lines of every position at the end of ``day`` from ``trades`` (those dated after
    ``day`` are left out), in the order (executed_at, id)."""
    books: dict[tuple[int, int], list[Lot]] = defaultdict(list)
    lines: dict[LineKey, Line] = {}

    def line(account: int, instrument: int, trader: int, broker: int, desk: int) -> Line:
        key = (account, instrument, trader, broker)
        found = lines.get(key)
        if found is None:
            found = lines[key] = Line(desk_id=desk)
        return found

    for trade in sorted(trades, key=lambda t: (t.executed_at, t.id)):
        if trade.trade_date > day:
            continue
        lots = books[(trade.account_id, trade.instrument_id)]
        realised = _trade_on(lots, trade, method)
        mine = line(
            trade.account_id,
            trade.instrument_id,
            trade.trader_id,
            trade.broker_id,
            trade.desk_id,
        )
        mine.realised_to_date += realised
        if trade.trade_date == day:
            mine.realised += realised
            mine.fees += trade.fees
    for (account, instrument), lots in books.items():
        for lot in lots:
            held = line(account, instrument, lot.trader_id, lot.broker_id, lot.desk_id)
            held.quantity += lot.quantity
            held.cost += lot.cost
    return {key: value for key, value in lines.items() if not value.is_empty}


def realised_gross(company: Company, trade: Trade, method: str) -> int:
    """The realised result of ``trade`` before fees: what it closed of its account's position
    in the instrument (trades replayed in the order ``executed_at, id``, the other trades at
    their current versions, ``trade`` as given even when a later version exists), proceeds
    against the cost of the lots it closed, gross amounts only (fees are an expense of their
    own in the ledger). 0 for a trade that only opens or adds to the position."""
    versions = set(
        Trade.objects.filter(company=company, trade_id=trade.trade_id).values_list("pk", flat=True)
    )
    facts = [
        replace(fact, cash=fact.cash - fact.fees, fees=0)  # + gross of a buy, - of a sell
        for fact in trade_facts(
            company, trade.trade_date, account=trade.account_id, instrument=trade.instrument_id
        )
        if fact.id not in versions
    ]
    buy = trade.side == Trade.Side.BUY
    facts.append(
        TradeFact(
            id=trade.pk,
            executed_at=trade.executed_at,
            trade_date=trade.trade_date,
            account_id=trade.account_id,
            instrument_id=trade.instrument_id,
            trader_id=trade.trader_id,
            desk_id=0,
            broker_id=trade.broker_id,
            quantity=trade.quantity if buy else -trade.quantity,
            cash=trade.gross_amount if buy else -trade.gross_amount,
            fees=0,
        )
    )
    lots: list[Lot] = []
    for fact in sorted(facts, key=lambda f: (f.executed_at, f.id)):
        realised = _trade_on(lots, fact, method)
        if fact.id == trade.pk:
            return realised
    return 0


def market_value(quantity: int, close: int, multiplier: Decimal, currency: str) -> int:
    """quantity x close x multiplier in minor units, rounded half up (signed)."""
    from trastienda.trading.services import gross_amount

    return _sign(quantity) * gross_amount(abs(quantity), close, multiplier, currency)


# --- positions (reads) ------------------------------------------------------------------------


def _pk(value: Any) -> int | None:
    if value in (None, ""):
        return None
    pk = getattr(value, "pk", value)
    try:
        return int(pk)
    except (TypeError, ValueError):
        return None


def trade_facts(
    company: Company,
    day: dt.date,
    *,
    account: int | None = None,
    instrument: int | None = None,
) -> list[TradeFact]:
    """The current versions of the company's active trades dated ``day`` or before."""
    trades = Trade.objects.filter(
        company=company, is_current=True, status=Trade.Status.ACTIVE, trade_date__lte=day
    )
    if account is not None:
        trades = trades.filter(account_id=account)
    if instrument is not None:
        trades = trades.filter(instrument_id=instrument)
    facts = []
    for row in trades.values(
        "id",
        "executed_at",
        "trade_date",
        "account_id",
        "instrument_id",
        "trader_id",
        "trader__desk_id",
        "broker_id",
        "side",
        "quantity",
        "gross_amount",
        "fees",
        "commission",
    ).order_by("executed_at", "id"):
        fees = int(row["fees"]) + int(row["commission"])
        gross = int(row["gross_amount"])
        buy = row["side"] == Trade.Side.BUY
        facts.append(
            TradeFact(
                id=row["id"],
                executed_at=row["executed_at"],
                trade_date=row["trade_date"],
                account_id=row["account_id"],
                instrument_id=row["instrument_id"],
                trader_id=row["trader_id"],
                desk_id=row["trader__desk_id"],
                broker_id=row["broker_id"],
                quantity=int(row["quantity"]) if buy else -int(row["quantity"]),
                cash=gross + fees if buy else -(gross - fees),
                fees=fees,
            )
        )
    return facts


def latest_prices(
    company: Company, instrument_ids: Iterable[int], day: dt.date
) -> dict[int, tuple[int, dt.date]]:
    """Per instrument id, its latest closing price on or before ``day`` and that price's
    date."""
    ids = sorted(set(instrument_ids))
    if not ids:
        return {}
    latest = (
        Price.objects.filter(company=company, instrument_id__in=ids, date__lte=day)
        .values("instrument_id")
        .annotate(last=Max("date"))
    )
    wanted = Q()
    for row in latest:
        wanted |= Q(instrument_id=row["instrument_id"], date=row["last"])
    if not wanted:
        return {}
    return {
        pk: (close, date)
        for pk, close, date in Price.objects.filter(company=company)
        .filter(wanted)
        .values_list("instrument_id", "close", "date")
    }


@dataclass(frozen=True)
class PositionRow:
    """One (account, instrument, trader, broker) as of a date; amounts in minor units of
    ``currency``; ``close`` (10^-8), ``market_value`` and ``unrealised`` are None without a
    price on or before the date."""

    account: TradingAccount
    instrument: Instrument
    trader: Trader
    desk: Desk
    broker: Broker
    currency: str
    quantity: int
    cost: int
    close: int | None
    close_date: dt.date | None
    market_value: int | None
    unrealised: int | None
    realised: int
    realised_to_date: int
    fees: int

    @property
    def total(self) -> int:
        return self.realised_to_date + (self.unrealised or 0)


def positions(
    company: Company,
    date: dt.date,
    filters: Mapping[str, Any] | None = None,
    *,
    method: str | None = None,
) -> list[PositionRow]:
    """Every (account, instrument, trader, broker) with an open quantity, realised P&L to
    date or fees of the day, as of the end of ``date``. ``filters`` may name an
    ``account``, ``instrument``, ``trader``, ``desk`` or ``broker`` (objects or ids)."""
    wanted = {name: _pk((filters or {}).get(name)) for name in GROUPS}
    facts = trade_facts(company, date, account=wanted["account"], instrument=wanted["instrument"])
    lines = lots_compute(facts, method or cost_method_of(company), date)
    picked = {
        key: value
        for key, value in lines.items()
        if (wanted["trader"] is None or key[2] == wanted["trader"])
        and (wanted["broker"] is None or key[3] == wanted["broker"])
        and (wanted["desk"] is None or value.desk_id == wanted["desk"])
    }
    if not picked:
        return []
    accounts = TradingAccount.objects.in_bulk({key[0] for key in picked})
    instruments = Instrument.objects.in_bulk({key[1] for key in picked})
    traders = Trader.objects.in_bulk({key[2] for key in picked})
    brokers = Broker.objects.in_bulk({key[3] for key in picked})
    desks = Desk.objects.in_bulk({value.desk_id for value in picked.values()})
    prices = latest_prices(company, instruments, date)
    rows = []
    for key, value in picked.items():
        instrument = instruments[key[1]]
        close, close_date = prices.get(key[1], (None, None))
        mv = unrealised = None
        if close is not None:
            mv = market_value(value.quantity, close, instrument.multiplier, instrument.currency)
            unrealised = mv - value.cost
        rows.append(
            PositionRow(
                account=accounts[key[0]],
                instrument=instrument,
                trader=traders[key[2]],
                desk=desks[value.desk_id],
                broker=brokers[key[3]],
                currency=instrument.currency,
                quantity=value.quantity,
                cost=value.cost,
                close=close,
                close_date=close_date,
                market_value=mv,
                unrealised=unrealised,
                realised=value.realised,
                realised_to_date=value.realised_to_date,
                fees=value.fees,
            )
        )
    rows.sort(key=lambda r: (r.account.code, r.instrument.code, r.trader.code, r.broker.code))
    return rows


@dataclass
class GroupRow:
    """Positions summed by one of :data:`GROUPS` (and currency)."""

    key: Any
    currency: str
    quantity: int | None = 0  # only when grouping by instrument
    cost: int = 0
    market_value: int = 0
    unrealised: int = 0
    realised: int = 0
    realised_to_date: int = 0
    fees: int = 0
    unpriced: int = 0  # rows without a price

    @property
    def total(self) -> int:
        return self.realised_to_date + self.unrealised


def positions_grouped(rows: Iterable[PositionRow], group: str) -> list[GroupRow]:
    """``rows`` summed by ``group`` (one of :data:`GROUPS`) and currency."""
    found: dict[tuple[int, str], GroupRow] = {}
    for row in rows:
        key = getattr(row, group)
        item = found.get((key.pk, row.currency))
        if item is None:
            item = found[(key.pk, row.currency)] = GroupRow(
                key=key, currency=row.currency, quantity=0 if group == "instrument" else None
            )
        if item.quantity is not None:
            item.quantity += row.quantity
        item.cost += row.cost
        item.market_value += row.market_value or 0
        item.unrealised += row.unrealised or 0
        item.realised += row.realised
        item.realised_to_date += row.realised_to_date
        item.fees += row.fees
        item.unpriced += int(row.quantity != 0 and row.close is None)
    return sorted(found.values(), key=lambda g: (str(g.key.code), g.currency))


# --- the daily run ----------------------------------------------------------------------------


@dataclass
class PnlRunResult:
    date: dt.date
    rows: int = 0
    replaced: int = 0
    unpriced: int = 0  # open positions without a price


def pnl_run(*, company: Company, date: dt.date, user: Any = None) -> PnlRunResult:
    """Store the positions and P&L at the end of ``date`` as ``PnlSnapshot`` rows, replacing
    that date's rows, in one transaction, audited once. A date in the future is refused."""
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise ValidationError({"date": [_("Enter a date.")]})
    if date > timezone.localdate():
        raise ValidationError({"date": [_("The date is in the future.")]})
    from trastienda.audit.models import AuditAction
    from trastienda.audit.recorder import recording_disabled
    from trastienda.audit.services import audit_log

    result = PnlRunResult(date=date)
    with transaction.atomic():
        method = settings_for(company).cost_method
        rows = positions(company, date, method=method)
        old = PnlSnapshot.objects.filter(company=company, date=date)
        with recording_disabled():  # one summary entry below, not one per row
            result.replaced, _deleted = old.delete()
        who = _user(user)
        PnlSnapshot.objects.bulk_create(
            [
                PnlSnapshot(
                    company=company,
                    date=date,
                    account=row.account,
                    instrument=row.instrument,
                    trader=row.trader,
                    desk=row.desk,
                    broker=row.broker,
                    currency=row.currency,
                    quantity=row.quantity,
                    cost=row.cost,
                    close=row.close,
                    market_value=row.market_value,
                    realised=row.realised,
                    realised_to_date=row.realised_to_date,
                    unrealised=row.unrealised,
                    fees=row.fees,
                    created_by=who,
                )
                for row in rows
            ],
            batch_size=500,
        )
        result.rows = len(rows)
        result.unpriced = sum(1 for row in rows if row.quantity and row.close is None)
        audit_log(
            action=AuditAction.CREATE,
            company=company,
            user=who,
            object_type="trading.pnlrun",
            object_repr=date.isoformat(),
            extra={
                "date": date.isoformat(),
                "rows": result.rows,
                "replaced": result.replaced,
                "unpriced": result.unpriced,
                "cost_method": method,
            },
        )
    return result


# --- reports of the snapshots -----------------------------------------------------------------


@dataclass
class PnlGroup:
    """The snapshots of a date summed by a group (trader, broker, desk...) and currency."""

    key: Any
    currency: str
    realised: int = 0
    realised_to_date: int = 0
    unrealised: int = 0
    fees: int = 0
    unpriced: int = 0

    @property
    def total(self) -> int:
        return self.realised_to_date + self.unrealised


_GROUP_MODELS: dict[str, type[Any]] = {
    "trader": Trader,
    "broker": Broker,
    "desk": Desk,
    "account": TradingAccount,
    "instrument": Instrument,
}


def pnl_report(company: Company, date: dt.date, group: str) -> list[PnlGroup]:
    """The P&L snapshots of ``date`` summed by ``group`` (one of :data:`PNL_GROUPS`) and
    currency, by the group's code."""
    if group not in PNL_GROUPS:
        raise ValidationError(
            {"group": [_("Choose one of: %(names)s.") % {"names": ", ".join(PNL_GROUPS)}]}
        )
    rows = (
        PnlSnapshot.objects.filter(company=company, date=date)
        .values(f"{group}_id", "currency")
        .annotate(
            realised=Sum("realised"),
            realised_to_date=Sum("realised_to_date"),
            unrealised=Sum("unrealised"),
            fees=Sum("fees"),
            unpriced=Sum(
                Case(
                    When(Q(close__isnull=True) & ~Q(quantity=0), then=1),
                    default=0,
                )
            ),
        )
        .order_by()
    )
    objects = _GROUP_MODELS[group].objects.in_bulk({r[f"{group}_id"] for r in rows})
    found = [
        PnlGroup(
            key=objects[r[f"{group}_id"]],
            currency=r["currency"],
            realised=int(r["realised"] or 0),
            realised_to_date=int(r["realised_to_date"] or 0),
            unrealised=int(r["unrealised"] or 0),
            fees=int(r["fees"] or 0),
            unpriced=int(r["unpriced"] or 0),
        )
        for r in rows
    ]
    return sorted(found, key=lambda g: (str(g.key.code), g.currency))


@dataclass
class PnlHistory:
    """Per snapshot date in a range, total P&L (realised to date + unrealised) of one
    currency, in all and per desk."""

    currency: str
    dates: list[dt.date] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    desks: dict[Desk, list[int]] = field(default_factory=dict)

    @property
    def changes(self) -> list[int]:
        """The day's P&L: each total less the one before (the first: itself)."""
        return [total - (self.totals[i - 1] if i else 0) for i, total in enumerate(self.totals)]


def pnl_history(
    company: Company, date_from: dt.date, date_to: dt.date, currency: str | None = None
) -> PnlHistory:
    """Total P&L per snapshot date between ``date_from`` and ``date_to`` in ``currency``
    (default: the company's), in all and per desk."""
    currency = currency or company.base_currency
    history = PnlHistory(currency=currency)
    rows = (
        PnlSnapshot.objects.filter(
            company=company, date__gte=date_from, date__lte=date_to, currency=currency
        )
        .values("date", "desk_id")
        .annotate(realised=Sum("realised_to_date"), unrealised=Sum("unrealised"))
        .order_by("date", "desk_id")
    )
    per_day: dict[dt.date, dict[int, int]] = defaultdict(dict)
    for r in rows:
        per_day[r["date"]][r["desk_id"]] = int(r["realised"] or 0) + int(r["unrealised"] or 0)
    desks = Desk.objects.in_bulk({pk for day in per_day.values() for pk in day})
    ordered = sorted(desks.values(), key=lambda d: d.code)
    history.dates = sorted(per_day)
    history.totals = [sum(per_day[day].values()) for day in history.dates]
    history.desks = {
        desk: [per_day[day].get(desk.pk, 0) for day in history.dates] for desk in ordered
    }
    return history


def snapshot_dates(company: Company, limit: int = 10) -> list[dt.date]:
    """The latest dates that have P&L snapshots, newest first."""
    return list(
        PnlSnapshot.objects.filter(company=company)
        .values_list("date", flat=True)
        .distinct()
        .order_by("-date")[:limit]
    )
