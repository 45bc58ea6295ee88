"""Services of the document archive: the only writers of Document rows."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from trastienda.core.models import Company
from trastienda.documents.models import Document

FIELDS = ("title", "kind", "reference", "document_date", "retain_until", "notes")


def _validate(data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if not str(data.get("title") or "").strip():
        errors["title"] = [_("Enter a title.")]
    doc_date, retain = data.get("document_date"), data.get("retain_until")
    if isinstance(doc_date, date) and isinstance(retain, date) and retain < doc_date:
        errors["retain_until"] = [_("The retention date cannot be before the document date.")]
    if errors:
        raise ValidationError(errors)


def _attach(document: Document, upload: Any) -> None:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    document.file = upload
    document.original_name = upload.name[:255]
    document.size = upload.size
    document.sha256 = digest.hexdigest()


def document_create(*, company: Company, file: Any = None, **data: Any) -> Document:
    """File a new document. ``file`` must already have passed the upload validator."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in unknown})
    _validate(data)
    document = Document(company=company, **data)
    if isinstance(file, UploadedFile):
        _attach(document, file)
    document.full_clean()
    with transaction.atomic():
        document.save()
    return document


def document_update(*, instance: Document, file: Any = None, **data: Any) -> Document:
    """Change a document's metadata, or replace its file."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in unknown})
    merged = {name: getattr(instance, name) for name in FIELDS} | data
    _validate(merged)
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=instance.pk)
        for name, value in data.items():
            setattr(document, name, value)
        if isinstance(file, UploadedFile):
            _attach(document, file)
        document.full_clean()
        document.save()
    return document


def document_delete(*, instance: Document) -> None:
    """Delete a document and, once the transaction commits, its file."""
    stored = instance.file.name if instance.file else ""
    storage = instance.file.storage if instance.file else None
    with transaction.atomic():
        instance.delete()
        if stored and storage is not None:
            transaction.on_commit(lambda: storage.delete(stored))
