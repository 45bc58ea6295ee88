"""Export of a generic list in the background, for lists too long to export in a request."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.http import QueryDict
from django.urls import get_resolver
from django.utils.translation import gettext as _

from trastienda.core.exports import export_bytes
from trastienda.core.jobs import JobResult, Progress, job_function
from trastienda.core.models import Job


@job_function("core.export")
def export_list(job: Job, progress: Progress) -> JobResult:
    """Params: ``views`` (registry key), ``query`` (the list's filters), ``columns``, ``format``."""
    from trastienda.core.generic import REGISTRY, audit

    get_resolver().url_patterns  # noqa: B018 - importing the URLconf registers every list
    views = REGISTRY[job.params["views"]]
    request: Any = SimpleNamespace(
        company=job.company, user=job.user, GET=QueryDict(job.params.get("query", ""))
    )
    filterset = views.filterset(
        request.GET or None, queryset=views.get_queryset(request), request=request
    )
    queryset = filterset.qs if filterset.is_bound else filterset.queryset
    total = queryset.count()
    header, rows = views.export_rows(
        queryset, job.params["columns"], request=None, order_by=request.GET.get("sort", "")
    )

    def counted() -> Any:
        for done, row in enumerate(rows, start=1):
            if done % 500 == 0 or done == total:
                progress(done, total, _("Writing rows"))
            yield row

    fmt = job.params["format"]
    data = export_bytes(fmt, header, counted(), title=str(views.model._meta.verbose_name_plural))
    filename = views.export_filename(fmt)
    audit(
        action="export",
        company=job.company,
        object_type=views.key(),
        object_repr=filename,
        extra={"format": fmt, "rows": total, "query": job.params.get("query", ""), "job": job.pk},
    )
    return JobResult(filename=filename, content=data)
