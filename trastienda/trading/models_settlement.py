"""Settlement instructions: the back office's booking of each trade — what it will deliver or
receive, in cash and in securities, on which date — with their status, approval and the
ledger entry made when they settle. They are the back-office books of the three-way
reconciliation."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trastienda.core.models import CompanyOwned
from trastienda.trading.models import Broker, Instrument, Trade, TradingAccount


class SettlementInstruction(CompanyOwned):
    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        PENDING = "pending", pgettext_lazy("settlement", "Pending")
        MATCHED = "matched", pgettext_lazy("settlement", "Matched")
        SETTLED = "settled", pgettext_lazy("settlement", "Settled")
        FAILED = "failed", pgettext_lazy("settlement", "Failed")
        CANCELLED = "cancelled", pgettext_lazy("settlement", "Cancelled")

    trade_id = models.CharField(_("trade id"), max_length=60)
    trade_version = models.ForeignKey(
        Trade,
        on_delete=models.PROTECT,
        related_name="instructions",
        verbose_name=_("trade version"),
    )
    account = models.ForeignKey(
        TradingAccount, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="+", verbose_name=_("instrument")
    )
    broker = models.ForeignKey(
        Broker, on_delete=models.PROTECT, related_name="instructions", verbose_name=_("broker")
    )
    side = models.CharField(_("side"), max_length=4, choices=Trade.Side.choices)
    trade_date = models.DateField(_("trade date"))
    settlement_date = models.DateField(_("settlement date"))
    quantity = models.BigIntegerField(_("quantity"))  # 10^-6, unsigned; side says the way
    price = models.BigIntegerField(_("price"))  # 10^-8
    currency = models.CharField(_("currency"), max_length=3)
    gross_amount = models.BigIntegerField(_("gross amount"))  # minor units
    fees = models.BigIntegerField(_("fees"), default=0)
    commission = models.BigIntegerField(_("commission"), default=0)
    cash_amount = models.BigIntegerField(
        _("cash amount")
    )  # minor units, signed: < 0 we pay (buys), > 0 we receive (sells)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    fail_reason = models.CharField(_("fail reason"), max_length=300, blank=True)
    settled_on = models.DateField(_("settled on"), null=True, blank=True)
    entry = models.ForeignKey(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ledger entry"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)

    class Meta:
        verbose_name = _("settlement instruction")
        verbose_name_plural = _("settlement instructions")
        ordering = ["settlement_date", "id"]
        permissions = [("approve_settlementinstruction", "Can approve settlement instructions")]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "trade_id"],
                condition=~models.Q(status="cancelled"),
                name="trading_instruction_one_live",
            )
        ]
        indexes = [
            models.Index(
                fields=["company", "status", "settlement_date"], name="trading_instr_status"
            ),
            models.Index(fields=["company", "trade_date"], name="trading_instr_trade_date"),
        ]

    def __str__(self) -> str:
        return f"{self.trade_id} {self.settlement_date}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:settlementinstruction_detail",
            kwargs={"company": self.company.code, "pk": self.pk},
        )
