"""Pages of background jobs: the list, one job with its live progress bar, its result file.

A member sees the jobs they started; a member whose role may change jobs
(``core.change_job``, the administrator's) sees every job of the company. A result file is
downloaded only through :func:`job_download`, by the same people: never as public media.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from trastienda.core.models import Job
from trastienda.core.permissions import has_perm

MANAGE_PERM = "core.change_job"
POLL_SECONDS = 1


def can_manage_jobs(request: HttpRequest) -> bool:
    """Whether the request's user sees every job of the active company, not only their own."""
    return has_perm(request, MANAGE_PERM)


def visible_jobs(request: HttpRequest) -> QuerySet[Job]:
    """Jobs of the active company the request's user may see."""
    company = getattr(request, "company", None)
    if company is None:
        raise PermissionDenied
    jobs = Job.objects.filter(company=company).select_related("user")
    if not can_manage_jobs(request):
        jobs = jobs.filter(user=request.user)  # type: ignore[misc]
    return jobs


def _crumbs(request: HttpRequest, job: Job | None = None) -> list[dict[str, Any]]:
    code = request.company.code  # type: ignore[attr-defined]
    crumbs: list[dict[str, Any]] = [
        {"label": _("Dashboard"), "url": reverse("dashboard", kwargs={"company": code})},
        {"label": _("Jobs"), "url": reverse("job_list", kwargs={"company": code})},
    ]
    if job is not None:
        crumbs.append({"label": job.description or job.kind})
    return crumbs


@login_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(visible_jobs(request), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "core/job_list.html",
        {
            "page": page,
            "jobs": page.object_list,
            "all_jobs": can_manage_jobs(request),
            "breadcrumbs": _crumbs(request),
        },
    )


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's page; an HTMX request gets only the progress fragment (polled every second)."""
    job = get_object_or_404(visible_jobs(request), pk=pk)
    context = {"job": job, "poll_seconds": POLL_SECONDS}
    if getattr(request, "htmx", False):
        return render(request, "core/job_progress.html", context)
    context["breadcrumbs"] = _crumbs(request, job)
    return render(request, "core/job_detail.html", context)


@login_required
@require_GET
def job_download(request: HttpRequest, pk: int) -> FileResponse:
    """The job's result file, as an attachment; recorded in the audit trail as an export."""
    from trastienda.audit.services import audit_log

    job = get_object_or_404(visible_jobs(request), pk=pk)
    if job.status != Job.Status.DONE or not job.result_file:
        raise Http404("This job has no result file.")
    try:
        handle = job.result_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The result file is gone.") from exc
    audit_log(
        action="export",
        company=job.company,
        obj=job,
        extra={"job": job.pk, "kind": job.kind, "file": job.result_name},
    )
    return FileResponse(handle, as_attachment=True, filename=job.result_name or "result")
