"""Sign-in records that Django and django-otp do not keep.

Depends on core only. Devices and recovery codes are django-otp's models
(``TOTPDevice``, ``StaticDevice``/``StaticToken``); failed attempts are django-axes' models.

Invariants
- A :class:`UserSession` row exists for each signed-in browser session that has made a request
  since it began; it is deleted when the session is signed out, expires by the absolute
  timeout, or is ended by a password change or "sign out other sessions".
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserSession(models.Model):
    """One signed-in browser session of a user (for "active sessions" and remote sign-out)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    session_key = models.CharField(_("session key"), max_length=40, unique=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-last_seen_at"]
        default_permissions = ()
        indexes = [models.Index(fields=["user", "last_seen_at"], name="accounts_session_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} · {self.ip}"
