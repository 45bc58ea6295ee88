"""The "Import entries" page and API endpoint: a CSV or XLSX file of journal entries
(:mod:`trastienda.ledger.imports`), posted all or nothing.

A small file is imported in the request and the page shows what was posted and skipped, or
every problem by file line. A larger one is stored (private media) and imported by the job
``ledger.import`` (:mod:`trastienda.ledger.jobs`): the page sends the user to the job's page,
whose progress bar follows the reading, checking and writing of the file.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.core.forms import BootstrapMixin
from trastienda.core.generic import CompanyView, company_url, deny
from trastienda.core.permissions import has_perm, model_perm
from trastienda.core.rest import error_body, flatten_errors, validation_message
from trastienda.core.uploads import UploadValidator, inspect_upload
from trastienda.ledger import bulk, imports
from trastienda.ledger.models import JournalEntry

POST_PERM = "ledger.post_journalentry"
LOCK_PERM = "ledger.post_before_lock"
ALLOWED = ("csv", "xlsx")
SYNC_MAX_BYTES = 512 * 1024
"""Files up to this size are imported in the request; larger ones by a background job."""

HELP = gettext_lazy(
    "A CSV or XLSX file with one row per line and the columns external_id, date, journal, "
    "reference, description, account, line_description, debit, credit, currency, "
    "amount_currency, partner, due_date, cost_centre, project (only external_id, date, "
    "journal, account and debit or credit are required). Consecutive rows with the same "
    "external_id are one entry; an external id imported before is skipped. Dates as "
    "YYYY-MM-DD or DD/MM/YYYY, amounts as the company's language writes them. One wrong line "
    "imports nothing."
)
TEMPLATE_ROWS = (
    imports.COLUMNS,
    (
        "INV-001",
        "2026-01-15",
        "SAL",
        "F-001",
        "Invoice",
        "4300",
        "",
        "121.00",
        "",
        "",
        "",
        "Customer S.L.",
        "2026-02-14",
        "",
        "",
    ),
    ("INV-001", "", "", "", "", "7000", "Sale", "", "100.00", "", "", "", "", "", ""),
    ("INV-001", "", "", "", "", "4770", "VAT", "", "21.00", "", "", "", "", "", ""),
)


class EntryImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File (CSV or XLSX)"), validators=[UploadValidator(allowed=ALLOWED)]
    )


def allowed_to_import(request: HttpRequest) -> bool:
    """Importing creates and posts entries: both permissions."""
    return has_perm(request, model_perm(JournalEntry, "add")) and has_perm(request, POST_PERM)


def start_job(request: Any, upload: Any) -> Any:
    """Store the upload (private media, random name) and start the job that imports it."""
    from trastienda.core.jobs import job_start

    info = inspect_upload(upload, allowed=ALLOWED)
    company = request.company
    path = default_storage.save(
        f"imports/ledger/{company.code}/{secrets.token_hex(16)}.{info.extension}",
        ContentFile(upload.read()),
    )
    return job_start(
        company=company,
        user=request.user,
        kind="ledger.import",
        description=_("Import of entries from %(name)s") % {"name": info.original_name},
        params={
            "path": path,
            "filename": info.original_name,
            "allow_before_lock": has_perm(request, LOCK_PERM),
        },
    )


class EntryImportView(CompanyView):
    """GET: the upload form (``?template=csv`` downloads an example file). POST: import."""

    template_name = "ledger/entry_import.html"

    def get_required_perm(self) -> str:
        return model_perm(JournalEntry, "add")

    def page(self, form: EntryImportForm, *, status: int = 200, **extra: Any) -> HttpResponse:
        title = _("Import entries")
        list_url = company_url(self.request, "ledger:journalentry_list")
        context = {
            "form": form,
            "title": title,
            "help_text": HELP,
            "list_url": list_url,
            "columns": imports.COLUMNS,
            "breadcrumbs": [
                {"label": _("Ledger"), "url": None},
                {"label": JournalEntry._meta.verbose_name_plural, "url": list_url},
                {"label": title, "url": None},
            ],
            **extra,
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.GET.get("template") == "csv":
            text = "\n".join(",".join(row) for row in TEMPLATE_ROWS) + "\n"
            response = HttpResponse(text.encode(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="entries-template.csv"'
            return response
        return self.page(EntryImportForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if not has_perm(request, POST_PERM):
            raise deny(request, POST_PERM)
        form = EntryImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(form, status=400)
        upload = form.cleaned_data["file"]
        if upload.size > SYNC_MAX_BYTES:
            from trastienda.core.jobs import job_url

            return HttpResponseRedirect(job_url(start_job(request, upload)))
        try:
            result = imports.entries_import(
                company=request.company,  # type: ignore[attr-defined]
                content=upload.read(),
                filename=upload.name,
                allow_before_lock=has_perm(request, LOCK_PERM),
            )
        except ValidationError as exc:
            found = imports.errors_by_line(exc)
            errors = [(where, found[where]) for where in sorted(found, key=imports.line_key)]
            return self.page(form, status=400, errors=errors)
        return self.page(EntryImportForm(), result=result, message=imports.result_message(result))


# --- API ----------------------------------------------------------------------------------


class EntryImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="CSV or XLSX file of entries, one row per line.")


def api_import(request: Request) -> Response:
    """``POST /api/v1/ledger/entries/import/`` (multipart ``file``): import in the request.

    201 ``{posted, skipped, lines, entries, first_number, last_number, sha256}`` when entries
    were posted; 200 with the same body when every entry had been imported before (nothing
    created); 400 with the problems by file line (``fields: {"line 17": [...]}``); 409 when
    the only problems are dates the state of the books forbids (closed or locked period, no
    open fiscal year): the file is right, the books are not open for it.
    """
    upload = request.FILES.get("file")
    if upload is None:
        raise exceptions.ValidationError({"file": [_("Upload a file.")]})
    try:
        inspect_upload(upload, allowed=ALLOWED)
    except ValidationError as exc:
        raise exceptions.ValidationError({"file": exc.messages}) from exc
    try:
        result = imports.entries_import(
            company=request.company,  # type: ignore[attr-defined]
            content=upload.read(),
            filename=upload.name,
            allow_before_lock=has_perm(request, LOCK_PERM),
        )
    except ValidationError as exc:
        if not bulk.conflicts_only(exc):
            raise exceptions.ValidationError(imports.errors_by_line(exc)) from exc
        fields = flatten_errors(imports.errors_by_line(exc))
        body = error_body("conflict", validation_message([], fields), fields)
        return Response(body, status=status.HTTP_409_CONFLICT)
    return Response(
        {
            "posted": result.posted,
            "skipped": result.skipped,
            "lines": result.lines,
            "entries": result.entries,
            "first_number": result.first_number or None,
            "last_number": result.last_number or None,
            "sha256": result.sha256,
        },
        status=status.HTTP_201_CREATED if result.posted else status.HTTP_200_OK,
    )
