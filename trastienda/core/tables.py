"""Base table of the generic list views (django-tables2)."""

from __future__ import annotations

from collections.abc import Callable
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


NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


class MoneyColumn(tables.Column):
    """Integer minor units shown, and exported, as a Decimal of a currency: the record's
    ``currency`` field by default, another field's name, or ``currency(record)``. Empty
    values stay empty."""

    exports_value = True  # the generic export asks value() (trastienda.core.generic)

    def __init__(
        self, *args: Any, currency: str | Callable[[Any], str] = "currency", **kwargs: Any
    ) -> None:
        kwargs.setdefault("attrs", NUM)
        super().__init__(*args, **kwargs)
        self.currency = currency

    def currency_of(self, record: Any) -> str:
        if callable(self.currency):
            return self.currency(record)
        return str(getattr(record, self.currency))

    def render(self, value: Any, record: Any) -> Any:
        from trastienda.core.money import Money

        if value is None or value == "":
            return None
        return Money(int(value), self.currency_of(record)).to_decimal()

    def value(self, value: Any, record: Any) -> Any:
        return self.render(value, record)
