"""The exception queue's table (django-tables2, see core/tables.py)."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trastienda.core.tables import NUM, BaseTable, MoneyColumn
from trastienda.matching.models import MatchException
from trastienda.matching.sources import item_url, source_label


def exception_url(record: MatchException) -> str:
    return reverse(
        "matching:matchexception_detail", kwargs={"company": record.company.code, "pk": record.pk}
    )


def _currency(record: MatchException) -> str:
    return record.currency or record.company.base_currency


class MatchExceptionTable(BaseTable):
    summary = tables.Column(linkify=exception_url)
    amount = MoneyColumn(currency=_currency)
    item_date = tables.DateColumn(verbose_name=_("Date"), attrs={"td": {"class": "text-nowrap"}})
    age = tables.Column(
        accessor="item_date",
        verbose_name=_("Age (days)"),
        order_by=("-item_date", "-id"),
        attrs=NUM,
    )
    owner = tables.Column(accessor="owner__username", verbose_name=_("Owner"), default="")
    source = tables.Column()
    work = tables.Column(
        accessor="object_id",
        verbose_name=_("Work on it"),
        orderable=False,
        exclude_from_export=True,
    )

    class Meta(BaseTable.Meta):
        model = MatchException
        fields = (
            "pk",
            "summary",
            "amount",
            "currency",
            "item_date",
            "age",
            "owner",
            "reason",
            "note",
            "state",
            "source",
            "object_id",
            "opened_at",
            "resolved_at",
            "work",
        )
        default_columns = (
            "summary",
            "amount",
            "item_date",
            "age",
            "owner",
            "reason",
        )

    def render_age(self, record: MatchException) -> int:
        return (timezone.localdate() - record.item_date).days

    def value_age(self, record: MatchException) -> int:
        return self.render_age(record)

    def render_source(self, value: str) -> str:
        return source_label(value)

    def value_source(self, value: str) -> str:
        return value

    def render_work(self, record: MatchException) -> Any:
        url = item_url(record.company.code, record.source, record.object_id)
        if not url:
            return "—"
        return format_html(
            '<a class="btn btn-outline-primary btn-sm py-0" href="{}">{}</a>', url, _("Open")
        )
