from __future__ import annotations

from typing import Any

from trastienda.core.forms import CompanyModelForm
from trastienda.documents.models import Document


class DocumentForm(CompanyModelForm):
    class Meta:
        model = Document
        fields = ("title", "kind", "reference", "document_date", "retain_until", "file", "notes")

    def clean_file(self) -> Any:
        from trastienda.core.uploads import validate_upload

        upload = self.cleaned_data.get("file")
        if upload and hasattr(upload, "content_type"):  # a new upload, not the stored file
            validate_upload(upload)
        return upload
