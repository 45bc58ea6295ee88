"""Background jobs with progress: imports, exports and anything too long for a request.

A module declares what a kind of job does with :func:`job_function`, and an interface starts
one with :func:`job_start`::

    @job_function("billing.export_invoices")
    def export_invoices(job: Job, progress: Progress) -> JobResult:
        rows = invoice_list(company=job.company, **job.params)
        for i, row in enumerate(rows, 1):
            ...
            progress(i, len(rows), _("Writing invoices"))
        return JobResult(filename="invoices.xlsx", content=data)

    job = job_start(company=c, user=u, kind="billing.export_invoices",
                    description=_("Invoices of 2025"), params={"year": 2025})

``job_start`` writes the :class:`~trastienda.core.models.Job` row and, once the transaction
commits, queues a Huey task (``trastienda worker`` runs them; SQLite storage by default,
Redis when ``REDIS_URL`` is set). The task runs the function as the user who started it, in
that user's company (:func:`trastienda.core.context.acting`, source ``"job"``); its progress
callback updates the Job row, throttled. When the function returns, the job is *done* (its
result file, if any, saved to ``Job.result_file``); when it raises, the job is *failed* with
the error's text, and the failure is audited. Either way the user gets a notification.

Job functions live in a module named ``jobs.py`` of their app (found by autodiscovery, in the
web process and in the worker alike). A job function that wants its progress seen while it
runs must not hold one transaction across the whole job: progress written inside a
transaction becomes visible only when it commits. Validate first, then write in batches, or
report progress while validating and write everything in one short transaction at the end.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.module_loading import autodiscover_modules
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from trastienda.core import context
from trastienda.core.models import Company, IdempotencyKey, Job, Notification

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
PROGRESS_INTERVAL_SECONDS = 0.5
READ_NOTIFICATION_RETENTION = timedelta(days=90)
# A job still "running" after this long was interrupted (its worker stopped or was killed).
JOB_STALE_AFTER = timedelta(hours=12)


@dataclass(frozen=True)
class JobResult:
    """A file a job produced, offered to the user for download."""

    filename: str
    content: bytes


JobFunction = Callable[[Job, "Progress"], JobResult | None]

_REGISTRY: dict[str, JobFunction] = {}


class ImproperlyConfiguredJob(RuntimeError):
    """Two functions claim the same job kind."""


_discovered = threading.Event()


def job_function(kind: str) -> Callable[[JobFunction], JobFunction]:
    """Register the function that runs jobs of ``kind`` (``"app.what"``, unique)."""

    def register(fn: JobFunction) -> JobFunction:
        existing = _REGISTRY.get(kind)
        if existing is not None and existing is not fn:
            qualname = f"{existing.__module__}.{existing.__qualname__}"
            raise ImproperlyConfiguredJob(f"job kind {kind!r} is already registered by {qualname}")
        _REGISTRY[kind] = fn
        return fn

    return register


def job_kinds() -> dict[str, JobFunction]:
    """Every registered job function by kind (after importing every app's ``jobs`` module)."""
    if not _discovered.is_set():
        autodiscover_modules("jobs")
        _discovered.set()
    return dict(_REGISTRY)


class Progress:
    """The callback a job function reports its progress with: ``progress(done, total, msg)``.

    Writes go to the Job row at most every :data:`PROGRESS_INTERVAL_SECONDS` or when the
    percentage moves by at least one point, and always for the last step, so that a loop
    over a million rows costs a few hundred small updates.
    """

    def __init__(self, job: Job, *, interval: float = PROGRESS_INTERVAL_SECONDS) -> None:
        self.job = job
        self.interval = interval
        self.writes = 0
        self._last_time = float("-inf")
        self._last_percent = -1
        self._last: tuple[int, int, str] | None = None

    def __call__(self, done: int, total: int, message: str = "") -> None:
        done, total = max(0, int(done)), max(0, int(total))
        message = str(message)[:300]
        state = (done, total, message)
        if state == self._last:
            return
        percent = (done * 100) // total if total else 0
        now = time.monotonic()
        final = bool(total) and done >= total
        if not (
            final or now - self._last_time >= self.interval or percent >= self._last_percent + 1
        ):
            return
        Job.objects.filter(pk=self.job.pk).update(
            progress_done=done, progress_total=total, message=message
        )
        self.job.progress_done, self.job.progress_total, self.job.message = state
        self._last, self._last_time, self._last_percent = state, now, percent
        self.writes += 1


def job_start(
    *,
    company: Company,
    user: Any,
    kind: str,
    description: str = "",
    params: dict[str, Any] | None = None,
) -> Job:
    """Record a job and queue it to run once the current transaction commits.

    ``params`` must be JSON-serialisable (they travel through the queue's storage).
    Raises ValidationError naming the field for an unknown kind or bad parameters.
    """
    params = dict(params or {})
    errors: dict[str, list[str]] = {}
    if kind not in job_kinds():
        errors["kind"] = [_("Unknown kind of job: %(kind)s.") % {"kind": kind}]
    try:
        DjangoJSONEncoder().encode(params)
    except TypeError as exc:
        errors["params"] = [str(exc)]
    if company is None or company.pk is None:
        errors["company"] = [_("A job belongs to a company.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        job = Job.objects.create(
            company=company,
            user=user if getattr(user, "is_authenticated", False) else None,
            kind=kind,
            description=str(description)[:300],
            params=params,
        )
        transaction.on_commit(lambda: job_run_task(job.pk))
    return job


@db_task(retries=0)
def job_run_task(job_id: int) -> None:
    """The Huey task: run one recorded job."""
    job_execute(job_id=job_id)


def job_execute(*, job_id: int) -> Job | None:
    """Run the job ``job_id`` now, in this process (the worker calls this).

    A job that is not *queued* (already run, or run by another worker) is left alone.
    """
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        logger.warning("job %s is not queued any more; not run again", job_id)
        return None
    job = Job.objects.select_related("company", "user").get(pk=job_id)
    fn = job_kinds().get(job.kind)
    progress = Progress(job)
    with (
        context.acting(user=job.user, company=job.company, source="job", ip=None),
        translation.override(_language_of(job)),
    ):
        try:
            if fn is None:
                raise LookupError(_("Unknown kind of job: %(kind)s.") % {"kind": job.kind})
            result = fn(job, progress)
        except Exception as exc:
            logger.exception("job %s (%s) failed", job.pk, job.kind)
            _finish_failed(job, error_text(exc))
        else:
            _finish_done(job, result)
    job.refresh_from_db()
    return job


def _language_of(job: Job) -> str:
    """The language the job speaks (messages, notifications, files): its user's, else the
    company's."""
    profile = getattr(job.user, "profile", None) if job.user is not None else None
    return (profile.language if profile is not None else "") or job.company.language


def error_text(exc: BaseException) -> str:
    """What the user reads about a failure: the validation messages, or the error's text."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            parts = [
                f"{field}: {message}" if field != "__all__" else str(message)
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
        else:
            parts = list(exc.messages)
        text = "; ".join(parts)
    else:
        text = str(exc).strip() or type(exc).__name__
    return text[:MAX_ERROR_CHARS]


def job_url(job: Job) -> str:
    try:
        return reverse("job_detail", kwargs={"company": job.company.code, "pk": job.pk})
    except NoReverseMatch:  # pragma: no cover - the URL is always installed
        return ""


def _label(job: Job) -> str:
    return job.description or job.kind


def _finish_done(job: Job, result: JobResult | None) -> None:
    with transaction.atomic():
        if result is not None:
            name = get_valid_filename(result.filename) or "result"
            job.result_file.save(f"{job.pk}-{name}", ContentFile(result.content), save=False)
            job.result_name = name[:200]
        job.status = Job.Status.DONE
        job.finished_at = timezone.now()
        if job.progress_total:
            job.progress_done = job.progress_total
        job.save(
            update_fields=["status", "finished_at", "progress_done", "result_file", "result_name"]
        )
        if job.user_id is not None:
            Notification.objects.create(
                user_id=job.user_id,
                company=job.company,
                level=Notification.Level.SUCCESS,
                message=(_("Finished: %(job)s") % {"job": _label(job)})[:500],
                url=job_url(job),
            )


def _finish_failed(job: Job, error: str) -> None:
    from trastienda.audit.services import audit_log

    job.status = Job.Status.FAILED
    job.finished_at = timezone.now()
    job.error = error
    try:
        with transaction.atomic():
            job.save(update_fields=["status", "finished_at", "error"])
            if job.user_id is not None:
                Notification.objects.create(
                    user_id=job.user_id,
                    company=job.company,
                    level=Notification.Level.ERROR,
                    message=(_("Failed: %(job)s") % {"job": _label(job)})[:500],
                    url=job_url(job),
                )
            audit_log(
                action="job_failed",
                company=job.company,
                user=job.user,
                obj=job,
                extra={"kind": job.kind, "error": error},
            )
    except Exception:
        # The job must not stay "running" because the notification or audit failed.
        logger.exception("could not record the failure of job %s; marking it failed", job.pk)
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, finished_at=job.finished_at, error=error
        )


# --- periodic maintenance -------------------------------------------------------------------


def maintenance_purge(*, now: Any = None) -> dict[str, int]:
    """Delete expired API idempotency keys and notifications read long ago.

    Returns the number of rows deleted per kind. Runs daily (see :func:`daily_maintenance`).
    """
    now = now or timezone.now()
    keys, _detail = IdempotencyKey.objects.filter(
        created_at__lt=now - settings.TRASTIENDA_IDEMPOTENCY_TTL
    ).delete()
    notes, _detail = Notification.objects.filter(
        read_at__isnull=False, read_at__lt=now - READ_NOTIFICATION_RETENTION
    ).delete()
    return {"idempotency_keys": keys, "notifications": notes}


def jobs_fail_stale(*, now: Any = None) -> int:
    """Mark as failed the jobs left *running* by a worker that stopped; returns how many.

    Each is notified and audited like any failure, so nobody waits for it forever.
    """
    now = now or timezone.now()
    stale = Job.objects.filter(
        status=Job.Status.RUNNING, started_at__lt=now - JOB_STALE_AFTER
    ).select_related("company", "user")
    count = 0
    for job in stale:
        with translation.override(_language_of(job)):
            message = _(
                "Interrupted: the worker stopped while the job was running. Start it again."
            )
            _finish_failed(job, message)
        count += 1
    return count


@db_periodic_task(crontab(minute="7"))
def hourly_maintenance() -> None:
    """Every hour: fail the jobs whose worker stopped under them."""
    with context.acting(source="job"):
        count = jobs_fail_stale()
    if count:
        logger.warning("%s interrupted job(s) marked as failed", count)


@db_periodic_task(crontab(hour="3", minute="17"))  # 03:17 UTC
def daily_maintenance() -> None:
    """Every night: purge what has expired."""
    with context.acting(source="job"):
        counts = maintenance_purge()
    logger.info("daily maintenance: %s", counts)
