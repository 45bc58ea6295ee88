"""Periodic job of the expiry calendar: the reminders, every morning, for every company.

Registered when imported: ``TradingConfig.ready()`` imports this module (the worker
autodiscovers only ``jobs`` modules), as billing does with ``dunning_jobs``."""

from __future__ import annotations

import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from trastienda.core import context
from trastienda.trading.expiry import reminders_send_all

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(hour="5", minute="17"))  # 05:17 UTC, before the working day
def expiry_reminders_daily() -> None:
    """Every morning: remind of the expiries, maturities and obligations within their lead
    time (each event once; see :func:`trastienda.trading.expiry.reminders_send`)."""
    with context.acting(source="job"):
        sent = reminders_send_all(today=timezone.localdate())
    logger.info("expiry reminders: %s", sent)
