"""REST API of the document archive: ``/api/v1/documents/``.

Create and update take ``multipart/form-data`` when they carry a file; the file is checked
by extension and content (:mod:`trastienda.core.uploads`), then filed by the same services as
the archive pages (:mod:`trastienda.documents.services`), which record its name, size and
SHA-256. Files are fetched only through the permission-checked ``download`` action, never as
public media.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request

from trastienda.core.api import (
    CompanyModelSerializer,
    CompanyModelViewSet,
    file_response,
    router,
)
from trastienda.core.uploads import inspect_upload
from trastienda.documents import services
from trastienda.documents.filters import DocumentFilterSet
from trastienda.documents.models import Document


class DocumentSerializer(CompanyModelSerializer):
    file = serializers.FileField(
        write_only=True,
        required=False,
        use_url=False,
        help_text=gettext_lazy("pdf, png, jpg, xlsx, csv, txt or xml; checked by content."),
    )
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "title",
            "kind",
            "reference",
            "document_date",
            "retain_until",
            "notes",
            "file",
            "original_name",
            "size",
            "sha256",
            "download_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["original_name", "size", "sha256", "created_at", "updated_at"]

    def validate_file(self, upload: Any) -> Any:
        info = inspect_upload(upload)
        upload.name = info.original_name  # without directories or control characters
        return upload

    def get_download_url(self, obj: Document) -> str | None:
        if not obj.file:
            return None
        return reverse("api:document-download", kwargs={"pk": obj.pk})


class DocumentViewSet(CompanyModelViewSet):
    """Documents of the active company: metadata, upload, download."""

    model = Document
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilterSet  # the archive page's filters: kind, date_from/to, q
    create_service = services.document_create
    update_service = services.document_update
    delete_service = services.document_delete
    ordering_fields = ["title", "kind", "document_date", "retain_until", "created_at", "id"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_perms = {"download": "view"}

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> Any:
        """The document's file, as an attachment."""
        document = self.get_object()
        if not document.file:
            raise exceptions.NotFound(_("This document has no file."))
        name = document.original_name or PurePath(document.file.name).name
        return file_response(document.file, name)


router.register("documents", DocumentViewSet, basename="document")
