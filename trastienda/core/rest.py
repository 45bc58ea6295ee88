"""Classes named in the ``REST_FRAMEWORK`` settings: permission, pagination, throttles, errors.

Kept apart from :mod:`trastienda.core.api` because DRF imports them while its own settings
load: this module must not import ``rest_framework.views`` at import time.

Every error the API answers has one shape::

    {"error": {"code": "invalid", "message": "title: This field is required.",
               "fields": {"title": ["This field is required."]}}}

``fields`` is always present (empty when the error is not about fields); nested serializer
errors are flattened to dotted names (``lines.0.amount``). A Django ``ValidationError``
raised by a service becomes a 400 with its field errors, ``Http404`` a 404, Django's
``PermissionDenied`` a 403, and an unexpected exception a logged 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.encoding import force_str
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, permissions, throttling
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings

from trastienda.core.net import client_ip
from trastienda.core.permissions import has_perm, model_perm

logger = logging.getLogger("trastienda.api")
request_logger = logging.getLogger("django.request")

# --- pagination -----------------------------------------------------------------------------


class Pagination(PageNumberPagination):
    """``?page=N&page_size=M`` (at most 500): ``count``, ``next``, ``previous``, ``results``."""

    page_size_query_param = "page_size"
    max_page_size = 500


# --- throttling -----------------------------------------------------------------------------
# DRF identifies anonymous clients by X-Forwarded-For when NUM_PROXIES is unset, which lets
# a client choose its own identity; ours believe the header only from trusted proxies.


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_ip(request)


class UserRateThrottle(throttling.UserRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_ip(request)


class AuthRateThrottle(AnonRateThrottle):
    """Token requests per client address (scope ``auth``, falling back to the ``anon`` rate)."""

    scope = "auth"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def get_rate(self) -> str | None:
        rates = self.THROTTLE_RATES
        return rates.get(self.scope) or rates.get("anon")


# --- permissions ----------------------------------------------------------------------------

METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}
VIEWSET_ACTIONS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
    "metadata": "view",
}
MEMBER = "__member__"
"""``action_perms`` value: any active member of the company may do it (no model permission)."""


def required_perms(request: Any, view: Any) -> list[str] | None:
    """Django permissions (``app.codename``) the request needs, or None for "just signed in".

    A view says what it needs with (in this order of precedence):

    - ``action_perms = {"download": "view", "export": "core.export_data", "poll": MEMBER}``:
      per viewset action (or per HTTP method for plain views); a value is an action verb on
      the view's model, a full ``app.codename``, :data:`MEMBER`, or a tuple of those;
    - otherwise the standard mapping on the view's model (``permission_model``, ``model`` or
      ``queryset.model``): list/retrieve/GET → ``view_``, create/POST → ``add_``,
      update/PUT/PATCH → ``change_``, destroy/DELETE → ``delete_``.

    Views without a model and without ``action_perms`` need only a signed-in user (and, if
    ``company_required``, a membership).
    """
    action = getattr(view, "action", None)
    method = (request.method or "GET").upper()
    declared: Mapping[str, Any] = getattr(view, "action_perms", None) or {}
    model = getattr(view, "permission_model", None) or getattr(view, "model", None)
    if model is None:
        queryset = getattr(view, "queryset", None)
        model = getattr(queryset, "model", None)
    if action is not None and action in declared:
        wanted = declared[action]
    elif method in declared:
        wanted = declared[method]
    elif model is not None:
        wanted = VIEWSET_ACTIONS.get(action or "") or METHOD_ACTIONS.get(method, "change")
    else:
        return None
    if wanted is None:
        return None
    items = (wanted,) if isinstance(wanted, str) else tuple(wanted)
    perms: list[str] = []
    for item in items:
        if item == MEMBER:
            continue
        if "." in item:
            perms.append(item)
        elif model is not None:
            perms.append(model_perm(model, item))
        else:  # pragma: no cover - a declaration error, caught by the module's tests
            raise ValueError(f"{type(view).__name__}: {item!r} needs a model or app.codename")
    return perms


def audit(**kwargs: Any) -> None:
    """Record an audit entry; the audit app is optional while the platform boots."""
    try:
        from trastienda.audit.services import audit_log
    except ImportError:  # pragma: no cover - the audit app is always installed
        return
    audit_log(**kwargs)


class CompanyPermission(permissions.BasePermission):
    """The request's role in its active company must grant the action's Django permissions.

    Anonymous requests answer 401. Denials answer 403 and are written to the audit trail.
    Objects of another company never reach this check (querysets are company-scoped, so they
    answer 404); :meth:`has_object_permission` refuses them again as a second line.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        perms = required_perms(request, view)
        needs_company = getattr(view, "company_required", False)
        if perms is None and not needs_company:
            return True
        if getattr(request, "membership", None) is None:
            self.message = _("You are not a member of any active company.")
            self._deny(request, view, perms or [])
            return False
        missing = [p for p in (perms or []) if not has_perm(request, p)]
        if missing:
            self.message = _("Your role in %(company)s does not allow this (%(perm)s).") % {
                "company": request.company.code,
                "perm": ", ".join(missing),
            }
            self._deny(request, view, missing)
            return False
        return True

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        company = getattr(request, "company", None)
        owner = getattr(obj, "company_id", None)
        if company is not None and owner is not None and owner != company.pk:
            raise exceptions.NotFound()
        return True

    @staticmethod
    def _deny(request: Any, view: Any, perms: Iterable[str]) -> None:
        audit(
            action="permission_denied",
            company=getattr(request, "company", None),
            user=request.user,
            ip=client_ip(request),
            extra={
                "permission": ", ".join(perms),
                "method": request.method,
                "path": request.path,
                "source": "api",
                "view": type(view).__name__,
                "action": getattr(view, "action", None) or "",
            },
        )


