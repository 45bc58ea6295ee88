"""Trading settings of a company: the ledger accounts settled trades post to, reminder lead
time and the cost method. One row per company, made on first use."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from trastienda.core.models import CompanyOwned


class CostMethod(models.TextChoices):
    FIFO = "fifo", _("FIFO")
    AVERAGE = "average", _("Average cost")


#: The keys a trade reconciliation may match on, in the order they are shown.
RECONCILE_KEYS = (
    ("trade_ref", _("our trade id as the broker echoes it")),
    ("trade_date", _("trade date")),
    ("instrument", _("instrument")),
    ("side", _("side")),
    ("account", _("account")),
    ("broker", _("broker")),
)


def default_reconcile_keys() -> list[str]:
    return [key for key, _label in RECONCILE_KEYS]


class TradingSettings(CompanyOwned):
    """Per company: how settlement posts to the ledger, when reminders go out and how
    realised P&L is measured."""

    cost_method = models.CharField(
        _("cost method"), max_length=8, choices=CostMethod.choices, default=CostMethod.FIFO
    )
    reminder_days = models.PositiveSmallIntegerField(
        _("reminder days"),
        default=5,
        help_text=_("Days before an expiry, maturity or obligation the reminder goes out."),
    )
    journal = models.ForeignKey(
        "ledger.Journal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("settlement journal"),
    )
    securities_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("securities (house positions)"),
    )
    settlement_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cash at brokers / settlement"),
    )
    clients_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("client money"),
    )
    fees_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fees (expense)"),
    )
    commission_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("commissions (income)"),
    )
    reconcile_keys = models.JSONField(
        _("reconciliation keys"),
        default=default_reconcile_keys,
        help_text=_("What a confirmation must share with a trade (the trade date always)."),
    )
    price_tolerance_bp = models.DecimalField(
        _("price tolerance (basis points)"), max_digits=6, decimal_places=2, default=0
    )
    fees_tolerance = models.PositiveIntegerField(
        _("fees tolerance (cents)"),
        default=1,
        help_text=_("In minor units of the trade's currency."),
    )
    realised_pnl_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("realised gains and losses"),
    )

    class Meta:
        verbose_name = _("trading settings")
        verbose_name_plural = _("trading settings")
        constraints = [
            models.UniqueConstraint(fields=["company"], name="trading_settings_one_per_company")
        ]

    def __str__(self) -> str:
        return str(_("Trading settings"))


class ApprovalLimit(CompanyOwned):
    """Settlement instructions whose cash amount is above ``amount`` (minor units of
    ``currency``) need a second person's approval before they are released."""

    currency = models.CharField(_("currency"), max_length=3)
    amount = models.BigIntegerField(_("limit"))  # minor units
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("approval limit")
        verbose_name_plural = _("approval limits")
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "currency"], name="trading_approvallimit_currency_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.amount}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:approvallimit_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )
