"""Demo data of trading's positions part: closing prices of the traded instruments for every
day with demo trades (imported through the price import, as a CSV file would be) and the
P&L of each of those days. Idempotent: a company that already has prices is left alone."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from trastienda.core.demo import DemoContext, demo_step
from trastienda.core.models import Company
from trastienda.trading.forms import decimal_text
from trastienda.trading.models import PRICE_PLACES, Price, Trade


def _prices_file(company: Company) -> tuple[bytes, list[str]]:
    """A CSV of closing prices: per traded instrument and trade day, its latest trade price
    moved by a small deterministic step (integer arithmetic: exact)."""
    trades = list(
        Trade.objects.for_company(company)
        .filter(is_current=True, status=Trade.Status.ACTIVE)
        .select_related("instrument")
        .order_by("trade_date", "executed_at", "id")
    )
    days = sorted({trade.trade_date for trade in trades})
    last: dict[int, int] = {}
    codes: dict[int, str] = {}
    lines = ["date,instrument,close"]
    by_day: dict[object, list[Trade]] = {}
    for trade in trades:
        by_day.setdefault(trade.trade_date, []).append(trade)
    for index, day in enumerate(days):
        for trade in by_day.get(day, []):
            last[trade.instrument_id] = trade.price
            codes[trade.instrument_id] = trade.instrument.code
        for number, (instrument_id, price) in enumerate(sorted(last.items())):
            step = (index * 7 + number * 3) % 11 - 4  # -4..+6 per mille
            close = price * (1000 + step) // 1000
            lines.append(
                f"{day.isoformat()},{codes[instrument_id]},{decimal_text(close, PRICE_PLACES)}"
            )
    return ("\n".join(lines) + "\n").encode(), [day.isoformat() for day in days]


@demo_step(order=410)
def positions(ctx: DemoContext) -> None:
    """Closing prices for the demo trade days, and each day's P&L run."""
    import datetime as dt

    from trastienda.trading.positions import pnl_run, prices_import

    for company in ctx.companies.values():
        if Price.objects.for_company(company).exists():
            continue
        content, days = _prices_file(company)
        if not days:
            continue
        try:
            with transaction.atomic():
                result = prices_import(
                    company=company, content=content, filename="demo-closing-prices.csv"
                )
                for day in days:
                    pnl_run(company=company, date=dt.date.fromisoformat(day))
        except ValidationError as exc:  # the demo goes on
            ctx.log(f"  positions {company.code}: {exc.messages}")
            continue
        ctx.log(
            f"  positions {company.code}: {result.created} closing prices, P&L of {len(days)} days"
        )
