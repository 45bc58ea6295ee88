from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trastienda.core.money import Money
from trastienda.core.tables import BaseTable
from trastienda.ledger.models import (
    Account,
    CostCentre,
    Currency,
    ExchangeRate,
    FiscalYear,
    Journal,
    JournalEntry,
    LedgerSettings,
    Period,
    Project,
)

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


def _detail(name: str) -> Any:
    from django.urls import reverse

    def link(record: Any) -> str:
        return reverse(
            f"ledger:{name}_detail", kwargs={"company": record.company.code, "pk": record.pk}
        )

    return link


class CurrencyTable(BaseTable):
    code = tables.Column()
    exponent = tables.Column(attrs=NUM)

    class Meta(BaseTable.Meta):
        model = Currency
        fields = ("pk", "code", "name", "exponent", "active")
        default_columns = ("code", "name", "exponent", "active")


class ExchangeRateTable(BaseTable):
    date = tables.Column(linkify=_detail("exchangerate"))
    rate = tables.Column(attrs=NUM)

    class Meta(BaseTable.Meta):
        model = ExchangeRate
        fields = ("pk", "date", "from_currency", "to_currency", "rate", "source")
        default_columns = ("date", "from_currency", "to_currency", "rate", "source")


class AccountTable(BaseTable):
    code = tables.Column(linkify=lambda record: record.get_absolute_url())
    name = tables.Column(verbose_name=_("Name"), accessor="name_en", order_by=("code",))
    parent = tables.Column(accessor="parent__code", verbose_name=_("Parent code"))

    class Meta(BaseTable.Meta):
        model = Account
        fields = (
            "pk",
            "code",
            "name",
            "parent",
            "type",
            "subtype",
            "postable",
            "reconcilable",
            "active",
            "default_currency",
            "name_es",
            "name_it",
            "name_en",
            "level",
        )
        default_columns = ("code", "name", "type", "subtype", "postable", "active")

    def render_name(self, record: Account) -> Any:
        return format_html("{}{}", "\u2003" * record.level, record.name)

    def value_name(self, record: Account) -> str:
        return record.name


class FiscalYearTable(BaseTable):
    name = tables.Column(linkify=_detail("fiscalyear"))

    class Meta(BaseTable.Meta):
        model = FiscalYear
        fields = ("pk", "name", "start_date", "end_date", "state")
        default_columns = ("name", "start_date", "end_date", "state")


class PeriodTable(BaseTable):
    name = tables.Column(
        accessor="pk", verbose_name=_("Period"), linkify=_detail("period"), orderable=False
    )

    class Meta(BaseTable.Meta):
        model = Period
        fields = ("pk", "name", "fiscal_year", "number", "start_date", "end_date", "state")
        default_columns = ("name", "start_date", "end_date", "state")

    def render_name(self, record: Period) -> str:
        return str(record)

    def value_name(self, record: Period) -> str:
        return str(record)


class LedgerSettingsTable(BaseTable):
    name = tables.Column(
        accessor="pk",
        verbose_name=_("Settings"),
        linkify=_detail("ledgersettings"),
        orderable=False,
    )

    class Meta(BaseTable.Meta):
        model = LedgerSettings
        fields = ("pk", "name", "hard_lock_date", "lock_date")
        default_columns = ("name", "hard_lock_date", "lock_date")

    def render_name(self, record: LedgerSettings) -> str:
        return str(record)

    def value_name(self, record: LedgerSettings) -> str:
        return str(record)


class JournalTable(BaseTable):
    code = tables.Column(linkify=_detail("journal"))

    class Meta(BaseTable.Meta):
        model = Journal
        fields = ("pk", "code", "name", "type", "number_format", "active")
        default_columns = ("code", "name", "type", "number_format", "active")


class CostCentreTable(BaseTable):
    code = tables.Column(linkify=_detail("costcentre"))

    class Meta(BaseTable.Meta):
        model = CostCentre
        fields = ("pk", "code", "name", "active")
        default_columns = ("code", "name", "active")


class ProjectTable(BaseTable):
    code = tables.Column(linkify=_detail("project"))

    class Meta(BaseTable.Meta):
        model = Project
        fields = ("pk", "code", "name", "active")
        default_columns = ("code", "name", "active")


class JournalEntryTable(BaseTable):
    entry = tables.Column(
        accessor="pk", verbose_name=_("Entry"), linkify=lambda record: record.get_absolute_url()
    )
    total = tables.Column(
        accessor="total_debit", verbose_name=_("Total"), attrs=NUM, orderable=False
    )

    class Meta(BaseTable.Meta):
        model = JournalEntry
        fields = (
            "pk",
            "entry",
            "date",
            "journal",
            "reference",
            "description",
            "state",
            "total",
            "reversal_of",
            "posted_at",
            "posted_by",
        )
        default_columns = ("entry", "date", "journal", "reference", "description", "state", "total")

    def render_entry(self, record: JournalEntry) -> str:
        return str(record)

    def value_entry(self, record: JournalEntry) -> str:
        return str(record)

    def render_total(self, record: JournalEntry) -> Any:
        return Money(
            getattr(record, "total_debit", 0) or 0, record.company.base_currency
        ).to_decimal()

    def value_total(self, record: JournalEntry) -> Any:
        return self.render_total(record)
