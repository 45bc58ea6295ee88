"""Periodic jobs of billing: recurring invoices every morning."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from trastienda.core import context
from trastienda.core.jobs import Progress, job_function
from trastienda.core.models import Company, Job

logger = logging.getLogger(__name__)


def recurring_invoices_all() -> int:
    """Run every active company's due recurring invoices; a company that fails is logged
    and the others go on. Returns how many invoices were made."""
    from trastienda.billing.services import recurring_run

    made = 0
    for company in Company.objects.filter(is_active=True):
        with context.acting(company=company, source="job"):
            try:
                made += len(recurring_run(company=company))
            except Exception:  # one company's problem must not stop the others
                logger.exception("recurring invoices failed for %s", company.code)
    return made


@db_periodic_task(crontab(hour="5", minute="3"))  # 05:03 UTC, before the working day
def recurring_invoices_daily() -> None:
    count = recurring_invoices_all()
    logger.info("recurring invoices: %s made", count)


@job_function("billing.invoice_import")
def import_invoices(job: Job, progress: Progress) -> None:
    """Params: ``path`` (the upload in the default storage, deleted afterwards), ``filename``,
    ``allow_before_lock``. Ends *done* with what was issued, or *failed* with the file's
    problems by line (nothing issued)."""
    from trastienda.billing.invoice_import_views import result_message
    from trastienda.billing.invoice_imports import invoices_import
    from trastienda.ledger.jobs import ImportRefused, error_lines

    stored = str(job.params["path"])
    try:
        with default_storage.open(stored, "rb") as handle:
            content = handle.read()
        try:
            result = invoices_import(
                company=job.company,
                content=content,
                filename=str(job.params.get("filename") or stored),
                progress=progress,
                allow_before_lock=bool(job.params.get("allow_before_lock")),
            )
        except ValidationError as exc:
            raise ImportRefused("\n".join(error_lines(exc))) from exc
    finally:
        default_storage.delete(stored)
    progress(result.issued, result.issued, result_message(result))
