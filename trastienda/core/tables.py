"""Base table of the generic list views (django-tables2)."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _


class BaseTable(tables.Table):
    """Adds the bulk-selection checkbox; ``Meta.default_columns`` are shown until a user chooses."""

    pk = tables.CheckBoxColumn(
        accessor="pk",
        orderable=False,
        exclude_from_export=True,
        attrs={"th__input": {"data-select-all": "1", "aria-label": _("Select all")}},
    )

    class Meta:
        template_name = "generic/table.html"
        attrs = {"class": "table table-sm table-hover align-middle mb-0"}
        default_columns: tuple[str, ...] = ()

    @classmethod
    def choosable_columns(cls) -> list[tuple[str, Any]]:
        return [
            (name, col.verbose_name or name)
            for name, col in cls.base_columns.items()
            if name != "pk" and not getattr(col, "exclude_from_export", False)
        ]
