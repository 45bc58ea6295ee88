"""Periodic job of trading's compliance part: every night, each active company's compliance
run over its previous business day (the calendar of the company's home market: XMAD for
Spain, XMIL for Italy, TARGET2 otherwise). A company that fails is logged and the others go
on; a day already run raises only what is new (alerts have fingerprints)."""

from __future__ import annotations

import datetime as dt
import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from trastienda.core import context
from trastienda.core.models import Company

logger = logging.getLogger(__name__)

HOME_MARKETS = {"ES": "XMAD", "IT": "XMIL", "US": "XNYS"}


def previous_business_day(company: Company, today: dt.date) -> dt.date:
    """The business day before ``today`` in the company's home market."""
    from trastienda.trading import calendars

    market = HOME_MARKETS.get(company.country, "TARGET")
    return calendars.previous_business_day(market, today)


def compliance_nightly_all(today: dt.date | None = None) -> dict[str, int]:
    """Run compliance for every active company's previous business day; returns the new
    alerts per company code."""
    from django.utils import timezone

    from trastienda.trading.compliance import compliance_run
    from trastienda.trading.models import ComplianceRule

    today = today or timezone.localdate()
    raised: dict[str, int] = {}
    for company in Company.objects.filter(is_active=True).order_by("code"):
        if not ComplianceRule.objects.filter(company=company, active=True).exists():
            continue
        with context.acting(company=company, source="job"):
            try:
                day = previous_business_day(company, today)
                raised[company.code] = compliance_run(company=company, date=day).raised
            except Exception:  # one company's problem must not stop the others
                logger.exception("compliance run failed for %s", company.code)
    return raised


@db_periodic_task(crontab(hour="4", minute="17"))  # 04:17 UTC, before the working day
def compliance_nightly() -> None:
    raised = compliance_nightly_all()
    logger.info("compliance runs: %s", raised)
