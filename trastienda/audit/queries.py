"""Reading the audit trail: one object's history, one company's entries."""

from __future__ import annotations

from typing import Any

from django.db import models

from trastienda.audit.models import AuditEntry
from trastienda.audit.services import object_type_of
from trastienda.core.models import Company


def history_for(obj: models.Model) -> models.QuerySet[AuditEntry]:
    """The entries about one object (by ``object_type`` and ``object_id``), newest first.

    For an audit entry itself, the history of the object that entry is about (the audit
    entry page shows what else happened to that object).
    """
    if isinstance(obj, AuditEntry):
        if not obj.object_type:
            return AuditEntry.objects.none()
        object_type, object_id = obj.object_type, obj.object_id
        qs = AuditEntry.objects.filter(company=obj.company_id)
    else:
        object_type, object_id = object_type_of(obj), str(obj.pk)
        qs = AuditEntry.objects.all()
    return qs.filter(object_type=object_type, object_id=object_id).order_by("-seq")


def audit_entries_for(company: Company) -> models.QuerySet[AuditEntry]:
    """The company's entries, newest first (with the acting user joined)."""
    return AuditEntry.objects.filter(company=company).select_related("user").order_by("-seq")


def object_types_for(company: Company) -> list[str]:
    """The object types that occur in a company's trail (for the filter's choices)."""
    values: Any = (
        AuditEntry.objects.filter(company=company)
        .exclude(object_type="")
        .order_by("object_type")
        .values_list("object_type", flat=True)
        .distinct()
    )
    return list(values)
