"""Password validators of our own."""

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class ForbiddenUsernameValidator:
    """Refuses a password equal to a reserved account name such as ``admin``."""

    def validate(self, password: str, user: Any = None) -> None:
        from trastienda.core.services import FORBIDDEN_USERNAMES

        if password.lower() in FORBIDDEN_USERNAMES:
            raise ValidationError(_("This password is too easy to guess."), code="forbidden")

    def get_help_text(self) -> str:
        return _("Your password cannot be a reserved account name.")
