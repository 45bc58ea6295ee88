"""REST API of the audit trail: ``/api/v1/audit-entries/``, read-only, for auditors."""

from __future__ import annotations

from typing import Any

from django.db import models

from trastienda.audit.filters import AuditEntryFilterSet
from trastienda.audit.models import AuditEntry
from trastienda.audit.queries import audit_entries_for
from trastienda.core.api import CompanyModelSerializer, CompanyReadOnlyModelViewSet, router


class AuditEntrySerializer(CompanyModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "seq",
            "created_at",
            "action",
            "username",
            "ip",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "extra",
            "hash_version",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields


class AuditEntryViewSet(CompanyReadOnlyModelViewSet):
    """Entries of the active company's audit trail, newest first."""

    model = AuditEntry
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    ordering_fields = ["seq", "created_at"]
    action_perms = {"list": "core.view_all_audit", "retrieve": "core.view_all_audit"}
    lookup_field = "seq"

    def get_queryset(self) -> models.QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return AuditEntry.objects.none()
        return audit_entries_for(self.request.company)  # type: ignore[attr-defined]


router.register("audit-entries", AuditEntryViewSet, basename="audit-entry")
