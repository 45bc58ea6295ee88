"""Demo data of trading's expiry part: per demo company two obligations in the expiry
calendar (the renewal of a broker's contract, a regulatory filing) and the expiry run of
the latest weekday on which nothing expired (a checked, empty day: the demo books no
trades, so the other steps' figures stay as they are). Idempotent: a company that already
has obligations, or runs, keeps them."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from trastienda.core.demo import DemoContext, demo_step
from trastienda.core.models import Company
from trastienda.trading import expiry
from trastienda.trading.models import ExpiryRun, Instrument, Obligation

OBLIGATIONS = {
    "ES": (
        ("Renovación del contrato con Alpha Securities", "contract_renewal", "Alpha Securities"),
        ("Informe anual de cumplimiento normativo a la CNMV", "regulatory", "CNMV"),
    ),
    "IT": (
        ("Rinnovo del contratto con Alpha Securities", "contract_renewal", "Alpha Securities"),
        ("Relazione annuale di compliance alla Consob", "regulatory", "Consob"),
    ),
}


def _obligations(company: Company, today: dt.date) -> int:
    if Obligation.objects.for_company(company).exists():
        return 0
    viewers = expiry.company_viewers(company)
    owner = min(viewers, key=lambda user: user.pk) if viewers else None
    specs = OBLIGATIONS["IT" if company.country == "IT" else "ES"]
    renewal, filing = specs
    expiry.obligation_create(
        company=company,
        title=renewal[0],
        kind=renewal[1],
        counterparty=renewal[2],
        due_date=today + dt.timedelta(days=12),
        reminder_days=10,
        owner=owner,
        description="Demo",
    )
    expiry.obligation_create(
        company=company,
        title=filing[0],
        kind=filing[1],
        counterparty=filing[2],
        due_date=today + dt.timedelta(days=40),
        owner=owner,
        description="Demo",
    )
    return 2


def _quiet_day(company: Company, today: dt.date) -> dt.date | None:
    """The latest weekday before today on which no instrument of the company expired."""
    day = today
    for _attempt in range(30):
        day -= dt.timedelta(days=1)
        if day.weekday() >= 5:
            continue
        busy = (
            Instrument.objects.for_company(company).filter(Q(expiry=day) | Q(maturity=day)).exists()
        )
        if not busy:
            return day
    return None


@demo_step(order=420)
def expiry_demo(ctx: DemoContext) -> None:
    """Obligations in the calendar and a checked (empty) expiry day."""
    today = timezone.localdate()
    for company in ctx.companies.values():
        try:
            with transaction.atomic():
                made = _obligations(company, today)
                run = None
                if not ExpiryRun.objects.for_company(company).exists():
                    day = _quiet_day(company, today)
                    if day is not None:
                        run = expiry.expiry_process(company=company, date=day)
        except ValidationError as exc:  # the demo goes on
            ctx.log(f"  expiries {company.code}: {' '.join(exc.messages)}")
            continue
        if not made and run is None:
            continue  # nothing new
        ctx.log(
            f"  expiries {company.code}: {made} obligations"
            + (f", expiry run of {run.date}" if run is not None else "")
        )
