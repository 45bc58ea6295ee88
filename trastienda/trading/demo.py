"""Demo data of trading: per demo company two desks, four traders, three brokers, three
trading accounts (client and house), instruments (two equities of the company's country with
their real ISINs, a government bond, an index future and an option on it, an FX forward) and
about thirty trades of the last weeks booked through the trade service, one of them amended
and one cancelled; FIX confirmations of a day's trades (one at another price) and that day's
reconciliation, so a break is open. Idempotent: a company that already has instruments is
left alone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from trastienda.core.demo import DemoContext, demo_step
from trastienda.core.models import Company
from trastienda.trading import reference
from trastienda.trading.models import Instrument

SPECS: dict[str, dict[str, Any]] = {
    "ES": {
        "market": "XMAD",
        "equities": [
            ("SAN", "ES0113900J37", "SAN", "Banco Santander", "4.1250"),
            ("IBE", "ES0144580Y14", "IBE", "Iberdrola", "12.3400"),
        ],
        "bond": ("BONO-2030", "ES0000012K61", "Bono del Estado 1.25% 2030", "96.85"),
        "index": ("IBEX 35", "FIE", "OIE"),
        "future_price": "11875.5",
        "strike": "12000",
        "option_price": "245.5",
        "option_multiplier": "10",
        "clients": [("CLI-001", "Inversiones Tajo S.L."), ("CLI-002", "Familia Ortega")],
        "texts": {
            "equities_desk": "Renta variable",
            "derivatives_desk": "Derivados y divisas",
            "house_account": "Cartera propia",
            "future": "Futuro {index} dic 2026",
            "option": "Opción call {index} {strike} jun 2027",
            "forward": "Seguro de cambio EUR/USD a 3 meses",
            "amend_comment": "Cantidad corregida por la mesa",
            "cancel_reason": "Registrada por duplicado en el front office",
        },
    },
    "IT": {
        "market": "XMIL",
        "equities": [
            ("ENEL", "IT0003128367", "ENEL", "Enel", "6.4820"),
            ("ENI", "IT0003132476", "ENI", "Eni", "14.2360"),
        ],
        "bond": ("BTP-2030", "IT0005413171", "BTP 1.65% 2030", "94.12"),
        "index": ("FTSE MIB", "FIB", "MIBO"),
        "future_price": "34120",
        "strike": "34000",
        "option_price": "610",
        "option_multiplier": "2.5",
        "clients": [("CLI-001", "Investimenti Po S.r.l."), ("CLI-002", "Famiglia Conti")],
        "texts": {
            "equities_desk": "Azionario",
            "derivatives_desk": "Derivati e cambi",
            "house_account": "Portafoglio di proprietà",
            "future": "Future {index} dic 2026",
            "option": "Opzione call {index} {strike} giu 2027",
            "forward": "Cambio a termine EUR/USD a 3 mesi",
            "amend_comment": "Quantità corretta dal desk",
            "cancel_reason": "Registrata due volte dal front office",
        },
    },
}


def _business_days_back(count: int) -> list[dt.date]:
    """``count`` weekdays before today, oldest first."""
    days: list[dt.date] = []
    day = timezone.localdate()
    while len(days) < count:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5 and (day.month, day.day) not in {(1, 1), (1, 6), (12, 25), (12, 26)}:
            days.append(day)
    return list(reversed(days))


def _reference_data(company: Company, spec: dict[str, Any]) -> dict[str, Any]:
    market = spec["market"]
    texts = spec["texts"]
    equities = reference.desk_create(company=company, code="EQ", name=texts["equities_desk"])
    derivatives = reference.desk_create(company=company, code="DER", name=texts["derivatives_desk"])
    traders = [
        reference.trader_create(company=company, code="T01", name="Lucía Martín", desk=equities),
        reference.trader_create(company=company, code="T02", name="Marco Rossi", desk=equities),
        reference.trader_create(company=company, code="T03", name="Elena Gil", desk=derivatives),
        reference.trader_create(company=company, code="T04", name="Paolo Ferri", desk=derivatives),
    ]
    brokers = [
        reference.broker_create(
            company=company, code="BRK-A", name="Alpha Securities", fix_comp_id="ALPHA"
        ),
        reference.broker_create(company=company, code="BRK-B", name="Beta Markets"),
        reference.broker_create(
            company=company, code="CPTY-FX", name="FX Bank AG", kind="counterparty"
        ),
    ]
    accounts = [
        reference.trading_account_create(
            company=company, code=code, name=name, kind="client", desk=equities
        )
        for code, name in spec["clients"]
    ] + [
        reference.trading_account_create(
            company=company,
            code="HOUSE",
            name=texts["house_account"],
            kind="house",
            desk=derivatives,
        )
    ]
    shares = [
        reference.instrument_create(
            company=company,
            code=code,
            isin=isin,
            ticker=ticker,
            name=name,
            type="equity",
            market=market,
            currency="EUR",
        )
        for code, isin, ticker, name, _price in spec["equities"]
    ]
    code, isin, name, _price = spec["bond"]
    bond = reference.instrument_create(
        company=company,
        code=code,
        isin=isin,
        name=name,
        type="bond",
        market=market,
        currency="EUR",
        maturity=dt.date(2030, 7, 30),
        coupon=Decimal("1.25"),
    )
    index, future_root, option_root = spec["index"]
    future = reference.instrument_create(
        company=company,
        code=f"{future_root}-2612",
        name=texts["future"].format(index=index),
        type="future",
        market=market,
        currency="EUR",
        expiry=dt.date(2026, 12, 18),
        multiplier=Decimal(10 if market == "XMAD" else 5),
    )
    option = reference.instrument_create(
        company=company,
        code=f"{option_root}-2706-C{spec['strike']}",
        name=texts["option"].format(index=index, strike=spec["strike"]),
        type="option",
        market=market,
        currency="EUR",
        underlying=future,
        expiry=dt.date(2027, 6, 18),
        strike=Decimal(spec["strike"]),
        option_right="call",
        multiplier=Decimal(spec["option_multiplier"]),
        exercise_style="european",
    )
    forward = reference.instrument_create(
        company=company,
        code="EURUSD-FWD-3M",
        name=texts["forward"],
        type="fx_forward",
        market="TARGET",
        currency="EUR",
        counter_currency="USD",
    )
    return {
        "traders": traders,
        "brokers": brokers,
        "accounts": accounts,
        "shares": shares,
        "bond": bond,
        "future": future,
        "option": option,
        "forward": forward,
    }


def _trades(company: Company, spec: dict[str, Any], ref: dict[str, Any]) -> int:
    from trastienda.trading import calendars
    from trastienda.trading.services import trade_amend, trade_book, trade_cancel

    days = _business_days_back(20)
    prices = [Decimal(p) for *_rest, p in spec["equities"]]
    booked = 0
    for n in range(30):
        day = days[n % len(days)]
        kind = n % 6
        account = ref["accounts"][n % 3]
        trader = ref["traders"][n % 2] if kind < 3 else ref["traders"][2 + n % 2]
        broker = ref["brokers"][n % 2]
        settlement = None
        if kind in (0, 1, 2):
            share = n % 2
            instrument = ref["shares"][share]
            quantity = str(100 * (n + 1))
            price = str(prices[share] + Decimal(n % 7) / 100)
        elif kind == 3:
            instrument = ref["bond"]
            quantity = str(50_000 * (1 + n % 3))
            price = str(Decimal(spec["bond"][3]) + Decimal(n % 5) / 20)
        elif kind == 4:
            instrument = ref["future"] if n % 2 else ref["option"]
            quantity = str(1 + n % 4)
            base = spec["future_price"] if n % 2 else spec["option_price"]
            price = str(Decimal(base) + n)
        else:
            instrument = ref["forward"]
            broker = ref["brokers"][2]
            quantity = "250000"
            price = f"1.08{n:02d}"
            settlement = day + dt.timedelta(days=91)
            while not calendars.is_business_day("TARGET", settlement):
                settlement += dt.timedelta(days=1)
        data: dict[str, Any] = {
            "trade_id": f"{company.code}-{day:%Y%m%d}-{n + 1:03d}",
            "executed_at": f"{day.isoformat()}T{9 + n % 8:02d}:{(n * 7) % 60:02d}:00",
            "account": account.code,
            "trader": trader.code,
            "instrument": instrument.code,
            "broker": broker.code,
            "side": "buy" if n % 3 else "sell",
            "quantity": quantity,
            "price": price,
            "fees": "0.50" if kind < 3 else "0",
            "commission": str(Decimal(3) + Decimal(n % 4)),
        }
        if settlement is not None:
            data["settlement_date"] = settlement.isoformat()
        trade_book(company=company, source="demo", **data)
        booked += 1
        if n == 4:
            trade_amend(
                company=company,
                trade_id=data["trade_id"],
                source="demo",
                quantity=str(int(quantity) + 50),
                comment=spec["texts"]["amend_comment"],
            )
        if n == 7:
            trade_cancel(
                company=company,
                trade_id=data["trade_id"],
                source="demo",
                reason=spec["texts"]["cancel_reason"],
            )
    return booked


def fix_report(trade: Any, broker_ref: str, price: str | None = None) -> bytes:
    """A FIX 4.4 execution report (ExecType F) confirming ``trade`` as its broker would."""
    import simplefix

    from trastienda.trading.forms import decimal_text
    from trastienda.trading.models import PRICE_PLACES, QUANTITY_PLACES

    message = simplefix.FixMessage()
    message.append_pair(8, "FIX.4.4")
    message.append_pair(35, "8")
    message.append_pair(49, trade.broker.fix_comp_id or trade.broker.code)
    message.append_pair(56, "TRASTIENDA")
    message.append_pair(17, broker_ref)
    message.append_pair(11, trade.trade_id)
    message.append_pair(150, "F")
    message.append_pair(39, "2")
    message.append_pair(1, trade.account.code)
    message.append_pair(55, trade.instrument.code)
    if trade.instrument.isin:
        message.append_pair(48, trade.instrument.isin)
        message.append_pair(22, "4")
    message.append_pair(54, "1" if trade.side == "buy" else "2")
    message.append_pair(32, decimal_text(trade.quantity, QUANTITY_PLACES))
    message.append_pair(31, price or decimal_text(trade.price, PRICE_PLACES))
    message.append_pair(15, trade.currency)
    message.append_pair(75, trade.trade_date.strftime("%Y%m%d"))
    if trade.settlement_date:
        message.append_pair(64, trade.settlement_date.strftime("%Y%m%d"))
    fees = int(trade.fees) + int(trade.commission)
    if fees:
        from trastienda.core.money import Money

        message.append_pair(12, str(Money(fees, trade.currency).to_decimal()))
        message.append_pair(13, "3")
    encoded: bytes = message.encode()
    return encoded


def _confirmations(company: Company) -> tuple[int, int]:
    """Confirm the equity trades of the latest day with one at another price; reconcile it."""
    from trastienda.trading.models import Trade
    from trastienda.trading.reconciliation import confirmations_import, trades_reconcile

    trades = list(
        Trade.objects.for_company(company)
        .filter(is_current=True, status=Trade.Status.ACTIVE, instrument__type="equity")
        .select_related("broker", "account", "instrument")
        .order_by("-trade_date", "trade_id")
    )
    if not trades:
        return 0, 0
    day = trades[0].trade_date
    chosen = [t for t in trades if t.trade_date == day][:3]
    lines = []
    for n, trade in enumerate(chosen):
        price = None
        if n == 0:
            price = str(scaled_price(trade.price) + Decimal("0.01"))
        lines.append(fix_report(trade, f"{trade.broker.code}-{day:%Y%m%d}-{n + 1:03d}", price))
    result = confirmations_import(
        company=company, content=b"\n".join(lines) + b"\n", filename=f"fills-{day}.fix"
    )
    run = trades_reconcile(company=company, trade_date=day)
    return result.imported, run.breaks


def scaled_price(price: int) -> Decimal:
    from trastienda.trading.models import PRICE_PLACES

    return Decimal(int(price)).scaleb(-PRICE_PLACES)


@demo_step(order=400)
def trading(ctx: DemoContext) -> None:
    """Reference data and a few weeks of trades, one amended and one cancelled."""
    for company in ctx.companies.values():
        if Instrument.objects.for_company(company).exists():
            continue
        spec = SPECS["IT" if company.country == "IT" else "ES"]
        try:
            with transaction.atomic():
                ref = _reference_data(company, spec)
                count = _trades(company, spec, ref)
                confirmed, breaks = _confirmations(company)
        except (ValidationError, ValueError, ImportError) as exc:  # the demo goes on
            ctx.log(f"  trading {company.code}: {getattr(exc, 'messages', exc)}")
            continue
        ctx.log(
            f"  trading {company.code}: {count} trades, one amended, one cancelled; "
            f"{confirmed} confirmations, {breaks} breaks"
        )


# The later parts' demo steps (registered when imported).
from trastienda.trading import (  # noqa: E402, F401
    demo_compliance,
    demo_expiry,
    demo_positions,
    demo_settlement,
)
