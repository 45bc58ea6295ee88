"""The expiry calendar's own records: dated obligations that are not instruments (contract
renewals, filings), the reminders sent (so each goes out once) and the expiry runs with
what each did to each position."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from trastienda.core.models import CompanyOwned
from trastienda.trading.models import Instrument, Trade, TradingAccount


class Obligation(CompanyOwned):
    """A dated obligation kept in the expiry calendar beside expiries and maturities."""

    class Kind(models.TextChoices):
        CONTRACT_RENEWAL = "contract_renewal", _("Contract renewal")
        REGULATORY = "regulatory", _("Regulatory filing")
        MARGIN = "margin", _("Margin call")
        OTHER = "other", _("Other")

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    due_date = models.DateField(_("due date"))
    counterparty = models.CharField(_("counterparty"), max_length=150, blank=True)
    description = models.TextField(_("description"), blank=True)
    reminder_days = models.PositiveSmallIntegerField(
        _("reminder days"),
        null=True,
        blank=True,
        help_text=_("Empty: the company's setting."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    done = models.BooleanField(_("done"), default=False)

    class Meta:
        verbose_name = _("obligation")
        verbose_name_plural = _("obligations")
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["company", "due_date"], name="trading_obligation_due")]

    def __str__(self) -> str:
        return f"{self.due_date} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:obligation_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class Reminder(CompanyOwned):
    """A reminder sent for one calendar event; the unique key makes each go out once."""

    key = models.CharField(_("event"), max_length=80)  # e.g. "instrument:12:2026-12-18"
    due_date = models.DateField(_("due date"))
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["company", "key"], name="trading_reminder_once")
        ]

    def __str__(self) -> str:
        return self.key


class ExpiryRun(CompanyOwned):
    """The expiry process of one day: what happened to every position in an instrument that
    expired or matured that day."""

    date = models.DateField(_("date"))
    events = models.PositiveIntegerField(_("events"), default=0)
    trades = models.PositiveIntegerField(_("trades booked"), default=0)
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
        verbose_name = _("expiry run")
        verbose_name_plural = _("expiry runs")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:expiryrun_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class ExpiryEvent(CompanyOwned):
    """What the expiry process did to one account's position in one instrument (once: an
    instrument expires or matures one day)."""

    class Outcome(models.TextChoices):
        EXERCISED = "exercised", _("Exercised")
        ASSIGNED = "assigned", _("Assigned")
        EXPIRED = "expired", _("Expired worthless")
        CASH_SETTLED = "cash_settled", _("Cash-settled")
        REDEEMED = "redeemed", _("Redeemed")

    run = models.ForeignKey(
        ExpiryRun, on_delete=models.PROTECT, related_name="event_rows", verbose_name=_("run")
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="+", verbose_name=_("instrument")
    )
    account = models.ForeignKey(
        TradingAccount, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    outcome = models.CharField(_("outcome"), max_length=14, choices=Outcome.choices)
    quantity = models.BigIntegerField(_("quantity"))  # 10^-6, signed position before
    reference_price = models.BigIntegerField(
        _("closing price"), null=True, blank=True
    )  # 10^-8: the underlying's close (options), the final settlement price (futures)
    amount = models.BigIntegerField(_("cash amount"), default=0)  # minor units, signed
    currency = models.CharField(_("currency"), max_length=3)
    trades = models.ManyToManyField(
        Trade, related_name="+", blank=True, verbose_name=_("resulting trades")
    )

    class Meta:
        verbose_name = _("expiry event")
        verbose_name_plural = _("expiry events")
        ordering = ["run_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "account"], name="trading_expiryevent_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.get_outcome_display()}"
