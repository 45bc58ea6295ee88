"""Receivers that audit logins, logouts, failed logins and lockouts.

Connected in :meth:`trastienda.audit.apps.AuditConfig.ready`. A failed login records the
attempted username and the client address, never the password (Django has already replaced
it in ``credentials``, and we keep only the username anyway).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from trastienda.audit.models import AuditAction
from trastienda.audit.services import audit_log
from trastienda.core import context
from trastienda.core.net import client_ip


def _ip(request: Any) -> str | None:
    if request is None or not hasattr(request, "META"):
        return context.current().ip
    return getattr(request, "client_ip", None) or client_ip(request)


def _user_agent(request: Any) -> dict[str, str]:
    agent = getattr(request, "META", {}).get("HTTP_USER_AGENT", "") if request else ""
    return {"user_agent": str(agent)[:200]} if agent else {}


def on_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_log(action=AuditAction.LOGIN, user=user, ip=_ip(request), extra=_user_agent(request))


def on_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        return
    audit_log(action=AuditAction.LOGOUT, user=user, ip=_ip(request))


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    field = get_user_model().USERNAME_FIELD
    attempted = credentials.get(field) or credentials.get("username") or ""
    audit_log(
        action=AuditAction.LOGIN_FAILED,
        user=None,
        username=str(attempted)[:150],
        ip=_ip(request),
        extra=_user_agent(request),
    )


def on_locked_out(
    sender: Any,
    request: Any = None,
    username: str | None = None,
    ip_address: Any = None,
    **kwargs: Any,
) -> None:
    audit_log(
        action=AuditAction.LOCKOUT,
        user=None,
        username=str(username or "")[:150],
        ip=ip_address or _ip(request),
    )


def connect() -> None:
    from axes.signals import user_locked_out

    user_logged_in.connect(on_logged_in, dispatch_uid="trastienda_audit_login")
    user_logged_out.connect(on_logged_out, dispatch_uid="trastienda_audit_logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="trastienda_audit_login_failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="trastienda_audit_lockout")