# --- errors ---------------------------------------------------------------------------------


class IdempotencyKeyReused(exceptions.APIException):
    status_code = 422
    default_detail = gettext_lazy("This Idempotency-Key was already used with a different request.")
    default_code = "idempotency_key_reused"


class IdempotencyKeyInUse(exceptions.APIException):
    status_code = 409
    default_detail = gettext_lazy("A request with this Idempotency-Key is still being processed.")
    default_code = "idempotency_key_in_use"


class LockedOut(exceptions.APIException):
    status_code = 429
    default_detail = gettext_lazy("Too many failed sign-in attempts; try again later.")
    default_code = "locked_out"


class InvalidCredentials(exceptions.APIException):
    status_code = 400
    default_detail = gettext_lazy("Unable to sign in with these credentials.")
    default_code = "invalid_credentials"


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """``{"lines": [{"amount": ["x"]}]}`` → ``{"lines.0.amount": ["x"]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, messages in flatten_errors(value, name).items():
                out.setdefault(field, []).extend(messages)
    elif isinstance(detail, list | tuple):
        if any(isinstance(item, Mapping | list | tuple) for item in detail):
            for index, item in enumerate(detail):
                if not item:
                    continue
                name = f"{prefix}.{index}" if prefix else str(index)
                for field, messages in flatten_errors(item, name).items():
                    out.setdefault(field, []).extend(messages)
        else:
            out.setdefault(prefix, []).extend(force_str(item) for item in detail)
    elif detail is not None:
        out.setdefault(prefix, []).append(force_str(detail))
    return out


def django_error_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as ``{field: [messages]}`` (non-field errors under DRF's key)."""
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if hasattr(exc, "error_dict"):
        return {
            (non_field if field == NON_FIELD_ERRORS else field): list(messages)
            for field, messages in exc.message_dict.items()
        }
    return {non_field: list(exc.messages)}


def validation_message(non_field: list[str], fields: Mapping[str, list[str]]) -> str:
    parts = list(non_field)
    parts.extend(f"{name}: {messages[0]}" for name, messages in fields.items() if messages)
    return " ".join(p if p.endswith(".") else f"{p}." for p in parts) or _("Invalid input.")


def error_body(
    code: str, message: str, fields: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": dict(fields or {})}}


def _validation_body(detail: Any) -> dict[str, Any]:
    flat = flatten_errors(detail if isinstance(detail, Mapping | list | tuple) else [detail])
    non_field_key = api_settings.NON_FIELD_ERRORS_KEY
    non_field = flat.pop(non_field_key, []) + flat.pop("", [])
    for key in [k for k in flat if k.isdigit()]:  # a bare list of errors
        non_field.extend(flat.pop(key))
    return error_body("invalid", validation_message(non_field, flat), flat)


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: every error in the one format (see the module docstring)."""
    from rest_framework.views import set_rollback

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_error_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    headers: dict[str, str] = {}
    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        if isinstance(exc, exceptions.ValidationError):
            body = _validation_body(exc.detail)
        else:
            detail = exc.detail
            if isinstance(detail, list | dict):
                flat = flatten_errors(detail)
                message = " ".join(m for messages in flat.values() for m in messages)
            else:
                message = force_str(detail)
            body = error_body(_code_of(exc), message)
        set_rollback()
        return Response(body, status=exc.status_code, headers=headers)

    request = context.get("request")
    request_logger.error(
        "Internal Server Error: %s",
        getattr(request, "path", "?"),
        exc_info=exc,
        extra={"status_code": 500, "request": getattr(request, "_request", request)},
    )
    set_rollback()
    return Response(
        error_body("server_error", _("Something went wrong on our side; it has been logged.")),
        status=500,
    )
