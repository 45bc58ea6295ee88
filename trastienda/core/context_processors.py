"""Template context of the web shell: companies, navigation, notifications."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from trastienda.core.models import Company
from trastienda.core.navigation import sidebar
from trastienda.core.permissions import membership_perms


def shell(request: HttpRequest) -> dict[str, Any]:
    """Computed once per request: tables render cell templates with this context many times."""
    cached = getattr(request, "_shell_context", None)
    if cached is None:
        cached = _shell(request)
        request._shell_context = cached  # type: ignore[attr-defined]
    return cached


def _shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"company": None}
    company = getattr(request, "company", None)
    return {
        "company": company,
        "membership": getattr(request, "membership", None),
        "my_companies": Company.objects.for_user(user).filter(is_active=True),
        "sidebar": sidebar(request),
        "perms_in_company": membership_perms(getattr(request, "membership", None)),
        "unread_notifications": user.notifications.filter(read_at__isnull=True).count(),
        "LANGUAGES": settings.LANGUAGES,
    }
