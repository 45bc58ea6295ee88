"""The exception queue: items a matching run could not pair, with an owner and an age.

One queue for every source (bank statement lines, trades...): an exception names its source
(``"banking.statementline"``) and the item's id there, keeps a summary to list it without
reaching into the source's tables, and is closed when the item gets matched.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trastienda.core.models import CompanyOwned


class MatchException(CompanyOwned):
    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("state", "Open")
        RESOLVED = "resolved", _("Resolved")

    source = models.CharField(_("source"), max_length=60)
    object_id = models.BigIntegerField(_("item"))
    summary = models.CharField(_("summary"), max_length=300)
    amount = models.BigIntegerField(_("amount"), default=0)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    item_date = models.DateField(_("date of the item"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="open")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("matching exception")
        verbose_name_plural = _("matching exceptions")
        ordering = ["item_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "object_id"],
                condition=models.Q(state="open"),
                name="matching_exception_open_once",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "state", "source"], name="matching_exc_state"),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def age_days(self) -> int:
        return (timezone.localdate() - self.item_date).days
