"""End-of-day prices and the daily positions and P&L snapshot.

Prices are integers of 10^-8 of the instrument's currency, as trade prices are. A snapshot
row is one day's open quantity, cost and P&L of the lots of one account and instrument that
one trader opened through one broker (realised P&L goes to the trader and broker of the
closing trade). Amounts are minor units of the instrument's currency."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from trastienda.core.models import CompanyOwned
from trastienda.trading.models import Broker, Desk, Instrument, Trader, TradingAccount


class Price(CompanyOwned):
    """An instrument's closing (or settlement) price of a day."""

    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="prices", verbose_name=_("instrument")
    )
    date = models.DateField(_("date"))
    close = models.BigIntegerField(_("closing price"))  # units of 10^-8 of the currency
    source = models.CharField(_("source"), max_length=20, default="import")
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["-date", "instrument_id"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "date"], name="trading_price_unique")
        ]
        indexes = [models.Index(fields=["company", "date"], name="trading_price_date")]

    def __str__(self) -> str:
        return f"{self.instrument.code} {self.date}"

    def get_absolute_url(self) -> str:
        return reverse("trading:price_detail", kwargs={"company": self.company.code, "pk": self.pk})


class PnlSnapshot(CompanyOwned):
    """Positions and P&L at the close of ``date`` (written by the daily P&L run; a re-run of
    the day replaces its rows)."""

    date = models.DateField(_("date"))
    account = models.ForeignKey(
        TradingAccount, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="+", verbose_name=_("instrument")
    )
    trader = models.ForeignKey(
        Trader, on_delete=models.PROTECT, related_name="+", verbose_name=_("trader")
    )
    desk = models.ForeignKey(
        Desk, on_delete=models.PROTECT, related_name="+", verbose_name=_("desk")
    )
    broker = models.ForeignKey(
        Broker, on_delete=models.PROTECT, related_name="+", verbose_name=_("broker")
    )
    currency = models.CharField(_("currency"), max_length=3)
    quantity = models.BigIntegerField(_("quantity"), default=0)  # 10^-6, signed (short < 0)
    cost = models.BigIntegerField(_("cost"), default=0)  # minor units, signed
    close = models.BigIntegerField(_("closing price"), null=True, blank=True)  # 10^-8
    market_value = models.BigIntegerField(_("market value"), null=True, blank=True)
    realised = models.BigIntegerField(_("realised P&L"), default=0)  # of the day
    realised_to_date = models.BigIntegerField(_("realised P&L to date"), default=0)
    unrealised = models.BigIntegerField(_("unrealised P&L"), null=True, blank=True)
    fees = models.BigIntegerField(_("fees and commissions"), default=0)  # of the day
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("run by"),
    )
    created_at = models.DateTimeField(_("computed"), auto_now_add=True)

    class Meta:
        verbose_name = _("P&L snapshot")
        verbose_name_plural = _("P&L snapshots")
        ordering = ["-date", "account_id", "instrument_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "date", "account", "instrument", "trader", "broker"],
                name="trading_pnl_unique",
            )
        ]
        indexes = [models.Index(fields=["company", "date"], name="trading_pnl_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.account_id}/{self.instrument_id}"
