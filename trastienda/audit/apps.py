"""The audit trail app. Depends on core only; every app's changes are recorded into it."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from trastienda.core.navigation import Menu, MenuItem


def _ensure_head(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """Re-create the chain head after ``flush`` (migrations create it the first time)."""
    from django.db import connections

    from trastienda.audit.models import AuditChainHead
    from trastienda.audit.services import head_ensure

    if AuditChainHead._meta.db_table in connections[using].introspection.table_names():
        head_ensure(using=using)


class AuditConfig(AppConfig):
    name = "trastienda.audit"
    label = "audit"
    verbose_name = _("Audit trail")
    menu = Menu(
        label=_("Audit"),
        icon="bi-journal-check",
        items=(
            MenuItem(
                _("Audit trail"), "audit:entry_list", "core.view_all_audit", "bi-journal-text"
            ),
        ),
        order=900,
    )

    def ready(self) -> None:
        from trastienda.audit import receivers, recorder

        recorder.connect()
        receivers.connect()
        post_migrate.connect(_ensure_head, sender=self, dispatch_uid="trastienda_audit_head")
