"""Background jobs of the ledger (found by :func:`trastienda.core.jobs.job_kinds`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils.translation import ngettext

from trastienda.core.jobs import Progress, job_function
from trastienda.core.models import Job
from trastienda.ledger import imports

MAX_LISTED_ERRORS = 100


class ImportRefused(Exception):
    """The file was not imported: its problems, one per line (what the job page shows)."""


def error_lines(error: ValidationError, limit: int = MAX_LISTED_ERRORS) -> list[str]:
    """``["line 17: account: Unknown account 9999.", ...]`` in file order, at most ``limit``
    and a last line saying how many more there are."""
    found = sorted(
        imports.errors_by_line(error).items(), key=lambda item: imports.line_key(item[0])
    )
    lines = [f"{where}: {message}" for where, messages in found for message in messages]
    if len(lines) > limit:
        more = len(lines) - limit
        lines = [
            *lines[:limit],
            ngettext("… and %(count)d more.", "… and %(count)d more.", more) % {"count": more},
        ]
    return lines


@job_function("ledger.import")
def import_entries(job: Job, progress: Progress) -> None:
    """Params: ``path`` (the uploaded file in the default storage, deleted afterwards),
    ``filename`` and ``allow_before_lock``. The job ends *done* with what was posted and
    skipped in its message, or *failed* with the file's problems by line (nothing posted)."""
    path = str(job.params["path"])
    try:
        with default_storage.open(path, "rb") as handle:
            content = handle.read()
        try:
            result = imports.entries_import(
                company=job.company,
                content=content,
                filename=str(job.params.get("filename") or path),
                progress=progress,
                allow_before_lock=bool(job.params.get("allow_before_lock")),
            )
        except ValidationError as exc:
            raise ImportRefused("\n".join(error_lines(exc))) from exc
    finally:
        default_storage.delete(path)
    progress(result.entries, result.entries, imports.result_message(result))
