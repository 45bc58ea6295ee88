"""Download of the books as hledger, beancount or CSV: a page of the web UI and an API endpoint.

Both answer ``GET`` with ``format=hledger|beancount|csv`` (default hledger) and optional
``date_from`` / ``date_to`` (ISO dates; without them, the whole books), need the journal
book's permission (``ledger.view_journalentry``) and ``core.export_data`` like every other
export, stream the file as it is read (:mod:`trastienda.ledger.plaintext`) and record the
export in the audit trail. The journal book page links here with its date range.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from trastienda.core.api import CompanyGenericViewSet
from trastienda.core.generic import CompanyView, deny
from trastienda.core.permissions import has_perm
from trastienda.ledger import plaintext
from trastienda.ledger.models import JournalEntry
from trastienda.ledger.reports import EARLIEST, LATEST, REPORT_PERM

EXPORT_PERM = "core.export_data"
DEFAULT_FORMAT = "hledger"


class BooksExportForm(forms.Form):
    format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=[(key, label) for key, (label, _ext, _type) in plaintext.FORMATS.items()],
        required=False,
        help_text=gettext_lazy("Default: hledger."),
    )
    date_from = forms.DateField(label=gettext_lazy("From"), required=False)
    date_to = forms.DateField(label=gettext_lazy("To"), required=False)

    def clean_format(self) -> str:
        return str(self.cleaned_data.get("format") or DEFAULT_FORMAT)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("date_from", "date_to"):
            value = cleaned.get(name)
            if value is not None and not EARLIEST <= value <= LATEST:
                self.add_error(name, _("Enter a date between 1900 and 9998."))
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start is not None and end is not None and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned


def _stream(request: Any, data: Any) -> tuple[StreamingHttpResponse | None, dict[str, Any]]:
    """The download, or None and the form's errors."""
    form = BooksExportForm(data)
    if not form.is_valid():
        return None, {k: [str(m) for m in v] for k, v in form.errors.items()}
    export = plaintext.books_export(
        company=request.company,
        fmt=form.cleaned_data["format"],
        date_from=form.cleaned_data.get("date_from"),
        date_to=form.cleaned_data.get("date_to"),
        query=request.GET.urlencode(),
    )
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in export.chunks), content_type=export.content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response, {}


class BooksExportView(CompanyView):
    """``/c/<CODE>/ledger/reports/books-export/?format=...``: the file, or 400 with the errors."""

    required_perm = REPORT_PERM

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not has_perm(request, EXPORT_PERM):
            raise deny(request, EXPORT_PERM)
        response, errors = _stream(request, request.GET)
        if response is None:
            text = "\n".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
            return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
        return response


class _AnyFormat(DefaultContentNegotiation):
    """``format`` names the export here, not a renderer: errors still answer in JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class BooksExportViewSet(CompanyGenericViewSet):
    """Export of the posted books as an hledger journal, a beancount ledger or CSV (streamed);
    needs ``ledger.view_journalentry`` and ``core.export_data``; audited."""

    permission_model = JournalEntry
    action_perms = {"list": ("view", EXPORT_PERM)}
    pagination_class = None
    content_negotiation_class = _AnyFormat

    @extend_schema(
        responses={(200, "text/plain"): OpenApiTypes.STR},
        parameters=[
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=list(plaintext.FORMATS),
                description="Default: hledger.",
            ),
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="Default: no limit."),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="Default: no limit."),
        ],
    )
    def list(self, request: Request) -> Any:
        response, errors = _stream(request, request.query_params)
        if response is None:
            raise exceptions.ValidationError(errors)
        return response
