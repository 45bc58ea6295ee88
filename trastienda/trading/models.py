"""Trading: reference data (desks, traders, brokers, accounts, instruments) and trades captured
from the front office, each change kept as a new version.

Quantities and prices are Decimals stored as integers: quantities in units of 10^-6, prices in
units of 10^-8 of the instrument's currency (``QUANTITY_PLACES``, ``PRICE_PLACES``); fees and
amounts in minor units of the trade's currency. See ``trastienda/trading/DESIGN.md``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trastienda.core.models import CompanyOwned

QUANTITY_PLACES = 6
PRICE_PLACES = 8


class Desk(CompanyOwned):
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("desk")
        verbose_name_plural = _("desks")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="trading_desk_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("trading:desk_detail", kwargs={"company": self.company.code, "pk": self.pk})


class Trader(CompanyOwned):
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    desk = models.ForeignKey(
        Desk, on_delete=models.PROTECT, related_name="traders", verbose_name=_("desk")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("trader")
        verbose_name_plural = _("traders")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="trading_trader_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:trader_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class Broker(CompanyOwned):
    """A broker or counterparty; ``confirmation_mapping`` reads its CSV/XLSX confirmations."""

    class Kind(models.TextChoices):
        BROKER = "broker", _("Broker")
        COUNTERPARTY = "counterparty", _("Counterparty")

    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.BROKER)
    lei = models.CharField(_("LEI"), max_length=20, blank=True)
    fix_comp_id = models.CharField(
        _("FIX SenderCompID"),
        max_length=60,
        blank=True,
        help_text=_("How the broker signs its FIX execution reports."),
    )
    confirmation_mapping = models.JSONField(
        _("confirmation column mapping"), default=dict, blank=True
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("broker")
        verbose_name_plural = _("brokers")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="trading_broker_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:broker_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class TradingAccount(CompanyOwned):
    class Kind(models.TextChoices):
        CLIENT = "client", _("Client")
        HOUSE = "house", _("House")

    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices, default=Kind.CLIENT)
    partner = models.ForeignKey(
        "billing.Partner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("client"),
    )
    desk = models.ForeignKey(
        Desk,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        verbose_name=_("desk"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("trading account")
        verbose_name_plural = _("trading accounts")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="trading_account_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:tradingaccount_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class Instrument(CompanyOwned):
    class Type(models.TextChoices):
        EQUITY = "equity", pgettext_lazy("instrument type", "Equity")
        ETF = "etf", _("ETF")
        BOND = "bond", _("Bond")
        FUTURE = "future", _("Future")
        OPTION = "option", _("Option")
        FX_FORWARD = "fx_forward", _("FX forward")

    class OptionRight(models.TextChoices):
        CALL = "call", _("Call")
        PUT = "put", _("Put")

    class ExerciseStyle(models.TextChoices):
        EUROPEAN = "european", _("European")
        AMERICAN = "american", _("American")

    code = models.CharField(_("code"), max_length=40, help_text=_("ISIN, or the house code."))
    isin = models.CharField(_("ISIN"), max_length=12, blank=True)
    ticker = models.CharField(_("ticker"), max_length=30, blank=True)
    name = models.CharField(_("name"), max_length=200)
    type = models.CharField(_("type"), max_length=12, choices=Type.choices)
    market = models.CharField(
        _("market"), max_length=10, help_text=_("Calendar of the market: XMAD, XMIL, XNYS...")
    )
    currency = models.CharField(_("currency"), max_length=3)
    # bonds
    maturity = models.DateField(_("maturity"), null=True, blank=True)
    coupon = models.DecimalField(
        _("coupon %"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    # derivatives
    underlying = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="derivatives",
        verbose_name=_("underlying"),
    )
    expiry = models.DateField(_("expiry"), null=True, blank=True)
    strike = models.DecimalField(
        _("strike"), max_digits=24, decimal_places=8, null=True, blank=True
    )
    option_right = models.CharField(
        _("call/put"), max_length=4, choices=OptionRight.choices, blank=True
    )
    multiplier = models.DecimalField(_("multiplier"), max_digits=18, decimal_places=6, default=1)
    exercise_style = models.CharField(
        _("exercise style"), max_length=8, choices=ExerciseStyle.choices, blank=True
    )
    # FX forwards
    counter_currency = models.CharField(_("counter currency"), max_length=3, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "code"], name="trading_instrument_code_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:instrument_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class Trade(CompanyOwned):
    """One version of a front-office trade. Amending or cancelling a trade adds a version;
    the latest version (``is_current``) is the trade. Versions never change."""

    class Side(models.TextChoices):
        BUY = "buy", _("Buy")
        SELL = "sell", _("Sell")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CANCELLED = "cancelled", _("Cancelled")

    trade_id = models.CharField(_("trade id"), max_length=60)
    version = models.PositiveIntegerField(_("version"), default=1)
    is_current = models.BooleanField(_("current version"), default=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="active")
    executed_at = models.DateTimeField(_("executed"))
    trade_date = models.DateField(_("trade date"))
    settlement_date = models.DateField(_("settlement date"))
    account = models.ForeignKey(
        TradingAccount, on_delete=models.PROTECT, related_name="trades", verbose_name=_("account")
    )
    trader = models.ForeignKey(
        Trader, on_delete=models.PROTECT, related_name="trades", verbose_name=_("trader")
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="trades", verbose_name=_("instrument")
    )
    broker = models.ForeignKey(
        Broker, on_delete=models.PROTECT, related_name="trades", verbose_name=_("broker")
    )
    side = models.CharField(_("side"), max_length=4, choices=Side.choices)
    quantity = models.BigIntegerField(_("quantity"))  # units of 10^-6
    price = models.BigIntegerField(_("price"))  # units of 10^-8 of the currency
    currency = models.CharField(_("currency"), max_length=3)
    gross_amount = models.BigIntegerField(_("gross amount"))  # minor units
    fees = models.BigIntegerField(_("fees"), default=0)
    commission = models.BigIntegerField(_("commission"), default=0)
    late = models.BooleanField(
        _("late booking"), default=False, help_text=_("Booked after its trade date.")
    )
    source = models.CharField(_("source"), max_length=20, default="api")
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked by"),
    )
    created_at = models.DateTimeField(_("booked"), auto_now_add=True)

    class Meta:
        verbose_name = _("trade")
        verbose_name_plural = _("trades")
        ordering = ["-trade_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "trade_id", "version"], name="trading_trade_version_unique"
            ),
            models.UniqueConstraint(
                fields=["company", "trade_id"],
                condition=models.Q(is_current=True),
                name="trading_trade_one_current",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "is_current", "trade_date"], name="trading_trade_date"),
        ]

    def __str__(self) -> str:
        return f"{self.trade_id} v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("trading:trade_detail", kwargs={"company": self.company.code, "pk": self.pk})


class Confirmation(CompanyOwned):
    """An execution as a broker confirms it (FIX execution report or a line of its file).
    A later cancel (FIX ExecType H) marks the one it refers to cancelled; a correct (G)
    cancels it and stands in its place."""

    class State(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("confirmation", "Active")
        CANCELLED = "cancelled", pgettext_lazy("confirmation", "Cancelled")

    broker = models.ForeignKey(
        Broker, on_delete=models.PROTECT, related_name="confirmations", verbose_name=_("broker")
    )
    broker_ref = models.CharField(_("broker reference"), max_length=80)
    trade_ref = models.CharField(_("trade reference"), max_length=80, blank=True)
    trade_date = models.DateField(_("trade date"))
    trade_time = models.DateTimeField(_("trade time"), null=True, blank=True)
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="+", verbose_name=_("instrument")
    )
    account = models.ForeignKey(
        TradingAccount,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    side = models.CharField(_("side"), max_length=4, choices=Trade.Side.choices)
    quantity = models.BigIntegerField(_("quantity"))
    price = models.BigIntegerField(_("price"))
    currency = models.CharField(_("currency"), max_length=3)
    fees = models.BigIntegerField(_("fees"), default=0)
    settlement_date = models.DateField(_("settlement date"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="active")
    source = models.CharField(_("source"), max_length=10)
    file_hash = models.CharField(_("file fingerprint"), max_length=64)
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        verbose_name = _("confirmation")
        verbose_name_plural = _("confirmations")
        ordering = ["-trade_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["broker", "broker_ref"], name="trading_confirmation_ref_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["company", "trade_date", "state"], name="trading_conf_date"),
        ]

    def __str__(self) -> str:
        return f"{self.broker.code} {self.broker_ref}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:confirmation_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class ReconciliationRun(CompanyOwned):
    """One reconciliation of the trades of a trade date against the brokers' confirmations."""

    trade_date = models.DateField(_("trade date"))
    trades = models.PositiveIntegerField(_("trades"), default=0)
    confirmations = models.PositiveIntegerField(_("confirmations"), default=0)
    instructions = models.PositiveIntegerField(_("settlement instructions"), default=0)
    matched = models.PositiveIntegerField(_("matched"), default=0)
    breaks = models.PositiveIntegerField(_("breaks"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("run by"),
    )
    created_at = models.DateTimeField(_("run"), auto_now_add=True)

    class Meta:
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.trade_date} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:reconciliationrun_detail",
            kwargs={"company": self.company.code, "pk": self.pk},
        )


