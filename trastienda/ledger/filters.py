import django_filters
from django.utils.translation import gettext_lazy as _

from trastienda.core.filters import CompanyFilterSet
from trastienda.ledger.models import (
    Account,
    AccountSubtype,
    AccountType,
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


class CurrencyFilterSet(CompanyFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = Currency
        fields = ("active",)


class ExchangeRateFilterSet(CompanyFilterSet):
    search_fields = ("from_currency__code", "to_currency__code")
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label=_("Date from")
    )
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=_("Date to"))
    from_currency = django_filters.CharFilter(
        field_name="from_currency__code", lookup_expr="iexact", label=_("From currency")
    )
    to_currency = django_filters.CharFilter(
        field_name="to_currency__code", lookup_expr="iexact", label=_("To currency")
    )
    source = django_filters.ChoiceFilter(choices=ExchangeRate.Source.choices, label=_("Source"))

    class Meta:
        model = ExchangeRate
        fields = ("source",)


class AccountFilterSet(CompanyFilterSet):
    search_fields = ("code", "name_es", "name_it", "name_en")
    type = django_filters.ChoiceFilter(choices=AccountType.choices, label=_("Type"))
    subtype = django_filters.ChoiceFilter(choices=AccountSubtype.choices, label=_("Subtype"))

    class Meta:
        model = Account
        fields = ("type", "subtype", "postable", "active", "reconcilable")


class FiscalYearFilterSet(CompanyFilterSet):
    search_fields = ("name",)

    class Meta:
        model = FiscalYear
        fields = ("state",)


class PeriodFilterSet(CompanyFilterSet):
    search_fields = ("fiscal_year__name",)

    class Meta:
        model = Period
        fields = ("state",)


class LedgerSettingsFilterSet(CompanyFilterSet):
    class Meta:
        model = LedgerSettings
        fields: tuple[str, ...] = ()


class JournalFilterSet(CompanyFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = Journal
        fields = ("type", "active")


class CostCentreFilterSet(CompanyFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = CostCentre
        fields = ("active",)


class ProjectFilterSet(CompanyFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = Project
        fields = ("active",)


class JournalEntryFilterSet(CompanyFilterSet):
    search_fields = ("number", "reference", "description", "lines__partner")
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label=_("Date from")
    )
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=_("Date to"))
    account = django_filters.CharFilter(
        field_name="lines__account__code", label=_("Account code"), distinct=True
    )

    class Meta:
        model = JournalEntry
        fields = ("journal", "state")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        request = getattr(self, "request", None)
        company = getattr(request, "company", None)
        if company is not None:
            self.filters["journal"].queryset = Journal.objects.for_company(company)
