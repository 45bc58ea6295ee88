"""Django's ``createsuperuser`` that refuses reserved names such as ``admin``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management.commands import createsuperuser

from trastienda.core.services import FORBIDDEN_USERNAMES


class Command(createsuperuser.Command):
    def _validate_username(self, username: Any, verbose_field_name: Any, database: Any) -> Any:
        if username and str(username).strip().casefold() in FORBIDDEN_USERNAMES:
            return "Error: that name is reserved; choose a personal username."
        parent: Any = super()
        return parent._validate_username(username, verbose_field_name, database)