class Break(CompanyOwned):
    """A difference between our trades and a broker's confirmations. A re-run keeps a break
    that is still there (same ``fingerprint``: kind, key, ids) with its owner, comments and
    age, adds new ones and resolves those that went away."""

    class Kind(models.TextChoices):
        MISSING_BROKER = "missing_right", _("Not confirmed by the broker")
        MISSING_OURS = "missing_left", _("Confirmed, not in our trades")
        QUANTITY = "quantity", _("Quantity")
        PRICE = "price", _("Price")
        SETTLEMENT = "settlement_date", _("Settlement date")
        FEES = "fees", pgettext_lazy("trading", "Fees")
        DUPLICATE = "duplicate", _("Duplicate")
        ACCOUNT = "account", _("Account")
        SIDE = "side", _("Side")
        TRADE_REF = "trade_ref", _("Trade reference")
        INSTRUMENT = "instrument", _("Instrument")
        BROKER = "broker", _("Broker")
        MISSING_BOOKS = "missing_books", _("Not in the back-office books")
        BOOKS_ONLY = "books_only", _("In the books, not in our trades")

    class Against(models.TextChoices):
        BROKER = "broker", _("Broker's confirmations")
        BOOKS = "books", _("Back-office books")

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("state", "Open")
        RESOLVED = "resolved", _("Resolved")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    against = models.CharField(
        _("against"), max_length=6, choices=Against.choices, default=Against.BROKER
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="open")
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    trade_date = models.DateField(_("trade date"))
    broker = models.ForeignKey(
        Broker, on_delete=models.PROTECT, related_name="breaks", verbose_name=_("broker")
    )
    instrument = models.CharField(_("instrument"), max_length=40)
    account = models.CharField(_("account"), max_length=30)
    side = models.CharField(_("side"), max_length=4, choices=Trade.Side.choices, blank=True)
    trades = models.JSONField(_("trades"), default=list)
    confirmations = models.JSONField(_("confirmations"), default=list)
    instructions = models.JSONField(_("settlement instructions"), default=list)
    our_value = models.CharField(_("our value"), max_length=60, blank=True)
    broker_value = models.CharField(_("other side's value"), max_length=60, blank=True)
    difference = models.CharField(_("difference"), max_length=60, blank=True)
    first_run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("found by"),
    )
    last_run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("last seen by"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    comment = models.TextField(_("comment"), blank=True)
    resolution = models.CharField(_("resolution"), max_length=300, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)

    class Meta:
        verbose_name = _("break")
        verbose_name_plural = _("breaks")
        ordering = ["trade_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "fingerprint"],
                condition=models.Q(state="open"),
                name="trading_break_open_once",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "state", "broker"], name="trading_break_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.instrument} {self.trade_date}"

    def get_absolute_url(self) -> str:
        return reverse("trading:break_detail", kwargs={"company": self.company.code, "pk": self.pk})


# The models of the later parts live in their own modules, imported here so Django finds them.
from trastienda.trading.models_compliance import (  # noqa: E402
    Alert,
    ComplianceRule,
    Procedure,
    ProcedureVersion,
    RestrictedInstrument,
)
from trastienda.trading.models_expiry import (  # noqa: E402
    ExpiryEvent,
    ExpiryRun,
    Obligation,
    Reminder,
)
from trastienda.trading.models_positions import PnlSnapshot, Price  # noqa: E402
from trastienda.trading.models_settings import ApprovalLimit, CostMethod, TradingSettings  # noqa: E402
from trastienda.trading.models_settlement import SettlementInstruction  # noqa: E402

__all__ = [
    "PRICE_PLACES",
    "QUANTITY_PLACES",
    "Alert",
    "ApprovalLimit",
    "Break",
    "Broker",
    "ComplianceRule",
    "Confirmation",
    "CostMethod",
    "Desk",
    "ExpiryEvent",
    "ExpiryRun",
    "Instrument",
    "Obligation",
    "PnlSnapshot",
    "Price",
    "Procedure",
    "ProcedureVersion",
    "ReconciliationRun",
    "Reminder",
    "RestrictedInstrument",
    "SettlementInstruction",
    "Trade",
    "Trader",
    "TradingAccount",
    "TradingSettings",
]
