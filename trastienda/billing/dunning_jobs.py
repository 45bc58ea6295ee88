"""Background hooks of collections (dunning): the daily proposal, the delivery job and the
demo's dunning data. Imported by ``BillingConfig.ready()`` (the worker autodiscovers only
``jobs`` modules), so the periodic task, the job kind and the demo step are registered in the
web process, the worker and the CLI alike."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from trastienda.billing import dunning
from trastienda.billing.models import DunningRun, Invoice, PromiseToPay
from trastienda.core import context
from trastienda.core.demo import DemoContext, demo_step
from trastienda.core.jobs import JobResult, Progress, job_function
from trastienda.core.models import Job

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(hour="5", minute="41"))  # 05:41 UTC, before the working day
def daily_dunning() -> None:
    """Every morning: propose a run for every company with overdue invoices and tell the
    people who review runs (see :func:`trastienda.billing.dunning.dunning_propose_all`)."""
    with context.acting(source="job"):
        proposed = dunning.dunning_propose_all(date=timezone.localdate())
    logger.info("daily dunning: %s", proposed)


@job_function(dunning.DELIVER_JOB)
def deliver_letters(job: Job, progress: Progress) -> JobResult | None:
    """Params: ``run``. Files and e-mails the letters of a confirmed run (each once)."""
    run = DunningRun.objects.for_company(job.company).get(pk=job.params["run"])
    deliveries = dunning.dunning_run_deliver(run=run, progress=progress)
    failed = sum(1 for delivery in deliveries if not delivery.ok)
    Job.objects.filter(pk=job.pk).update(
        message=f"{len(deliveries) - failed}/{len(deliveries)}"[:300]
    )
    return None


@demo_step(order=250)
def dunning_demo(ctx: DemoContext) -> None:
    """A proposed run of today (the demo's invoices of 2026 are overdue) and a promise to
    pay. Nothing is confirmed: confirming would block demo customers."""
    today = timezone.localdate()
    for company in ctx.companies.values():
        dunning.dunning_levels_default(company)
        runs = DunningRun.objects.for_company(company)
        if not runs.exists():
            try:
                with transaction.atomic():
                    run = dunning.dunning_run_propose(company=company, date=today)
                ctx.log(f"  dunning {company.code}: run with {run.letters.count()} letters")
            except ValidationError as exc:
                ctx.log(f"  dunning {company.code}: no run ({' '.join(exc.messages)})")
        if PromiseToPay.objects.for_company(company).exists():
            continue
        invoice = (
            Invoice.objects.for_company(company)
            .filter(direction="sale", state=Invoice.State.ISSUED, open_amount__gt=0)
            .order_by("-date", "-pk")
            .first()
        )
        if invoice is None:
            continue
        try:
            with transaction.atomic():
                dunning.promise_to_pay_record(
                    partner=invoice.partner,
                    invoice=invoice,
                    promised_date=today + dt.timedelta(days=14),
                    note="Demo",
                )
        except ValidationError as exc:
            ctx.log(f"  dunning {company.code}: no promise ({' '.join(exc.messages)})")
