"""Filters of trading's lists, shared by the pages and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from trastienda.core.filters import CompanyFilterSet
from trastienda.trading.models import (
    Break,
    Broker,
    Confirmation,
    Desk,
    Instrument,
    ReconciliationRun,
    Trade,
    Trader,
    TradingAccount,
)


def _narrow(filterset: Any, **querysets: Any) -> None:
    """Offer only the request's company's records in the choice filters."""
    company = getattr(getattr(filterset, "request", None), "company", None)
    for name, model in querysets.items():
        filterset.filters[name].queryset = (
            model.objects.for_company(company).order_by("code")
            if company is not None
            else model.objects.none()
        )


class DeskFilterSet(CompanyFilterSet):
    search_fields = ("code", "name")
    active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Desk
        fields = ("active",)


class TraderFilterSet(CompanyFilterSet):
    search_fields = ("code", "name", "desk__code")
    desk = django_filters.ModelChoiceFilter(queryset=Desk.objects.none(), label=_("Desk"))
    active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Trader
        fields = ("desk", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _narrow(self, desk=Desk)


class BrokerFilterSet(CompanyFilterSet):
    search_fields = ("code", "name", "lei", "fix_comp_id")
    kind = django_filters.ChoiceFilter(choices=Broker.Kind.choices, label=_("Kind"))
    active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Broker
        fields = ("kind", "active")


class TradingAccountFilterSet(CompanyFilterSet):
    search_fields = ("code", "name")
    kind = django_filters.ChoiceFilter(choices=TradingAccount.Kind.choices, label=_("Kind"))
    desk = django_filters.ModelChoiceFilter(queryset=Desk.objects.none(), label=_("Desk"))
    active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = TradingAccount
        fields = ("kind", "desk", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _narrow(self, desk=Desk)


class InstrumentFilterSet(CompanyFilterSet):
    search_fields = ("code", "isin", "ticker", "name")
    type = django_filters.ChoiceFilter(choices=Instrument.Type.choices, label=_("Type"))
    market = django_filters.CharFilter(lookup_expr="iexact", label=_("Market"))
    currency = django_filters.CharFilter(lookup_expr="iexact", label=_("Currency"))
    active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Instrument
        fields = ("type", "market", "currency", "active")


class TradeFilterSet(CompanyFilterSet):
    """``q`` searches the trade id. The lists show current versions only unless
    ``all_versions`` is set (see the views and the API)."""

    search_fields = ("trade_id",)
    trade_date_from = django_filters.DateFilter(
        field_name="trade_date", lookup_expr="gte", label=_("Trade date from")
    )
    trade_date_to = django_filters.DateFilter(
        field_name="trade_date", lookup_expr="lte", label=_("Trade date to")
    )
    account = django_filters.ModelChoiceFilter(
        queryset=TradingAccount.objects.none(), label=_("Account")
    )
    trader = django_filters.ModelChoiceFilter(queryset=Trader.objects.none(), label=_("Trader"))
    desk = django_filters.ModelChoiceFilter(
        field_name="trader__desk", queryset=Desk.objects.none(), label=_("Desk")
    )
    instrument = django_filters.ModelChoiceFilter(
        queryset=Instrument.objects.none(), label=_("Instrument")
    )
    broker = django_filters.ModelChoiceFilter(queryset=Broker.objects.none(), label=_("Broker"))
    side = django_filters.ChoiceFilter(choices=Trade.Side.choices, label=_("Side"))
    status = django_filters.ChoiceFilter(choices=Trade.Status.choices, label=_("Status"))
    late = django_filters.BooleanFilter(label=_("Late booking"))
    all_versions = django_filters.BooleanFilter(
        method="filter_all_versions", label=_("Every version")
    )

    class Meta:
        model = Trade
        fields = (
            "trade_date_from",
            "trade_date_to",
            "account",
            "trader",
            "desk",
            "instrument",
            "broker",
            "side",
            "status",
            "late",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _narrow(
            self,
            account=TradingAccount,
            trader=Trader,
            desk=Desk,
            instrument=Instrument,
            broker=Broker,
        )

    def filter_all_versions(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        return queryset  # applied by the list itself, bound or not (see wants_all_versions)


class ConfirmationFilterSet(CompanyFilterSet):
    search_fields = ("broker_ref", "trade_ref", "instrument__code")
    trade_date_from = django_filters.DateFilter(
        field_name="trade_date", lookup_expr="gte", label=_("Trade date from")
    )
    trade_date_to = django_filters.DateFilter(
        field_name="trade_date", lookup_expr="lte", label=_("Trade date to")
    )
    broker = django_filters.ModelChoiceFilter(queryset=Broker.objects.none(), label=_("Broker"))
    instrument = django_filters.ModelChoiceFilter(
        queryset=Instrument.objects.none(), label=_("Instrument")
    )
    state = django_filters.ChoiceFilter(choices=Confirmation.State.choices, label=_("State"))

    class Meta:
        model = Confirmation
        fields = ("trade_date_from", "trade_date_to", "broker", "instrument", "state")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _narrow(self, broker=Broker, instrument=Instrument)


class ReconciliationRunFilterSet(CompanyFilterSet):
    trade_date = django_filters.DateFilter(label=_("Trade date"))

    class Meta:
        model = ReconciliationRun
        fields = ("trade_date",)


class BreakFilterSet(CompanyFilterSet):
    search_fields = ("instrument", "account", "comment", "resolution")
    state = django_filters.ChoiceFilter(choices=Break.State.choices, label=_("State"))
    kind = django_filters.ChoiceFilter(choices=Break.Kind.choices, label=_("Kind"))
    against = django_filters.ChoiceFilter(choices=Break.Against.choices, label=_("Against"))
    broker = django_filters.ModelChoiceFilter(queryset=Broker.objects.none(), label=_("Broker"))
    trade_date = django_filters.DateFilter(label=_("Trade date"))
    owner = django_filters.ModelChoiceFilter(queryset=None, label=_("Owner"))

    class Meta:
        model = Break
        fields = ("state", "kind", "against", "broker", "trade_date", "owner")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _narrow(self, broker=Broker)
        company = getattr(getattr(self, "request", None), "company", None)
        self.filters["owner"].queryset = company_members(company)


def company_members(company: Any) -> QuerySet[Any]:
    """The users with a membership of ``company``, by username."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    if company is None:
        return users.none()
    return users.filter(memberships__company=company).distinct().order_by("username")


def wants_all_versions(params: Any) -> bool:
    """Whether a list's query asks for every version (``all_versions=true``)."""
    return str(params.get("all_versions", "")).lower() in {"true", "1", "yes", "on", "2"}
