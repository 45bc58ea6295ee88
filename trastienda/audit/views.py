"""The audit trail pages: the company's entries (filter, search, export) and one entry.

Built on the generic views of :mod:`trastienda.core.generic`; only auditors and administrators
(permission ``core.view_all_audit``) open them. Nothing here writes, except the export entry
the generic export records.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import path

from trastienda.audit.filters import AuditEntryFilterSet
from trastienda.audit.models import AuditEntry
from trastienda.audit.queries import audit_entries_for
from trastienda.audit.tables import AuditEntryTable
from trastienda.core.generic import ObjectDetailView, ObjectListView, ObjectViews

PERMISSION = "core.view_all_audit"


class AuditEntryListView(ObjectListView):
    def get_required_perm(self) -> str:
        return PERMISSION


class AuditEntryDetailView(ObjectDetailView):
    def get_required_perm(self) -> str:
        return PERMISSION


class AuditEntryViews(ObjectViews):
    """Read-only: a list and a detail page, no add/edit/delete."""

    model = AuditEntry
    table = AuditEntryTable
    filterset = AuditEntryFilterSet
    form = ModelForm  # never used: there are no edit pages
    detail_fields = (
        "seq",
        "created_at",
        "action",
        "username",
        "ip",
        "object_type",
        "object_id",
        "object_repr",
        "hash_version",
        "prev_hash",
        "hash",
    )
    detail_template = "audit/entry_detail_extra.html"
    list_view: ClassVar[type[ObjectListView]] = AuditEntryListView
    detail_view: ClassVar[type[ObjectDetailView]] = AuditEntryDetailView

    @classmethod
    def url_name(cls, action: str) -> str:
        # The generic detail page computes edit/delete links (shown only with change/delete
        # permissions, which do not exist for audit entries); point them at the entry itself.
        if action not in {"list", "detail"}:
            action = "detail"
        return f"audit:entry_{action}"

    @classmethod
    def get_queryset(cls, request: HttpRequest) -> models.QuerySet[Any]:
        return audit_entries_for(request.company)  # type: ignore[attr-defined]

    @classmethod
    def urls(cls) -> list[Any]:
        bind = {"views": cls}
        return [
            path("", cls.list_view.as_view(**bind), name="entry_list"),
            path("<int:pk>/", cls.detail_view.as_view(**bind), name="entry_detail"),
        ]
