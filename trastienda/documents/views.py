"""Pages of the document archive: the generic views plus a permission-checked download."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest

from trastienda.core.generic import CompanyView, ObjectViews
from trastienda.core.permissions import model_perm
from trastienda.documents import services
from trastienda.documents.filters import DocumentFilterSet
from trastienda.documents.forms import DocumentForm
from trastienda.documents.models import Document
from trastienda.documents.tables import DocumentTable


class DocumentViews(ObjectViews):
    model = Document
    table = DocumentTable
    filterset = DocumentFilterSet
    form = DocumentForm
    select_related = ("company",)
    detail_fields = (
        "title",
        "kind",
        "reference",
        "document_date",
        "retain_until",
        "notes",
        "created_at",
        "updated_at",
    )
    detail_template = "documents/detail_extra.html"
    create_service = services.document_create
    update_service = services.document_update
    delete_service = services.document_delete


class DocumentDownloadView(CompanyView):
    """Files are never public media: they stream only through this permission check."""

    views = DocumentViews
    required_perm = model_perm(Document, "view")

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        document = self.get_object()
        if not document.file:
            raise Http404
        return FileResponse(
            document.file.open("rb"),
            as_attachment=True,
            filename=document.original_name or document.file.name,
        )
