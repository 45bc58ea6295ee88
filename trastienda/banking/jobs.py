"""Background jobs of banking: statement import with a progress bar."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from trastienda.core.errors import error_lines
from trastienda.core.jobs import Progress, job_function
from trastienda.core.models import Job


@job_function("banking.statement_import")
def import_statement(job: Job, progress: Progress) -> None:
    """Params: ``path`` (the upload in the default storage, deleted afterwards), ``filename``,
    ``bank_account`` (pk or empty). Ends *done* with what was imported, or *failed* with the
    file's problems (nothing imported)."""
    from trastienda.banking.services import statement_import
    from trastienda.ledger.jobs import ImportRefused

    stored = str(job.params["path"])
    try:
        with default_storage.open(stored, "rb") as handle:
            content = handle.read()
        try:
            result = statement_import(
                company=job.company,
                content=content,
                filename=str(job.params.get("filename") or stored),
                bank_account=job.params.get("bank_account") or None,
                user=job.user,
                progress=progress,
            )
        except ValidationError as exc:
            raise ImportRefused("\n".join(error_lines(exc))) from exc
    finally:
        default_storage.delete(stored)
    progress(
        result.lines, result.lines, _("%(lines)d movements imported.") % {"lines": result.lines}
    )
