"""The audit trail table (shared by the page and its CSV/XLSX export)."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from trastienda.audit.hashing import canonical_json
from trastienda.audit.models import AuditEntry
from trastienda.core.tables import BaseTable


def _detail_url(record: AuditEntry, table: Any) -> str:
    company = table.request.company
    return reverse("audit:entry_detail", kwargs={"company": company.code, "pk": record.pk})


class ChangesColumn(tables.Column):
    """On the page: the changed field names (the export writes the whole JSON, see below)."""

    def render(self, value: Any) -> str:
        return ", ".join(sorted(value)) if isinstance(value, dict) else str(value)


class AuditEntryTable(BaseTable):
    seq = tables.Column(linkify=_detail_url, attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    created_at = tables.DateTimeColumn(format="SHORT_DATETIME_FORMAT")
    object_repr = tables.Column(linkify=_detail_url)
    changes = ChangesColumn(orderable=False)
    extra = ChangesColumn(orderable=False, verbose_name=_("details"))

    class Meta(BaseTable.Meta):
        model = AuditEntry
        fields = (
            "pk",
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
            "hash",
        )
        default_columns = (
            "seq",
            "created_at",
            "action",
            "username",
            "ip",
            "object_type",
            "object_repr",
            "changes",
        )
        order_by = ("-seq",)

    # Exports carry the full ``{field: [before, after]}`` and details as canonical JSON.
    def value_changes(self, value: Any) -> str:
        return canonical_json(value) if value else ""

    def value_extra(self, value: Any) -> str:
        return canonical_json(value) if value else ""
