"""Template filters of the audit pages."""

from __future__ import annotations

from typing import Any

from django import template

from trastienda.audit.hashing import canonical_json

register = template.Library()


@register.filter
def audit_value(value: Any) -> str:
    """A recorded value as text: lists and objects as compact JSON, empty as an em dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, list | dict):
        return canonical_json(value)
    return str(value)
