"""The audit trail: an append-only, hash-chained log of who did what, when and where.

Depends on core only. Every other app writes to it through
:func:`trastienda.audit.services.audit_log` (or automatically, through
:mod:`trastienda.audit.recorder`).

Invariants
- Entries are only ever inserted, by :func:`~trastienda.audit.services.audit_log`. Database
  triggers refuse UPDATE and DELETE of an entry. The one exception is Django's ``SET_NULL``
  when a user is deleted: the trigger lets ``user_id`` become NULL and nothing else change.
  The hash covers ``user_pk`` (the id at the time, never cleared) rather than ``user_id``.
- ``seq`` runs 1, 2, 3 ... without gaps. Entry *n* stores the hash of entry *n-1* in
  ``prev_hash`` (entry 1 stores :data:`GENESIS_HASH`), and ``hash`` = SHA-256 over
  ``prev_hash`` + the canonical JSON of the hashed fields (see ``hashing.py``).
- :class:`AuditChainHead` is one row (``pk=1``) holding the last ``seq`` and ``hash``. Appenders
  lock it (``SELECT ... FOR UPDATE``) so concurrent writers queue; a database trigger moves it
  forward on every insert, so the append costs the lock plus the insert.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trastienda.core.models import Company

GENESIS_HASH = "0" * 64
HEAD_PK = 1


class AuditAction(models.TextChoices):
    CREATE = "create", pgettext_lazy("audit action", "Create")
    UPDATE = "update", pgettext_lazy("audit action", "Update")
    DELETE = "delete", pgettext_lazy("audit action", "Delete")
    LOGIN = "login", _("Login")
    LOGOUT = "logout", _("Logout")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOCKOUT = "lockout", _("Lockout")
    PERMISSION_DENIED = "permission_denied", _("Permission denied")
    EXPORT = "export", _("Data export")
    JOB_FAILED = "job_failed", _("Job failed")
    TWO_FACTOR = "two_factor", _("Two-factor authentication")
    PASSWORD_CHANGE = "password_change", _("Password change")
    OTHER = "other", _("Other")


class AuditEntry(models.Model):
    """One event in the audit trail. Never updated, never deleted."""

    Action = AuditAction

    seq = models.PositiveBigIntegerField(_("sequence"), unique=True, editable=False)
    created_at = models.DateTimeField(_("time"), editable=False, db_index=True)
    company = models.ForeignKey(
        Company,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("company"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    user_pk = models.BigIntegerField(
        _("user id"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The id of the acting user at the time; kept when the user is deleted."),
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, null=True, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=255, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    extra = models.JSONField(_("details"), default=dict, blank=True)
    hash_version = models.PositiveSmallIntegerField(_("hash version"), default=1)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-seq"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["object_type", "object_id", "-seq"], name="audit_object_idx"),
            models.Index(fields=["company", "-seq"], name="audit_company_idx"),
            models.Index(fields=["user_pk", "-seq"], name="audit_user_idx"),
            models.Index(fields=["action", "-seq"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_action_display()} {self.object_repr}".strip()


class AuditChainHead(models.Model):
    """The single row (``pk=1``) that serialises appends and records the end of the chain."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("audit chain head")
        default_permissions = ()

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"
