"""Tables of trading's lists (django-tables2, see core/tables.py). Quantities, prices and
amounts are shown and exported as exact Decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trastienda.core.tables import NUM, BaseTable, MoneyColumn
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
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


def scaled(value: int | None, places: int) -> Decimal | None:
    """An integer of 10^-places units as an exact Decimal without trailing zeros (``100``,
    ``12.5``, never ``1E+2``)."""
    if value is None:
        return None
    number = Decimal(int(value)).scaleb(-places)
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


class ScaledColumn(tables.Column):
    """An integer of 10^-``places`` units shown and exported as an exact Decimal."""

    exports_value = True  # the generic export asks value() (trastienda.core.generic)

    def __init__(self, *args: Any, places: int, **kwargs: Any) -> None:
        kwargs.setdefault("attrs", NUM)
        super().__init__(*args, **kwargs)
        self.places = places

    def render(self, value: Any) -> Any:
        return scaled(value, self.places)

    def value(self, value: Any) -> Any:
        return self.render(value)


def _link(record: Any) -> str:
    return str(record.get_absolute_url())


class DeskTable(BaseTable):
    code = tables.Column(linkify=_link)

    class Meta(BaseTable.Meta):
        model = Desk
        fields = ("pk", "code", "name", "active")


class TraderTable(BaseTable):
    code = tables.Column(linkify=_link)
    desk = tables.Column(accessor="desk__code", verbose_name=_("Desk"))
    user = tables.Column(accessor="user__username", verbose_name=_("User"))

    class Meta(BaseTable.Meta):
        model = Trader
        fields = ("pk", "code", "name", "desk", "user", "active")


class BrokerTable(BaseTable):
    code = tables.Column(linkify=_link)

    class Meta(BaseTable.Meta):
        model = Broker
        fields = ("pk", "code", "name", "kind", "lei", "fix_comp_id", "active")
        default_columns = ("code", "name", "kind", "lei", "active")


class TradingAccountTable(BaseTable):
    code = tables.Column(linkify=_link)
    desk = tables.Column(accessor="desk__code", verbose_name=_("Desk"))
    partner = tables.Column(accessor="partner", verbose_name=_("Client"))

    class Meta(BaseTable.Meta):
        model = TradingAccount
        fields = ("pk", "code", "name", "kind", "partner", "desk", "active")

    def value_partner(self, value: Any) -> str:
        return str(value or "")


class InstrumentTable(BaseTable):
    code = tables.Column(linkify=_link)
    underlying = tables.Column(accessor="underlying__code", verbose_name=_("Underlying"))

    class Meta(BaseTable.Meta):
        model = Instrument
        fields = (
            "pk",
            "code",
            "isin",
            "ticker",
            "name",
            "type",
            "market",
            "currency",
            "maturity",
            "coupon",
            "underlying",
            "expiry",
            "strike",
            "option_right",
            "multiplier",
            "exercise_style",
            "counter_currency",
            "active",
        )
        default_columns = ("code", "isin", "name", "type", "market", "currency", "active")


class TradeTable(BaseTable):
    trade_id = tables.Column(linkify=_link)
    account = tables.Column(accessor="account__code", verbose_name=_("Account"))
    trader = tables.Column(accessor="trader__code", verbose_name=_("Trader"))
    desk = tables.Column(accessor="trader__desk__code", verbose_name=_("Desk"))
    instrument = tables.Column(accessor="instrument__code", verbose_name=_("Instrument"))
    broker = tables.Column(accessor="broker__code", verbose_name=_("Broker"))
    quantity = ScaledColumn(places=QUANTITY_PLACES, verbose_name=_("Quantity"))
    price = ScaledColumn(places=PRICE_PLACES, verbose_name=_("Price"))
    gross_amount = MoneyColumn(verbose_name=_("Gross amount"))
    fees = MoneyColumn(verbose_name=pgettext_lazy("trading", "Fees"))
    commission = MoneyColumn(verbose_name=_("Commission"))
    version = tables.Column(attrs=NUM)

    class Meta(BaseTable.Meta):
        model = Trade
        fields = (
            "pk",
            "trade_id",
            "version",
            "status",
            "trade_date",
            "settlement_date",
            "executed_at",
            "account",
            "trader",
            "desk",
            "instrument",
            "broker",
            "side",
            "quantity",
            "price",
            "currency",
            "gross_amount",
            "fees",
            "commission",
            "late",
            "source",
            "comment",
        )
        default_columns = (
            "trade_id",
            "version",
            "status",
            "trade_date",
            "settlement_date",
            "account",
            "trader",
            "instrument",
            "broker",
            "side",
            "quantity",
            "price",
            "currency",
            "gross_amount",
            "late",
        )


class ConfirmationTable(BaseTable):
    broker_ref = tables.Column(linkify=_link)
    broker = tables.Column(accessor="broker__code", verbose_name=_("Broker"))
    instrument = tables.Column(accessor="instrument__code", verbose_name=_("Instrument"))
    account = tables.Column(accessor="account__code", verbose_name=_("Account"))
    quantity = ScaledColumn(places=QUANTITY_PLACES, verbose_name=_("Quantity"))
    price = ScaledColumn(places=PRICE_PLACES, verbose_name=_("Price"))
    fees = MoneyColumn(verbose_name=pgettext_lazy("trading", "Fees"))

    class Meta(BaseTable.Meta):
        model = Confirmation
        fields = (
            "pk",
            "broker_ref",
            "broker",
            "trade_ref",
            "trade_date",
            "settlement_date",
            "instrument",
            "account",
            "side",
            "quantity",
            "price",
            "currency",
            "fees",
            "state",
            "source",
            "imported_at",
        )
        default_columns = (
            "broker_ref",
            "broker",
            "trade_ref",
            "trade_date",
            "instrument",
            "account",
            "side",
            "quantity",
            "price",
            "currency",
            "fees",
            "state",
        )


class ReconciliationRunTable(BaseTable):
    id = tables.Column(linkify=_link, verbose_name=_("Run"), attrs=NUM)
    trades = tables.Column(attrs=NUM)
    confirmations = tables.Column(attrs=NUM)
    matched = tables.Column(attrs=NUM)
    breaks = tables.Column(attrs=NUM)
    created_by = tables.Column(accessor="created_by__username", verbose_name=_("Run by"))

    class Meta(BaseTable.Meta):
        model = ReconciliationRun
        fields = (
            "pk",
            "id",
            "trade_date",
            "trades",
            "confirmations",
            "matched",
            "breaks",
            "created_by",
            "created_at",
        )
        default_columns = (
            "id",
            "trade_date",
            "trades",
            "confirmations",
            "matched",
            "breaks",
            "created_by",
            "created_at",
        )


class AgeColumn(tables.Column):
    """Days since the break was opened (until it was resolved)."""

    exports_value = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("attrs", NUM)
        kwargs.setdefault("accessor", "opened_at")
        kwargs.setdefault("orderable", False)
        super().__init__(*args, **kwargs)

    def render(self, value: Any, record: Any) -> Any:
        return break_age(record)

    def value(self, value: Any, record: Any) -> Any:
        return break_age(record)


def break_age(record: Any) -> int | None:
    """Whole days from ``opened_at`` to its resolution (or now)."""
    if record.opened_at is None:
        return None
    end = record.resolved_at or timezone.now()
    return max((end - record.opened_at).days, 0)


class BreakTable(BaseTable):
    id = tables.Column(linkify=_link, verbose_name=_("Break"), attrs=NUM)
    broker = tables.Column(accessor="broker__code", verbose_name=_("Broker"))
    owner = tables.Column(accessor="owner__username", verbose_name=_("Owner"))
    age = AgeColumn(verbose_name=_("Age (days)"))

    class Meta(BaseTable.Meta):
        model = Break
        fields = (
            "pk",
            "id",
            "state",
            "kind",
            "against",
            "trade_date",
            "broker",
            "instrument",
            "account",
            "side",
            "our_value",
            "broker_value",
            "difference",
            "owner",
            "age",
            "opened_at",
            "resolved_at",
            "resolution",
        )
        default_columns = (
            "id",
            "state",
            "kind",
            "against",
            "trade_date",
            "broker",
            "instrument",
            "account",
            "side",
            "our_value",
            "broker_value",
            "difference",
            "owner",
            "age",
        )
