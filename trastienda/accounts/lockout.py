"""Brute-force protection: django-axes with one limit and one window per lockout parameter.

Axes counts failed logins (``AccessAttempt`` rows keyed by username, client address and user
agent) and compares one number with one limit. We need two independent rules:

==============  =================================================  ============================
parameter       default                                            settings
==============  =================================================  ============================
username        10 failures within 15 minutes lock it for 15 min   ``TRASTIENDA_LOCKOUT_USERNAME_*``
client address  50 failures within 60 minutes lock it for 60 min   ``TRASTIENDA_LOCKOUT_IP_*``
==============  =================================================  ============================

:class:`LockoutHandler` (``AXES_HANDLER``) counts each parameter's failures inside that
parameter's own window, and reports to axes how many rules are exhausted; the failure limit
axes compares that with is 1 (``AXES_FAILURE_LIMIT``). So every place axes decides "locked or
not" (the authentication backend before checking a password, the failure handler after it)
applies both rules. ``AXES_COOLOFF_TIME`` is the longest window: axes deletes older attempts.

The client address comes from :func:`trastienda.core.net.client_ip`, which believes
``X-Forwarded-For`` only from ``TRASTIENDA_TRUSTED_PROXIES``: a forged header changes nothing.
Usernames are compared case-insensitively, so ``MARTA`` and ``marta`` share one counter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from trastienda.core.net import client_ip as _client_ip


@dataclass(frozen=True)
class LockoutRule:
    """``limit`` failures for one value of ``parameter`` within ``window`` lock that value."""

    parameter: str  # "username" or "ip_address" (AccessAttempt field names)
    limit: int
    window: timedelta


def lockout_rules() -> tuple[LockoutRule, ...]:
    """The rules in force, read from settings on every call (tests may change them)."""
    return (
        LockoutRule(
            "username",
            int(settings.TRASTIENDA_LOCKOUT_USERNAME_FAILURES),
            timedelta(minutes=int(settings.TRASTIENDA_LOCKOUT_USERNAME_MINUTES)),
        ),
        LockoutRule(
            "ip_address",
            int(settings.TRASTIENDA_LOCKOUT_IP_FAILURES),
            timedelta(minutes=int(settings.TRASTIENDA_LOCKOUT_IP_MINUTES)),
        ),
    )


def _now(request: Any) -> Any:
    return getattr(request, "axes_attempt_time", None) or timezone.now()


def rule_failures(request: Any, credentials: Any = None) -> list[tuple[LockoutRule, int]]:
    """Each rule with the failures counted against it for this request's username and address."""
    values = {
        "username": get_client_username(request, credentials),
        "ip_address": getattr(request, "axes_ip_address", None) or client_ip(request),
    }
    now = _now(request)
    result = []
    for rule in lockout_rules():
        value = values.get(rule.parameter)
        failures = 0
        if value:
            failures = (
                AccessAttempt.objects.filter(
                    **{rule.parameter: value}, attempt_time__gte=now - rule.window
                ).aggregate(total=Sum("failures_since_start"))["total"]
                or 0
            )
        result.append((rule, failures))
    return result


def exhausted_rules(request: Any, credentials: Any = None) -> list[LockoutRule]:
    """The rules whose limit this request's username or address has reached."""
    return [
        rule for rule, failures in rule_failures(request, credentials) if failures >= rule.limit
    ]


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a separate limit and window per lockout parameter."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        """How many lockout rules are exhausted (compared by axes with a limit of 1)."""
        return len(exhausted_rules(request, credentials))

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        """On a successful login forget the *username's* failures only.

        Axes would also forget every failure from the client address, which would let anyone
        with one valid account reset the per-address counter by signing in now and then.
        """
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _deleted = AccessAttempt.objects.filter(username=username).delete()
        return count


# --- callables named in settings -------------------------------------------------------------


def client_ip(request: Any) -> str:
    """``AXES_CLIENT_IP_CALLABLE``: the trusted-proxy aware client address."""
    return _client_ip(request)


def client_username(request: Any, credentials: Any = None) -> str | None:
    """``AXES_USERNAME_CALLABLE``: the submitted username, trimmed and case-folded."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        value = credentials.get(field)
    else:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().casefold()[:255]


def failure_limit(request: Any = None, credentials: Any = None) -> int:
    """``AXES_FAILURE_LIMIT``: locked when at least one rule is exhausted (see the handler)."""
    return 1


def cooloff_time(request: Any = None) -> timedelta:
    """``AXES_COOLOFF_TIME``: the longest window; axes forgets attempts older than this."""
    return max(rule.window for rule in lockout_rules())


def retry_after_seconds(request: Any, credentials: Any = None) -> int:
    """Seconds until every exhausted rule has expired (at least one minute)."""
    rules = exhausted_rules(request, credentials) or list(lockout_rules())
    return max(60, math.ceil(max(rule.window for rule in rules).total_seconds()))


def wants_json(request: Any) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    return request.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def lockout_response(
    request: Any, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: 429, as a page or (for the API) as the API's error shape.

    The page says the same thing whether the username exists or not.
    """
    seconds = retry_after_seconds(request, credentials)
    minutes = max(1, math.ceil(seconds / 60))
    message = _(
        "Too many failed sign-in attempts. For your security, signing in is blocked for "
        "up to %(minutes)d minutes."
    ) % {"minutes": minutes}
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse(
            {"error": {"code": "locked_out", "message": message, "fields": {}}}, status=429
        )
    else:
        response = render(
            request,
            "accounts/locked_out.html",
            {"message": message, "minutes": minutes},
            status=429,
        )
    response["Retry-After"] = str(seconds)
    return response
