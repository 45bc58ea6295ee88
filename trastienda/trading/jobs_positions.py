"""Periodic job of positions and P&L: every morning, the P&L of the previous weekday for every
active company with trades (a re-run of the day replaces its figures).

Registered when imported: ``TradingConfig.ready()`` imports this module (the worker
autodiscovers only ``jobs`` modules), as it does with ``jobs_expiry``."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from trastienda.core import context
from trastienda.core.models import Company

logger = logging.getLogger(__name__)


def previous_weekday(today: dt.date) -> dt.date:
    day = today - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def pnl_run_all(day: dt.date) -> int:
    """Run the P&L of ``day`` for every active company with trades; a company that fails is
    logged and the others go on. Returns how many companies were run."""
    from trastienda.trading.models import Trade
    from trastienda.trading.positions import pnl_run

    done = 0
    for company in Company.objects.filter(is_active=True).order_by("pk"):
        if not Trade.objects.filter(company=company, trade_date__lte=day).exists():
            continue
        with context.acting(company=company, source="job"):
            try:
                pnl_run(company=company, date=day)
                done += 1
            except Exception:  # one company's problem must not stop the others
                logger.exception("P&L run failed for %s", company.code)
    return done


@db_periodic_task(crontab(hour="5", minute="29"))  # 05:29 UTC, after the night's price files
def pnl_daily() -> None:
    day = previous_weekday(timezone.localdate())
    logger.info("P&L of %s: %s companies", day, pnl_run_all(day))
