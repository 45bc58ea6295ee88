"""django-axes hooks: per-username and per-address limits, client address, lockout page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from trastienda.core.net import client_ip as _client_ip


def client_ip(request: Any) -> str:
    return _client_ip(request)


def failure_limit(request: Any, credentials: Any) -> int:
    return int(settings.TRASTIENDA_LOCKOUT_USERNAME_FAILURES)


def cooloff_time(request: Any = None) -> timedelta:
    return timedelta(minutes=settings.TRASTIENDA_LOCKOUT_USERNAME_MINUTES)


def lockout_response(request: Any, *args: Any, **kwargs: Any) -> Any:
    from django.shortcuts import render

    return render(request, "accounts/locked_out.html", status=429)
