"""Template filters of banking: integer minor units shown as money."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language

from trastienda.core.money import Money, format_money

register = template.Library()


@register.filter
def minor(value: Any, currency: str) -> str:
    """``{{ line.amount|minor:line.currency }}`` → "1.234,56 €" in the user's language."""
    if value is None or value == "":
        return "—"
    return format_money(Money(int(value), str(currency)), (get_language() or "en")[:2])


@register.filter
def money(value: Any) -> str:
    """``{{ balance|money }}`` for a Money: "1.234,56 €" in the user's language."""
    if not isinstance(value, Money):
        return "—" if value in (None, "") else str(value)
    return format_money(value, (get_language() or "en")[:2])
