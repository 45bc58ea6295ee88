"""Helpers shared by Trastienda's management commands."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def validation_error(exc: ValidationError) -> CommandError:
    """A CommandError (exit status 1) naming each field: ``tax_id: not a valid tax id…``."""
    if hasattr(exc, "error_dict"):
        lines = [
            f"{field}: {message}"
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        lines = list(exc.messages)
    return CommandError("\n".join(lines))
