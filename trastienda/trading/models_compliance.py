"""Compliance monitoring: rules over trading activity, the restricted list, the alerts the
rules raise with their review workflow, and the back-office procedures manual (versioned,
each procedure linked to the controls it describes)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trastienda.core.models import CompanyOwned
from trastienda.trading.models import Instrument, Trade, Trader


class ComplianceRule(CompanyOwned):
    class Kind(models.TextChoices):
        POSITION_LIMIT = "position_limit", _("Position limit")
        EXPOSURE_LIMIT = "exposure_limit", _("Exposure limit")
        RESTRICTED_LIST = "restricted_list", _("Restricted list")
        OUTSIDE_HOURS = "outside_hours", _("Trading outside market hours")
        LATE_BOOKING = "late_booking", _("Late booking")
        UNUSUAL_SIZE = "unusual_size", _("Unusual size")

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    severity = models.CharField(
        _("severity"), max_length=6, choices=Severity.choices, default=Severity.MEDIUM
    )
    trader = models.ForeignKey(
        Trader,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("trader"),
        help_text=_("Empty: every trader."),
    )
    instrument = models.ForeignKey(
        Instrument,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("instrument"),
        help_text=_("Empty: every instrument."),
    )
    # position limit: quantity (10^-6); exposure limit: minor units of the currency;
    # unusual size: multiple of the trader's usual size (as a Decimal text in ``params``)
    limit = models.BigIntegerField(_("limit"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("compliance rule")
        verbose_name_plural = _("compliance rules")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "code"], name="trading_compliancerule_code_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:compliancerule_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class RestrictedInstrument(CompanyOwned):
    """An instrument on the restricted list between two dates."""

    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="+", verbose_name=_("instrument")
    )
    reason = models.CharField(_("reason"), max_length=300)
    valid_from = models.DateField(_("from"))
    valid_to = models.DateField(_("to"), null=True, blank=True)

    class Meta:
        verbose_name = _("restricted instrument")
        verbose_name_plural = _("restricted list")
        ordering = ["-valid_from", "id"]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.valid_from}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:restrictedinstrument_detail",
            kwargs={"company": self.company.code, "pk": self.pk},
        )


class Alert(CompanyOwned):
    """What a rule found; reviewed by people: assigned, justified, escalated, closed."""

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("state", "Open")
        ESCALATED = "escalated", _("Escalated")
        CLOSED = "closed", pgettext_lazy("alert", "Closed")

    rule = models.ForeignKey(
        ComplianceRule, on_delete=models.PROTECT, related_name="alerts", verbose_name=_("rule")
    )
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    date = models.DateField(_("date"))
    trade = models.ForeignKey(
        Trade,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("trade"),
    )
    trader = models.ForeignKey(
        Trader,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("trader"),
    )
    instrument = models.ForeignKey(
        Instrument,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("instrument"),
    )
    message = models.CharField(_("message"), max_length=500)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    justification = models.TextField(_("justification"), blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("escalated to"),
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(_("raised"), auto_now_add=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "fingerprint"], name="trading_alert_once")
        ]
        indexes = [models.Index(fields=["company", "state"], name="trading_alert_state")]

    def __str__(self) -> str:
        return f"{self.rule.code} {self.date}"

    def get_absolute_url(self) -> str:
        return reverse("trading:alert_detail", kwargs={"company": self.company.code, "pk": self.pk})


class Procedure(CompanyOwned):
    """A procedure of the back-office manual; its text lives in versions."""

    code = models.CharField(_("code"), max_length=20)
    title = models.CharField(_("title"), max_length=200)
    controls = models.ManyToManyField(
        ComplianceRule, related_name="procedures", blank=True, verbose_name=_("controls")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "code"], name="trading_procedure_code_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.title}"

    def get_absolute_url(self) -> str:
        return reverse(
            "trading:procedure_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class ProcedureVersion(CompanyOwned):
    """One version of a procedure's text; versions are never changed, a new one is added."""

    procedure = models.ForeignKey(
        Procedure, on_delete=models.PROTECT, related_name="versions", verbose_name=_("procedure")
    )
    version = models.PositiveIntegerField(_("version"))
    body = models.TextField(_("text"))
    change_note = models.CharField(_("what changed"), max_length=300, blank=True)
    effective_from = models.DateField(_("effective from"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("written by"),
    )
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("procedure version")
        verbose_name_plural = _("procedure versions")
        ordering = ["procedure_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "version"], name="trading_procedure_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.procedure_id} v{self.version}"
