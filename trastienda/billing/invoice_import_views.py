"""The "Import invoices" page, job and API endpoint: a CSV or XLSX file of sales invoices
(:mod:`trastienda.billing.invoice_imports`), issued all or nothing.

A small file is imported in the request; a larger one is stored (private media) and imported
by the job ``billing.invoice_import``, whose page shows the progress.
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
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.billing.bulk import BulkIssueResult
from trastienda.billing.invoice_imports import HEADER, LINE, invoices_import
from trastienda.billing.models import Invoice
from trastienda.core.forms import BootstrapMixin
from trastienda.core.generic import CompanyView, company_url, deny
from trastienda.core.jobs import job_start, job_url
from trastienda.core.models import Job
from trastienda.core.permissions import has_perm, model_perm
from trastienda.core.uploads import UploadValidator, inspect_upload
from trastienda.ledger.imports import errors_by_line, line_key

ISSUE_PERM = "billing.issue_invoice"
LOCK_PERM = "ledger.post_before_lock"
ALLOWED = ("csv", "xlsx")
SYNC_MAX_BYTES = 256 * 1024
HELP = gettext_lazy(
    "A CSV or XLSX file with one row per invoice line. Columns: invoice (your key grouping "
    "the lines of one invoice), partner (code), date (YYYY-MM-DD), series, kind, currency, "
    "rate, payment_term, due_date, notes, product (SKU), description, quantity, unit, "
    "unit_price, discount, taxes (codes separated by spaces), account, cost_centre. The "
    "invoices are issued with the next numbers of their series, in date order. One wrong "
    "line imports nothing."
)
TEMPLATE_ROWS = (
    (*HEADER, *LINE),
    ("A-1", "C0001", "2026-03-02", "", "", "", "", "", "", "", "", "Consultoría", "2", "HUR",
     "60.00", "", "IVA21", "", ""),
    ("A-1", "C0001", "2026-03-02", "", "", "", "", "", "", "", "", "Desplazamiento", "1", "C62",
     "25.00", "", "IVA21", "", ""),
)  # fmt: skip


class InvoiceImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File (CSV or XLSX)"), validators=[UploadValidator(allowed=ALLOWED)]
    )


def result_message(result: BulkIssueResult) -> str:
    if not result.issued:
        return _("The file has no invoices.")
    return ngettext(
        "%(count)d invoice issued (%(first)s to %(last)s).",
        "%(count)d invoices issued (%(first)s to %(last)s).",
        result.issued,
    ) % {"count": result.issued, "first": result.first_number, "last": result.last_number}


def _import(request: Any, content: bytes, filename: str) -> BulkIssueResult:
    return invoices_import(
        company=request.company,
        content=content,
        filename=filename,
        allow_before_lock=has_perm(request, LOCK_PERM),
    )


class InvoiceImportView(CompanyView):
    """GET: the upload form (``?template=csv``: an example file). POST: import and issue."""

    template_name = "billing/invoice_import.html"

    def get_required_perm(self) -> str:
        return model_perm(Invoice, "add")

    def page(self, form: InvoiceImportForm, *, status: int = 200, **extra: Any) -> HttpResponse:
        title = _("Import invoices")
        list_url = company_url(self.request, "billing:invoice_list")
        context = {
            "form": form,
            "title": title,
            "help_text": HELP,
            "list_url": list_url,
            "breadcrumbs": [
                {"label": _("Billing"), "url": None},
                {"label": _("Invoices"), "url": list_url},
                {"label": title, "url": None},
            ],
            **extra,
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.GET.get("template") == "csv":
            text = "\n".join(",".join(row) for row in TEMPLATE_ROWS) + "\n"
            response = HttpResponse(text.encode(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="invoices-template.csv"'
            return response
        return self.page(InvoiceImportForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if not has_perm(request, ISSUE_PERM):
            raise deny(request, ISSUE_PERM)
        form = InvoiceImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(form, status=400)
        upload = form.cleaned_data["file"]
        if upload.size > SYNC_MAX_BYTES:
            return HttpResponseRedirect(job_url(_start_job(request, upload)))
        try:
            result = _import(request, upload.read(), upload.name)
        except ValidationError as exc:
            found = errors_by_line(exc)
            errors = [(where, found[where]) for where in sorted(found, key=line_key)]
            return self.page(form, status=400, errors=errors)
        return self.page(InvoiceImportForm(), result=result, message=result_message(result))


def _start_job(request: Any, upload: Any) -> Job:
    info = inspect_upload(upload, allowed=ALLOWED)
    company = request.company
    stored = default_storage.save(
        f"imports/billing/{company.code}/{secrets.token_hex(16)}.{info.extension}",
        ContentFile(upload.read()),
    )
    return job_start(
        company=company,
        user=request.user,
        kind="billing.invoice_import",  # trastienda.billing.jobs.import_invoices
        description=_("Import of invoices from %(name)s") % {"name": info.original_name},
        params={
            "path": stored,
            "filename": info.original_name,
            "allow_before_lock": has_perm(request, LOCK_PERM),
        },
    )


def api_import(request: Request) -> Response:
    """``POST /api/v1/billing/invoices/import/`` (multipart ``file``): import in the request.
    201 with ``{issued, lines, first_number, last_number}``; 400 with the problems by line."""
    upload = request.FILES.get("file")
    if upload is None:
        raise exceptions.ValidationError({"file": [_("Upload a file.")]})
    try:
        inspect_upload(upload, allowed=ALLOWED)
    except ValidationError as exc:
        raise exceptions.ValidationError({"file": exc.messages}) from exc
    try:
        result = _import(request, upload.read(), upload.name)
    except ValidationError as exc:
        raise exceptions.ValidationError(errors_by_line(exc)) from exc
    return Response(
        {
            "issued": result.issued,
            "lines": result.lines,
            "first_number": result.first_number or None,
            "last_number": result.last_number or None,
        },
        status=status.HTTP_201_CREATED,
    )


urlpatterns = [path("invoices/import/", InvoiceImportView.as_view(), name="invoice_import")]
